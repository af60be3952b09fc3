"""The local MEE node's configuration: its chains, its key, the fee tokens and their prices.

It is a frozen model, so a node started as a child process reads the same thing from a JSON file
(``python -m smartsessions.devnet.node --config node.json``). :func:`devnet_node_config` builds the devnet's:
every chain of ``devnet.json``, the "node" test key, the chain's USDC at 1 ETH = 3000 USDC.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_account import Account

from ..._coerce import to_address
from ..._model import Address, Model, Uint8, Uint64
from ...errors import ConfigurationError
from ..deploy import test_keys, usdc_address

__all__ = [
    "DEFAULT_QUOTE_LIFETIME",
    "FeeTokenConfig",
    "NodeChainConfig",
    "NodeConfig",
    "devnet_node_config",
]

DEFAULT_QUOTE_LIFETIME = 180.0  # seconds; the SDK's default execution window is 180 s too
NODE_VERSION = "smartsessions-devnet-node/0.1.0"


class FeeTokenConfig(Model):
    """A token the node takes fees in. ``per_native`` is its price: how many whole tokens one native coin (ETH) is
    worth (a decimal string, e.g. ``"3000"``); ``usd_price`` is one token's value in USD, for ``tokenValue``."""

    address: Address
    name: str = "USD Coin"
    symbol: str = "USDC"
    decimals: Uint8 = 6
    permit_enabled: bool = True
    per_native: str = "3000"
    usd_price: str = "1"
    #: Storage slot of the token's ``allowance`` mapping (owner => spender => amount), used to simulate a fusion
    #: quote before the permit exists; None if unknown (the devnet USDC keeps it in slot 2).
    allowance_slot: int | None = 2

    @property
    def per_native_fraction(self) -> Fraction:
        return _fraction(self.per_native, "per_native")

    @property
    def usd_fraction(self) -> Fraction:
        return _fraction(self.usd_price, "usd_price")


def _fraction(value: str, field: str) -> Fraction:
    try:
        out = Fraction(value)
    except (ValueError, ZeroDivisionError) as exc:
        raise ConfigurationError(field, "is not a decimal number", value=value, cause=exc) from exc
    if out <= 0:
        raise ConfigurationError(field, "must be positive", value=value)
    return out


class NodeChainConfig(Model):
    chain_id: Uint64
    rpc_url: str
    name: str = ""
    fee_tokens: tuple[FeeTokenConfig, ...] = ()

    def fee_token(self, address: object) -> FeeTokenConfig | None:
        wanted = to_address(address, field="token")
        return next((t for t in self.fee_tokens if t.address == wanted), None)


class NodeConfig(Model):
    """Everything a node needs. ``private_key`` is the node's EOA: it signs the bundles (the node paymaster only
    sponsors bundles it sends) and receives the fees. ``api_key``, when set, is required in ``x-api-key``."""

    chains: tuple[NodeChainConfig, ...]
    private_key: str
    database: str
    api_key: str | None = None
    #: Ignored, kept so that configuration files that set it still load: quotes do not expire (as on Biconomy's
    #: node, only their userOps' execution windows bound them; :mod:`.acceptance`).
    quote_lifetime: float = DEFAULT_QUOTE_LIFETIME
    #: The userOps' tip. None asks each chain (``eth_maxPriorityFeePerGas``); the default is an L2-like 0.001 gwei,
    #: since the devnet chains stand in for Base and OP Mainnet (anvil suggests an L1-like 1 gwei).
    max_priority_fee_per_gas: int | None = 1_000_000
    #: Seconds between receipt polls while a bundle is mining.
    poll_interval: float = 0.05
    #: The largest request body the node reads (bytes; a larger one is a 413), and the most userOps one quote may
    #: carry (the payment userOp aside; more is a 400 before any chain is asked).
    max_body_bytes: int = 2_000_000
    max_user_ops: int = 64
    #: Backpressure: with this many accepted super-transactions unfinished, /quote and /exec answer 503 with
    #: ``Retry-After`` (the SDK waits and asks again).
    max_unfinished: int = 256
    #: Seconds before a userOp that cannot pass yet is simulated again, unless it asks for another delay
    #: (``executionSimulationRetryDelay``, in ms). Biconomy's node takes this from each chain's settings.
    simulation_retry_delay: float = 0.5
    version: str = NODE_VERSION
    #: Test hook for the restart tests: "exit-before-broadcast" / "exit-after-broadcast" make the process die there.
    fault: str | None = None

    @property
    def address(self) -> str:
        return str(Account.from_key(self.private_key).address)

    def chain(self, chain_id: int) -> NodeChainConfig | None:
        return next((c for c in self.chains if c.chain_id == chain_id), None)

    @property
    def database_path(self) -> Path:
        return Path(self.database)


_NAMES = {8453: "Base", 10: "OP Mainnet", 42161: "Arbitrum One", 84532: "Base Sepolia"}


def devnet_node_config(
    chains: Mapping[int, str] | Any,
    *,
    database: str | Path,
    api_key: str | None = None,
    **overrides: Any,
) -> NodeConfig:
    """The devnet node: ``chains`` is ``{chainId: rpcUrl}``, a :class:`~smartsessions.devnet.network.Devnet`, or the
    parsed ``devnet.json``; the key is the devnet's "node" test key; USDC of each chain is the fee token."""
    if isinstance(chains, Mapping) and "chains" in chains:  # devnet.json
        state: Any = chains
        urls = {int(c["chainId"]): str(c["rpcUrl"]) for c in state["chains"]}
    elif isinstance(chains, Mapping):
        urls = {int(k): str(v) for k, v in chains.items()}
    else:  # a running Devnet
        urls = {c: chains.url(c) for c in chains.chains}
    node_key = next(k for k in test_keys() if k.role == "node")
    return NodeConfig(
        chains=tuple(
            NodeChainConfig(
                chain_id=chain_id,
                rpc_url=url,
                name=_NAMES.get(chain_id, f"devnet-{chain_id}"),
                fee_tokens=(FeeTokenConfig(address=usdc_address(chain_id)),),
            )
            for chain_id, url in urls.items()
        ),
        private_key=node_key.private_key,
        database=str(database),
        api_key=api_key,
        **overrides,
    )
