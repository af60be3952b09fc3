"""The MEE client without sockets: the node and the chains are ``httpx.MockTransport`` s. Request bodies (spec §9.3),
signatures, the session modes and gas limits of spec §6, receipts, and the errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.messages import encode_defunct

from smartsessions import (
    ActionConfig,
    ChainNotConfiguredError,
    ChainNotSupportedError,
    ConfigurationError,
    FeeTokenNotSupportedError,
    InsufficientBalanceError,
    InvalidInputError,
    MeeApiError,
    MeeUnreachableError,
    ParamCondition,
    PolicyViolationError,
    QuoteCommitmentError,
    QuoteMismatchError,
    RpcError,
    SessionNotEnabledError,
    SessionSignerMismatchError,
    SupertransactionFailedError,
    SupertransactionTimeoutError,
    create_mee_client,
    get_sudo_policy,
    get_universal_action_policy,
    mee_session_actions,
)
from smartsessions._coerce import keccak
from smartsessions.account import Call
from smartsessions.account.calls import decode_execute, encode_execute
from smartsessions.account.instructions import (
    ComposableInstruction,
    Instruction,
    batch_instructions,
    to_composable_call,
)
from smartsessions.account.multichain import MultichainNexusAccount, NexusDeployment
from smartsessions.encoding.abi import abi_encode, encode_function_call, selector
from smartsessions.encoding.quote import PERMIT_TYPEHASH, get_permit_digest
from smartsessions.mee.client import MeeClient, parse_error_message
from smartsessions.rpc import RpcClient
from smartsessions.sessions import grant_permission_offline
from smartsessions.signer import personal_sign
from smartsessions.versions import (
    ENTRY_POINT_V07_ADDRESS,
    SMART_SESSIONS_ADDRESS,
    SPONSORSHIP_GAS_TANK_ADDRESS,
    USDC_BASE_ADDRESS,
    get_mee_version,
)
from smartsessions.wire.mee import ExplorerResponse, FeeTokenInfo, from_wire

from ..quotes import consistent_quote

OWNER = Account.from_key("0x" + "11" * 32)
REDEEMER = Account.from_key("0x" + "22" * 32)
NODE_KEY = Account.from_key("0x" + "33" * 32)  # the fake node's: it signs each quote's hash (its commitment)
ACCOUNT = "0x00000000000000000000000000000000000A11cE"
COUNTER = "0x000000000000000000000000000000000000c0Fe"
USDC = {8453: USDC_BASE_ADDRESS, 10: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85"}
NOW = 1_760_000_000
INCREMENT = bytes.fromhex("d09de08a")
GET_NONCE = bytes.fromhex("35567e1a")


# -- a chain and a node, in memory ------------------------------------------------------------------------------------


@dataclass
class FakeChain:
    chain_id: int
    deployed: bool = True
    sequence: int = 0
    balance: int = 10**12
    timestamp: int = NOW  # the latest block's
    session_enabled: bool = False  # what SmartSessions.isPermissionEnabled answers (its getNonce: 0, as granted)
    calls: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0  # HTTP requests (a JSON-RPC batch is one)
    # what the chain answers to a JSON-RPC call: the honest answers below unless a test swaps in a hostile one
    result: Callable[[str, list[Any]], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.result = self._result

    def _result(self, method: str, params: list[Any]) -> Any:
        if method == "eth_getCode":
            return "0x6080" if self.deployed else "0x"
        if method == "eth_getBlockByNumber" and params == ["latest", False]:
            return {"number": "0x10", "timestamp": hex(self.timestamp)}
        if method == "eth_getTransactionReceipt":
            return {"transactionHash": params[0], "status": "0x1", "gasUsed": hex(21_000)}
        if method == "eth_call":
            to, data = params[0]["to"], bytes.fromhex(params[0]["data"][2:])
            if to == ENTRY_POINT_V07_ADDRESS and data[:4] == GET_NONCE:
                _sender, key = abi_decode(["address", "uint192"], data[4:])
                return "0x" + ((key << 64) | self.sequence).to_bytes(32, "big").hex()
            if to == SMART_SESSIONS_ADDRESS and data[:4] == selector("isPermissionEnabled(bytes32,address)"):
                return "0x" + int(self.session_enabled).to_bytes(32, "big").hex()
            if to == SMART_SESSIONS_ADDRESS and data[:4] == selector("getNonce(bytes32,address)"):
                return "0x" + bytes(32).hex()
            return self._token(to, data)
        raise AssertionError(f"unexpected {method}")

    def _token(self, to: str, data: bytes) -> str:
        def word(v: int) -> str:
            return "0x" + abi_encode(["uint256"], [v], what="w").hex()

        if to.lower() != USDC[self.chain_id].lower():
            raise LookupError("not a token")
        if data[:4] == bytes.fromhex("313ce567"):
            return word(6)
        if data[:4] == bytes.fromhex("7ecebe00"):  # nonces(owner)
            return word(3)
        if data[:4] == bytes.fromhex("06fdde03"):
            return "0x" + abi_encode(["string"], ["USD Coin"], what="s").hex()
        if data[:4] == bytes.fromhex("54fd4d50"):
            return "0x" + abi_encode(["string"], ["2"], what="s").hex()
        if data[:4] == bytes.fromhex("3644e515"):
            return "0x" + domain_separator(self.chain_id, to).hex()
        if data[:4] == bytes.fromhex("84b0196e"):
            raise LookupError("no eip712Domain")
        if data[:4] == bytes.fromhex("70a08231"):
            return word(self.balance)
        raise AssertionError(f"unexpected call to {to}: {data.hex()}")

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        items = body if isinstance(body, list) else [body]
        self.posts += 1
        out = []
        for item in items:
            self.calls.append(item)
            try:
                out.append({"jsonrpc": "2.0", "id": item["id"], "result": self.result(item["method"], item["params"])})
            except LookupError as exc:
                out.append({"jsonrpc": "2.0", "id": item["id"], "error": {"code": 3, "message": f"reverted {exc}"}})
        return httpx.Response(200, json=out if isinstance(body, list) else out[0])


def domain_separator(chain_id: int, token: str) -> bytes:
    typehash = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [typehash, keccak(b"USD Coin"), keccak(b"2"), chain_id, token],
            what="domain",
        )
    )


def info(chains: tuple[int, ...] = (8453, 10)) -> dict[str, Any]:
    return {
        "version": "fake",
        "node": NODE_KEY.address,
        "supportedChains": [{"chainId": str(c), "name": str(c)} for c in chains],
        "supportedGasTokens": [
            {
                "chainId": str(c),
                "paymentTokens": [
                    {"name": "USD Coin", "address": USDC[c], "symbol": "USDC", "decimals": 6, "permitEnabled": True}
                ],
                "isArbitraryFeeTokensSupported": False,
            }
            for c in chains
        ],
        "supported_wallet_providers": [],
    }


def quote_for(request: dict[str, Any], fee: int = 12_345, **changes: Any) -> dict[str, Any]:
    """The fake node's quote; ``changes`` make it another (see tests/quotes.py's consistent_quote)."""
    quote = consistent_quote(request, **{"node": NODE_KEY, "fee": fee, "default_window": (NOW, NOW + 180), **changes})
    quote["paymentInfo"] = {**quote["paymentInfo"], "tokenAmount": "0.012345", "tokenValue": "0.01"}
    return {**quote, "somethingNew": [1, 2]}


@dataclass
class FakeNode:
    info: dict[str, Any] = field(default_factory=info)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    on_quote: Callable[[dict[str, Any]], httpx.Response] | None = None
    on_exec: Callable[[dict[str, Any]], httpx.Response] | None = None
    explorer: list[dict[str, Any]] = field(default_factory=list)
    quotes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1/")
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, dict(request.headers), body))
        if path == "info":
            return httpx.Response(200, json=self.info)
        if path in ("quote", "quote-permit"):
            assert isinstance(body, dict)
            if self.on_quote is not None:
                return self.on_quote(body)
            quote = quote_for(body)
            self.quotes[quote["hash"]] = quote
            return httpx.Response(200, json=quote)
        if path == "exec":
            assert isinstance(body, dict)
            if self.on_exec is not None:
                return self.on_exec(body)
            return httpx.Response(200, json={"hash": body["hash"]})
        if path.startswith("explorer/"):
            return httpx.Response(200, json=self.explorer.pop(0) if len(self.explorer) > 1 else self.explorer[0])
        return httpx.Response(404, json={"error": "no route"})

    def posts(self, path: str) -> list[Any]:
        return [body for method, p, _, body in self.requests if method == "POST" and p == path]


@dataclass
class World:
    node: FakeNode
    chains: dict[int, FakeChain]

    def account(self, signer: Any = OWNER, owner: str | None = OWNER.address, version: str = "2.1.0") -> Any:
        deployments = [
            NexusDeployment(
                chain_id=c,
                address=ACCOUNT,
                version=get_mee_version(version),
                rpc=RpcClient(f"http://rpc-{c}", transport=httpx.MockTransport(chain.handle)),
                owner=owner,
            )
            for c, chain in self.chains.items()
        ]
        return MultichainNexusAccount(signer=signer, deployments=deployments)

    async def client(self, signer: Any = OWNER, *, api_key: str | None = "key", **kwargs: Any) -> MeeClient:
        return await create_mee_client(
            account=self.account(signer, **kwargs),
            url="http://node/v1/",
            api_key=api_key,
            transport=httpx.MockTransport(self.node.handle),
        )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    clock = SimpleNamespace(time=lambda: NOW + 0.5)
    monkeypatch.setattr("smartsessions.mee.request.time", clock)
    return World(FakeNode(), {8453: FakeChain(8453), 10: FakeChain(10)})


def increment(chain_id: int, gas_limit: int | None = None) -> Instruction:
    return Instruction(chain_id=chain_id, calls=[Call(to=COUNTER, data=INCREMENT, gas_limit=gas_limit)])


def fee(chain_id: int = 8453) -> dict[str, Any]:
    return {"address": USDC[chain_id], "chain_id": chain_id}


def key_validator(nonce: str) -> str:
    return "0x" + ((int(nonce) >> 64) & ((1 << 160) - 1)).to_bytes(20, "big").hex()


def grant(actions: list[ActionConfig], chains: tuple[int, ...] = (8453, 10)) -> list[Any]:
    return grant_permission_offline(
        signer=OWNER,
        redeemer=REDEEMER.address,
        actions=actions,
        accounts={c: ACCOUNT for c in chains},
        nonces={c: 0 for c in chains},
        versions="2.1.0",
        fee_token={"address": USDC[8453], "chain_id": 8453},
        fee_token_decimals=6,
    )


# -- the client --------------------------------------------------------------------------------------------------------


async def test_create_reads_info_and_sends_the_api_key_only_when_given(world: World) -> None:
    client = await world.client()
    [(method, path, headers, _)] = world.node.requests
    assert (method, path, headers["x-api-key"]) == ("GET", "info", "key")
    assert [c.chain_id for c in client.info.supported_chains] == [8453, 10]
    await client.aclose()
    await world.client(api_key=None)
    assert "x-api-key" not in world.node.requests[-1][2]


async def test_create_refuses_chains_the_node_does_not_serve(world: World) -> None:
    world.node.info = info((8453,))
    with pytest.raises(ChainNotSupportedError, match="not supported by the MEE node: 10") as refused:
        await world.client()
    assert refused.value.chain_ids == (10,)


async def test_owner_quote_body(world: World) -> None:
    world.chains[10].deployed = False
    world.chains[8453].deployed = False
    world.chains[8453].sequence = 4
    client = await world.client()
    quote = await client.get_quote(
        instructions=[
            increment(10, gas_limit=50_000),
            increment(8453),
            {"chain_id": 10, "calls": [{"to": COUNTER, "data": INCREMENT, "value": 5}]},
        ],
        fee_token=fee(8453),
    )
    [body] = world.node.posts("quote")
    ops = body["userOps"]
    assert [op["chainId"] for op in ops] == ["10", "8453"]  # one userOp per chain, first-appearance order
    assert (
        ops[0]["callData"]
        == "0x"
        + bytes(encode_execute([Call(to=COUNTER, data=INCREMENT), Call(to=COUNTER, data=INCREMENT, value=5)])).hex()
    )
    assert ops[0]["callGasLimit"] == "750000" and ops[1]["callGasLimit"] == "700000"
    assert ops[0]["metadata"] == [{"type": "CUSTOM", "description": "Custom on-chain action", "chainId": 10}] * 2
    account = client.account.deployment_on(10)
    assert ops[0]["initCode"] == "0x" + bytes(account.init_code).hex()
    assert "initCode" not in ops[1]  # the payment userOp deploys on the fee chain
    for op in ops:
        assert (op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) == (NOW, NOW + 180)
        assert key_validator(op["nonce"]) == "0x" + "00" * 20
        assert op["isCleanUpUserOp"] is False and op["shortEncoding"] is False
        assert "verificationGasLimit" not in op and "sessionDetails" not in op
    assert int(ops[1]["nonce"]) & ((1 << 64) - 1) == 4
    pay = body["paymentInfo"]
    assert {k: v for k, v in pay.items() if k not in ("nonce", "initCode")} == {
        "sponsored": False,
        "sender": ACCOUNT,
        "token": USDC[8453],
        "callGasLimit": "75000",
        "verificationGasLimit": "150000",
        "chainId": "8453",
    }
    assert pay["initCode"] == ops[0]["initCode"]  # same owner and index on both chains
    assert pay["nonce"] != ops[1]["nonce"]  # a lane of its own
    assert [v["chainId"] for v in body["meeVersions"]] == [10, 8453]
    assert body["meeVersions"][0]["version"] == get_mee_version("2.1.0").to_wire()
    assert body["quoteType"] == "simple"
    assert set(body) == {"quoteType", "userOps", "paymentInfo", "meeVersions", "simulation"}
    assert body["simulation"] == {"simulate": True}  # unlike the reference SDK, ours asks the node to simulate
    # one JSON-RPC round trip per chain: every nonce, the deployment check and the latest block in one batch
    assert {c: chain.posts for c, chain in world.chains.items()} == {8453: 1, 10: 1}
    assert quote.fee == 12_345 and quote.hash.startswith("0x")


async def test_default_windows_start_at_each_chains_latest_block(world: World) -> None:
    """The chains' clocks, not this machine's (fixed at NOW + 0.5 here): each chain's userOps open at its latest
    block's timestamp, read in the batch the quote makes anyway, and last 180 s."""
    world.chains[8453].timestamp = NOW + 3_600  # a chain whose time was moved forward
    world.chains[10].timestamp = NOW - 7  # a chain whose last block is a few seconds old
    client = await world.client()
    await client.get_quote(instructions=[increment(10), increment(8453)], fee_token=fee(8453))
    ops = world.node.posts("quote")[-1]["userOps"]
    assert [(op["chainId"], op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) for op in ops] == [
        ("10", NOW - 7, NOW + 173),
        ("8453", NOW + 3_600, NOW + 3_780),
    ]
    assert {c: chain.posts for c, chain in world.chains.items()} == {8453: 1, 10: 1}
    # bounds given by the caller are kept as given; an upper bound alone still opens at the chain's time
    await client.get_quote(
        instructions=[increment(10), increment(8453)],
        fee_token=fee(8453),
        lower_bound_timestamp=5,
        upper_bound_timestamp=9,
    )
    ops = world.node.posts("quote")[-1]["userOps"]
    assert [(op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) for op in ops] == [(5, 9), (5, 9)]
    await client.get_quote(instructions=[increment(10)], fee_token=fee(8453), upper_bound_timestamp=NOW + 60)
    [op] = world.node.posts("quote")[-1]["userOps"]
    assert (op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) == (NOW - 7, NOW + 60)
    windowed = Instruction(chain_id=8453, calls=[Call(to=COUNTER, data=INCREMENT)], lower_bound_timestamp=11,
                           upper_bound_timestamp=22)  # fmt: skip
    await client.get_quote(instructions=[windowed], fee_token=fee(8453))
    [op] = world.node.posts("quote")[-1]["userOps"]
    assert (op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) == (11, 22)


