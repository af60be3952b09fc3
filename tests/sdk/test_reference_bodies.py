"""The HTTP bodies our SDK sends equal the reference SDK's for the same inputs (spec §9.3, issue 5 point 2).

For each case, the unmodified reference (``tests/reference/capture_requests.mjs``, abstractjs 1.2.3) and our SDK make
the same call against the same devnet state and a stub MEE node that records every request. The stub answers each
quote as a node would, with the real hashes of the userOps asked for (our SDK checks them before it signs), so that
both clients go on to ``/exec`` and their exec bodies can be compared too.

Compared exactly, key order aside, after four normalisations that only remove what differs by design: hex strings
are lower-cased (viem sends checksummed addresses, some of ours are lower-case); every ``nonce`` loses the 3-byte time
lane of its key (both SDKs draw it from the clock); every execution window keeps its length and types but not its
start, which the reference takes from the machine's clock (fixed here) and ours from the latest block of the userOp's
chain (checked separately: :func:`check_our_windows`); and the hashes those two change, and the signatures over them,
keep their kind and length (a signature its 4-byte type prefix too). The session salts of ``prepare_for_permissions``
and of ``get_session_quote`` are zeros for both.

The ``getSessionQuote`` cases (then ``executeSessionQuote``; ours ``get_session_quote`` then
``execute_session_quote``) also compare the session details a PREPARE returns, hex lower-cased: equal when the actions
are batched; unbatched, the reference's list only each chain's first action group and ours every group
(:func:`assert_unbatched_details`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    ActionData,
    ChainConfiguration,
    EnableSessionParams,
    Instruction,
    SessionAction,
    build_session_action,
    create_mee_client,
    get_sudo_policy,
    mee_session_actions,
    session_details_from_json,
    session_details_to_json,
    to_multichain_nexus_account,
    to_smart_sessions_module,
)
from smartsessions.account.calls import Call, encode_execute_single
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.encoding.abi import encode_function_call
from smartsessions.rpc import SyncRpcClient
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from ..contracts.flows import deployed_with_sessions_module
from ..contracts.harness import Chain
from ..quotes import consistent_quote
from .conftest import CHAINS, INCREMENT

pytestmark = pytest.mark.slow  # the reference SDK runs in Node.js

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "reference" / "capture_requests.mjs"
API_KEY = "stub-key"
NODE_KEY = Account.from_key("0x" + "33" * 32)  # the stub node's: it signs each quote's hash (its commitment)
NOW_MS = 1_760_000_000_123
VERSION = "2.1.0"
_LANE_MASK = ((1 << 256) - 1) ^ (0xFFFFFF << 232)
_HASHED = ("hash", "userOpHash", "meeUserOpHash", "commitment", "signature")


def normalized(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        out = {k: normalized(v, k) for k, v in value.items()}
        if "lowerBoundTimestamp" in value and "upperBoundTimestamp" in value:
            lower, upper = value["lowerBoundTimestamp"], value["upperBoundTimestamp"]
            out["lowerBoundTimestamp"] = f"<start, {type(lower).__name__}>"
            out["upperBoundTimestamp"] = f"<start + {int(upper) - int(lower)}, {type(upper).__name__}>"
        return out
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if key == "nonce" and isinstance(value, str):
        return str(int(value) & _LANE_MASK)
    if key in _HASHED and isinstance(value, str):  # what the nonces' lanes and the windows' starts change
        raw = bytes.fromhex(value[2:])
        return f"<{key}: {len(raw)} bytes>" if key != "signature" else f"<0x{raw[:4].hex()}..., {len(raw)} bytes>"
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return value


def fake_quote(request: dict[str, Any]) -> dict[str, Any]:
    """The quote a node would answer: real hashes of the userOps asked for (the SDK checks them before it signs).
    They differ between the two clients (nonce lanes, windows), so the bodies are compared with every hash, and the
    signatures over them, replaced by what they are (:func:`normalized`)."""
    quote = consistent_quote(
        request,
        node=NODE_KEY,
        fee=10_000,
        gas={"maxFeePerGas": "7", "maxPriorityFeePerGas": "1", "preVerificationGas": "50000"},
        extra_keys=("sessionDetails", "metadata", "isCleanUpUserOp"),
    )
    quote["paymentInfo"] = {**quote["paymentInfo"], "tokenAmount": "0.01", "tokenValue": "0.01"}
    return {**quote, "extraNodeField": {"kept": True}}  # the client must echo what it does not know


class RecordingNode(ThreadingHTTPServer):
    def __init__(self, chain_ids: tuple[int, ...]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.chain_ids = chain_ids
        self.permit_enabled = True  # what /info says of USDC: False makes both clients use on-chain triggers
        self.posts: list[tuple[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def take(self) -> list[tuple[str, Any]]:
        posts, self.posts = self.posts, []
        return posts


class _Handler(BaseHTTPRequestHandler):
    server: RecordingNode

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.headers_seen.append(dict(self.headers))
        if self.path != "/v1/info":
            self._answer(404, {"error": "not here"})
            return
        self._answer(
            200,
            {
                "version": "stub",
                "node": NODE_KEY.address,
                "supportedChains": [{"chainId": str(c), "name": f"devnet-{c}"} for c in self.server.chain_ids],
                "supportedGasTokens": [
                    {
                        "chainId": str(c),
                        "paymentTokens": [
                            {
                                "name": "USD Coin",
                                "address": usdc_address(c),
                                "symbol": "USDC",
                                "decimals": 6,
                                "permitEnabled": self.server.permit_enabled,
                            }
                        ],
                        "isArbitraryFeeTokensSupported": False,
                    }
                    for c in self.server.chain_ids
                ],
                "supported_wallet_providers": [],
            },
        )

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        path = self.path.removeprefix("/v1/").lstrip("/")
        self.server.posts.append((path, body))
        if path in ("quote", "quote-permit"):
            self._answer(200, fake_quote(without_our_simulation(body)))
        elif path == "exec":
            self._answer(200, {"hash": body["hash"]})
        else:
            self._answer(404, {"error": f"no route {path}"})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording_node() -> Iterator[RecordingNode]:
    server = RecordingNode(CHAINS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run_reference(
    devnet: Devnet, node: RecordingNode, case: dict[str, Any], output: dict[str, Any] | None = None
) -> list[tuple[str, Any]]:
    """The reference's requests for ``case``; ``output`` gets what the script prints besides ``ok``."""
    binary = shutil.which("node")
    assert binary, "node is needed for the reference client runs (make install)"
    spec = {
        "chains": [
            {"chainId": c, "rpcUrl": devnet.url(c), "multicall3": devnet.chains[c].contracts["Multicall3"]}
            for c in CHAINS
        ],
        "nodeUrl": node.url,
        "apiKey": API_KEY,
        "ownerKey": devnet.key("owner").private_key,
        "signerKey": devnet.key("session_signer").private_key,
        "version": VERSION,
        "nowMs": NOW_MS,
        "case": case,
    }
    run = subprocess.run(
        [binary, str(SCRIPT)], input=json.dumps(spec), capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout.splitlines()[-1])
    assert printed.pop("ok") is True, run.stdout
    if output is not None:
        output.update(printed)
    return node.take()


