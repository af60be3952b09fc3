"""Each test on a shared devnet: every chain between an ``evm_snapshot`` and an ``evm_revert``, clocks included.

Starting chains and deploying the suite takes a second or so; a snapshot and a revert take a millisecond. So a test
session starts the devnet once, and each test runs on a snapshot of every chain that is reverted when the test ends:
balances, deployed accounts, enabled sessions and spent usage limits are gone, and so is what the test did to the
chains' clocks (``evm_increaseTime``, ``evm_setNextBlockTimestamp``): anvil's revert takes the clock back to the
snapshot's block.

That same revert makes a shared devnet fall behind real time by the length of every test, which matters to anything
that takes its windows from this machine's clock rather than the chain's (the reference SDK's ``Date.now()``; a bot's
own ``time.time()``). So before each snapshot, :func:`catch_up_with_real_time` moves a chain's clock forward to real
time (never back) and mines a block there: every test starts on chains whose time is now, as on a real chain.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..devnet.network import Devnet
from ..errors import DevnetError
from ..rpc import SyncRpcClient

__all__ = ["catch_up_with_real_time", "isolated"]


def catch_up_with_real_time(rpc: SyncRpcClient) -> None:
    """Move the chain's clock forward to real time if it is behind (never back), and mine a block at that time.

    ``evm_revert`` takes the clock back to the snapshot's block (moved clocks do not leak, but every test's duration
    is taken off the chain's time too), so without this a shared devnet falls further behind real time with every
    test. The block makes the chain's latest timestamp the current time even when it mines only on demand."""
    pending = int(rpc.request("eth_getBlockByNumber", ["pending", False])["timestamp"], 16)
    behind = int(time.time()) - pending
    if behind > 0:
        rpc.request("evm_increaseTime", [hex(behind)])
    rpc.request("evm_mine", [])


@contextmanager
def isolated(devnet: Devnet) -> Iterator[Devnet]:
    """Every chain of ``devnet`` caught up with real time and snapshotted on entry, reverted on exit (the clock with
    the rest), whatever the block raised. Stop anything that sends to the chains (a node) before the block ends: a
    transaction that lands after the revert would stay."""
    rpcs = {chain_id: devnet.rpc(chain_id) for chain_id in devnet.chains}
    snapshots: dict[int, str] = {}
    try:
        for chain_id, rpc in rpcs.items():
            catch_up_with_real_time(rpc)
            snapshots[chain_id] = rpc.request("evm_snapshot")
        yield devnet
    finally:
        try:
            failed = [c for c, snapshot in snapshots.items() if rpcs[c].request("evm_revert", [snapshot]) is not True]
        finally:
            for rpc in rpcs.values():
                rpc.close()
        if failed:
            raise DevnetError(
                f"The devnet's chain(s) {failed} could not be reverted to the test's snapshot.",
                meta_messages=["Later tests would see this test's state: restart the test session."],
            )
