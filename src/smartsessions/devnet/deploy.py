"""Putting the contract suite on a chain, at the production addresses.

* EntryPoint v0.7: the canonical bytecode (npm ``@account-abstraction/contracts@0.7.0``), sent through the
  deterministic deployer with the canonical salt, so it lands at ``0x0000000071727De22E5E9d8BAf0edAc6f37da032`` and
  creates its SenderCreator too.
* Everything else is our own Solidity: each contract's runtime code is obtained by running its creation code in an
  ``eth_call`` (immutables filled, nothing deployed), then placed at its production address with ``anvil_setCode``.
  So our contracts never write storage in a constructor and never capture ``address(this)`` in an immutable.

A whole chain takes a few tens of milliseconds; runtime codes are cached between chains.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from .._coerce import to_address
from ..encoding.abi import encode_function_call
from ..errors import DevnetError
from ..policies import (
    SPENDING_LIMITS_POLICY_ADDRESS,
    SUDO_POLICY_ADDRESS,
    TIME_FRAME_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
)
from ..rpc import SyncRpcClient
from ..versions import (
    DETERMINISTIC_DEPLOYER_ADDRESS,
    ENTRY_POINT_V07_ADDRESS,
    MEE_VERSIONS,
    SMART_SESSIONS_ADDRESS,
    USDC_BASE_ADDRESS,
)
from .artifacts import creation_code, load_artifact

__all__ = [
    "COUNTER_ADDRESS",
    "ENTRY_POINT_SALT",
    "MULTICALL3_ADDRESS",
    "NODE_PAYMASTER_ADDRESS",
    "SENDER_CREATOR_ADDRESS",
    "TEST_MNEMONIC",
    "USDC_ADDRESSES",
    "DeployedChain",
    "Placement",
    "TestKey",
    "deploy_suite",
    "suite_placements",
    "test_keys",
    "usdc_address",
]

ENTRY_POINT_SALT = bytes.fromhex("90d8084deab30c2a37c45e8d47f49f2f7965183cb6990a98943ef94940681de3")
SENDER_CREATOR_ADDRESS = "0xEFC2c1444eBCC4Db75e7613d20C6a62fF67A167C"
#: Production USDC per chain; other chains get Base's address.
USDC_ADDRESSES = {
    8453: USDC_BASE_ADDRESS,
    10: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
    42161: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    84532: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
}
COUNTER_ADDRESS = "0x000000000000000000000000000000000000c0Fe"  # the spec's example target
#: Where Multicall3 lives on nearly every chain; viem's `multicall` (the SDK's permit reads) calls it there.
MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
NODE_PAYMASTER_ADDRESS = to_address("0x000000000000000000000000000000000000f33d", field="NODE_PAYMASTER_ADDRESS")
TEST_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's default dev accounts
_K1_BY_VERSION = {v: MEE_VERSIONS[v].validator_address for v in ("2.0.0", "2.1.0")}


def usdc_address(chain_id: int) -> str:
    return USDC_ADDRESSES.get(chain_id, USDC_BASE_ADDRESS)


@dataclass(frozen=True)
class TestKey:
    """A funded devnet key: anvil's well-known dev accounts (never use them anywhere else)."""

    __test__ = False  # not a pytest test class, despite its name

    role: str
    address: str
    private_key: str


_ROLES = ("deployer", "owner", "session_signer", "node", "alice", "bob")


def test_keys() -> list[TestKey]:
    Account.enable_unaudited_hdwallet_features()
    keys = []
    for index, role in enumerate(_ROLES):
        acct = Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        keys.append(TestKey(role=role, address=acct.address, private_key="0x" + bytes(acct.key).hex()))
    return keys


@dataclass(frozen=True)
class Placement:
    """One contract of the suite: its artifact, where it goes, and its constructor arguments."""

    name: str  # a label, unique in the suite (e.g. "Nexus 2.1.0")
    artifact: str
    address: str
    args: tuple[Any, ...] = ()


def suite_placements(*, chain_id: int, node_address: str) -> list[Placement]:
    """The whole suite for one chain, in placement order (a contract's dependencies come first)."""
    out = [
        Placement("SmartSession", "SmartSession", SMART_SESSIONS_ADDRESS),
        Placement("SudoPolicy", "SudoPolicy", SUDO_POLICY_ADDRESS),
        Placement("UniActionPolicy", "UniActionPolicy", UNIVERSAL_ACTION_POLICY_ADDRESS),
        Placement("TimeFramePolicy", "TimeFramePolicy", TIME_FRAME_POLICY_ADDRESS),
        Placement("UsageLimitPolicy", "UsageLimitPolicy", USAGE_LIMIT_POLICY_ADDRESS),
        Placement("ValueLimitPolicy", "ValueLimitPolicy", VALUE_LIMIT_POLICY_ADDRESS),
        Placement("ERC20SpendingLimitPolicy", "ERC20SpendingLimitPolicy", SPENDING_LIMITS_POLICY_ADDRESS),
        Placement("USDC", "USDC", usdc_address(chain_id)),
        Placement("Counter", "Counter", COUNTER_ADDRESS),
        Placement("Multicall3", "Multicall3", MULTICALL3_ADDRESS),
        Placement("NodePaymaster", "NodePaymaster", NODE_PAYMASTER_ADDRESS, (ENTRY_POINT_V07_ADDRESS, node_address)),
    ]
    for version, k1 in _K1_BY_VERSION.items():
        config = MEE_VERSIONS[version]
        out += [
            Placement(f"K1MeeValidator {version}", "K1MeeValidator", k1),
            Placement(
                f"Nexus {version}",
                "Nexus",
                config.implementation_address,
                (ENTRY_POINT_V07_ADDRESS, k1, b"\xee" * 20),
            ),
            Placement(f"NexusBootstrap {version}", "NexusBootstrap", config.boot_strap_address, _bootstrap_args(k1)),
            Placement(
                f"NexusAccountFactory {version}",
                "NexusAccountFactory",
                config.factory_address,
                (config.implementation_address, node_address),
            ),
        ]
    return out


