"""The multichain Nexus account (spec §10): one owner, one deployment per configured chain, the same address on each
chain whose factory is at the same address.

``await to_multichain_nexus_account(signer=..., chain_configurations=[...])`` asks each chain's factory for the
account address (``computeAccountAddress``, as the reference SDK does; the devnet's proxy differs from production's,
so an offline formula would be wrong there) and checks that the MEE version's contracts exist, in one JSON-RPC batch
per chain, all chains at once. The session signer's side passes ``account_address`` (the granter's account) instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from pydantic import Field

from .._coerce import to_address, to_uint
from .._model import Address, HexData, Model, Uint64
from ..encoding.abi import encode_function_call
from ..encoding.userop import get_nonce_key
from ..errors import AccountError, ChainNotConfiguredError, ConfigurationError, RpcError
from ..rpc import RpcClient, call_word, quantity
from ..signer import AnySigner
from ..versions import ENTRY_POINT_V07_ADDRESS, MeeVersionConfig, get_mee_version
from .calls import Call, encode_execute
from .nexus import to_init_code, to_init_data

__all__ = [
    "ChainConfiguration",
    "Instruction",
    "MultichainNexusAccount",
    "NexusDeployment",
    "QuoteReads",
    "to_multichain_nexus_account",
]


class ChainConfiguration(Model):
    """One chain of the account: where to reach it and which MEE version's contracts it uses."""

    chain_id: Uint64
    rpc_url: str
    version: str = "2.0.0"
    #: The account's address, when it is not the signer's own (the session signer uses the granter's account).
    account_address: Address | None = Field(default=None, exclude_if=lambda v: v is None)
    #: Check that the version's factory, bootstrap, implementation and validator exist on the chain.
    version_check: bool = True


class Instruction(Model):
    """Calls to run on one chain as one userOp: one call is ``execute`` single mode, more are batch mode."""

    chain_id: Uint64
    calls: tuple[Call, ...]
    lower_bound_timestamp: int | None = None
    upper_bound_timestamp: int | None = None
    metadata: tuple[dict[str, Any], ...] = ()

    @property
    def call_data(self) -> HexData:
        return encode_execute(self.calls)

    @property
    def call_gas_limit(self) -> int:
        """The sum of the calls' gas limits, 700,000 for a call without one (the SDK's default)."""
        return sum(c.gas_limit if c.gas_limit is not None else 700_000 for c in self.calls)


@dataclass(frozen=True)
class QuoteReads:
    """One chain's answers for a quote: the nonce of each key (in order), whether the account is deployed, the
    latest block's timestamp (the chain's clock as any client of the chain sees it, seconds), and the raw answers
    to the ``extra`` calls the caller added to the same batch, in order."""

    nonces: list[int]
    deployed: bool
    timestamp: int
    extra: list[Any] = field(default_factory=list)


@dataclass
class NexusDeployment:
    """The account on one chain."""

    chain_id: int
    address: str
    version: MeeVersionConfig
    rpc: RpcClient
    owner: str | None  # None on the session signer's side, where the account is someone else's
    index: int = 0
    _deployed: bool = field(default=False, repr=False)

    @property
    def init_code(self) -> HexBytes:
        """``factory ‖ factoryData``; only the owner's side can build it."""
        if self.owner is None:
            raise AccountError(
                f"Cannot build initCode for {self.address} on chain {self.chain_id}: the owner is unknown.",
                meta_messages=["The session signer's side can only use accounts that are already deployed."],
            )
        return to_init_code(owner=self.owner, index=self.index, version=self.version)

    async def is_deployed(self) -> bool:
        """``eth_getCode`` is non-empty; cached once true (an account cannot be undeployed)."""
        if not self._deployed:
            code = await self.rpc.request("eth_getCode", [self.address, "latest"])
            self._deployed = code not in ("0x", "0x0", None)
        return self._deployed

    async def get_nonce(self, *, validator: str, mode: int = 0, now_ms: int | None = None) -> int:
        """``EntryPoint.getNonce(account, key)`` for a fresh lane of ``validator`` (spec §10.6)."""
        key = get_nonce_key(validator=validator, mode=mode, now_ms=now_ms)
        data = encode_function_call("getNonce(address,uint192)", [self.address, key])
        return int.from_bytes(await self.rpc.call(ENTRY_POINT_V07_ADDRESS, data), "big")

    async def get_nonces(self, keys: Sequence[int]) -> tuple[list[int], bool]:
        """``EntryPoint.getNonce(account, key)`` for each nonce key, and whether the account is deployed, in one
        JSON-RPC batch (the deployment read is skipped once the account is known to be deployed)."""
        reads = await self.quote_reads(keys)
        return reads.nonces, reads.deployed

    async def quote_reads(self, keys: Sequence[int], extra: Sequence[tuple[str, list[Any]]] = ()) -> QuoteReads:
        """What a quote needs from this chain, in one JSON-RPC batch: :meth:`get_nonces`, and the chain's own time
        (the latest block's timestamp), which the default execution windows start from; plus the ``extra`` calls of
        a caller that must decide something before the quote is asked for (``use_permission``), in the same round
        trip."""
        calls: list[tuple[str, list[Any]]] = [
            (
                "eth_call",
                [
                    {
                        "to": ENTRY_POINT_V07_ADDRESS,
                        "data": "0x" + encode_function_call("getNonce(address,uint192)", [self.address, k]).hex(),
                    },
                    "latest",
                ],
            )
            for k in keys
        ]
        check_code = not self._deployed
        if check_code:
            calls.append(("eth_getCode", [self.address, "latest"]))
        calls.append(("eth_getBlockByNumber", ["latest", False]))
        calls.extend(extra)
        results = await self.rpc.batch(calls)
        answers = results[len(results) - len(extra) :]
        del results[len(results) - len(extra) :]
        block = results.pop()
        if check_code:
            self._deployed = results.pop() not in ("0x", "0x0", None)
        return QuoteReads(
            nonces=[call_word(r, what=f"EntryPoint.getNonce on chain {self.chain_id}") for r in results],
            deployed=self._deployed,
            timestamp=quantity(block.get("timestamp") if isinstance(block, dict) else None, what="the block timestamp"),
            extra=answers,
        )

    async def is_module_installed(self, module_type: int, module: str, context: bytes = b"") -> bool:
        if not await self.is_deployed():
            return False
        data = encode_function_call("isModuleInstalled(uint256,address,bytes)", [module_type, module, context])
        return int.from_bytes(await self.rpc.call(self.address, data), "big") == 1


