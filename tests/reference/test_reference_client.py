"""The unmodified reference client (`@biconomy/abstractjs` 1.2.3) against our devnet and our MEE node:
`tests/reference/mee_flow.mjs` runs the seed's whole flow and prints one JSON line per step.

* `test_reference_client_runs_the_whole_flow` needs the node (`smartsessions.devnet.node`): it starts a devnet with
  `smartsessions devnet up`, runs the script and checks every step.
* The other tests need only the chains: the script's own plumbing (devnet state, accounts, both MEE clients) against
  a stub that answers `/info` and nothing else, and its messages when there is no node.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smartsessions.account import Call, encode_execute, to_init_data
from smartsessions.devnet.deploy import COUNTER_ADDRESS as COUNTER
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.encoding.abi import encode_function_call
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS
from smartsessions.rpc import SyncRpcClient
from smartsessions.versions import MEE_VERSIONS, SMART_SESSIONS_ADDRESS

pytestmark = pytest.mark.slow  # the reference client runs in Node.js

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "reference" / "mee_flow.mjs"
CHAINS = (8453, 10)
Line = dict[str, Any]


def node_binary() -> str:
    node = shutil.which("node")
    assert node, "node is needed for the reference client runs (make test installs the npm packages)"
    return node


def run_flow(state_file: Path, *args: str, timeout: float = 120) -> tuple[int, list[Line], str]:
    """Run the script; its stdout must be JSON lines only."""
    run = subprocess.run(
        [node_binary(), str(SCRIPT), str(state_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return run.returncode, lines, run.stderr


def by_step(lines: list[Line], step: str) -> list[Line]:
    return [line for line in lines if line["step"] == step]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the whole flow on the real node ---------------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartsessions.cli", "devnet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_reference_client_runs_the_whole_flow(tmp_path: Path) -> None:
    pytest.importorskip(
        "smartsessions.devnet.node", reason="the local MEE node (smartsessions.devnet.node) is not built yet"
    )
    state_file = tmp_path / "devnet.json"
    up = cli(
        "up", "--background", "--chains", ",".join(map(str, CHAINS)), "--state-file", str(state_file), cwd=tmp_path
    )
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        state = json.loads(state_file.read_text())
        assert state.get("node") and state["node"].get("url"), (
            f"`smartsessions devnet up` wrote no node url into devnet.json: node = {state.get('node')!r}"
        )
        code, lines, stderr = run_flow(state_file, timeout=900)
        report = "\n".join(json.dumps(line) for line in lines) + "\n--- stderr ---\n" + stderr[-4000:]
        assert code == 0, report
        check_whole_flow(lines, state)
    finally:
        down = cli("down", "--state-file", str(state_file), cwd=tmp_path)
        assert down.returncode == 0, down.stderr


def check_whole_flow(lines: list[Line], state: dict[str, Any]) -> None:
    assert [line for line in lines if not line["ok"]] == []
    assert lines[-1] == {"step": "done", "ok": True, "failed": []}
    [setup] = by_step(lines, "setup")
    assert setup["sessionClientAccount"] == setup["account"]
    counter = {c["chainId"]: c["contracts"]["Counter"] for c in state["chains"]}
    assert set(counter) == set(CHAINS)

    # 1. one super-transaction, paid by a USDC permit, deploys and prepares the account on both chains
    [prepare] = by_step(lines, "prepareForPermissions")
    assert prepare["status"] == "MINED_SUCCESS" and prepare["signatureType"] == "permit"
    assert re.fullmatch(r"0x[0-9a-f]{64}", prepare["hash"])
    for chain_id in CHAINS:
        assert prepare["accounts"][str(chain_id)] == {
            "deployed": True,
            "smartSessionsInstalled": True,
            "safeSender": True,
        }
    assert "POST quote-permit 200" in prepare["nodeCalls"] and "POST exec 200" in prepare["nodeCalls"]

    # 2.-5. grant (UNSAFE_ENABLE details), ENABLE_AND_USE, USE, USE, enabled, counter +3
    [grant] = by_step(lines, "grantPermissionTypedDataSign")
    assert grant["modes"] == ["0x02"]
    uses = by_step(lines, "usePermission")
    assert [u["mode"] for u in uses] == ["ENABLE_AND_USE", "USE", "USE"]
    assert len({u["hash"] for u in uses}) == 3
    for use in uses:
        assert use["status"] == "MINED_SUCCESS" and use["signatureType"] == "simple"
        assert all(op["status"] == "MINED_SUCCESS" and op["tx"] for op in use["userOps"])
    [enabled] = by_step(lines, "permissionEnabled")
    assert list(enabled["isPermissionEnabled"].values()) == [True]
    assert enabled["checkEnabledPermissions"] == {grant["permissionIds"][0]: {"8453": True}}
    [count] = by_step(lines, "counter")
    assert int(count["after"]) == int(count["before"]) + 3

    # the universal-action policy: inside the rule it works, outside it is refused and the counter stays put
    [allowed] = by_step(lines, "policy:allowed")
    assert int(allowed["counters"]["8453"]["after"]) == 7
    [refused] = by_step(lines, "policy:refused")
    assert refused["refused"] is True and refused["error"]
    assert re.search(r"polic|violation", refused["error"], re.IGNORECASE), refused["error"]
    assert refused["counter"]["before"] == refused["counter"]["after"] == "7"

    # two chains in one grant
    [mgrant] = by_step(lines, "multichain:grant")
    assert sorted(mgrant["chains"]) == sorted(CHAINS)
    muses = by_step(lines, "multichain:usePermission")
    assert [u["mode"] for u in muses] == ["ENABLE_AND_USE", "USE", "USE"]
    for use in muses:
        assert sorted(op["chainId"] for op in use["userOps"]) == sorted(CHAINS)
    [menabled] = by_step(lines, "multichain:permissionEnabled")
    assert list(menabled["isPermissionEnabled"].values()) == [True, True]
    [mcount] = by_step(lines, "multichain:counter")
    for chain_id in CHAINS:
        c = mcount["counters"][str(chain_id)]
        assert int(c["after"]) == int(c["before"]) + 3


# -- the seed's 2 USDC cap, with viem's own chains and with bare ones -------------------------------------------------


@pytest.fixture(scope="module")
def devnet_with_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Chains with the default fees and blocks (Base's and OP Mainnet's base fees, a block every 2 s) and a node."""
    net = Devnet.start(CHAINS)
    try:
        net.start_node(api_key="reference-cap")
        path = tmp_path_factory.mktemp("devnet") / "devnet.json"
        net.write_state(path)
        yield path
    finally:
        net.stop()


