"""The shared devnet's clock between tests: what a test does to a chain's time ends with the test, and every test
starts on a chain whose time is real time, as on a real chain (see ``catch_up_with_real_time``)."""

from __future__ import annotations

import time

from smartsessions.devnet.network import Devnet

from .conftest import _chain

DAY = 86_400


def test_a_moved_clock_ends_with_its_test(devnet: Devnet) -> None:
    for move in ("evm_increaseTime", "evm_setNextBlockTimestamp"):
        first = _chain(devnet, 8453)
        chain = next(first)
        start = chain.timestamp()
        if move == "evm_increaseTime":
            chain.rpc.request(move, [hex(DAY)])
        else:
            chain.rpc.request(move, [hex(start + DAY)])
        chain.rpc.request("evm_mine", [])
        assert chain.timestamp() >= start + DAY
        next(first, None)  # the test's end: the revert

        real_time = int(time.time())
        second = _chain(devnet, 8453)
        chain = next(second)
        try:
            assert real_time - 1 <= chain.timestamp() < start + DAY, move
            assert chain.timestamp() >= start
        finally:
            next(second, None)


def test_a_chain_behind_real_time_catches_up(devnet: Devnet) -> None:
    """anvil's ``evm_revert`` takes the clock back to the snapshot's block, so a chain falls behind real time by every
    test's length; the next test's set-up moves it forward again (never back) and mines a block at that time."""
    with devnet.rpc(8453) as rpc:
        outer = rpc.request("evm_snapshot")
        try:
            latest = int(rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
            rpc.request("evm_setTime", [latest - 600])  # ten minutes behind, as a long test's revert would leave it
            real_time = int(time.time())
            inner = _chain(devnet, 8453)
            chain = next(inner)
            try:
                assert chain.timestamp() >= real_time - 1
            finally:
                next(inner, None)
        finally:
            assert rpc.request("evm_revert", [outer]) is True