async def run_ours(
    devnet: Devnet, node: RecordingNode, case: dict[str, Any], output: dict[str, Any] | None = None
) -> list[tuple[str, Any]]:
    """Our requests for ``case``; for a sessionQuote case, ``output`` gets the returned session details (our JSON)."""
    owner = Account.from_key(devnet.key("owner").private_key)
    signer = Account.from_key(devnet.key("session_signer").private_key)

    def configs(address: str | None = None) -> list[ChainConfiguration]:
        return [
            ChainConfiguration(chain_id=c, rpc_url=devnet.url(c), version=VERSION, account_address=address)
            for c in CHAINS
        ]

    account = await to_multichain_nexus_account(signer=owner, chain_configurations=configs())
    client = await create_mee_client(account=account, url=node.url, api_key=API_KEY)
    opened: list[Any] = [account, client]
    payment: dict[str, Any] = {"sponsorship": True} if case.get("sponsorship") else {"fee_token": case["feeToken"]}
    instructions = [
        Instruction(
            chain_id=i["chainId"],
            calls=[
                {"to": c["to"], "data": c["data"], "value": int(c.get("value", 0)), "gas_limit": c.get("gasLimit")}
                for c in i["calls"]
            ],
        )
        for i in case.get("instructions", [])
    ]
    try:
        node.take()  # the /info reads are not compared
        if case["kind"] == "prepare":
            await client.extend(mee_session_actions).prepare_for_permissions(
                smart_sessions_validator=to_smart_sessions_module(signer=signer),
                trigger=case.get("trigger"),
                confirmations=case.get("confirmations", 2),
                redeemer=case.get("redeemer"),
                actions=case.get("actions"),
                **payment,
            )
        elif case["kind"] == "sessionQuote":
            quoting = client.extend(mee_session_actions)
            if case["mode"] == "USE":
                redeemer_account = await to_multichain_nexus_account(
                    signer=signer, chain_configurations=configs(account.address)
                )
                redeemer = await create_mee_client(account=redeemer_account, url=node.url, api_key=API_KEY)
                opened += [redeemer_account, redeemer]
                quoting = redeemer.extend(mee_session_actions)
            enable = case.get("enableSession")
            t = case.get("trigger")
            session_quote = await quoting.get_session_quote(
                mode=case["mode"],
                enable_session=None
                if enable is None
                else EnableSessionParams(
                    redeemer=enable["redeemer"],
                    actions=our_action_groups(enable["actions"]),
                    batch_actions=enable.get("batchActions", True),
                ),
                session_details=None
                if "sessionDetails" not in case
                else session_details_from_json(case["sessionDetails"]),
                instructions=instructions or None,
                trigger=None
                if t is None
                else {"token_address": t["tokenAddress"], "chain_id": t["chainId"], "amount": t["amount"]},
                **payment,
            )
            assert session_quote is not None
            await quoting.execute_session_quote(session_quote)
            if output is not None:
                details = session_quote.session_details
                output["sessionDetails"] = None if details is None else session_details_to_json(details)
        elif case["kind"] == "use":
            redeemer_account = await to_multichain_nexus_account(
                signer=signer, chain_configurations=configs(account.address)
            )
            redeemer = await create_mee_client(account=redeemer_account, url=node.url, api_key=API_KEY)
            opened += [redeemer_account, redeemer]
            await redeemer.extend(mee_session_actions).use_permission(
                session_details=case["details"], mode=case["mode"], instructions=instructions, **payment
            )
        else:
            await client.execute(instructions=instructions, **payment)
    finally:
        for item in reversed(opened):
            await item.aclose()
    return node.take()


