"""One test's view of the devnet: its chains (reverted after the test), its own MEE node, and what a bot needs to
connect to them; plus reads and moves a test makes on the chains (the counter, USDC balances, the clock).

The URLs are the test's own (the node listens on a new port in each test), so a bot under test takes them as it takes
mainnet's in production: ``create_session_client(handoff, signer=key, **sandbox.client_options)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..devnet.deploy import COUNTER_ADDRESS, send_and_wait, usdc_address
from ..devnet.network import Devnet
from ..devnet.node import NodeServer
from ..encoding.abi import encode_function_call, selector
from ..encoding.session import PolicyData
from ..errors import InvalidInputError
from ..policies.sudo import get_sudo_policy
from ..rpc import SyncRpcClient, call_word
from ..sessions.grant import ActionConfig
from ..wire.mee import FeeTokenInfo

__all__ = ["API_KEY", "COUNTER_ADDRESS", "INCREMENT_SELECTOR", "MEE_VERSION", "Sandbox", "counter_action"]

#: The key the test node asks for in ``x-api-key`` (a node that asks for none would hide a bot that forgets it).
API_KEY = "smartsessions-testing"
#: The MEE version of the owner accounts the fixtures make.
MEE_VERSION = "2.1.0"
#: ``increment()`` of the devnet's Counter (at :data:`COUNTER_ADDRESS` on every chain; ``number()`` reads it).
INCREMENT_SELECTOR = selector("increment()")


def counter_action(chain_id: int = 8453, *, policies: Sequence[PolicyData] | None = None) -> ActionConfig:
    """A session action on the devnet's Counter: ``increment()`` on ``chain_id``, under ``policies`` (unlimited use,
    the SudoPolicy, by default). A stand-in for the contract a bot calls, which the devnet does not have."""
    return ActionConfig(
        chain_id=chain_id,
        action_target=COUNTER_ADDRESS,
        action_target_selector=INCREMENT_SELECTOR,
        action_policies=list(policies) if policies is not None else [get_sudo_policy()],
    )


@dataclass
class Sandbox:
    """The devnet as one test sees it: ``devnet`` (every chain reverted after the test), ``node`` (a node of the
    test's own, fresh state), and the connections a bot needs (:attr:`client_options`, :attr:`fee_token`).

    Chain arguments default to the devnet's first chain (8453 unless configured otherwise)."""

    devnet: Devnet
    node: NodeServer
    api_key: str = API_KEY
    _rpcs: dict[int, SyncRpcClient] = field(default_factory=dict, repr=False)

    # -- connections ------------------------------------------------------------------------------------------------

    @property
    def chain_ids(self) -> tuple[int, ...]:
        return tuple(self.devnet.chains)

    @property
    def rpc_urls(self) -> dict[int, str]:
        """Each chain's RPC URL, by chain id."""
        return {chain_id: self.devnet.url(chain_id) for chain_id in self.devnet.chains}

    @property
    def node_url(self) -> str:
        """The node's base URL, as ``create_mee_client(url=...)`` takes it."""
        return self.node.url

    @property
    def client_options(self) -> dict[str, Any]:
        """``rpc_urls``, ``url`` and ``api_key``: what :func:`~smartsessions.create_session_client` (and its blocking
        twin in :mod:`smartsessions.sync`) takes besides the handoff and the bot's key."""
        return {"rpc_urls": self.rpc_urls, "url": self.node_url, "api_key": self.api_key}

    def usdc(self, chain_id: int | None = None) -> str:
        """The devnet's USDC (at the production address of the chain) on ``chain_id``."""
        return usdc_address(self._chain(chain_id))

    @property
    def fee_token(self) -> FeeTokenInfo:
        """USDC on the first chain: the token the fixtures' owner accounts are funded with and pay fees in."""
        return FeeTokenInfo(address=self.usdc(), chain_id=self._chain(None))

    def rpc(self, chain_id: int | None = None) -> SyncRpcClient:
        """A blocking JSON-RPC client of the chain (closed after the test): for reads, ``anvil_*`` and ``evm_*``."""
        chain_id = self._chain(chain_id)
        if chain_id not in self._rpcs:
            self._rpcs[chain_id] = self.devnet.rpc(chain_id)
        return self._rpcs[chain_id]

    # -- reads and moves --------------------------------------------------------------------------------------------

    def counter(self, chain_id: int | None = None) -> int:
        """The devnet Counter's ``number()`` on the chain: 0 at the start of every test."""
        return self._read(chain_id, COUNTER_ADDRESS, "number()")

    def usdc_balance(self, holder: str, chain_id: int | None = None) -> int:
        """``holder``'s USDC on the chain, in its smallest unit (6 decimals)."""
        return self._read(chain_id, self.usdc(chain_id), "balanceOf(address)", [holder])

    def fund_usdc(self, to: str, amount: int, chain_id: int | None = None) -> None:
        """Send ``amount`` USDC (smallest unit) to ``to`` from the devnet's owner key (each test key holds 1,000,000
        USDC on every chain)."""
        data = encode_function_call("transfer(address,uint256)", [to, amount])
        sender = self.devnet.key("owner").address
        tx = {"from": sender, "to": self.usdc(chain_id), "data": "0x" + data.hex()}
        send_and_wait(self.rpc(chain_id), tx)

    def now(self, chain_id: int | None = None) -> int:
        """The chain's time: its latest block's timestamp (what the SDK and the node take windows from)."""
        block = self.rpc(chain_id).request("eth_getBlockByNumber", ["latest", False])
        return int(block["timestamp"], 16)

    def advance_time(self, seconds: int) -> None:
        """Move every chain's clock ``seconds`` forward and mine a block there (a session's time frame closing, a
        daily budget renewing). Undone when the test ends, as everything else."""
        if seconds < 0:
            raise InvalidInputError("seconds", "is negative", fix="move clocks forward only", value=seconds)
        for chain_id in self.chain_ids:
            rpc = self.rpc(chain_id)
            rpc.request("evm_increaseTime", [hex(seconds)])
            rpc.request("evm_mine", [])

    def close(self) -> None:
        for rpc in self._rpcs.values():
            rpc.close()
        self._rpcs.clear()

    # -- internals --------------------------------------------------------------------------------------------------

    def _chain(self, chain_id: int | None) -> int:
        if chain_id is None:
            return next(iter(self.devnet.chains))
        self.devnet.url(chain_id)  # a DevnetError naming the chains for one the devnet lacks
        return chain_id

    def _read(self, chain_id: int | None, to: str, signature: str, args: Sequence[Any] = ()) -> int:
        data = self.rpc(chain_id).call(to, encode_function_call(signature, args))
        return call_word("0x" + data.hex(), what=f"{signature} of {to}")