@pytest.mark.parametrize(
    ("chain_defs", "index", "trigger"),
    [("viem", "1", "permit"), ("bare", "2", "onchain")],
    ids=["viem-chains-permit-trigger", "bare-chains-onchain-trigger"],
)
def test_a_two_chain_flow_fits_under_the_seeds_2_usdc_cap(
    devnet_with_node: Path, chain_defs: str, index: str, trigger: str
) -> None:
    """The seed grants with ``maxPaymentAmount: parseUnits("2", 6)``. With fees like Base's and OP's, the reference
    client's two-chain ENABLE_AND_USE and USEs fit under it, whether it describes the chains with viem's own
    definitions (a multicall3: a permit trigger) or bare ones (none: the SDK falls back to an on-chain approval and
    waits for 2 confirmations, which only come because the devnet keeps making blocks)."""
    code, lines, stderr = run_flow(
        devnet_with_node, "--sections", "multichain", "--chain-defs", chain_defs, "--max-payment", "2",
        "--index", index, timeout=300,
    )  # fmt: skip
    report = "\n".join(json.dumps(line) for line in lines) + "\n--- stderr ---\n" + stderr[-3000:]
    assert code == 0 and lines[-1] == {"step": "done", "ok": True, "failed": []}, report
    [prepare] = by_step(lines, "prepareForPermissions")
    assert prepare["signatureType"] == trigger and prepare["status"] == "MINED_SUCCESS", report
    uses = by_step(lines, "multichain:usePermission")
    assert [u["mode"] for u in uses] == ["ENABLE_AND_USE", "USE", "USE"], report
    # what the node charges (each userOp's maximum cost; the unused part goes back in ETH): cents, not dollars
    # (anvil's default 1 gwei base fee made a two-chain USE cost about 8 USDC), and all of it under the cap
    fees = [float(u["fee"]) for u in uses]
    assert all(0 < fee < 0.1 for fee in fees) and sum(fees) < 2, fees
    for use in uses:
        assert sorted(op["chainId"] for op in use["userOps"]) == sorted(CHAINS)
        assert all(op["status"] == "MINED_SUCCESS" for op in use["userOps"])