def chain_times(chains: dict[int, Chain]) -> dict[int, int]:
    return {c: chain.timestamp() for c, chain in chains.items()}


def check_our_windows(ours: list[tuple[str, Any]], chains: dict[int, Chain], before: dict[int, int]) -> None:
    """Our quote requests open each userOp's window at its chain's latest block's timestamp (at the time of the
    quote: between ``before`` and now), for 180 s."""
    after = chain_times(chains)
    quotes = [body for path, body in ours if path in ("quote", "quote-permit")]
    assert quotes
    for body in quotes:
        for op in body["userOps"]:
            chain_id, lower = int(op["chainId"]), op["lowerBoundTimestamp"]
            assert before[chain_id] <= lower <= after[chain_id], (chain_id, before, lower, after)
            assert op["upperBoundTimestamp"] == lower + 180


def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our nonce lanes from the reference's fixed clock (they are masked anyway), and zero session salts."""
    monkeypatch.setattr("smartsessions.mee.request.time", SimpleNamespace(time=lambda: NOW_MS / 1000))
    monkeypatch.setattr("smartsessions.sessions.prepare.os", SimpleNamespace(urandom=lambda n: bytes(n)))


def fee(chain_id: int = 8453) -> dict[str, Any]:
    return {"address": usdc_address(chain_id), "chainId": chain_id}


