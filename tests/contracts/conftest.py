"""One devnet (chains 8453 and 10, full suite) for the whole session; every test runs between a snapshot and a revert,
so tests never see each other's state, nor each other's clock."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from smartsessions.devnet.network import Devnet
from smartsessions.rpc import SyncRpcClient

from .harness import Chain


def catch_up_with_real_time(rpc: SyncRpcClient) -> None:
    """Move the chain's clock forward to real time if it is behind (never back), and mine a block at that time.

    anvil's ``evm_revert`` takes the clock back to the snapshot's block (moved clocks do not leak, but every test's
    duration is taken off the chain's time too), so without this the shared devnet falls further behind real time
    with every test. Our SDK and node only use the chains' own time; but a real chain's clock is real time, and the
    unmodified reference SDK, which takes its windows from ``Date.now()``, relies on that. The block makes the chain's
    latest timestamp the current time even when it mines only on demand."""
    pending = int(rpc.request("eth_getBlockByNumber", ["pending", False])["timestamp"], 16)
    behind = int(time.time()) - pending
    if behind > 0:
        rpc.request("evm_increaseTime", [hex(behind)])
    rpc.request("evm_mine", [])


def _chain(net: Devnet, chain_id: int) -> Iterator[Chain]:
    rpc = net.rpc(chain_id)
    catch_up_with_real_time(rpc)
    snapshot = rpc.request("evm_snapshot")
    try:
        yield Chain(
            chain_id=chain_id,
            rpc=rpc,
            contracts=net.chains[chain_id].contracts,
            keys={k.role: k for k in net.keys},
        )
    finally:
        # also takes the clock back to the snapshot's block: what the test did to it (evm_increaseTime, evm_setTime,
        # evm_setNextBlockTimestamp) is undone with the rest
        assert rpc.request("evm_revert", [snapshot]) is True
        rpc.close()


@pytest.fixture
def chain(devnet: Devnet) -> Iterator[Chain]:
    """Chain 8453 (Base), reverted after the test."""
    yield from _chain(devnet, 8453)


@pytest.fixture
def chain10(devnet: Devnet) -> Iterator[Chain]:
    """Chain 10 (OP Mainnet), reverted after the test."""
    yield from _chain(devnet, 10)