def test_a_fee_above_the_sessions_cap_is_named_for_the_reference_client(devnet_with_node: Path) -> None:
    """Issue 13, row 6: the reference client grants a session with a tiny maxPaymentAmount and uses it without
    asking the node to simulate (its default). The node refuses the signed payment at /exec, before it accepts
    anything, and says why: the fee, the cap of the session's payment policy and the permission, not only "userOp 0
    fails validation"."""
    code, lines, stderr = run_flow(
        devnet_with_node, "--sections", "multichain", "--max-payment", "0.000001", "--index", "3", timeout=300
    )
    report = "\n".join(json.dumps(line) for line in lines) + "\n--- stderr ---\n" + stderr[-3000:]
    assert code == 1 and lines[-1]["failed"] == ["multichain:usePermission"], report
    [grant] = by_step(lines, "multichain:grant")
    [use] = by_step(lines, "multichain:usePermission")
    assert use["nodeCalls"] == {"POST quote 200": 1, "POST exec 400": 1} and "hash" not in use, report
    error = use["error"]
    assert error.startswith(f"paymentInfo (chain 8453): the fee of {use['fee']} USDC"), error
    assert f"more than permission {grant['permissionIds'][0]} may pay" in error, error
    assert "its payment policy on USDC.transfer allows at most 0.000001 USDC per payment" in error, error
    assert "Grant the session a larger maxPaymentAmount" in error, error


# -- the script's plumbing, without the node -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chains_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Devnet, Path]]:
    """Devnet chains without a node; its state file has "node": null."""
    net = Devnet.start(CHAINS)
    try:
        path = tmp_path_factory.mktemp("devnet") / "devnet.json"
        net.write_state(path)
        yield net, path
    finally:
        net.stop()