def increment(chain_id: int, gas_limit: int | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"to": COUNTER_ADDRESS, "data": "0x" + INCREMENT.hex()}
    if gas_limit is not None:
        call["gasLimit"] = str(gas_limit)
    return {"chainId": chain_id, "calls": [call]}


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON values differ: ``path: ours != reference``."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                out.append(f"{path}.{key}: {a.get(key, 'missing')!r} != {b.get(key, 'missing')!r}")
            else:
                out += differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for k, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{k}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def without_our_simulation(body: Any) -> Any:
    """The one deliberate difference of our quote requests: our SDK asks the node to simulate by default
    (``"simulation": {"simulate": true}``, an early refusal before anything is signed); the reference SDK does not."""
    if isinstance(body, dict) and body.get("simulation") == {"simulate": True}:
        return {k: v for k, v in body.items() if k != "simulation"}
    return body


def assert_same(ours: list[tuple[str, Any]], reference: list[tuple[str, Any]]) -> None:
    assert [p for p, _ in ours] == [p for p, _ in reference]
    for (path, mine), (_, theirs) in zip(ours, reference, strict=True):
        if path in ("quote", "quote-permit"):
            assert mine.get("simulation") == {"simulate": True} and "simulation" not in theirs, path
            mine = without_our_simulation(mine)
        found = differences(normalized(mine), normalized(theirs))
        assert not found, f"POST {path}: " + "\n".join(found[:10])


PREPARE_CASES: dict[str, dict[str, Any]] = {
    "permit trigger, undeployed": {
        "kind": "prepare", "feeToken": fee(),
        "trigger": {"tokenAddress": usdc_address(8453), "chainId": 8453, "amount": "10000000"},
    },
    "redeemer and actions": {
        "kind": "prepare", "feeToken": fee(),
        "redeemer": None,  # filled with the session signer
        "actions": [
            {"chainId": 8453, "actionTarget": COUNTER_ADDRESS, "actionTargetSelector": "0x" + INCREMENT.hex()},
            {"chainId": 10, "actionTarget": COUNTER_ADDRESS, "actionTargetSelector": "0x" + INCREMENT.hex()},
        ],
    },
    "sponsored": {"kind": "prepare", "sponsorship": True},
}  # fmt: skip


