"""Fees and blocks like the chains the devnet stands in for.

anvil's defaults are an L1's: a 1 gwei base fee that only moves with load, and blocks only when a transaction
arrives. Base and OP Mainnet are nothing like that. Their blocks come every 2 s whether or not anyone transacts, and
since the Jovian upgrade (December 2025) their base fee has a configured floor that it sits on in normal operation.
With anvil's defaults a session USE cost about 0.5 USDC (50–200 times a real L2) and a client that waits for
confirmations waited forever.

So each devnet chain gets a :class:`ChainProfile`: its minimum base fee, block time and anvil network family. anvil
runs in mixed mode (every transaction is mined at once, and an empty block follows every ``block_time`` seconds), the
OP-stack chains with anvil's ``optimism`` network (the OP Stack's EIP-1559 parameters: at most 0.4 % less per empty
block, where Ethereum's take 12.5 %), and a :class:`BaseFeeFloor` holds the base fee at the floor, as the Jovian rule
does (without it the base fee would sink to a few wei within the hour).

The figures, and where they come from (none could be read off a live chain from here; all are configurable with
``smartsessions devnet up --base-fee CHAIN=WEI --block-time SECONDS`` and recorded in ``devnet.json``):

* Base (8453) and Base Sepolia (84532): 5,000,000 wei (0.005 gwei), the minimum base fee in Base's network-fee
  documentation (raised from the 2,000,000 wei it started at); 2 s blocks.
* OP Mainnet (10): 100,000 wei (0.0001 gwei), the OP Stack's recommended ``minBaseFee`` for standard chains; 2 s
  blocks.
* Arbitrum One (42161): 10,000,000 wei (0.01 gwei), ArbOS's minimum L2 base fee; 0.25 s blocks, rounded up to 1 s
  here because anvil's timestamps are whole seconds.
* Any other chain: Base's figures.

What is not modelled: the L1 data fee that OP-stack chains add on top (usually the larger part of a real L2 fee) and
priority-fee auctions under load.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

from ..errors import SmartSessionsError
from ..rpc import SyncRpcClient

__all__ = ["CHAIN_PROFILES", "DEFAULT_BLOCK_TIME", "BaseFeeFloor", "ChainProfile", "chain_profile"]

DEFAULT_BLOCK_TIME = 2.0
_GIVE_UP_AFTER = 100  # consecutive failed polls (about 10 s at the default interval)


@dataclass(frozen=True)
class ChainProfile:
    """How a devnet chain prices gas and makes blocks. ``min_base_fee`` is in wei; ``block_time`` in seconds (0: a
    block only when a transaction arrives, anvil's default); ``network`` is anvil's network family."""

    chain_id: int
    name: str
    min_base_fee: int
    block_time: float = DEFAULT_BLOCK_TIME
    network: str = "ethereum"


CHAIN_PROFILES: dict[int, ChainProfile] = {
    8453: ChainProfile(8453, "Base", 5_000_000, network="optimism"),
    84532: ChainProfile(84532, "Base Sepolia", 5_000_000, network="optimism"),
    10: ChainProfile(10, "OP Mainnet", 100_000, network="optimism"),
    42161: ChainProfile(42161, "Arbitrum One", 10_000_000, block_time=1.0),
}


def chain_profile(chain_id: int) -> ChainProfile:
    """The chain's profile; a chain without one is priced like Base."""
    known = CHAIN_PROFILES.get(chain_id)
    if known is not None:
        return known
    base = CHAIN_PROFILES[8453]
    return ChainProfile(chain_id, f"devnet-{chain_id}", base.min_base_fee, base.block_time, base.network)


class BaseFeeFloor:
    """Keeps an anvil chain's base fee at ``base_fee``: every ``interval`` the next block's base fee is set back to
    the floor (``anvil_setNextBlockBaseFeePerGas`` holds for one block only).

    It polls, so blocks mined within ``interval`` of each other sink below the floor: by at most 0.4 % each on an
    OP-stack chain, 12.5 % on an Ethereum-like one; the node's ``maxFeePerGas = 2 × baseFee + tip`` covers that.
    The thread is a daemon and stops with :meth:`stop`, or by itself once the chain has not answered for a while."""

    def __init__(self, url: str, base_fee: int, *, interval: float = 0.1) -> None:
        self.url = url
        self.base_fee = base_fee
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"base-fee-floor {url}", daemon=True)

    def start(self) -> BaseFeeFloor:
        self._thread.start()
        return self

    def _run(self) -> None:
        param = [hex(self.base_fee)]
        failures = 0
        with SyncRpcClient(self.url, timeout=2.0) as rpc:
            while not self._stop.is_set() and failures < _GIVE_UP_AFTER:
                try:  # unconditionally: a block may have come and gone (evm_revert) between two polls
                    rpc.request("anvil_setNextBlockBaseFeePerGas", param)
                    failures = 0
                except SmartSessionsError:  # a busy moment, or the chain is gone (killed with the devnet)
                    failures += 1
                self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            with contextlib.suppress(RuntimeError):
                self._thread.join(timeout=5.0)