def _bootstrap_args(default_validator: str) -> tuple[Any, ...]:
    types = load_artifact("NexusBootstrap").constructor_types
    return (default_validator, b"\xee" * 20)[: len(types)]


@dataclass
class DeployedChain:
    chain_id: int
    url: str
    contracts: dict[str, str]  # label -> address
    seconds: float


def _wait_receipt(rpc: SyncRpcClient, tx_hash: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = rpc.request("eth_getTransactionReceipt", [tx_hash])
        if receipt:
            return dict(receipt)
        time.sleep(0.005)
    raise DevnetError(f"Transaction {tx_hash} was not mined within {timeout} s.")


def send_and_wait(rpc: SyncRpcClient, tx: dict[str, Any]) -> dict[str, Any]:
    """``eth_sendTransaction`` from an unlocked dev account, then its receipt; a revert is a DevnetError."""
    receipt = _wait_receipt(rpc, rpc.request("eth_sendTransaction", [tx]))
    if receipt.get("status") != "0x1":
        raise DevnetError(f"Devnet transaction to {tx.get('to')} reverted.", details=str(receipt))
    return receipt


def _deploy_entry_point(rpc: SyncRpcClient, deployer: str) -> None:
    if rpc.request("eth_getCode", [ENTRY_POINT_V07_ADDRESS, "latest"]) not in ("0x", "0x0"):
        return
    if rpc.request("eth_getCode", [DETERMINISTIC_DEPLOYER_ADDRESS, "latest"]) in ("0x", "0x0"):
        raise DevnetError("The deterministic deployer 0x4e59…956C is missing on this chain (anvil predeploys it).")
    data = ENTRY_POINT_SALT + load_artifact("EntryPoint").bytecode
    send_and_wait(
        rpc,
        {"from": deployer, "to": DETERMINISTIC_DEPLOYER_ADDRESS, "data": "0x" + data.hex(), "gas": hex(8_000_000)},
    )
    if rpc.request("eth_getCode", [ENTRY_POINT_V07_ADDRESS, "latest"]) in ("0x", "0x0"):
        raise DevnetError("EntryPoint v0.7 did not land at its canonical address; is the npm artifact the 0.7.0 one?")


def deploy_suite(
    rpc: SyncRpcClient,
    *,
    chain_id: int,
    placements: Sequence[Placement] | None = None,
    runtime_cache: dict[tuple[str, bytes], bytes] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DeployedChain:
    """Deploy the EntryPoint and place the suite on one chain; fund the test keys and the node paymaster.

    ``runtime_cache`` (shared between chains) saves computing the same runtime code twice.
    """
    started = time.monotonic()
    keys = {k.role: k for k in test_keys()}
    deployer, node = keys["deployer"].address, keys["node"].address
    say = progress or (lambda _msg: None)

    _deploy_entry_point(rpc, deployer)
    plan = list(placements if placements is not None else suite_placements(chain_id=chain_id, node_address=node))
    cache = runtime_cache if runtime_cache is not None else {}

    # In order: a constructor may read the contracts placed before it.
    for p in plan:
        key = (p.artifact, creation_code(p.artifact, p.args))
        if key not in cache:
            result = rpc.request("eth_call", [{"from": deployer, "data": "0x" + key[1].hex(), "gas": hex(30_000_000)}])
            runtime = bytes.fromhex(str(result)[2:])
            if not runtime:
                raise DevnetError(f"The constructor of {p.name} returned no code.")
            cache[key] = runtime
        rpc.request("anvil_setCode", [p.address, "0x" + cache[key].hex()])
    say(f"chain {chain_id}: placed {len(plan)} contracts")

    _fund(rpc, chain_id=chain_id, deployer=deployer, keys=list(keys.values()), plan=plan)
    contracts = {"EntryPoint": ENTRY_POINT_V07_ADDRESS, "SenderCreator": SENDER_CREATOR_ADDRESS}
    contracts.update({p.name: p.address for p in plan})
    return DeployedChain(chain_id=chain_id, url=rpc.url, contracts=contracts, seconds=time.monotonic() - started)


def _fund(rpc: SyncRpcClient, *, chain_id: int, deployer: str, keys: list[TestKey], plan: list[Placement]) -> None:
    """Deposit for the node paymaster at the EntryPoint; 1,000,000 test USDC for every test key."""
    names = {p.artifact for p in plan}
    txs: list[dict[str, Any]] = []
    if "NodePaymaster" in names:
        deposit = encode_function_call("depositTo(address)", [NODE_PAYMASTER_ADDRESS])
        txs.append({"to": ENTRY_POINT_V07_ADDRESS, "data": "0x" + deposit.hex(), "value": hex(10**21)})
    if "USDC" in names:
        for key in keys:
            mint = encode_function_call("mint(address,uint256)", [key.address, 1_000_000 * 10**6])
            txs.append({"to": usdc_address(chain_id), "data": "0x" + mint.hex()})
    for tx in txs:  # one at a time: anvil does not reliably mine a batch of same-sender transactions
        send_and_wait(rpc, {"from": deployer, **tx})