@pytest.mark.parametrize("name", list(PREPARE_CASES))
async def test_prepare_bodies_equal_the_reference(
    name: str, devnet: Devnet, chains: dict[int, Chain], recording_node: RecordingNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = dict(PREPARE_CASES[name])
    if "redeemer" in case:
        case["redeemer"] = devnet.key("session_signer").address
    reference = run_reference(devnet, recording_node, case)
    fixed_clock(monkeypatch)
    ours_case = dict(case)
    if "actions" in case:
        from smartsessions import ActionConfig, get_sudo_policy

        ours_case["actions"] = [
            ActionConfig(
                chain_id=a["chainId"],
                action_target=a["actionTarget"],
                action_target_selector=a["actionTargetSelector"],
                action_policies=[get_sudo_policy()],
            )
            for a in case["actions"]
        ]
    if "trigger" in case:
        t = case["trigger"]
        ours_case["trigger"] = {"token_address": t["tokenAddress"], "chain_id": t["chainId"], "amount": t["amount"]}
    before = chain_times(chains)
    ours = await run_ours(devnet, recording_node, ours_case)
    assert len(reference) == 2  # the quote and the exec
    assert_same(ours, reference)
    check_our_windows(ours, chains, before)
    quote = reference[0][1]
    assert quote["userOps"][0]["lowerBoundTimestamp"] == NOW_MS // 1000


async def test_use_and_execute_bodies_equal_the_reference(
    devnet: Devnet, chains: dict[int, Chain], recording_node: RecordingNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ..contracts.flows import Account as FlowAccount
    from ..contracts.flows import enable_sessions_call, owner_op_no_mee

    owner_key = chains[8453].keys["owner"]
    accounts: list[FlowAccount] = [deployed_with_sessions_module(chains[c], owner_key, version=VERSION) for c in CHAINS]
    # the grant: made by our SDK, handed to both clients in the reference's JSON form
    owner = Account.from_key(owner_key.private_key)
    account = await to_multichain_nexus_account(
        signer=owner,
        chain_configurations=[ChainConfiguration(chain_id=c, rpc_url=devnet.url(c), version=VERSION) for c in CHAINS],
    )
    assert account.address == accounts[0].address
    granting = await create_mee_client(account=account, url=recording_node.url, api_key=API_KEY)
    from smartsessions import ActionConfig, get_sudo_policy

    details = await granting.extend(mee_session_actions).grant_permission_typed_data_sign(
        redeemer=devnet.key("session_signer").address,
        fee_token={"address": usdc_address(8453), "chain_id": 8453},
        actions=[
            ActionConfig(
                chain_id=c,
                action_target=COUNTER_ADDRESS,
                action_target_selector=INCREMENT,
                action_policies=[get_sudo_policy()],
            )
            for c in CHAINS
        ],
    )
    await granting.aclose()
    await account.aclose()
    stored = session_details_to_json(details)

    two_chains = [increment(8453), increment(10, gas_limit=123_456), increment(8453)]
    remove = encode_function_call("removeSession(bytes32)", [bytes(details[0].permission_id)])
    # USE last: our SDK reads the permission's state before it asks for a quote (and refuses a USE of a permission
    # that is not enabled, or an ENABLE_AND_USE of one that is), so the owner enables it on chain just before
    cases: list[dict[str, Any]] = [
        {"kind": "use", "mode": "ENABLE_AND_USE", "feeToken": fee(), "instructions": two_chains},
        {"kind": "use", "mode": "ENABLE_AND_USE", "sponsorship": True, "instructions": two_chains},
        {
            "kind": "execute",
            "feeToken": fee(10),
            "instructions": [
                {
                    "chainId": 8453,
                    "calls": [
                        {"to": SMART_SESSIONS_ADDRESS, "data": "0x" + remove.hex(), "gasLimit": "90000", "value": "0"}
                    ],
                },
            ],
        },
        {"kind": "use", "mode": "USE", "feeToken": fee(), "instructions": [increment(10)]},
    ]
    fixed_clock(monkeypatch)
    for case in cases:
        if case.get("mode") == "USE":
            for k, c in enumerate(CHAINS):  # the owner enables the granted session on each chain itself
                session = details[k].enable_session_data.enable_session.session_to_enable
                enable = Call(to=SMART_SESSIONS_ADDRESS, data=enable_sessions_call([session]))
                [done] = owner_op_no_mee(chains[c], accounts[k], bytes(encode_execute_single(enable)))
                assert done.success, done.revert_message
        reference = run_reference(devnet, recording_node, {**case, "sessionDetails": stored})
        before = chain_times(chains)
        ours = await run_ours(devnet, recording_node, {**case, "details": session_details_from_json(stored)})
        assert len(reference) == 2, case
        assert_same(ours, reference)
        check_our_windows(ours, chains, before)
        exec_body = reference[1][1]
        assert exec_body["extraNodeField"] == {"kept": True}
    assert "x-api-key" in {k.lower() for k in recording_node.headers_seen[-1]}


class Miner:
    """Mines a block on a chain every 0.2 s while the with-block runs: both clients wait for 2 confirmations of the
    trigger transaction, which a chain that mines only on demand would never give."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()

    def _run(self) -> None:
        with SyncRpcClient(self.url) as rpc:
            while not self.stop.wait(0.2):
                rpc.request("evm_mine", [])

    def __enter__(self) -> Miner:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def trigger_tx_of(exec_body: dict[str, Any], chain: Chain) -> dict[str, Any]:
    """The on-chain signature names a mined approve from the owner's EOA whose data ends with the quote hash."""
    signature = bytes.fromhex(exec_body["signature"][2:])
    assert signature[:4] == bytes.fromhex("177eee01") and len(signature) == 4 + 64
    assert int.from_bytes(signature[36:68], "big") == 8453
    tx: dict[str, Any] | None = chain.rpc.request("eth_getTransactionByHash", ["0x" + signature[4:36].hex()])
    assert tx is not None and tx["blockNumber"] is not None
    data = bytes.fromhex(tx["input"][2:])
    assert data[:4] == bytes.fromhex("095ea7b3") and data[-32:] == bytes.fromhex(exec_body["hash"][2:])
    return tx


async def test_onchain_trigger_bodies_equal_the_reference(
    devnet: Devnet, chains: dict[int, Chain], recording_node: RecordingNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trigger token the node says has no permit: both clients ask for an "onchain" quote and send the approve
    transaction with the quote hash appended; the signatures differ only by the transaction's hash."""
    recording_node.permit_enabled = False
    case: dict[str, Any] = {
        "kind": "prepare", "feeToken": fee(),
        "trigger": {"tokenAddress": usdc_address(8453), "chainId": 8453, "amount": "10000000"},
    }  # fmt: skip
    with Miner(devnet.url(8453)):
        reference = run_reference(devnet, recording_node, case)
        fixed_clock(monkeypatch)
        t = case["trigger"]
        before = chain_times(chains)
        ours = await run_ours(
            devnet,
            recording_node,
            {**case, "trigger": {"token_address": t["tokenAddress"], "chain_id": t["chainId"], "amount": t["amount"]}},
        )
    assert_same_onchain(ours, reference, devnet, chains, before)


def assert_same_onchain(ours: Any, reference: Any, devnet: Devnet, chains: dict[int, Chain], before: Any) -> None:
    """An on-chain trigger's bodies: the quote asked as on-chain, each client's trigger transaction sent by the owner
    (its hash, which differs, masked in the exec signature), then the bodies as every other case."""
    assert [p for p, _ in reference] == ["quote-permit", "exec"]
    assert reference[0][1]["quoteType"] == "onchain"
    owner = devnet.key("owner").address.lower()
    for posts in (reference, ours):
        assert trigger_tx_of(posts[1][1], chains[8453])["from"].lower() == owner
        posts[1][1]["signature"] = "0x177eee01"
    assert_same(ours, reference)
    check_our_windows(ours, chains, before)


# -- getSessionQuote -----------------------------------------------------------------------------------------------
# The reference's meeClient.getSessionQuote then meeClient.executeSessionQuote({quoteType, quote}); ours
# get_session_quote then execute_session_quote, on the same inputs. An action is one sudo group on the counter, or a
# buildSessionAction input (ours: build_session_action of the same {type, data}).

_BUILD_AMOUNTS = ("amountLimitPerAction", "maxAmountLimit", "usageLimit")
SHOP = "0x000000000000000000000000000000000000bEEF"


def sudo_counter(chain_id: int) -> dict[str, Any]:
    return {"chainId": chain_id, "actionTarget": COUNTER_ADDRESS, "actionTargetSelector": "0x" + INCREMENT.hex()}


def usdc_action(kind: str, chain_id: int, **data: Any) -> dict[str, Any]:
    return {
        "build": {"type": kind, "data": {"chainIds": [chain_id], "contractAddress": usdc_address(chain_id), **data}}
    }


def our_action_groups(actions: list[dict[str, Any]]) -> list[SessionAction]:
    groups: list[SessionAction] = []
    for a in actions:
        if "build" in a:
            data = {k: int(v) if k in _BUILD_AMOUNTS else v for k, v in a["build"]["data"].items()}
            groups += build_session_action({"type": a["build"]["type"], "data": data})
        else:
            action = ActionData(
                action_target=a["actionTarget"],
                action_target_selector=a["actionTargetSelector"],
                action_policies=(get_sudo_policy(),),
            )
            groups.append(SessionAction(chain_id=a["chainId"], actions=(action,)))
    return groups


def lowered(value: Any) -> Any:
    """JSON with its hex strings lower-cased (viem checksums addresses): the session details' only normalisation."""
    if isinstance(value, dict):
        return {k: lowered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lowered(v) for v in value]
    return value.lower() if isinstance(value, str) and value.startswith("0x") else value


def session_to_enable(details: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = details["enableSessionData"]["enableSession"]["sessionToEnable"]
    return found


TWO_CHAINS_ENABLE: dict[str, Any] = {
    "redeemer": None,  # filled with the session signer
    "actions": [
        sudo_counter(8453),
        sudo_counter(10),
        usdc_action("transfer", 8453, amountLimitPerAction="2000000", maxAmountLimit="10000000"),
        usdc_action("transfer", 10, recipientAddress=SHOP, amountLimitPerAction="1000000"),
    ],
}
#: Two groups on one chain, enabled one userOp each: the counter (the fee payment joins it) and an approve.
UNBATCHED_ENABLE: dict[str, Any] = {
    "redeemer": None,
    "actions": [sudo_counter(8453), usdc_action("approve", 8453, amountLimitPerAction="3000000")],
    "batchActions": False,
}
#: The same, and one group on the other chain (enabled alone, yet under the same condition).
UNBATCHED_TWO_CHAINS_ENABLE: dict[str, Any] = {
    **UNBATCHED_ENABLE,
    "actions": [*UNBATCHED_ENABLE["actions"], sudo_counter(10)],
}
TRIGGER = {"tokenAddress": usdc_address(8453), "chainId": 8453, "amount": "10000000"}

SESSION_QUOTE_CASES: dict[str, dict[str, Any]] = {
    "enable on two chains": {"feeToken": fee(), "enableSession": TWO_CHAINS_ENABLE},
    "enable unbatched actions": {"feeToken": fee(), "enableSession": UNBATCHED_ENABLE},
    "enable unbatched actions, two chains": {"feeToken": fee(), "enableSession": UNBATCHED_TWO_CHAINS_ENABLE},
    "install only": {"feeToken": fee()},
    "instructions only, installed": {"feeToken": fee(10), "instructions": [increment(8453), increment(10, 80_000)]},
    "sponsored enable": {"sponsorship": True, "enableSession": TWO_CHAINS_ENABLE},
    "permit trigger and enable": {"feeToken": fee(), "trigger": TRIGGER, "enableSession": TWO_CHAINS_ENABLE},
}
INSTALLED = {"instructions only, installed"}  # the owner's account deployed with SmartSessions on both chains


def session_case(name: str, redeemer: str) -> dict[str, Any]:
    case = {"kind": "sessionQuote", "mode": "PREPARE", **SESSION_QUOTE_CASES[name]}
    if "enableSession" in case:
        case["enableSession"] = {**case["enableSession"], "redeemer": redeemer}
    return case


def install_sessions_module(chains: dict[int, Chain]) -> None:
    owner_key = chains[8453].keys["owner"]
    for c in CHAINS:
        deployed_with_sessions_module(chains[c], owner_key, version=VERSION)


def assert_unbatched_details(ours: list[Any], reference: list[Any], groups: list[dict[str, Any]]) -> None:
    """Unbatched, the reference's details list only the first group's actions of each chain (with the fee payment,
    which joins the fee chain's first group); ours list every group's, as the permission on chain holds them: the
    reference's, then the chain's other groups'. All else is equal."""
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference, strict=True):
        chain_id = int(session_to_enable(theirs)["chainId"]["value"])
        chain_groups = [g for g in groups if g["chainId"] == chain_id]
        others = [a for g in chain_groups[1:] for a in g["actions"]]
        assert session_to_enable(mine)["actions"] == session_to_enable(theirs)["actions"] + others
        rest = json.loads(json.dumps(mine))
        session_to_enable(rest)["actions"] = session_to_enable(theirs)["actions"]
        assert rest == theirs
    assert any(session_to_enable(m) != session_to_enable(t) for m, t in zip(ours, reference, strict=True))


@pytest.mark.parametrize("name", list(SESSION_QUOTE_CASES))
async def test_session_quote_prepare_bodies_equal_the_reference(
    name: str, devnet: Devnet, chains: dict[int, Chain], recording_node: RecordingNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name in INSTALLED:
        install_sessions_module(chains)
    case = session_case(name, devnet.key("session_signer").address)
    printed: dict[str, Any] = {}
    reference = run_reference(devnet, recording_node, case, printed)
    fixed_clock(monkeypatch)
    before = chain_times(chains)
    returned: dict[str, Any] = {}
    ours = await run_ours(devnet, recording_node, case, returned)
    assert [p for p, _ in reference] == ["quote-permit" if "trigger" in case else "quote", "exec"]
    assert_same(ours, reference)
    check_our_windows(ours, chains, before)
    enables = [op for op in reference[0][1]["userOps"] if "simulationOverrides" in op]
    if case.get("enableSession", {}).get("batchActions", True):
        assert not enables
    else:  # one userOp per group, each told to assume SmartSessions installed (the condition's own check)
        assert len(enables) == len(json.loads(printed["actionGroups"]))
    if "enableSession" not in case:
        assert printed["sessionDetails"] is None and returned["sessionDetails"] is None
        return
    theirs, mine = lowered(json.loads(printed["sessionDetails"])), lowered(json.loads(returned["sessionDetails"]))
    assert [d["mode"] for d in mine] == [d["mode"] for d in theirs] == ["0x00"] * len(theirs)  # SmartSessionMode.USE
    if case["enableSession"].get("batchActions", True):
        assert mine == theirs
    else:
        assert_unbatched_details(mine, theirs, lowered(json.loads(printed["actionGroups"])))


async def test_session_quote_onchain_trigger_bodies_equal_the_reference(
    devnet: Devnet, chains: dict[int, Chain], recording_node: RecordingNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PREPARE with a trigger token the node says has no permit: an "onchain" session quote, the approve sent and
    mined (see :func:`test_onchain_trigger_bodies_equal_the_reference`); the session details still equal."""
    recording_node.permit_enabled = False
    case = session_case("permit trigger and enable", devnet.key("session_signer").address)
    printed: dict[str, Any] = {}
    returned: dict[str, Any] = {}
    with Miner(devnet.url(8453)):
        reference = run_reference(devnet, recording_node, case, printed)
        fixed_clock(monkeypatch)
        before = chain_times(chains)
        ours = await run_ours(devnet, recording_node, case, returned)
    assert_same_onchain(ours, reference, devnet, chains, before)
    assert lowered(json.loads(returned["sessionDetails"])) == lowered(json.loads(printed["sessionDetails"]))


async def test_session_quote_use_bodies_equal_the_reference(
    devnet: Devnet, chains: dict[int, Chain], recording_node: RecordingNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """USE of the sessions a PREPARE returned (ours, quoted by the stub node; the owner then enables the sessions on
    chain itself), on two chains, paid with a fee token and sponsored: every userOp carries mode USE."""
    from ..contracts.flows import enable_sessions_call, owner_op_no_mee

    owner_key = chains[8453].keys["owner"]
    accounts = {c: deployed_with_sessions_module(chains[c], owner_key, version=VERSION) for c in CHAINS}
    fixed_clock(monkeypatch)
    returned: dict[str, Any] = {}
    await run_ours(
        devnet, recording_node, session_case("enable on two chains", devnet.key("session_signer").address), returned
    )
    stored = returned["sessionDetails"]
    for d in session_details_from_json(stored):
        session = d.enable_session_data.enable_session.session_to_enable
        assert session.chain_id is not None
        enable = Call(to=SMART_SESSIONS_ADDRESS, data=enable_sessions_call([session]))
        [done] = owner_op_no_mee(
            chains[session.chain_id], accounts[session.chain_id], bytes(encode_execute_single(enable))
        )
        assert done.success, done.revert_message
    two_chains = [increment(8453), increment(10, gas_limit=123_456), increment(8453)]
    for payment in ({"feeToken": fee()}, {"sponsorship": True}):
        case = {"kind": "sessionQuote", "mode": "USE", **payment, "instructions": two_chains, "sessionDetails": stored}
        reference = run_reference(devnet, recording_node, case)
        before = chain_times(chains)
        ours = await run_ours(devnet, recording_node, case)
        assert [p for p, _ in reference] == ["quote", "exec"]
        assert_same(ours, reference)
        check_our_windows(ours, chains, before)
        # the fee payment (or the sponsor's entry, which carries no session), 8453's increments in one userOp, 10's
        exec_ops = reference[1][1]["userOps"]
        modes = [op.get("sessionDetails", {}).get("mode") for op in exec_ops]
        assert modes == ([None] if "sponsorship" in payment else ["0x00"]) + ["0x00"] * 2, modes