async def test_sign_quote_echoes_the_quote_and_signs_its_hash(world: World) -> None:
    client = await world.client()
    quote = await client.get_quote(instructions=[increment(8453)], fee_token=fee(), sponsorship=False)
    signed = await client.sign_quote(quote)
    assert signed.json["somethingNew"] == [1, 2]  # what the client does not know is sent back as it came
    assert signed.signature[:10] == "0x177eee00"
    signer = Account.recover_message(
        encode_defunct(primitive=bytes.fromhex(quote.hash[2:])), signature=bytes.fromhex(signed.signature[10:])
    )
    assert signer == OWNER.address
    assert signed.json["meeVersions"] == [{"version": get_mee_version("2.1.0").to_wire(), "chainId": 8453}]
    assert signed.json["isEIP712TrustedSponsorshipSupported"] is True
    result = await client.execute_signed_quote(signed)
    assert result.hash == quote.hash and world.node.posts("exec") == [signed.json]


async def test_quote_checks_before_asking_the_node(world: World) -> None:
    client = await world.client()
    with pytest.raises(FeeTokenNotSupportedError, match="takes no fees in"):
        await client.get_quote(instructions=[increment(8453)], fee_token={"address": COUNTER, "chain_id": 8453})
    with pytest.raises(ChainNotConfiguredError):
        await client.get_quote(instructions=[increment(42161)], fee_token=fee())
    with pytest.raises(InvalidInputError, match="fee_token"):
        await client.get_quote(instructions=[increment(8453)])
    assert world.node.posts("quote") == []