@dataclass
class MultichainNexusAccount:
    signer: AnySigner
    deployments: list[NexusDeployment]

    @property
    def address(self) -> str:
        """The address on the first chain (the same on all chains with the same factory)."""
        return self.deployments[0].address

    def deployment_on(self, chain_id: int) -> NexusDeployment:
        for d in self.deployments:
            if d.chain_id == chain_id:
                return d
        raise ChainNotConfiguredError(
            "chain_id",
            f"Multichain Nexus is not configured on chain {chain_id}",
            fix=f"add chain {chain_id} to chain_configurations (configured: {[d.chain_id for d in self.deployments]})",
        )

    def address_on(self, chain_id: int) -> str:
        return self.deployment_on(chain_id).address

    async def __aenter__(self) -> MultichainNexusAccount:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the RPC connection of every chain (closing twice is harmless)."""
        await asyncio.gather(*(d.rpc.aclose() for d in self.deployments))


async def _deployment(signer: AnySigner, config: ChainConfiguration, index: int) -> NexusDeployment:
    version = get_mee_version(config.version)
    rpc = RpcClient(config.rpc_url)
    owner = None if config.account_address is not None else signer.address
    calls: list[tuple[str, list[Any]]] = [("eth_chainId", [])]
    if owner is not None:
        init_data = bytes(to_init_data(owner=owner, version=version))
        compute = encode_function_call("computeAccountAddress(bytes,bytes32)", [init_data, index.to_bytes(32, "big")])
        calls.append(("eth_call", [{"to": version.factory_address, "data": "0x" + compute.hex()}, "latest"]))
    checked = (
        [version.factory_address, version.boot_strap_address, version.implementation_address, version.validator_address]
        if config.version_check
        else []
    )
    calls += [("eth_getCode", [a, "latest"]) for a in checked]
    try:
        results = await rpc.batch(calls)
    except BaseException:
        await rpc.aclose()
        raise
    try:
        served = quantity(results[0], what="eth_chainId")
    except RpcError:
        await rpc.aclose()
        raise
    if served != config.chain_id:
        await rpc.aclose()
        raise ConfigurationError(
            "chain_configurations.rpc_url",
            f"{config.rpc_url} serves chain {served}, not {config.chain_id}",
            fix="pair each chain id with an RPC URL of that chain",
        )
    codes = results[2:] if owner is not None else results[1:]
    missing = [a for a, code in zip(checked, codes, strict=True) if code in ("0x", "0x0", None)]
    if missing:
        await rpc.aclose()
        raise ConfigurationError(
            "chain_configurations.version",
            f"MEE {version.version} contracts are missing on chain {config.chain_id}: {', '.join(missing)}",
            fix="use the MEE version deployed on that chain, or pass version_check=False",
        )
    if owner is None:
        address = to_address(config.account_address, field="account_address")
    else:
        try:
            computed = call_word(
                results[1], what=f"computeAccountAddress on the factory {version.factory_address}", bits=160
            )
        except RpcError:
            await rpc.aclose()
            raise
        address = to_address(computed.to_bytes(20, "big"), field="computeAccountAddress")
    return NexusDeployment(
        chain_id=config.chain_id, address=address, version=version, rpc=rpc, owner=owner, index=index
    )


async def to_multichain_nexus_account(
    *,
    signer: AnySigner,
    chain_configurations: Sequence[ChainConfiguration | dict[str, Any]],
    index: int = 0,
) -> MultichainNexusAccount:
    """The signer's Nexus account on every configured chain (awaited: it reads each chain once, concurrently)."""
    if not chain_configurations:
        raise ConfigurationError("chain_configurations", "needs at least one chain", fix="pass one ChainConfiguration")
    configs = [
        c if isinstance(c, ChainConfiguration) else ChainConfiguration.model_validate(c) for c in chain_configurations
    ]
    ids = [c.chain_id for c in configs]
    if len(set(ids)) != len(ids):
        raise ConfigurationError("chain_configurations", f"lists a chain twice: {ids}", fix="one entry per chain")
    salt_index = to_uint(index, field="index")
    deployments = await asyncio.gather(*(_deployment(signer, c, salt_index) for c in configs), return_exceptions=True)
    failures = [d for d in deployments if isinstance(d, BaseException)]
    if failures:
        await asyncio.gather(*(d.rpc.aclose() for d in deployments if isinstance(d, NexusDeployment)))
        raise failures[0]
    return MultichainNexusAccount(signer=signer, deployments=[d for d in deployments if isinstance(d, NexusDeployment)])