class StubNode(ThreadingHTTPServer):
    """Answers GET /v1/info like a node for the devnet chains; every other request gets a 501 with a JSON error.

    With ``executed_txs`` (chain id -> any mined transaction hash) it is a *lying* node instead: it answers quotes,
    accepts every signed quote and reports each super-transaction as mined (pointing at those transactions) but
    executes nothing; only a call to ``setNumber(11)`` is refused at the quote, as a policy would.
    """

    def __init__(self, chains: dict[int, str], executed_txs: dict[int, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.chains = chains
        self.executed_txs = executed_txs
        self.requests: list[str] = []
        self.bodies: dict[str, Any] = {}  # path -> the last JSON body POSTed there
        self.quotes: dict[str, dict[str, Any]] = {}
        self.execs: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def info(self) -> dict[str, Any]:
        return {
            "version": "stub",
            "node": "0x0000000000000000000000000000000000000001",
            "supportedChains": [{"chainId": str(c), "name": f"devnet-{c}"} for c in self.chains],
            "supportedGasTokens": [
                {
                    "chainId": str(c),
                    "paymentTokens": [
                        {"name": "USD Coin", "address": usdc, "symbol": "USDC", "decimals": 6, "permitEnabled": True}
                    ],
                    "isArbitraryFeeTokensSupported": False,
                }
                for c, usdc in self.chains.items()
            ],
            "supported_wallet_providers": [],
        }


class _StubHandler(BaseHTTPRequestHandler):
    server: StubNode

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        node = self.server
        node.requests.append(f"GET {self.path}")
        if self.path == "/v1/info":
            self._answer(200, node.info())
        elif node.executed_txs is not None and self.path.startswith("/v1/explorer/"):
            quote = node.quotes[self.path.rsplit("/", 1)[1]]
            mined = {"executionStatus": "MINED_SUCCESS", "isConfirmed": True}
            ops = [{**op, **mined, "executionData": node.executed_txs[int(op["chainId"])]} for op in quote["userOps"]]
            self._answer(200, {**quote, "userOps": ops})
        else:
            self._answer(501, {"error": f"stub node: GET {self.path} is not implemented"})

    def do_POST(self) -> None:
        node = self.server
        node.requests.append(f"POST {self.path}")
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        node.bodies[self.path] = body
        if node.executed_txs is None:
            self._answer(501, {"error": f"stub node: POST {self.path} is not implemented"})
        elif self.path in ("/v1/quote", "/v1/quote-permit"):
            eleven = "3fb5c1cb" + f"{11:064x}"
            if any(eleven in op["callData"] for op in body["userOps"]):
                self._answer(400, {"error": "lying node: simulation refused by PolicyViolation (UniActionPolicy)"})
                return
            quote = _fake_quote(body)
            node.quotes[quote["hash"]] = quote
            self._answer(200, quote)
        elif self.path == "/v1/exec":
            node.execs.append(body)
            self._answer(200, {"hash": body["hash"]})
        else:
            self._answer(501, {"error": f"stub node: POST {self.path} is not implemented"})

    def log_message(self, format: str, *args: object) -> None:
        pass


def _fake_quote(request: dict[str, Any]) -> dict[str, Any]:
    """A quote of the §9.4 shape with random hashes (nothing here is checked by the client)."""
    digest = "0x" + secrets.token_hex(32)
    payment = request["paymentInfo"]

    def filled(op: dict[str, Any]) -> dict[str, Any]:
        user_op = {
            "sender": op["sender"], "nonce": op["nonce"], "initCode": op.get("initCode", "0x"),
            "callData": op.get("callData", "0x"), "callGasLimit": op["callGasLimit"],
            "verificationGasLimit": op.get("verificationGasLimit", "150000"), "maxFeePerGas": "1",
            "maxPriorityFeePerGas": "1", "paymasterAndData": "0x", "preVerificationGas": "0",
        }  # fmt: skip
        extra: dict[str, Any] = {k: op[k] for k in ("sessionDetails", "metadata") if k in op}
        return {
            "userOp": user_op,
            "userOpHash": "0x" + secrets.token_hex(32), "meeUserOpHash": "0x" + secrets.token_hex(32),
            "lowerBoundTimestamp": str(op.get("lowerBoundTimestamp", 0)),
            "upperBoundTimestamp": str(op.get("upperBoundTimestamp", 0)), "maxGasLimit": "1", "maxFeePerGas": "1",
            "chainId": str(op["chainId"]), "shortEncoding": bool(op.get("shortEncoding")), **extra,
        }  # fmt: skip

    fee = {"tokenAmount": "0.01", "tokenWeiAmount": "10000", "tokenValue": "0.01"}
    return {
        "hash": digest,
        "node": "0x0000000000000000000000000000000000000001",
        "commitment": digest,
        "quoteType": request["quoteType"],
        "paymentInfo": {**payment, **fee},
        "userOps": [filled({**payment, "callData": "0xa9059cbb"})] + [filled(op) for op in request["userOps"]],
    }


@pytest.fixture
def stub_node() -> Iterator[StubNode]:
    server = StubNode({c: usdc_address(c) for c in CHAINS})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_script_creates_accounts_and_clients_against_a_stub_node(
    chains_only: tuple[Devnet, Path], stub_node: StubNode
) -> None:
    net, state_file = chains_only
    code, lines, stderr = run_flow(state_file, "--node-url", stub_node.url, "--setup-only")
    assert code == 0, stderr
    [setup, done] = lines
    assert setup["step"] == "setup" and setup["ok"] is True
    assert setup["nodeInfo"] == {"version": "stub", "supportedChains": list(CHAINS)}
    assert setup["chains"] == list(CHAINS) and setup["meeVersion"] == "2.1.0"
    assert setup["owner"] == net.key("owner").address
    assert setup["sessionSigner"] == net.key("session_signer").address
    # the owner's Nexus address, as our factory computes it; the session signer's client uses the same account
    config = MEE_VERSIONS["2.1.0"]
    init_data = bytes(to_init_data(owner=net.key("owner").address, version="2.1.0"))
    with net.rpc(CHAINS[0]) as rpc:
        raw = rpc.call(
            config.factory_address, encode_function_call("computeAccountAddress(bytes,bytes32)", [init_data, bytes(32)])
        )
    assert setup["account"].lower() == "0x" + raw[12:32].hex()
    assert setup["sessionClientAccount"] == setup["account"]
    assert setup["nodeCalls"] == {"GET info 200": 2}  # one createMeeClient per client
    assert done == {"step": "done", "ok": True, "failed": []}


def test_prepare_sends_a_permit_quote_and_reports_what_the_node_refused(
    chains_only: tuple[Devnet, Path], stub_node: StubNode
) -> None:
    """prepareForPermissions reaches the node with a permit quote (the SDK read USDC through Multicall3 and did not
    fall back to on-chain mode) for both chains; the stub refuses it, and the script says which step failed, what the
    node answered, and stops."""
    net, state_file = chains_only
    code, lines, _ = run_flow(state_file, "--node-url", stub_node.url, "--sections", "flow")
    assert code == 1
    assert [line["step"] for line in lines] == ["setup", "prepareForPermissions", "done"]
    setup, prepare, done = lines
    assert prepare["ok"] is False
    assert prepare["error"] == "stub node: POST /v1/quote-permit is not implemented"
    assert prepare["nodeCalls"] == {"POST quote-permit 501": 1} and prepare["quoteType"] == "permit"
    assert done == {"step": "done", "ok": False, "failed": ["prepareForPermissions"]}

    body = stub_node.bodies["/v1/quote-permit"]
    usdc = usdc_address(CHAINS[0])
    assert body["quoteType"] == "permit"
    assert body["trigger"] == {"tokenAddress": usdc, "chainId": CHAINS[0], "gasLimit": "75000", "amount": "10000000"}
    payment = body["paymentInfo"]
    assert payment["token"] == usdc and payment["chainId"] == str(CHAINS[0]) and payment["sponsored"] is False
    assert payment["eoa"] == net.key("owner").address and payment["sender"] == setup["account"]
    assert payment["initCode"]  # the account is deployed by the payment userOp on the fee chain
    ops = body["userOps"]
    assert [op["chainId"] for op in ops] == [str(c) for c in CHAINS]
    assert all(op["sender"] == setup["account"] for op in ops)
    # one executeComposable per chain: the permit's transferFrom (fee chain), installModule, addSafeSender
    assert all(op["callData"].startswith("0xea5a6d91") for op in ops)
    for op in ops:
        wanted = ["9517e29f", "5c81ca68"] + (["23b872dd"] if op["chainId"] == str(CHAINS[0]) else [])
        assert all(selector in op["callData"] for selector in wanted)
    assert "initCode" not in ops[0] and ops[1]["initCode"] == payment["initCode"]


def nonce_validator(nonce: str) -> str:
    """The validator in a userOp nonce key (spec §10.6): bytes 4..24 of the 24-byte key."""
    return "0x" + ((int(nonce) >> 64) & ((1 << 160) - 1)).to_bytes(20, "big").hex()


def test_use_permission_with_a_policy_asks_the_node_for_a_session_quote(
    chains_only: tuple[Devnet, Path], stub_node: StubNode
) -> None:
    """With the account taken as prepared: the owner's universal-action grant is made from the chain, and the session
    signer's ENABLE_AND_USE reaches the node as the session quote of spec §6 (which the stub refuses)."""
    _, state_file = chains_only
    code, lines, _ = run_flow(state_file, "--node-url", stub_node.url, "--sections", "policy", "--skip-prepare")
    assert code == 1
    assert [line["step"] for line in lines] == ["setup", "policy:grant", "policy:allowed", "done"]
    _, grant, allowed, _ = lines
    assert grant["ok"] is True and grant["rule"] == "setNumber(n) with n <= 10"
    assert allowed["error"] == "stub node: POST /v1/quote is not implemented"

    body = stub_node.bodies["/v1/quote"]
    [op] = body["userOps"]
    set_number = encode_function_call("setNumber(uint256)", [7])
    assert op["callData"] == "0x" + bytes(encode_execute([Call(to=COUNTER, data=set_number)])).hex()
    assert op["shortEncoding"] is True and op["sessionDetails"]["permissionId"] == grant["permissionIds"][0]
    assert nonce_validator(op["nonce"]) == SMART_SESSIONS_ADDRESS.lower()
    payment = body["paymentInfo"]
    assert payment["sessionDetails"]["mode"] == "0x02"  # the payment userOp carries the enable (spec §6)
    assert payment["verificationGasLimit"] == "1000000" and payment["shortEncoding"] is True
    assert nonce_validator(payment["nonce"]) == SMART_SESSIONS_ADDRESS.lower()
    actions = op["sessionDetails"]["enableSessionData"]["enableSession"]["sessionToEnable"]["actions"]
    assert [a["actionTargetSelector"] for a in actions] == ["0x3fb5c1cb", "0xa9059cbb"]  # setNumber, fee transfer
    assert actions[0]["actionPolicies"][0]["policy"] == UNIVERSAL_ACTION_POLICY_ADDRESS


def test_a_two_chain_grant_is_used_in_one_super_transaction(
    chains_only: tuple[Devnet, Path], stub_node: StubNode
) -> None:
    _, state_file = chains_only
    code, lines, _ = run_flow(state_file, "--node-url", stub_node.url, "--sections", "multichain", "--skip-prepare")
    assert code == 1
    assert [line["step"] for line in lines] == ["setup", "multichain:grant", "multichain:usePermission", "done"]
    grant = lines[1]
    assert grant["ok"] is True and grant["chains"] == list(CHAINS) and len(grant["permissionIds"]) == 2

    ops = stub_node.bodies["/v1/quote"]["userOps"]
    assert [op["chainId"] for op in ops] == [str(c) for c in CHAINS]
    increment = "0x" + bytes(encode_execute([Call(to=COUNTER, data=encode_function_call("increment()"))])).hex()
    assert [op["callData"] for op in ops] == [increment, increment]
    assert [op["sessionDetails"]["permissionId"] for op in ops] == grant["permissionIds"]
    for op in ops:  # one owner signature over both chains' session digests
        enable = op["sessionDetails"]["enableSessionData"]["enableSession"]
        assert [h["chainId"] for h in enable["hashesAndChainIds"]] == [str(c) for c in CHAINS]


def test_without_a_node_entry_the_script_says_how_to_get_one(chains_only: tuple[Devnet, Path]) -> None:
    _, state_file = chains_only
    code, lines, _ = run_flow(state_file)
    assert code == 2
    [line] = lines
    assert line["step"] == "setup" and line["ok"] is False
    assert "names no MEE node" in line["error"] and "smartsessions devnet up" in line["hint"]


def test_when_no_node_answers_the_script_says_so(chains_only: tuple[Devnet, Path]) -> None:
    _, state_file = chains_only
    url = f"http://127.0.0.1:{free_port()}"
    code, lines, _ = run_flow(state_file, "--node-url", url)
    assert code == 2
    [line] = lines
    assert line["error"].startswith(f"No MEE node answers at {url}/v1/info: ")
    assert "ECONNREFUSED" in line["error"]


def test_an_unreadable_state_file(tmp_path: Path) -> None:
    code, lines, _ = run_flow(tmp_path / "missing.json")
    assert code == 2
    [line] = lines
    assert line["error"].startswith("Cannot read the devnet state") and "devnet up" in line["hint"]


def last_transaction(rpc: SyncRpcClient) -> str:
    """The chain's latest transaction (the latest block may be an empty one: the chains make blocks on their own)."""
    number = int(rpc.request("eth_blockNumber"), 16)
    while not (txs := rpc.request("eth_getBlockByNumber", [hex(number), False])["transactions"]):
        number -= 1
    return str(txs[-1])


@pytest.fixture
def lying_node(chains_only: tuple[Devnet, Path]) -> Iterator[StubNode]:
    net, _ = chains_only
    txs = {}
    for chain_id in CHAINS:
        with net.rpc(chain_id) as rpc:
            txs[chain_id] = last_transaction(rpc)
    server = StubNode({c: usdc_address(c) for c in CHAINS}, executed_txs=txs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_every_step_runs_and_a_node_that_executes_nothing_is_caught(
    chains_only: tuple[Devnet, Path], lying_node: StubNode
) -> None:
    """A node that reports every super-transaction as mined but executes nothing: the script still goes through every
    step (so each SDK call, signature and receipt path runs) and its on-chain checks catch every lie."""
    _, state_file = chains_only
    code, lines, stderr = run_flow(state_file, "--node-url", lying_node.url, "--timeout", "30")
    assert code == 1, stderr
    steps = [line["step"] for line in lines]
    use, muse = ["usePermission"] * 3, ["multichain:usePermission"] * 3
    assert steps == [
        "setup", "prepareForPermissions",
        "grantPermissionTypedDataSign", *use, "permissionEnabled", "counter",
        "policy:grant", "policy:allowed", "policy:refused",
        "multichain:grant", *muse, "multichain:permissionEnabled", "multichain:counter",
        "done",
    ]  # fmt: skip
    ok = {line["step"] for line in lines if line["ok"]}
    assert ok == {"setup", "grantPermissionTypedDataSign", "policy:grant", "policy:refused", "multichain:grant"}
    [prepare] = by_step(lines, "prepareForPermissions")
    assert prepare["status"] == "MINED_SUCCESS" and prepare["signatureType"] == "permit"
    assert not any(a["deployed"] for a in prepare["accounts"].values())  # the lie is caught on chain
    [refused] = by_step(lines, "policy:refused")
    assert refused["at"] == "POST quote 400" and "PolicyViolation" in refused["error"]

    # what the SDK sent to /exec: a permit signature first, then the session quotes with the modes of spec §6
    signatures = [e["signature"][:10] for e in lying_node.execs]
    assert signatures == ["0x177eee02"] + ["0x177eee00"] * 7
    modes = [[op.get("sessionDetails", {}).get("mode") for op in e["userOps"]] for e in lying_node.execs[1:]]
    assert modes == [
        ["0x02", "0x00"], ["0x00", "0x00"], ["0x00", "0x00"],  # payment userOp carries the enable on the fee chain
        ["0x02", "0x00"],  # the policy grant, enabled and used
        ["0x02", "0x00", "0x02"], ["0x00", "0x00", "0x00"], ["0x00", "0x00", "0x00"],  # two chains
    ]  # fmt: skip