@pytest.mark.parametrize(
    ("change", "recovers_to"),
    [
        (lambda q: q.update(commitment=q["commitment"][:-2] + ("1c" if q["commitment"].endswith("1b") else "1b")),
         "recovers to 0x"),  # the other v: another key
        (lambda q: q.update(commitment="0x" + q["hash"][2:]), "is no signature (32 bytes)"),  # a 32-byte commitment
        (lambda q: q.update(node=OWNER.address), f"recovers to {NODE_KEY.address}"),  # the quote names another node
        (lambda q: q.update(hash="0x" + "77" * 32), "recovers to 0x"),  # another hash than the node signed
    ],
    ids=["commitment", "short-commitment", "node", "hash"],
)  # fmt: skip
async def test_a_quote_whose_commitment_is_not_its_nodes_is_refused(
    world: World, change: Callable[[dict[str, Any]], None], recovers_to: str
) -> None:
    """The quote's commitment must be its node's signature over its hash; the client checks it as soon as the quote
    arrives, before anything is signed."""

    def answer(body: dict[str, Any]) -> httpx.Response:
        quote = quote_for(body)
        change(quote)
        return httpx.Response(200, json=quote)

    world.node.on_quote = answer
    client = await world.client()
    with pytest.raises(QuoteCommitmentError) as refused:
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    err = refused.value
    assert err.short_message.startswith(f"The quote's commitment is not the signature of its node {err.node} over ")
    assert recovers_to in err.short_message
    assert "Field: quote.commitment" in str(err) and "Fix: ask for a new quote" in str(err)
    assert err.signer != err.node and err.quote_hash.startswith("0x")
    assert world.node.posts("exec") == []


# -- sessions (spec §6) ------------------------------------------------------------------------------------------------


def sudo(chain_id: int) -> ActionConfig:
    return ActionConfig(
        chain_id=chain_id, action_target=COUNTER, action_target_selector=INCREMENT, action_policies=[get_sudo_policy()]
    )


async def test_use_permission_modes_and_gas_limits(world: World) -> None:
    details = grant([sudo(8453), sudo(10)])
    client = (await world.client(REDEEMER, owner=None)).extend(mee_session_actions)
    await client.use_permission(
        session_details=details,
        mode="ENABLE_AND_USE",
        fee_token=fee(),
        batch=False,
        instructions=[increment(8453), increment(10), increment(10), increment(8453)],
    )
    [body] = world.node.posts("quote")
    pay, ops = body["paymentInfo"], body["userOps"]
    assert pay["sessionDetails"]["mode"] == "0x02" and pay["verificationGasLimit"] == "1000000"
    assert pay["shortEncoding"] is True and key_validator(pay["nonce"]) == SMART_SESSIONS_ADDRESS.lower()
    assert [(op["chainId"], op["sessionDetails"]["mode"], op["verificationGasLimit"]) for op in ops] == [
        ("8453", "0x00", "250000"),  # the payment userOp enables on the fee chain
        ("10", "0x02", "1000000"),
        ("10", "0x00", "250000"),
        ("8453", "0x00", "250000"),
    ]
    assert all(op["shortEncoding"] is True and key_validator(op["nonce"]) == SMART_SESSIONS_ADDRESS.lower()
               for op in ops)  # fmt: skip
    [sent] = world.node.posts("exec")
    assert [op["sessionDetails"]["mode"] for op in sent["userOps"]] == ["0x02", "0x00", "0x02", "0x00", "0x00"]
    assert sent["somethingNew"] == [1, 2]


