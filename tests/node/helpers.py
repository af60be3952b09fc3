"""A small synchronous client of the node's HTTP API and the request bodies the reference SDK sends (spec §9.3),
built in Python: session quotes (usePermission), owner quotes (prepareForPermissions), signed exec bodies."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from smartsessions import ActionConfig, get_permission_id, get_sudo_policy
from smartsessions.devnet.deploy import TestKey, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeConfig, NodeServer, devnet_node_config
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.quote import sign_quote
from smartsessions.encoding.userop import get_nonce_key
from smartsessions.sessions import SessionDetails, grant_permission_offline, to_wire_session_details
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS, MEE_VERSIONS, SMART_SESSIONS_ADDRESS

from ..contracts.flows import COUNTER, INCREMENT, deployed_with_sessions_module
from ..contracts.harness import Chain
from .proxy import FlakyProxy

FINAL = ("MINED_SUCCESS", "MINED_FAIL", "FAILED")
API_KEY = "test-node-key"


@contextlib.contextmanager
def paused_mining(chain: Chain) -> Iterator[None]:
    """No blocks while the with-block runs (transactions wait in the pool; ``evm_mine`` mines them), then a block per
    transaction again. Only on a chain that mines on demand (the ``on_demand_mining`` devnet): anvil cannot restore
    mixed mining, so pausing a chain that also makes blocks on its own would change it for good."""
    assert chain.rpc.request("anvil_getAutomine") is True, "pause mining only on the on_demand_mining devnet"
    chain.rpc.request("evm_setAutomine", [False])
    try:
        yield
    finally:
        chain.rpc.request("evm_setAutomine", [True])


class NodeClient:
    """The node's routes over real HTTP; answers are returned as (status, json)."""

    def __init__(self, url: str, api_key: str | None = API_KEY) -> None:
        headers = {"x-api-key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> tuple[int, Any]:
        r = self.http.get(path)
        return r.status_code, r.json()

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        r = (
            self.http.post(path, json=body)
            if not isinstance(body, (str, bytes))
            else self.http.post(path, content=body)
        )
        return r.status_code, r.json()

    def quote(self, body: dict[str, Any], path: str = "/quote") -> dict[str, Any]:
        status, answer = self.post(path, body)
        assert status == 200, answer
        return dict(answer)

    def execute(self, signed: dict[str, Any]) -> str:
        status, answer = self.post("/exec", signed)
        assert status == 200, answer
        assert answer == {"hash": signed["hash"]}
        return str(answer["hash"])

    def wait(
        self,
        quote_hash: str,
        timeout: float = 30,
        *,
        confirmed: bool = False,
        until: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Poll the explorer until every userOp is final (and, with ``confirmed``, every mined one ``isConfirmed``:
        on the shared devnet a block comes every 2 s, so the default 3 confirmations take a few seconds), or, with
        ``until``, until the explorer's answer satisfies it (``statuses(a) == ["MINING"] * 2``)."""
        deadline = time.monotonic() + timeout
        while True:
            status, answer = self.get(f"/explorer/{quote_hash}")
            if status == 200 and (
                until(answer)
                if until is not None
                else all(op["executionStatus"] in FINAL for op in answer["userOps"])
                and (not confirmed or all(op["isConfirmed"] for op in answer["userOps"]))
            ):
                return dict(answer)
            if time.monotonic() > deadline:
                what = "not final" if until is None else "not as awaited"
                raise AssertionError(f"super-transaction {quote_hash} {what} after {timeout} s: {answer}")
            time.sleep(0.03)


def statuses(receipt: dict[str, Any]) -> list[str]:
    return [op["executionStatus"] for op in receipt["userOps"]]


def refusal(answer: Any, code: str, **facts: Any) -> str:
    """Asserts that ``answer`` is the node's refusal ``{"error", "code", "facts"}`` with ``code`` and (at least) the
    ``facts`` given (their camelCase keys as keyword arguments); returns its message."""
    assert isinstance(answer, dict) and set(answer) == {"error", "code", "facts"}, answer
    assert answer["code"] == code, answer
    assert isinstance(answer["error"], str) and isinstance(answer["facts"], dict), answer
    wrong = {k: (answer["facts"].get(k, "<absent>"), v) for k, v in facts.items() if answer["facts"].get(k) != v}
    assert not wrong, f"facts (sent, expected): {wrong}; {answer}"
    return answer["error"]


# -- request bodies ----------------------------------------------------------------------------------------------


@dataclass
class Lanes:
    """Distinct nonce keys per userOp, as the SDK draws them from the clock."""

    next: int = field(default_factory=lambda: int(time.time() * 1000) % 10_000_000)

    def nonce(self, chain: Chain, sender: str, validator: str) -> int:
        self.next += 1
        key = get_nonce_key(validator=validator, now_ms=self.next)
        return int(chain.call(ENTRY_POINT_V07_ADDRESS, "getNonce(address,uint192)", [sender, key], ["uint256"]))


def mee_versions(chain_ids: Sequence[int], version: str = "2.0.0") -> list[dict[str, Any]]:
    return [{"version": MEE_VERSIONS[version].to_wire(), "chainId": c} for c in chain_ids]


def user_op(
    chain: Chain,
    sender: str,
    call_data: bytes,
    nonce: int,
    *,
    details: SessionDetails | None = None,
    mode: str | None = None,
    init_code: bytes = b"",
    verification_gas_limit: int | None = None,
    window: int = 600,
) -> dict[str, Any]:
    # The window, on the chain's own clock as the SDK draws it (its latest block's timestamp): the EntryPoint checks
    # it against the block time, and the node against the chain's time.
    now = chain.timestamp()
    op: dict[str, Any] = {
        "lowerBoundTimestamp": now,
        "upperBoundTimestamp": now + window,
        "sender": sender,
        "callData": "0x" + call_data.hex(),
        "callGasLimit": "700000",
        "nonce": str(nonce),
        "chainId": str(chain.chain_id),
        "isCleanUpUserOp": False,
        "shortEncoding": details is not None,
        "metadata": [{"type": "CUSTOM", "description": "Custom on-chain action", "chainId": chain.chain_id}],
    }
    if init_code:
        op["initCode"] = "0x" + init_code.hex()
    if verification_gas_limit is not None:
        op["verificationGasLimit"] = str(verification_gas_limit)
    if details is not None:
        op["sessionDetails"] = {**to_wire_session_details(details), "mode": mode or details.mode.hex}
    return op


def payment_info(
    chain: Chain,
    sender: str,
    nonce: int,
    *,
    details: SessionDetails | None = None,
    mode: str | None = None,
    init_code: bytes = b"",
    eoa: str | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "sponsored": False,
        "sender": sender,
        "token": usdc_address(chain.chain_id),
        "nonce": str(nonce),
        "callGasLimit": "75000",
        "verificationGasLimit": "1000000" if details is not None else "150000",
        "chainId": str(chain.chain_id),
    }
    if eoa:
        info["eoa"] = eoa
    if init_code:
        info["initCode"] = "0x" + init_code.hex()
    if details is not None:
        info["shortEncoding"] = True
        info["sessionDetails"] = {**to_wire_session_details(details), "mode": mode or details.mode.hex}
    return info


def session_quote(
    chains: Sequence[Chain],
    account: str,
    details: Sequence[SessionDetails],
    calls: Sequence[tuple[Chain, bytes]],
    lanes: Lanes,
    *,
    enable: bool,
) -> dict[str, Any]:
    """What ``usePermission`` sends (spec §6): the payment userOp (fee chain = the first chain) carries the enable data
    in ENABLE_AND_USE; each chain's first userOp that is not on the fee chain too."""
    fee_chain = chains[0]
    by_chain = {d.chain_id: d for d in details}
    first_mode = "0x02" if enable else "0x00"
    seen = {fee_chain.chain_id}
    ops = []
    for chain, call_data in calls:
        mode = first_mode if chain.chain_id not in seen else "0x00"
        seen.add(chain.chain_id)
        nonce = lanes.nonce(chain, account, SMART_SESSIONS_ADDRESS)
        ops.append(
            user_op(chain, account, call_data, nonce, details=by_chain[chain.chain_id], mode=mode,
                    verification_gas_limit=1_000_000 if mode == "0x02" else 250_000)
        )  # fmt: skip
    return {
        "quoteType": "simple",
        "userOps": ops,
        "paymentInfo": payment_info(
            fee_chain,
            account,
            lanes.nonce(fee_chain, account, SMART_SESSIONS_ADDRESS),
            details=by_chain[fee_chain.chain_id],
            mode=first_mode,
        ),
        "meeVersions": mee_versions(list(dict.fromkeys([fee_chain.chain_id, *[c.chain_id for c, _ in calls]]))),
        "simulation": {"simulate": True},  # as our SDK asks by default; without it the node takes the gas limits sent
    }


def signed(quote: dict[str, Any], key: TestKey, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The exec body: the quote with the simple signature, as the SDK's ``signQuote`` makes it."""
    signature = sign_quote(Account.from_key(key.private_key), quote["hash"])
    body = {**quote, "signature": "0x" + bytes(signature).hex(), "isEIP712TrustedSponsorshipSupported": True}
    if request is not None:
        body["meeVersions"] = request["meeVersions"]
    return body


# -- grants and chain reads --------------------------------------------------------------------------------------


def grant(
    chains: Sequence[Chain],
    account: str,
    owner: TestKey,
    redeemer: TestKey,
    actions: Sequence[ActionConfig],
) -> list[SessionDetails]:
    """``grant_permission_offline`` with the SmartSessions nonces read from each chain."""
    salts = [os.urandom(32) for _ in chains]
    nonces = {}
    for chain, salt in zip(chains, salts, strict=True):
        pid = get_permission_id(
            {
                "session_validator": MEE_VERSIONS["2.0.0"].validator_address,
                "session_validator_init_data": redeemer.address,
                "salt": salt,
            }
        )
        nonces[chain.chain_id] = chain.call(
            SMART_SESSIONS_ADDRESS, "getNonce(bytes32,address)", [bytes(pid), account], ["uint256"]
        )
    fee = chains[0]
    return grant_permission_offline(
        signer=Account.from_key(owner.private_key),
        redeemer=redeemer.address,
        actions=actions,
        accounts={c.chain_id: account for c in chains},
        nonces=nonces,
        versions="2.0.0",
        fee_token={"address": usdc_address(fee.chain_id), "chain_id": fee.chain_id},
        fee_token_decimals=6,
        salts=salts,
    )


def usdc_balance(chain: Chain, holder: str) -> int:
    return int(chain.call(usdc_address(chain.chain_id), "balanceOf(address)", [holder], ["uint256"]))


def fund_usdc(chain: Chain, to: str, amount: int, source: TestKey) -> None:
    data = encode_function_call("transfer(address,uint256)", [to, amount])
    chain.transact(source.address, usdc_address(chain.chain_id), data)


def is_permission_enabled(chain: Chain, details: SessionDetails, account: str) -> bool:
    return bool(
        chain.call(
            SMART_SESSIONS_ADDRESS,
            "isPermissionEnabled(bytes32,address)",
            [bytes(details.permission_id), account],
            ["bool"],
        )
    )


# -- a node in its own process (restart tests) -------------------------------------------------------------------


class NodeProcess:
    """``python -m smartsessions.devnet.node`` on a config file; killed with SIGKILL like a crashed node."""

    def __init__(self, config: NodeConfig, folder: Path, name: str) -> None:
        self.config_path = folder / f"{name}.json"
        self.config_path.write_text(config.model_dump_json())
        self.log = (folder / f"{name}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smartsessions.devnet.node", "--config", str(self.config_path)],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the node process exited: {(folder / f'{name}.log').read_text()}")
        self.url = json.loads(line)["url"]

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def wait_exit(self, timeout: float = 20) -> int:
        code = self.process.wait(timeout)
        self.log.close()
        return code


def two_chain_session(chains: Sequence[Chain], usdc: int = 10_000_000) -> tuple[str, list[SessionDetails]]:
    """An account deployed with SmartSessions on every chain, ``usdc`` on the first (the fee chain), and a grant of
    Counter.increment on every chain (sudo) to the session signer, not yet enabled: the account and the details."""
    owner, redeemer = chains[0].keys["owner"], chains[0].keys["session_signer"]
    accounts = {deployed_with_sessions_module(c, owner).address for c in chains}
    assert len(accounts) == 1, accounts
    [account] = accounts
    fund_usdc(chains[0], account, usdc, owner)
    actions = [
        ActionConfig(chain_id=c.chain_id, action_target=COUNTER, action_target_selector=INCREMENT,
                     action_policies=[get_sudo_policy()])
        for c in chains
    ]  # fmt: skip
    return account, grant(list(chains), account, owner, redeemer, actions)


@contextlib.contextmanager
def node_with_chain_10_behind_a_proxy(devnet: Devnet, database: Path) -> Iterator[tuple[NodeClient, FlakyProxy]]:
    """A node on a thread (no API key) whose chain 10 is reached through a :class:`FlakyProxy` the test can take down:
    a chain outage, for real. Chain 8453 is reached directly."""
    proxy = FlakyProxy(devnet.url(10))
    server = NodeServer(devnet_node_config({8453: devnet.url(8453), 10: proxy.url}, database=database)).start()
    client = NodeClient(server.url, api_key=None)
    try:
        yield client, proxy
    finally:
        client.close()
        server.stop()
        proxy.close()
