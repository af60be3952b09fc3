"""One devnet (chains 8453 and 10, full suite) for the whole session; every test runs between a snapshot and a revert,
so tests never see each other's state, nor each other's clock (the clock first caught up with real time: see
``smartsessions.testing.isolation``, whose ``isolated`` does the same for every chain at once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartsessions.devnet.network import Devnet
from smartsessions.testing import catch_up_with_real_time

from .harness import Chain


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