async def test_use_permission_reads_each_chain_once_before_the_quote(world: World) -> None:
    """The early decision (the permission's state, its SmartSessions nonce, the chain's time) rides in the quote's
    own JSON-RPC batch: one round trip per chain before the node is asked, however much is decided; a refusal it
    finds stops everything before the node hears of the quote."""
    details = grant([sudo(8453), sudo(10)])
    client = (await world.client(REDEEMER, owner=None)).extend(mee_session_actions)
    before = {c: chain.posts for c, chain in world.chains.items()}
    with pytest.raises(SessionNotEnabledError):
        await client.use_permission(
            session_details=details, mode="USE", fee_token=fee(), instructions=[increment(8453), increment(10)]
        )
    assert {c: chain.posts - before[c] for c, chain in world.chains.items()} == {8453: 1, 10: 1}
    assert world.node.posts("quote") == []
    for chain in world.chains.values():
        chain.session_enabled = True
    before = {c: chain.posts for c, chain in world.chains.items()}
    await client.use_permission(
        session_details=details, mode="USE", fee_token=fee(), instructions=[increment(8453), increment(10)]
    )
    assert {c: chain.posts - before[c] for c, chain in world.chains.items()} == {8453: 1, 10: 1}
    assert len(world.node.posts("quote")) == 1


async def test_use_permission_sponsored(world: World) -> None:
    details = grant([sudo(8453)], chains=(8453,))
    client = (await world.client(REDEEMER, owner=None)).extend(mee_session_actions)
    await client.use_permission(
        session_details=details, mode="ENABLE_AND_USE", sponsorship=True, instructions=[increment(8453)]
    )
    [body] = world.node.posts("quote")
    assert body["paymentInfo"] == {
        "sponsored": True,
        "sender": SPONSORSHIP_GAS_TANK_ADDRESS,
        "token": USDC_BASE_ADDRESS,
        "nonce": "0",
        "callGasLimit": "75000",
        "verificationGasLimit": "150000",
        "chainId": "8453",
        "sponsorshipUrl": "https://network.biconomy.io/v1",
    }
    [op] = body["userOps"]
    assert (op["sessionDetails"]["mode"], op["verificationGasLimit"]) == ("0x02", "1000000")
    assert [v["chainId"] for v in body["meeVersions"]] == [8453]  # no fee chain when sponsored
    [sent] = world.node.posts("exec")
    assert "sessionDetails" not in sent["userOps"][0]  # the sponsor's entry is left as it is
    assert sent["userOps"][1]["sessionDetails"]["mode"] == "0x02"


async def test_use_permission_refuses_before_any_request(world: World) -> None:
    prepared = [d.model_copy(update={"mode": 0}) for d in grant([sudo(8453)], chains=(8453,))]
    client = (await world.client(REDEEMER, owner=None)).extend(mee_session_actions)
    with pytest.raises(InvalidInputError, match="ENABLE_AND_USE mode cannot be used with given session details, "
                                                 "instead try USE mode directly"):  # fmt: skip
        await client.use_permission(
            session_details=prepared, mode="ENABLE_AND_USE", fee_token=fee(), instructions=[increment(8453)]
        )
    owner_client = (await world.client()).extend(mee_session_actions)
    with pytest.raises(SessionSignerMismatchError, match="granted to the session key"):
        await owner_client.use_permission(
            session_details=prepared, mode="USE", fee_token=fee(), instructions=[increment(8453)]
        )
    with pytest.raises(InvalidInputError, match="No session details found for chainId 10"):
        await client.use_permission(session_details=prepared, mode="USE", fee_token=fee(), instructions=[increment(10)])
    assert world.node.posts("quote") == []


# -- errors ------------------------------------------------------------------------------------------------------------


def test_parse_error_message_as_the_reference() -> None:
    assert parse_error_message("Error: something broke") == "something broke"
    assert parse_error_message(
        {"errors": [{"msg": "is required", "path": "userOps.0.sender"}, {"message": "bad"}]}
    ) == ("userOps.0.sender: is required\nbad")
    bundler = 'failed: errorArgs=[0, "AA23 reverted (or OOG)"]'
    assert parse_error_message({"message": bundler}) == "AA23 reverted (or OOG)"
    assert parse_error_message({"statusText": "Bad Gateway"}) == "Bad Gateway"
    assert parse_error_message({"type": "AcrossApiError", "message": "no route"}) == "AcrossApiError: no route"
    assert parse_error_message(["a", "b"]) == "a,b"


async def test_non_2xx_keeps_status_and_body(world: World) -> None:
    answer = {"errors": [{"msg": "must be a decimal string", "path": "userOps.0.nonce"}]}
    world.node.on_quote = lambda body: httpx.Response(422, json=answer)
    client = await world.client()
    with pytest.raises(MeeApiError) as refused:
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    assert (refused.value.status, refused.value.body) == (422, answer)
    assert refused.value.short_message == "userOps.0.nonce: must be a decimal string"
    world.node.on_quote = lambda body: httpx.Response(502, text="<html>bad gateway</html>")
    with pytest.raises(MeeApiError) as html:
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    assert html.value.status == 502 and html.value.body == "<html>bad gateway</html>"


@pytest.mark.parametrize("timestamp", ["soon", 7, None, "0x" + "f" * 100, "9" * 5000])
async def test_a_chain_answering_nonsense_is_an_rpc_error(world: World, timestamp: object) -> None:
    """A faulty or hostile chain endpoint (here: the latest block's timestamp) raises our RpcError naming what was
    read, never a ValueError or TypeError (issue 11, item 7)."""
    chain = world.chains[8453]
    original = chain.result

    def lying(method: str, params: list[Any]) -> Any:
        answer = original(method, params)
        return {**answer, "timestamp": timestamp} if method == "eth_getBlockByNumber" else answer

    chain.result = lying
    client = await world.client()
    with pytest.raises(RpcError, match=r"answered the block timestamp with .*, not a hex quantity"):
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())


async def test_an_unreachable_node_is_its_own_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    account = World(FakeNode(), {8453: FakeChain(8453)}).account()
    with pytest.raises(MeeUnreachableError, match="Cannot reach the MEE node") as refused:
        await create_mee_client(account=account, url="http://node/v1", transport=httpx.MockTransport(refuse))
    assert not isinstance(refused.value, MeeApiError)  # nothing answered: no status, no body
    assert refused.value.url == "http://node/v1/info" and isinstance(refused.value.__cause__, httpx.ConnectError)


async def test_a_policy_refusal_names_permission_action_policy_and_rule(world: World) -> None:
    policy = get_universal_action_policy(
        value_limit_per_use=0,
        param_rules=[{"condition": ParamCondition.LESS_THAN_OR_EQUAL, "offset": 0, "ref": 10}],
    )
    set_number = bytes.fromhex("3fb5c1cb")
    action = ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=set_number,
                          action_policies=[policy])  # fmt: skip
    details = grant([action], chains=(8453,))
    pid = "0x" + bytes(details[0].permission_id).hex()
    refusal = (
        f"userOps[0] (chain 8453): refused in simulation: AA23 reverted: PolicyViolation(permissionId={pid}, "
        "policy=0x0000000000714cf48fcf88a0bfba70d313415032) (refused by the universal action policy, UniActionPolicy)"
    )
    world.node.on_quote = lambda body: httpx.Response(400, json={"error": refusal})
    world.chains[8453].session_enabled = True  # enabled: only the node's simulation refuses the call
    client = (await world.client(REDEEMER, owner=None)).extend(mee_session_actions)
    eleven = Instruction(chain_id=8453, calls=[Call(to=COUNTER, data=set_number + (11).to_bytes(32, "big"))])
    with pytest.raises(PolicyViolationError) as refused:
        await client.use_permission(session_details=details, mode="USE", fee_token=fee(), instructions=[eleven])
    err = refused.value
    assert (err.permission_id, err.chain_id, err.action_target, err.action_selector) == (
        pid, 8453, COUNTER, "0x3fb5c1cb"
    )  # fmt: skip
    assert err.policy == "0x0000000000714Cf48FcF88A0bFBa70d313415032"
    assert err.rule == "rule 0: argument 1 (offset 0) must be <= 10, got 11"
    assert isinstance(err.__cause__, MeeApiError) and err.__cause__.status == 400


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("userOps[0] (chain 10): refused in simulation: AA23 reverted: InvalidPermissionId(permissionId=0x"
         + "ab" * 32 + ")", SessionNotEnabledError),
        ("paymentInfo (chain 8453): 0x00000000000000000000000000000000000A11cE holds 5 base units of the fee token "
         "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913 on chain 8453, but 900 are needed (fee 900)",
         InsufficientBalanceError),
        ("userOps[0] (chain 8453): the call reverts in simulation: Error(message=boom)", MeeApiError),
    ],
)  # fmt: skip
async def test_node_refusals_become_typed_errors(world: World, message: str, expected: type[Exception]) -> None:
    world.node.on_quote = lambda body: httpx.Response(400, json={"error": message})
    client = await world.client()
    with pytest.raises(expected) as refused:
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    if isinstance(refused.value, InsufficientBalanceError):
        assert (refused.value.balance, refused.value.needed, refused.value.chain_id) == (5, 900, 8453)


async def test_a_busy_node_is_asked_again_after_its_retry_after(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 503 (or 429) with ``Retry-After`` means "come back then": the client waits that long and asks again (at most
    3 times); without the header, or past the retries, the refusal is raised."""
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("smartsessions.mee.client.asyncio.sleep", no_sleep)
    busy = iter([503, 429])
    busy_answer = {"error": "node: busy"}

    def answer(body: dict[str, Any]) -> httpx.Response:
        status = next(busy, None)
        if status is not None:
            return httpx.Response(status, json=busy_answer, headers={"retry-after": "2"})
        return httpx.Response(200, json=quote_for(body))

    world.node.on_quote = answer
    client = await world.client()
    await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    assert waits == [2.0, 2.0] and len(world.node.posts("quote")) == 3

    world.node.on_quote = lambda body: httpx.Response(503, json=busy_answer)  # no Retry-After: raised at once
    with pytest.raises(MeeApiError) as refused:
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    assert refused.value.status == 503 and waits == [2.0, 2.0]

    world.node.on_quote = lambda body: httpx.Response(503, json=busy_answer, headers={"retry-after": "1"})
    with pytest.raises(MeeApiError):
        await client.get_quote(instructions=[increment(8453)], fee_token=fee())
    assert waits == [2.0, 2.0, 1.0, 1.0, 1.0]  # three more tries, then the refusal


async def test_an_exec_refusal_of_the_payment_becomes_the_same_typed_error(world: World) -> None:
    """The node checks the signed payment userOp at /exec (as Biconomy's does): its refusal names the payment and the
    chain, and the SDK explains it as it explains a quote's (here: the paying session is not enabled)."""
    details = grant([sudo(8453)], chains=(8453,))
    pid = "0x" + bytes(details[0].permission_id).hex()
    message = (
        "paymentInfo (chain 8453): the payment userOp fails validation: AA23 reverted: "
        f"InvalidPermissionId(permissionId={pid})"
    )
    world.node.on_exec = lambda body: httpx.Response(400, json={"error": message})
    world.chains[8453].session_enabled = True  # as the client reads it; the node's /exec check says otherwise
    client = (await world.client(REDEEMER, owner=None)).extend(mee_session_actions)
    with pytest.raises(SessionNotEnabledError) as refused:
        await client.use_permission(
            session_details=details, mode="USE", fee_token=fee(), instructions=[increment(8453)]
        )
    assert refused.value.permission_id == pid and refused.value.chain_id == 8453
    assert isinstance(refused.value.__cause__, MeeApiError) and refused.value.__cause__.status == 400


# -- receipts ----------------------------------------------------------------------------------------------------------


def explorer(*statuses: str, errors: dict[int, str] | None = None) -> dict[str, Any]:
    request = {
        "quoteType": "simple",
        "paymentInfo": {"sponsored": False, "sender": ACCOUNT, "token": USDC[8453], "nonce": "1",
                        "callGasLimit": "75000", "verificationGasLimit": "150000", "chainId": "8453"},
        "userOps": [{"sender": ACCOUNT, "nonce": str(k), "callData": "0x" + bytes(encode_execute(
            [Call(to=COUNTER, data=INCREMENT)])).hex(), "callGasLimit": "700000", "chainId": str(c)}
            for k, c in enumerate([8453, 10][: len(statuses) - 1])],
    }  # fmt: skip
    quote = quote_for(request)
    for k, (op, status) in enumerate(zip(quote["userOps"], statuses, strict=True)):
        op["executionStatus"] = status
        op["isConfirmed"] = status in ("MINED_SUCCESS", "MINED_FAIL")
        if status.startswith("MINED"):
            op["executionData"] = "0x" + keccak(bytes([k])).hex()
        if errors and k in errors:
            op["executionError"] = errors[k]
    return quote


async def test_wait_polls_until_final_and_reads_the_receipts(world: World) -> None:
    world.node.explorer = [
        explorer("PENDING", "PENDING", "PENDING"),
        explorer("MINING", "MINING", "MINED_SUCCESS"),
        explorer("MINED_SUCCESS", "MINED_SUCCESS", "MINED_SUCCESS"),
    ]
    client = await world.client()
    receipt = await client.wait_for_supertransaction_receipt("0x" + "12" * 32, polling_interval=0.001)
    assert receipt.status == "MINED_SUCCESS" and receipt.is_finalised
    assert [op.chain_id for op in receipt.user_ops] == [8453, 10]
    assert receipt.gas_used == 2 * 21_000 and len(receipt.receipts or []) == 2
    assert sum(1 for _, p, _, _ in world.node.requests if p.startswith("explorer/")) == 3


@pytest.mark.parametrize("status", ["FAILED", "MINED_FAIL"])
async def test_a_failed_super_transaction_names_the_user_op(world: World, status: str) -> None:
    world.node.explorer = [explorer("MINED_SUCCESS", "MINED_SUCCESS", status, errors={2: "execution reverted: nope"})]
    client = await world.client()
    with pytest.raises(SupertransactionFailedError) as failed:
        await client.wait_for_supertransaction_receipt("0x" + "12" * 32, polling_interval=0.001)
    err = failed.value
    assert err.status == status and [(f.index, f.chain_id) for f in err.failures] == [(2, 10)]
    assert "userOp 2 on chain 10" in err.short_message and "[2] execution reverted: nope" in str(err)
    assert err.hash == "0x" + "12" * 32 and err.receipt is not None


async def test_wait_gives_up_after_the_timeout(world: World) -> None:
    world.node.explorer = [explorer("PENDING", "PENDING")]
    client = await world.client()
    with pytest.raises(SupertransactionTimeoutError) as late:
        await client.wait_for_supertransaction_receipt("0x" + "12" * 32, timeout=0.05, polling_interval=0.01)
    assert late.value.status == "PENDING"


# -- fusion (permit trigger) -------------------------------------------------------------------------------------------


async def test_permit_fusion_quote_sign_and_exec(world: World) -> None:
    world.chains[8453].deployed = False
    client = await world.client()
    trigger = {"token_address": USDC[8453], "chain_id": 8453, "amount": 10_000_000}
    fusion = await client.get_fusion_quote(trigger=trigger, instructions=[increment(8453)], fee_token=fee())
    [body] = world.node.posts("quote-permit")
    assert body["quoteType"] == "permit"
    assert body["trigger"] == {"tokenAddress": USDC[8453], "chainId": 8453, "gasLimit": "75000", "amount": "10000000"}
    assert body["paymentInfo"]["eoa"] == OWNER.address and body["paymentInfo"]["callGasLimit"] == "75000"
    [op] = body["userOps"]
    calls = decode_execute(bytes.fromhex(op["callData"][2:]))
    transfer = encode_function_call("transferFrom(address,address,uint256)", [OWNER.address, ACCOUNT, 10_000_000])
    assert [(c.to, bytes(c.data)) for c in calls] == [(USDC[8453], transfer), (COUNTER, INCREMENT)]
    assert op["callGasLimit"] == "775000" and op["metadata"][0]["type"] == "TRANSFER"
    assert fusion.trigger.amount == 10_000_000 + 12_345  # the fee rides on the permit

    await client.execute_fusion_quote(fusion)
    [sent] = world.node.posts("exec")
    assert sent["trigger"]["amount"] == str(10_000_000 + 12_345)
    signature = bytes.fromhex(sent["signature"][2:])
    assert signature[:4] == bytes.fromhex("177eee02")
    token, spender, separator, typehash, amount, chain_id, nonce, v, r, s = abi_decode(
        ["address", "address", "bytes32", "bytes32", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"],
        signature[4:],
    )
    assert (token.lower(), spender.lower(), amount, chain_id, nonce) == (
        USDC[8453].lower(), ACCOUNT.lower(), 10_012_345, 8453, 3
    )  # fmt: skip
    assert separator == domain_separator(8453, USDC[8453]) and typehash == PERMIT_TYPEHASH
    digest = get_permit_digest(
        domain_separator=separator, owner=OWNER.address, spender=ACCOUNT, value=amount, nonce=3,
        deadline=int(fusion.quote.hash, 16),
    )  # fmt: skip
    assert Account._recover_hash(bytes(digest), vrs=(v, r, s)) == OWNER.address


async def test_a_token_without_permit_gets_an_onchain_quote(world: World) -> None:
    client = await world.client()
    trigger = {"token_address": COUNTER, "chain_id": 8453, "amount": 1}
    with pytest.raises(ConfigurationError, match="cannot be used as a permit trigger"):  # forced, it is refused
        await client.get_fusion_quote(trigger=trigger, instructions=[], fee_token=fee(), quote_type="permit")
    assert world.node.posts("quote-permit") == []
    fusion = await client.get_fusion_quote(trigger=trigger, instructions=[], fee_token=fee())
    [request] = world.node.posts("quote-permit")
    assert request["quoteType"] == "onchain" and fusion.quote.quote_type == "onchain" and fusion.permit is None
    assert request["paymentInfo"]["eoa"] == OWNER.address and request["trigger"]["tokenAddress"] == COUNTER
    with pytest.raises(InvalidInputError, match="native-token triggers"):
        await client.get_fusion_quote(trigger={**trigger, "token_address": "0x" + "00" * 20}, fee_token=fee())


# -- instructions ------------------------------------------------------------------------------------------------------


def test_batching_merges_each_chain_in_first_appearance_order() -> None:
    a = Instruction(chain_id=10, calls=[Call(to=COUNTER, data=b"\x01")], metadata=[{"n": 1}],
                    lower_bound_timestamp=5, upper_bound_timestamp=50)  # fmt: skip
    b = Instruction(chain_id=8453, calls=[Call(to=COUNTER, data=b"\x02")])
    c = Instruction(chain_id=10, calls=[Call(to=COUNTER, data=b"\x03")], metadata=[{"n": 3}],
                    lower_bound_timestamp=10, upper_bound_timestamp=100)  # fmt: skip
    merged = batch_instructions([a, b, c])
    assert [i.chain_id for i in merged] == [10, 8453]
    assert isinstance(merged[0], Instruction)  # plain calls merge into a plain instruction
    assert [bytes(call.data) for call in merged[0].calls] == [b"\x01", b"\x03"]
    assert merged[0].metadata == ({"n": 1}, {"n": 3})
    assert (merged[0].lower_bound_timestamp, merged[0].upper_bound_timestamp) == (10, 100)  # the widest window
    assert merged[1] is b
    composable = ComposableInstruction(chain_id=10, calls=[to_composable_call(to=COUNTER, data=INCREMENT)])
    with pytest.raises(InvalidInputError, match="mixes composable and plain"):
        batch_instructions([a, composable])


def test_decode_execute_is_the_inverse_of_encode_execute() -> None:
    for calls in (
        [Call(to=COUNTER, data=INCREMENT, value=3)],
        [Call(to=COUNTER, data=b""), Call(to=ACCOUNT, data=b"1")],
    ):
        assert decode_execute(encode_execute(calls)) == [c.model_copy(update={"gas_limit": None}) for c in calls]


# -- hostile chain answers (issue 11): our errors, naming what was read ------------------------------------------------

GET_NONCE_SESSIONS = encode_function_call("getNonce(bytes32,address)", [b"\x00" * 32, ACCOUNT])[:4].hex()
IS_MODULE_INSTALLED = encode_function_call("isModuleInstalled(uint256,address,bytes)", [1, ACCOUNT, b""])[:4].hex()
DECIMALS, NONCES = "313ce567", "7ecebe00"
WORD_0 = "0x" + "00" * 32


def answer(chain: FakeChain, method: str, result: Any, *, to: str | None = None, selector: str | None = None) -> None:
    """``chain`` answers ``method`` (an ``eth_call`` to ``to`` with ``selector``) with ``result``, as a broken or
    hostile endpoint would."""
    original = chain.result

    def result_of(m: str, params: list[Any]) -> Any:
        if m == method and (
            method != "eth_call"
            or ((to is None or params[0]["to"].lower() == to.lower()) and params[0]["data"][2:10] == selector)
        ):
            return result
        return original(m, params)

    chain.result = result_of


@pytest.mark.parametrize("hostile", ["0xzz", "0x" + "zz" * 32, "0x1 ", 7, None, ["0x01"]])
async def test_permit_token_answers_that_are_not_hex_data(world: World, hostile: Any) -> None:
    from smartsessions.mee.permit import read_permit_token

    answer(world.chains[8453], "eth_call", hostile, to=USDC[8453], selector=NONCES)
    deployment = world.account().deployment_on(8453)
    with pytest.raises(RpcError, match=r"answered nonces\(owner\) of the token 0x8335.* not 0x hex data"):
        await read_permit_token(deployment, USDC[8453], OWNER.address, 8453)


async def test_permit_token_nonce_shorter_than_a_word_is_no_permit(world: World) -> None:
    from smartsessions.mee.permit import read_permit_token

    answer(world.chains[8453], "eth_call", "0x01", to=USDC[8453], selector=NONCES)
    deployment = world.account().deployment_on(8453)
    with pytest.raises(ConfigurationError, match=r"its nonces\(owner\) answered 1 bytes, not a uint256") as refused:
        await read_permit_token(deployment, USDC[8453], OWNER.address, 8453)
    assert refused.value.field == "trigger.token_address"


@pytest.mark.parametrize(
    ("receipt", "match"),
    [
        ("a receipt", r"eth_getTransactionReceipt\(0x.*\) on chain \d+ with 'a receipt', not a receipt"),
        ([1, 2], r"with \[1, 2\], not a receipt"),
        ({"gasUsed": "0xzz"}, r"the gasUsed of eth_getTransactionReceipt\(0x.*'0xzz', not a hex quantity"),
        ({"gasUsed": 21_000}, r"with 21000, not a hex quantity"),
    ],
)
async def test_receipts_that_are_not_receipts(world: World, receipt: Any, match: str) -> None:
    answer(world.chains[10], "eth_getTransactionReceipt", receipt)
    world.node.explorer = [explorer("MINED_SUCCESS", "MINED_SUCCESS", "MINED_SUCCESS")]
    client = await world.client()
    with pytest.raises(RpcError, match=match):
        await client.wait_for_supertransaction_receipt("0x" + "12" * 32, polling_interval=0.001)


def test_gas_used_of_a_receipt_that_is_not_hex() -> None:
    from smartsessions.mee.results import SupertransactionReceipt

    receipt = SupertransactionReceipt(
        hash="0x", status="MINED_SUCCESS", is_finalised=True, json={},
        payload=from_wire(ExplorerResponse, explorer("MINED_SUCCESS", "MINED_SUCCESS")),
        receipts=[{"gasUsed": "0x5208"}, {"gasUsed": "0x_1"}],
    )  # fmt: skip
    with pytest.raises(RpcError, match="a receipt's gasUsed with '0x_1', not a hex quantity"):
        _ = receipt.gas_used


@pytest.mark.parametrize(("installed", "needed"), [(WORD_0[:-1] + "1", False), (WORD_0, True), ("0x", True)])
async def test_install_instruction_reads_is_module_installed(world: World, installed: str, needed: bool) -> None:
    from smartsessions.sessions.prepare import install_instruction

    answer(world.chains[8453], "eth_call", installed, to=ACCOUNT, selector=IS_MODULE_INSTALLED)
    deployment = world.account().deployment_on(8453)
    assert (await install_instruction(deployment, SMART_SESSIONS_ADDRESS) is not None) == needed


@pytest.mark.parametrize("hostile", ["0xzz", "0x" + "zz" * 32, "0x" + "00" * 31, 1])
async def test_install_instruction_with_an_answer_that_is_not_a_word(world: World, hostile: Any) -> None:
    from smartsessions.sessions.prepare import install_instruction

    answer(world.chains[8453], "eth_call", hostile, to=ACCOUNT, selector=IS_MODULE_INSTALLED)
    deployment = world.account().deployment_on(8453)
    with pytest.raises(RpcError, match=rf"isModuleInstalled\(validator, {SMART_SESSIONS_ADDRESS}\) of the account"):
        await install_instruction(deployment, SMART_SESSIONS_ADDRESS)


def _sudo_action(chain_id: int = 8453) -> ActionConfig:
    return ActionConfig(
        chain_id=chain_id, action_target=COUNTER, action_target_selector=INCREMENT, action_policies=[get_sudo_policy()]
    )


@pytest.mark.parametrize(
    ("decimals", "match"),
    [
        ("0xzz", r"decimals\(\) of the fee token 0x8335.* with '0xzz', not 0x hex data"),
        ("0x06", r"decimals\(\) of the fee token 0x8335.* with '0x06', not a 32-byte ABI word holding a uint8"),
        ("0x" + (256).to_bytes(32, "big").hex(), r"decimals\(\) .* not a 32-byte ABI word holding a uint8"),
        ("0x" + "ff" * 32, r"decimals\(\) .* not a 32-byte ABI word holding a uint8"),  # 10**(2**256) never ends
    ],
)
async def test_fee_token_decimals_that_are_not_a_uint8(world: World, decimals: str, match: str) -> None:
    from smartsessions.sessions.prepare import EnableSessionParams, enable_instructions

    answer(world.chains[8453], "eth_call", decimals, to=USDC[8453], selector=DECIMALS)
    answer(world.chains[8453], "eth_call", WORD_0, to=SMART_SESSIONS_ADDRESS, selector=GET_NONCE_SESSIONS)
    client = await world.client()
    with pytest.raises(RpcError, match=match):
        await enable_instructions(
            client,
            EnableSessionParams(redeemer=REDEEMER.address, actions=(_sudo_action(),)),
            module=SMART_SESSIONS_ADDRESS,
            fee_token=FeeTokenInfo.model_validate(fee()),
        )
    with pytest.raises(RpcError, match=match):
        await client.extend(mee_session_actions).grant_permission_typed_data_sign(
            redeemer=REDEEMER.address, actions=[_sudo_action()], fee_token=fee()
        )
    with pytest.raises(RpcError, match=match):  # read in the fee chain's batch of install reads
        await client.extend(mee_session_actions).get_session_quote(
            mode="PREPARE", enable_session={"redeemer": REDEEMER.address, "actions": [_sudo_action()]}, fee_token=fee()
        )


@pytest.mark.parametrize("deployed", [False, True])
async def test_prepare_reads_each_chain_once_before_the_quote(world: World, deployed: bool) -> None:
    """The fee token's decimals() rides in the fee chain's batch of install reads: one round trip per chain before
    the quote's own batch."""
    for chain in world.chains.values():
        chain.deployed = deployed
    client = (await world.client()).extend(mee_session_actions)
    prepared = await client.get_session_quote(
        mode="PREPARE",
        enable_session={"redeemer": REDEEMER.address, "actions": [_sudo_action(8453), _sudo_action(10)]},
        fee_token=fee(),
    )
    assert prepared is not None and prepared.session_details is not None
    assert {c: chain.posts for c, chain in world.chains.items()} == {8453: 2, 10: 2}
    calls = world.chains[8453].calls
    assert sum(c["method"] == "eth_call" and c["params"][0]["data"] == "0x313ce567" for c in calls) == 1


async def test_a_session_nonce_that_is_not_a_word(world: World) -> None:
    answer(world.chains[8453], "eth_call", "0x_1", to=SMART_SESSIONS_ADDRESS, selector=GET_NONCE_SESSIONS)
    client = await world.client()
    with pytest.raises(RpcError, match=r"SmartSessions.getNonce on chain 8453 with '0x_1', not 0x hex data"):
        await client.extend(mee_session_actions).grant_permission_typed_data_sign(
            redeemer=REDEEMER.address, actions=[_sudo_action()]
        )


async def test_permission_ids_that_do_not_decode(world: World) -> None:
    from smartsessions import EncodingError

    selector = encode_function_call("getPermissionIDs(address)", [ACCOUNT])[:4].hex()
    answer(world.chains[8453], "eth_call", "0x" + (32).to_bytes(32, "big").hex() + "ff" * 32, selector=selector)
    client = await world.client()
    with pytest.raises(EncodingError, match=r"Cannot decode SmartSessions.getPermissionIDs on chain 8453"):
        await client.extend(mee_session_actions).list_permissions(chain_id=8453)


async def test_an_account_version_that_is_not_a_version_number(world: World) -> None:
    """A config copied with a version that was never validated (model_copy does not validate) is refused when its
    number is compared, not with int()'s ValueError."""
    client = await world.client()
    quote = await client.get_quote(instructions=[increment(8453)], fee_token=fee(8453))
    deployment = client.account.deployment_on(8453)
    deployment.version = deployment.version.model_copy(update={"version": "2.x"})
    with pytest.raises(ConfigurationError, match="is not an MEE version number") as refused:
        await client.sign_quote(quote)
    assert refused.value.field == "MeeVersionConfig.version"
    with pytest.raises(ConfigurationError, match="is not an MEE version number") as refused:
        await client.get_quote(instructions=[increment(8453)], fee_token=fee(8453))
    assert refused.value.field == "chain_configurations.version"


# -- a quote is checked before anything signs it -----------------------------------------------------------------------


def _resigned(quote: dict[str, Any]) -> dict[str, Any]:
    """``quote`` with its commitment made again over its hash: a node (or whoever stands in for it) that lies."""
    return {**quote, "commitment": "0x" + bytes(personal_sign(NODE_KEY, quote["hash"])).hex()}


def _asked_otherwise(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A node that quotes another request than the one sent, every hash of it consistent."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        other = json.loads(json.dumps(body))
        change(other)
        return quote_for(other)

    return answer


def _op(k: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda request: request["userOps"][k].update(fields)


def _with_fee_advertised_lower(body: dict[str, Any]) -> dict[str, Any]:
    quote = quote_for(body, fee=5_000_000)
    return {**quote, "paymentInfo": {**quote["paymentInfo"], "tokenWeiAmount": "12345"}}


def _with_a_wrong_user_op_hash(body: dict[str, Any]) -> dict[str, Any]:
    quote = quote_for(body)
    quote["userOps"][1]["userOpHash"] = "0x" + "00" * 32
    return quote


def _with_another_root(body: dict[str, Any]) -> dict[str, Any]:
    return _resigned({**quote_for(body), "hash": "0x" + "99" * 32})


def _quoted(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A quote consistent in every hash and commitment, built with ``changes`` (see tests/quotes.py)."""
    return lambda body: quote_for(body, **changes)


_STRANGER = Account.from_key("0x" + "44" * 32)  # whoever sits between the client and the node
_GAS = {"maxFeePerGas": "2", "maxPriorityFeePerGas": "1", "preVerificationGas": "1"}


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (_asked_otherwise(_op(0, callData="0x" + "ab" * 36)), "userOps[1].callData"),
        (_asked_otherwise(_op(0, nonce="1")), "userOps[1].nonce"),
        (_asked_otherwise(_op(0, sender="0x" + "66" * 20)), "userOps[1].sender"),
        (_asked_otherwise(_op(0, initCode="0x" + "12" * 24)), "userOps[1].initCode"),
        (_asked_otherwise(_op(0, lowerBoundTimestamp=NOW + 1)), "userOps[1].lowerBoundTimestamp"),
        (_asked_otherwise(lambda r: r["userOps"].append(dict(r["userOps"][0]))), "userOps"),
        (_asked_otherwise(lambda r: r["paymentInfo"].update(token="0x" + "77" * 20)), "userOps[0].callData"),
        (_asked_otherwise(lambda r: r["paymentInfo"].update(nonce="5")), "userOps[0]"),
        (_with_fee_advertised_lower, "userOps[0].callData"),
        (_with_a_wrong_user_op_hash, "userOps[1].userOpHash"),
        (_with_another_root, "hash"),
        (_quoted(node=_STRANGER), "node"),  # another node's quote, its commitment its own
        (_quoted(pay_to=_STRANGER.address), "userOps[0].callData"),
        (_quoted(paymaster="0x"), "userOps[0].paymasterAndData"),
        (_quoted(paymaster="0x" + "f3" * 51), "userOps[0].paymasterAndData"),
        (_quoted(gas={**_GAS, "maxFeePerGas": str(10**13 + 1)}), "userOps[0].maxFeePerGas"),
        (_quoted(gas={**_GAS, "maxPriorityFeePerGas": "3"}), "userOps[0].maxPriorityFeePerGas"),
        (_quoted(gas={**_GAS, "preVerificationGas": str(30_000_001)}), "userOps[0].preVerificationGas"),
    ],
)
async def test_a_quote_that_is_not_what_was_asked_is_never_signed(
    world: World, tamper: Callable[[dict[str, Any]], dict[str, Any]], field: str
) -> None:
    world.node.on_quote = lambda body: httpx.Response(200, json=tamper(body))
    client = await world.client()
    with pytest.raises(QuoteMismatchError) as refused:
        await client.execute(instructions=[increment(8453)], fee_token=fee())
    assert refused.value.field == field and "Nothing was signed" in str(refused.value)
    assert world.node.posts("exec") == []


async def test_a_pinned_node_address_refuses_a_node_that_says_it_is_another(world: World) -> None:
    """Whoever answers /info first cannot pass itself off as the node when the user pinned the node's address."""
    with pytest.raises(ConfigurationError) as refused:
        await create_mee_client(
            account=world.account(OWNER),
            url="http://node/v1/",
            transport=httpx.MockTransport(world.node.handle),
            node_address=_STRANGER.address,
        )
    assert refused.value.field == "node_address" and NODE_KEY.address in str(refused.value)
    client = await create_mee_client(
        account=world.account(OWNER),
        url="http://node/v1/",
        transport=httpx.MockTransport(world.node.handle),
        node_address=NODE_KEY.address.lower(),
    )
    assert client.node_address == NODE_KEY.address
    world.node.info = {**world.node.info, "node": _STRANGER.address}  # /info changes its mind: the pin holds
    world.node.on_quote = lambda body: httpx.Response(200, json=quote_for(body, node=_STRANGER))
    with pytest.raises(QuoteMismatchError) as mismatch:
        await client.execute(instructions=[increment(8453)], fee_token=fee())
    assert mismatch.value.field == "node" and world.node.posts("exec") == []


async def test_the_quote_as_asked_passes(world: World) -> None:
    client = await world.client()
    result = await client.execute(instructions=[increment(8453), increment(10)], fee_token=fee())
    assert len(world.node.posts("exec")) == 1 and result.hash.startswith("0x")


async def test_a_sponsors_entry_is_checked_for_its_sender_and_chain_not_its_nonce(world: World) -> None:
    """The gas tank's entry is never executed, and its nonce is the sponsor's business: a node may set its own."""

    def sponsor_nonce(request: dict[str, Any], nonce: str, sender: str | None = None) -> dict[str, Any]:
        other = json.loads(json.dumps(request))
        other["paymentInfo"]["nonce"] = nonce
        if sender is not None:
            other["paymentInfo"]["sender"] = sender
        return quote_for(other)

    world.node.on_quote = lambda body: httpx.Response(200, json=sponsor_nonce(body, "77"))
    client = await world.client()
    await client.execute(instructions=[increment(8453)], sponsorship=True)
    world.node.on_quote = lambda body: httpx.Response(200, json=sponsor_nonce(body, "0", "0x" + "66" * 20))
    with pytest.raises(QuoteMismatchError) as refused:
        await client.execute(instructions=[increment(8453)], sponsorship=True)
    assert refused.value.field == "userOps[0]" and len(world.node.posts("exec")) == 1
