"""Every public decoder raises only our errors (``SmartSessionsError``), on any input (issue 11, items 1 and 7).

Each decoder below is fed random and mutated inputs: random bytes, text (lone surrogates included) and JSON values,
huge integers, deeply nested lists and dicts, non-dict entries where dicts belong, and valid encodings with bytes
flipped, cut, inserted or overwritten (ABI words replaced by huge offsets and lengths). Whatever it raises must be a
``SmartSessionsError`` whose message renders; an ``InvalidInputError`` must name its field. A foreign exception (or a
crash) fails the test with Hypothesis' smallest example.

Decoders covered (anything that reads data from outside):

* ``smartsessions._json.loads_bounded``: the bounded JSON reader every decoder of JSON text goes through;
* ``session_details_from_json`` (str, bytes, parsed JSON), and what a caller does next with what it read (the session
  digest, the signature, the JSON again): reading must refuse what using would choke on (a lone surrogate);
* ``SmartSessionMode.parse``; ``get_permission_id`` (of a session dict); ``decode_smart_session_signature``;
  ``decode_mee_short_signature``; ``flz_decompress``; ``decode_execute``; ``decode_action_config``; ``verify_proof``;
* ``_coerce``: ``to_bytes``, ``to_bytes32``, ``to_address``, ``to_uint``; ``InvalidInputError`` itself (its ``value``);
* ``mee.wire.from_wire`` for ``QuoteRequest``, ``GetQuotePayload``, ``SignedQuote``, ``ExplorerResponse``,
  ``GetInfoPayload``, ``ExecResponse`` and ``ErrorResponse``;
* ``mee.quote.recover_commitment_signer`` and ``verify_commitment`` (of a quote's JSON or anything else);
* ``mee.node_errors.parse_error_message``; ``mee._refusals.explain_refusal`` and ``where_of``;
  ``mee.receipt.summarize_receipt``;
* ``rpc.decode_response`` and the batch reader ``rpc._batch_results``; the readers of RPC results ``rpc.quantity``,
  ``rpc.return_data`` and ``rpc.call_word``;
* ``versions.get_mee_version``;
* ``devnet.entrypoint.parse_user_op_results`` and ``decode_handle_ops_revert``; ``devnet.artifacts.decode_revert``.

The normal suite runs 100 examples per decoder (about 10 s for the module). ``make fuzz`` runs the same properties
with many more (``make fuzz FUZZ_EXAMPLES=50000``; 10,000 by default, about 15 minutes): it sets
``SMARTSESSIONS_FUZZ_EXAMPLES``, the examples per decoder this module reads (100 when unset), so
``SMARTSESSIONS_FUZZ_EXAMPLES=20000 pytest tests/unit/test_decoders_fuzz.py`` does the same. Examples are
derandomized, so a run is reproducible; a failure prints the input that caused it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartsessions import (
    ActionData,
    ChainDigest,
    EnableSession,
    EnableSessionData,
    EncodingError,
    ERC7739Context,
    ERC7739Data,
    InsufficientBalanceError,
    InvalidInputError,
    PolicyData,
    Session,
    SessionDetails,
    SmartSessionMode,
    SmartSessionsError,
    decode_smart_session_signature,
    encode_execute,
    encode_smart_session_signature,
    flz_compress,
    flz_decompress,
    get_mee_version,
    get_permission_id,
    get_session_digest,
    get_universal_action_policy,
    session_details_from_json,
    session_details_to_json,
)
from smartsessions._coerce import to_address, to_bytes, to_bytes32, to_uint
from smartsessions._json import loads_bounded
from smartsessions.account.calls import Call, decode_execute
from smartsessions.devnet.artifacts import decode_revert
from smartsessions.devnet.entrypoint import (
    USER_OPERATION_EVENT_TOPIC,
    USER_OPERATION_REVERT_REASON_TOPIC,
    decode_handle_ops_revert,
    parse_user_op_results,
)
from smartsessions.encoding import verify_proof
from smartsessions.encoding.abi import abi_encode, selector
from smartsessions.encoding.quote import recover_commitment_signer, verify_commitment
from smartsessions.encoding.signature import decode_mee_short_signature, encode_mee_short_signature
from smartsessions.mee._refusals import OpContext, explain_refusal, where_of
from smartsessions.mee.node_errors import parse_error_message
from smartsessions.mee.receipt import summarize_receipt
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS, ParamCondition, ParamRule, decode_action_config
from smartsessions.rpc import _batch_results, call_word, decode_response, quantity, return_data
from smartsessions.wire.mee import (
    ErrorResponse,
    ExecResponse,
    ExplorerResponse,
    GetInfoPayload,
    GetQuotePayload,
    QuoteRequest,
    SignedQuote,
    WireModel,
    from_wire,
    to_wire,
)

EXAMPLES = int(os.environ.get("SMARTSESSIONS_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# -- seeds: valid inputs of every decoder, to mutate -------------------------------------------------------------------

ACCOUNT = "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
TARGET = "0x000000000000000000000000000000000000c0Fe"
VALIDATOR = "0x0000000031ef4155C978d48a8A7d4EDba03b04fE"
PID = bytes(range(32))

UNI_POLICY = get_universal_action_policy(
    value_limit_per_use=10**18,
    param_rules=[ParamRule(condition=ParamCondition.LESS_THAN, offset=32, is_limited=False, ref=1000)],
)
SESSION = Session(
    session_validator=VALIDATOR,
    session_validator_init_data=ACCOUNT,
    salt=b"\x44" * 32,
    user_op_policies=(PolicyData(policy=ACCOUNT, init_data=b"\x01\x02"),),
    erc7739_policies=ERC7739Data(
        allowed_erc7739_content=(ERC7739Context(app_domain_separator=b"\x55" * 32, content_name=("Mail", "é")),),
    ),
    actions=(
        ActionData(action_target_selector=b"\xa9\x05\x9c\xbb", action_target=TARGET, action_policies=(UNI_POLICY,)),
    ),
    permit_erc4337_paymaster=True,
    chain_id=8453,
)
ENABLE_DATA = EnableSessionData(
    enable_session=EnableSession(
        chain_digest_index=0,
        hashes_and_chain_ids=(ChainDigest(chain_id=8453, session_digest=b"\x33" * 32),),
        session_to_enable=SESSION,
        permission_enable_sig=b"\x66" * 65,
    ),
    validator=VALIDATOR,
)
DETAILS = SessionDetails(
    mode=SmartSessionMode.UNSAFE_ENABLE, permission_id=SESSION.permission_id, enable_session_data=ENABLE_DATA
)
DETAILS_JSON = [
    session_details_to_json([DETAILS, DETAILS]),
    session_details_to_json(DETAILS, form="wire"),
]
DETAILS_WIRE = json.loads(DETAILS_JSON[1])

SIGNATURES = [
    bytes(encode_smart_session_signature(mode="USE", permission_id=PID, signature=b"\x77" * 65)),
    bytes(encode_smart_session_signature(mode="ENABLE", signature=b"\x77" * 65, enable_session_data=ENABLE_DATA)),
]
SHORT_SIGNATURES = [
    bytes(encode_mee_short_signature(super_tx_hash=PID, proof=[b"\x01" * 32, b"\x02" * 32], signature=b"\x03" * 65))
]
TRANSFER = bytes.fromhex("a9059cbb") + abi_encode(["address", "uint256"], [ACCOUNT, 5000], what="transfer")
CALL_DATA = [
    bytes(encode_execute([Call(to=TARGET, data=TRANSFER, value=1)])),
    bytes(encode_execute([Call(to=TARGET, data=TRANSFER), Call(to=USDC, value=7), Call(to=ACCOUNT, data=b"\x01")])),
]
ACTION_CONFIGS = [bytes(UNI_POLICY.init_data)]
FLZ = [flz_compress(b"\x00" * 200 + bytes(range(256)) * 2), flz_compress(SIGNATURES[1])]

FAILED_OP = selector("FailedOp(uint256,string)") + abi_encode(["uint256", "string"], [0, "AA23 reverted"], what="x")
POLICY_VIOLATION = selector("PolicyViolation(bytes32,address)") + abi_encode(
    ["bytes32", "address"], [PID, UNIVERSAL_ACTION_POLICY_ADDRESS], what="x"
)
FAILED_OP_WITH_REVERT = selector("FailedOpWithRevert(uint256,string,bytes)") + abi_encode(
    ["uint256", "string", "bytes"], [1, "AA23 reverted", POLICY_VIOLATION], what="x"
)
ERROR_STRING = selector("Error(string)") + abi_encode(["string"], ["nope"], what="x")
REVERTS = [FAILED_OP, FAILED_OP_WITH_REVERT, POLICY_VIOLATION, ERROR_STRING]


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


RECEIPT: dict[str, Any] = {
    "status": "0x1",
    "logs": [
        {
            "topics": [_hex(USER_OPERATION_REVERT_REASON_TOPIC), _hex(PID), _word(int(ACCOUNT, 16)), _word(0)],
            "data": _hex(abi_encode(["uint256", "bytes"], [3, ERROR_STRING], what="x")),
        },
        {
            "topics": [_hex(USER_OPERATION_EVENT_TOPIC), _hex(PID), _word(int(ACCOUNT, 16)), _word(int(USDC, 16))],
            "data": _hex(abi_encode(["uint256", "bool", "uint256", "uint256"], [3, False, 10**15, 90000], what="x")),
        },
    ],
}

FILLED_OP: dict[str, Any] = {
    "userOp": {
        "sender": ACCOUNT, "nonce": "7", "initCode": "0x", "callData": _hex(CALL_DATA[0]), "callGasLimit": "100000",
        "verificationGasLimit": "250000", "maxFeePerGas": "1000000000", "maxPriorityFeePerGas": "1000000",
        "paymasterAndData": "0x" + "00" * 52, "preVerificationGas": "50000",
    },
    "userOpHash": "0x" + "aa" * 32, "meeUserOpHash": "0x" + "bb" * 32,
    "lowerBoundTimestamp": "1750000000", "upperBoundTimestamp": "1750000180", "maxGasLimit": "400000",
    "maxFeePerGas": "1000000000", "chainId": "8453", "shortEncoding": True, "sessionDetails": DETAILS_WIRE,
}  # fmt: skip
PAYMENT_INFO: dict[str, Any] = {
    "sponsored": False, "sender": ACCOUNT, "token": USDC, "nonce": "155826593755885330608267756555062058671",
    "callGasLimit": "75000", "verificationGasLimit": "1000000", "chainId": "8453", "shortEncoding": True,
    "sessionDetails": DETAILS_WIRE,
}  # fmt: skip
QUOTE_REQUEST: dict[str, Any] = {
    "quoteType": "simple",
    "userOps": [{
        "lowerBoundTimestamp": 1750000000, "upperBoundTimestamp": 1750000180, "sender": ACCOUNT,
        "callData": _hex(CALL_DATA[1]), "callGasLimit": "100000", "nonce": "15582666277334879851390563090262068",
        "chainId": "8453", "verificationGasLimit": "250000", "shortEncoding": True, "sessionDetails": DETAILS_WIRE,
        "metadata": [{"type": "CUSTOM", "chainId": 8453}],
    }],
    "paymentInfo": PAYMENT_INFO,
    "meeVersions": [{"version": {"version": "2.1.0", "validatorAddress": VALIDATOR}, "chainId": 8453}],
    "trigger": {"tokenAddress": USDC, "chainId": 8453, "amount": "1000"},
}  # fmt: skip
QUOTE: dict[str, Any] = {
    "hash": "0x" + "cc" * 32, "node": ACCOUNT, "commitment": "0x" + "dd" * 65,
    "paymentInfo": {**PAYMENT_INFO, "tokenAmount": "0.01", "tokenWeiAmount": "10000", "tokenValue": "0.01"},
    "userOps": [FILLED_OP, FILLED_OP], "quoteType": "simple",
}  # fmt: skip
SIGNED_QUOTE = {**QUOTE, "signature": "0x177eee00" + "11" * 65, "meeVersions": QUOTE_REQUEST["meeVersions"]}
EXPLORER: dict[str, Any] = {
    **QUOTE,
    "itxHash": QUOTE["hash"],
    "userOps": [
        {**FILLED_OP, "executionStatus": "MINED_SUCCESS", "executionData": "0x" + "ee" * 32, "isConfirmed": True},
        {**FILLED_OP, "executionStatus": "MINED_FAIL", "isConfirmed": True, "confirmations": 4,
         "executionError": "execution reverted: 0x" + POLICY_VIOLATION.hex(), "actualGasCost": "123"},
    ],
}  # fmt: skip
INFO: dict[str, Any] = {
    "version": "1.0", "node": ACCOUNT, "supportedChains": [{"chainId": "8453", "name": "Base"}],
    "supportedGasTokens": [{"chainId": "8453", "paymentTokens": [
        {"name": "USD Coin", "address": USDC, "symbol": "USDC", "decimals": 6, "permitEnabled": True}]}],
    "supported_wallet_providers": [{"walletProvider": "BICO_V2", "supportedChains": ["8453"]}],
}  # fmt: skip
WIRE_SEEDS: dict[type[WireModel], dict[str, Any]] = {
    QuoteRequest: QUOTE_REQUEST,
    GetQuotePayload: QUOTE,
    SignedQuote: SIGNED_QUOTE,
    ExplorerResponse: EXPLORER,
    GetInfoPayload: INFO,
    ExecResponse: {"hash": QUOTE["hash"]},
    ErrorResponse: {"error": "userOps[0].callData: bad"},
}

REFUSALS = [
    f"userOps[0] (chain 8453): refused in simulation: AA23 reverted: PolicyViolation(permissionId=0x{PID.hex()}, "
    f"policy={UNIVERSAL_ACTION_POLICY_ADDRESS})",
    f"paymentInfo (chain 10): InvalidPermissionId(permissionId=0x{PID.hex()})",
    "userOps[1] (chain 8453): AA23 reverted: HashMismatch(0x01, 0x02)",
    "userOps[0]: InvalidEnableSignature(account=0x00, hash=0x00)",
    f"paymentInfo (chain 8453): {ACCOUNT} holds 12 base units of the fee token {USDC} on chain 8453, but 5000 are "
    "needed",
    "paymentInfo: insufficient funds for gas",
    "userOps[0]: PolicyCheckReverted(reason=0x1234)",
    "simulation failed: execution reverted: 0x" + FAILED_OP_WITH_REVERT.hex(),
]
OPS = {
    "userOps[0]": OpContext("userOps[0]", 8453, [Call(to=TARGET, data=TRANSFER)], DETAILS, None, ACCOUNT),
    "paymentInfo": OpContext("paymentInfo", None, None, DETAILS, USDC, ACCOUNT),
}
NODE_ERRORS: list[Any] = [
    {"errors": [{"path": ["userOps", 0], "message": "bad"}, {"msg": "worse"}]},
    {"message": 'execution reverted: errorArgs=[0, "AA23 reverted", "0x' + FAILED_OP.hex() + '"]'},
    {"type": "AcrossApiError", "message": "no route"},
    {"statusText": "Bad Gateway"},
    'reason="x", code=CALL_EXCEPTION, version=6',
]
RPC_BODIES: list[Any] = [
    {"jsonrpc": "2.0", "id": 1, "result": "0x01"},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted", "data": _hex(ERROR_STRING)}},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nonce too low"}},
]

# -- inputs ------------------------------------------------------------------------------------------------------------

# Built in a map, not listed: Hypothesis reprs the elements of sampled_from, and an int of more than 4,300 digits
# has no repr.
HUGE_INTS = st.sampled_from([(10, 5000), (-10, 5001), (10, 4300), (2, 256), (2, 64), (-1, 1)]).map(
    lambda t: t[0] ** t[1]
)
# Their decimal strings (str() of an int of more than 4,300 digits raises, so these are written out).
HUGE_DECIMALS = st.one_of(
    st.sampled_from([4299, 4300, 4301, 6000]).map(lambda n: "9" * n),
    st.sampled_from([str(2**256), "-1", "1" + "0" * 78, "0x" + "f" * 5000]),
)
# Lone surrogates included: st.characters() draws every code point.
ANY_TEXT = st.text(st.characters(), max_size=60)
ANY_TEXT.validate()


def _nest(depth: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


DEEP = st.builds(_nest, st.integers(1, 3000), st.sampled_from(["list", "dict"]))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
    st.binary(max_size=80),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)),
    max_leaves=12,
)
ANYTHING = st.one_of(JSONISH, DEEP, st.just(object()), st.tuples(JSONISH, JSONISH))

_SPECIAL_WORDS = [0, 1, 31, 32, 64, 2**31, 2**64 - 1, 2**255, 2**256 - 1]


@st.composite
def mutated_bytes(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with a few edits: a byte flipped, a cut, bytes inserted or deleted, an ABI word overwritten."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "word", "word"]))
        if kind == "flip" and data:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[where:]
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 40))]
        else:
            start = 4 + 32 * draw(st.integers(0, max((len(data) - 4) // 32 - 1, 0)))
            value = draw(st.sampled_from(_SPECIAL_WORDS) | st.integers(0, 2**256 - 1))
            data[start : start + 32] = value.to_bytes(32, "big")
    return bytes(data)


def bytes_inputs(seeds: list[bytes]) -> st.SearchStrategy[Any]:
    """Bytes, their 0x hex (also mangled), and anything else."""
    mutated = mutated_bytes(seeds)
    return st.one_of(
        mutated,
        mutated.map(_hex),
        mutated.map(lambda b: "0x" + b.hex().upper()),
        st.tuples(mutated.map(_hex), ANY_TEXT).map(lambda t: t[0][: len(t[0]) // 2] + t[1] + t[0][len(t[0]) // 2 :]),
        st.binary(max_size=300),
        ANY_TEXT,
        ANYTHING,
    )


@st.composite
def mutated_json(draw: st.DrawFn, seed: Any) -> Any:
    """A JSON seed with a few values replaced (by anything, a huge int, a deep nest), keys dropped, or lists wrapped."""
    value = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 4))):
        path: list[Any] = []
        node = value
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append(key)
            node = node[key]
        kind = draw(st.sampled_from(["replace", "replace", "drop", "wrap", "huge", "string-number"]))
        new: Any
        if kind == "replace":
            new = draw(ANYTHING)
        elif kind == "huge":
            new = draw(HUGE_INTS)
        elif kind == "string-number":
            new = draw(HUGE_DECIMALS)
        elif kind == "wrap":
            new = [node]
        else:
            new = None
        if not path:
            value = new
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        if kind == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
    return value


@st.composite
def mutated_text(draw: st.DrawFn, seeds: list[str]) -> str:
    """JSON text with characters inserted (brackets, quotes, backslashes, digits, lone surrogates), cut or deleted."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "cut", "delete", "brackets", "digits"]))
        if kind == "insert":
            text = (
                text[:where]
                + draw(ANY_TEXT | st.sampled_from(['"', "\\", "[", "{", "\ud800", "\\udc00", "NaN"]))
                + text[where:]
            )
        elif kind == "cut":
            text = text[:where]
        elif kind == "delete":
            text = text[:where] + text[where + draw(st.integers(1, 20)) :]
        elif kind == "brackets":
            n = draw(st.integers(1, 5000))
            text = text[:where] + "[" * n + "]" * draw(st.sampled_from([0, n])) + text[where:]
        else:
            text = text[:where] + "9" * draw(st.integers(1, 6000)) + text[where:]
    return text


def text_inputs(seeds: list[str]) -> st.SearchStrategy[Any]:
    mutated = mutated_text(seeds)
    return st.one_of(
        mutated,
        mutated.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.tuples(mutated, st.binary(min_size=1, max_size=4)).map(lambda t: t[0].encode("utf-8", "replace") + t[1]),
        st.binary(max_size=200),
        ANY_TEXT,
        ANYTHING,
    )


def json_inputs(seeds: list[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(seeds).flatmap(mutated_json), ANYTHING)


# -- the decoders ------------------------------------------------------------------------------------------------------

Decoder = tuple[Callable[[Any], object], st.SearchStrategy[Any]]


def _smart_session(value: Any) -> object:
    signature, account_type = value
    return decode_smart_session_signature(signature=signature, account_type=account_type)


def _refusal(value: Any) -> object:
    message, where = value
    return explain_refusal(message, OPS, where=where)


def _commitment(value: Any) -> object:
    quote_hash, commitment = value
    recover_commitment_signer(quote_hash=quote_hash, commitment=commitment)
    return verify_commitment({"hash": quote_hash, "commitment": commitment, "node": ACCOUNT})


def _proof(value: Any) -> object:
    root, leaf, proof = value
    return verify_proof(root, leaf, proof)


def _summary(value: Any) -> object:
    user_ops, mode = value
    return summarize_receipt(user_ops, mode=mode)


def _batch(body: Any) -> object:
    payload = [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}]
    return _batch_results(body, payload, "http://rpc", return_errors=True)


def _details_used(value: Any) -> object:
    """Session details read, then used as a caller uses them: hashed, encoded, written out again."""
    out = []
    for details in session_details_from_json(value):
        if details.enable_session_data is not None:
            enable = details.enable_session_data.enable_session
            get_session_digest(enable.session_to_enable, account=ACCOUNT, nonce=0)
            encode_smart_session_signature(
                mode=details.mode, signature=b"\x77" * 65, enable_session_data=details.enable_session_data
            )
        out.append(session_details_to_json(details))
    return out


def _call_word(value: Any) -> object:
    result, bits = value
    return call_word(result, what="decimals()", bits=bits, empty=0)


# The seed with its ERC-7739 content name (a string the session digest hashes) replaced: lone surrogates included.
NAMED_DETAILS = (st.sampled_from(["\ud800", "a\udfff", "\U0001f600"]) | ANY_TEXT).map(
    lambda name: DETAILS_JSON[0].replace('"Mail"', json.dumps(name))
)
HEX_RESULTS = bytes_inputs([(6).to_bytes(32, "big"), b"\x01" * 32 + b"\x02" * 64])


def _invalid_input(value: Any) -> object:
    return str(InvalidInputError("value", "is wrong", fix="pass a right one", value=value))


def _from_wire_of(model: type[WireModel]) -> Callable[[Any], object]:
    return lambda v: from_wire(model, v)


def _to_uint(value: Any) -> object:
    number, bits = value
    return to_uint(number, field="value", bits=bits)


REFUSAL_TEXT = mutated_text(REFUSALS) | mutated_text([r.replace("8453", "9" * 5000) for r in REFUSALS])
WHERE = st.one_of(st.none(), st.sampled_from([*OPS, "userOps[7]"]), ANY_TEXT)

DECODERS: dict[str, Decoder] = {
    "loads_bounded": (lambda v: loads_bounded(v, field="body"), text_inputs(DETAILS_JSON)),
    "session_details_from_json[text]": (session_details_from_json, text_inputs(DETAILS_JSON)),
    "session_details_from_json[json]": (
        session_details_from_json,
        json_inputs([DETAILS_WIRE, [DETAILS_WIRE], json.loads(DETAILS_JSON[0])]),
    ),
    "session_details_from_json[text]+use": (_details_used, NAMED_DETAILS | text_inputs(DETAILS_JSON)),
    "session_details_from_json[json]+use": (_details_used, json_inputs([DETAILS_WIRE, json.loads(DETAILS_JSON[0])])),
    "SmartSessionMode.parse": (
        SmartSessionMode.parse,
        st.one_of(st.sampled_from(["USE", "0x01", "ENABLE_AND_USE", b"\x02", 1]), ANY_TEXT, ANYTHING),
    ),
    "decode_smart_session_signature": (
        _smart_session,
        st.tuples(bytes_inputs(SIGNATURES), st.sampled_from(["nexus", "kernel", "safe"]) | ANYTHING),
    ),
    "decode_mee_short_signature": (decode_mee_short_signature, bytes_inputs(SHORT_SIGNATURES)),
    "flz_decompress": (flz_decompress, bytes_inputs(FLZ)),
    "decode_execute": (decode_execute, bytes_inputs(CALL_DATA)),
    "decode_action_config": (decode_action_config, bytes_inputs(ACTION_CONFIGS)),
    "verify_proof": (
        _proof,
        st.tuples(bytes_inputs([PID]), bytes_inputs([PID]), st.lists(bytes_inputs([PID]), max_size=3) | ANYTHING),
    ),
    "to_bytes": (lambda v: to_bytes(v, field="value"), bytes_inputs(SIGNATURES)),
    "to_bytes32": (lambda v: to_bytes32(v, field="value"), bytes_inputs([PID])),
    "to_address": (lambda v: to_address(v, field="value"), bytes_inputs([bytes.fromhex(ACCOUNT[2:])])),
    "to_uint": (
        _to_uint,
        st.tuples(
            st.one_of(st.integers(), HUGE_INTS, ANY_TEXT, HUGE_DECIMALS, ANYTHING), st.sampled_from([8, 64, 256])
        ),
    ),
    "InvalidInputError(value=...)": (_invalid_input, ANYTHING),
    **{
        f"from_wire[{model.__name__}]": (
            _from_wire_of(model),
            json_inputs([seed]),
        )
        for model, seed in WIRE_SEEDS.items()
    },
    "recover_commitment_signer": (_commitment, st.tuples(bytes_inputs([PID]), bytes_inputs([b"\x11" * 65]))),
    "verify_commitment": (verify_commitment, json_inputs([QUOTE])),
    "get_permission_id": (
        get_permission_id,
        json_inputs([DETAILS_WIRE["enableSessionData"]["enableSession"]["sessionToEnable"]]),
    ),
    "parse_error_message": (parse_error_message, json_inputs(NODE_ERRORS)),
    "explain_refusal": (_refusal, st.tuples(REFUSAL_TEXT | ANYTHING, WHERE)),
    "where_of": (where_of, REFUSAL_TEXT | ANYTHING),
    "summarize_receipt": (
        _summary,
        st.tuples(json_inputs([EXPLORER["userOps"]]), st.sampled_from(["default", "fast-block"])),
    ),
    "rpc.decode_response": (lambda v: decode_response(v, method="eth_call", url="http://rpc"), json_inputs(RPC_BODIES)),
    "rpc._batch_results": (_batch, json_inputs([RPC_BODIES, [RPC_BODIES[1]]])),
    "rpc.quantity": (lambda v: quantity(v, what="eth_blockNumber"), HEX_RESULTS),
    "rpc.return_data": (lambda v: return_data(v, what="eth_call"), HEX_RESULTS),
    "rpc.call_word": (_call_word, st.tuples(HEX_RESULTS, st.sampled_from([1, 8, 160, 256]))),
    "get_mee_version": (get_mee_version, st.one_of(st.sampled_from(["2.1.0", "3.0.0"]), ANY_TEXT, ANYTHING)),
    "parse_user_op_results": (parse_user_op_results, json_inputs([RECEIPT])),
    "decode_handle_ops_revert": (decode_handle_ops_revert, bytes_inputs(REVERTS)),
    "decode_revert": (decode_revert, bytes_inputs(REVERTS)),
}


def test_the_seeds_decode() -> None:
    """The mutations start from valid inputs: each seed decodes without error."""
    assert session_details_from_json(DETAILS_JSON[0]) == [DETAILS, DETAILS]
    assert session_details_from_json(DETAILS_WIRE) == [DETAILS]
    for model, seed in WIRE_SEEDS.items():
        assert to_wire(from_wire(model, seed))
    decoded = decode_smart_session_signature(signature=SIGNATURES[1])
    assert decoded.permission_id == SESSION.permission_id and decoded.signature == b"\x77" * 65
    assert decode_execute(CALL_DATA[1])[1] == Call(to=USDC, value=7)
    assert decode_action_config(ACTION_CONFIGS[0]).value_limit_per_use == 10**18
    assert [r.success for r in parse_user_op_results(RECEIPT)] == [False]
    assert parse_user_op_results(RECEIPT)[0].revert_message == "Error(message=nope)"
    assert decode_handle_ops_revert(FAILED_OP) == "FailedOp(op 0: AA23 reverted)"
    assert summarize_receipt(EXPLORER["userOps"]).status == "MINED_FAIL"
    assert all(explain_refusal(r, OPS) is not None for r in REFUSALS)
    assert decode_response(RPC_BODIES[0], method="eth_call", url="http://rpc") == "0x01"


def _only_ours(decoder: Callable[[Any], object], value: Any) -> None:
    try:
        decoder(value)
    except SmartSessionsError as exc:
        assert str(exc)  # the message renders (repr of the bad value included)
        if isinstance(exc, InvalidInputError):
            assert exc.field and exc.problem


@pytest.mark.parametrize("name", sorted(DECODERS))
@FUZZ
@given(data=st.data())
def test_decoders_raise_only_our_errors(name: str, data: st.DataObject) -> None:
    decoder, inputs = DECODERS[name]
    _only_ours(decoder, data.draw(inputs, label=name))


# -- the cases issue 11 names ------------------------------------------------------------------------------------------

NESTED = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_refused_without_a_crash() -> None:
    """In a subprocess, so that a segmentation fault fails this test instead of ending pytest. The recursion limit is
    set to py_ecc's 100,000 explicitly, so the case stays covered whatever py_ecc does at import."""
    src = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["smartsessions"].__file__ or "")))
    script = textwrap.dedent(
        """
        import sys
        from smartsessions import InvalidInputError, session_details_from_json
        sys.setrecursionlimit(100_000)
        nested = "[" * 100_000 + "]" * 100_000
        for data in (nested, nested.encode()):
            try:
                session_details_from_json(data)
            except InvalidInputError as exc:
                print(exc.field, "|", exc.problem)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = "session_details | nests arrays and objects 100000 levels deep, more than the 32 allowed"
    assert done.stdout.splitlines() == [expected, expected]


def test_loads_bounded_refuses_what_json_loads_crashes_or_leaks_on() -> None:
    cases = {
        NESTED: "nests arrays and objects 100000 levels deep, more than the 64 allowed",
        '{"a": ' * 65 + "1" + "}" * 65: "nests arrays and objects 65 levels deep, more than the 64 allowed",
        "[" + "9" * 5000 + "]": "has a number of more than 100 digits",
        "[NaN]": "is not JSON: NaN is not a JSON value",
        "[1,": "is not JSON: Expecting value (line 1, column 4)",
    }
    for text, problem in cases.items():
        with pytest.raises(InvalidInputError) as info:
            loads_bounded(text, field="body")
        assert (info.value.field, info.value.problem) == ("body", problem)
        assert "Fix: " in str(info.value)
    with pytest.raises(InvalidInputError, match=r"is not text in UTF-8 \(or UTF-16/32\): invalid start byte at byte 7"):
        loads_bounded(b'{"a": "\xff"}', field="body")
    with pytest.raises(InvalidInputError, match="is 11 bytes long, more than the 10 allowed"):
        loads_bounded(b"[1,2,3,4,5]", field="body", max_bytes=10)
    with pytest.raises(InvalidInputError, match="expected JSON text"):
        loads_bounded({"a": 1}, field="body")  # type: ignore[arg-type]  # not text on purpose: the refusal is tested


def test_loads_bounded_reads_valid_json_as_json_loads_does() -> None:
    texts = [
        '{"a": "[[[[{{{{\\"]]]", "b": [1, -2.5e3, true, null, "\\ud800"], "c": {}}',  # brackets in strings: depth 2
        "[" * 64 + "]" * 64,
        '"' + "1" * 5000 + '"',  # digits in a string are not a number
        "9" * 100,
        DETAILS_JSON[0],
    ]
    for text in texts:
        assert loads_bounded(text, field="body") == json.loads(text)
        assert loads_bounded(text.encode(), field="body") == json.loads(text)
    assert loads_bounded('{"a": 1}'.encode("utf-16"), field="body") == {"a": 1}
    assert loads_bounded("[[[]]]", field="body", max_depth=3) == [[[]]]


def test_session_details_from_invalid_utf8_bytes() -> None:
    text = DETAILS_JSON[1].encode()
    with pytest.raises(InvalidInputError) as info:
        session_details_from_json(text[:20] + b"\xc3\x28" + text[20:])
    assert info.value.field == "session_details" and "is not text in UTF-8" in info.value.problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc", "a tagged bigint's value must be a decimal string of at most 78 digits"),
        (["8453"], "a tagged bigint's value must be a decimal string of at most 78 digits"),
        ("9" * 5000, "a tagged bigint's value must be a decimal string of at most 78 digits"),
    ],
)
def test_session_details_with_bad_tagged_bigints(value: object, problem: str) -> None:
    details = json.loads(DETAILS_JSON[0])
    details[1]["enableSessionData"]["enableSession"]["hashesAndChainIds"][0]["chainId"]["value"] = value
    with pytest.raises(InvalidInputError) as info:
        session_details_from_json(json.dumps(details))
    assert info.value.field == "session_details[1].enableSessionData.enableSession.hashesAndChainIds[0].chainId.value"
    assert info.value.problem == problem


def test_session_details_read_tagged_bigints_as_before() -> None:
    details = json.loads(DETAILS_JSON[0])
    for written in ("8453", " 8453", 8453):
        details[0]["enableSessionData"]["enableSession"]["sessionToEnable"]["chainId"]["value"] = written
        assert session_details_from_json(details)[0] == DETAILS


def test_a_node_message_with_a_huge_number_is_explained() -> None:
    huge = "9" * 5000
    message = (
        f"paymentInfo (chain {huge}): {ACCOUNT} holds {huge} base units of the fee token {USDC} on chain 8453, but "
        "5000 are needed"
    )
    err = explain_refusal(message, OPS)
    assert isinstance(err, InsufficientBalanceError)
    assert (err.holder, err.token, err.chain_id, err.balance, err.needed) == (ACCOUNT, USDC, 8453, None, 5000)
    assert where_of(message) == ("paymentInfo", None)
    assert where_of("userOps[2] (chain 18446744073709551616): x") == ("userOps[2]", None)  # 2**64: no uint64
    assert where_of("userOps[2] (chain 18446744073709551615): x") == ("userOps[2]", 2**64 - 1)
    with pytest.raises(InvalidInputError, match="expected the node's message as a string, got dict"):
        explain_refusal({"error": "x"})  # type: ignore[arg-type]  # a dict on purpose: the refusal is tested


def test_invalid_input_error_shows_a_huge_int() -> None:
    err = InvalidInputError("amount", "is too large", fix="pass less", value=10**5000)
    assert str(err).splitlines()[1:4] == ["", "Fix: pass less", "Got: <int of 16610 bits>"]
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert "Got: [[[[[[[...]]]]]]]" in str(InvalidInputError("x", "is odd", value=deep))
    assert "Got: 'abc'" in str(InvalidInputError("x", "is odd", value="abc"))  # ordinary values: their repr


def test_summarize_receipt_with_entries_that_are_not_objects() -> None:
    for entries, field in (
        ([{"executionStatus": "MINED_SUCCESS"}, 5], "userOps[1]"),
        ([None, {"executionStatus": "MINED_SUCCESS"}], "userOps[0]"),
        ([{}, {"executionStatus": 10**5000}], "userOps[1].executionStatus"),
        ("MINED_SUCCESS", "userOps"),
    ):
        with pytest.raises(InvalidInputError) as info:
            summarize_receipt(entries)  # type: ignore[arg-type]  # entries that are not objects: the refusal is tested
        assert info.value.field == field


def test_malformed_entry_point_receipts_and_reverts() -> None:
    log = RECEIPT["logs"][1]
    for receipt, error, field in (
        ({"logs": [{"data": "0x"}]}, InvalidInputError, "receipt.logs[0].topics"),
        ({"logs": [{**log, "topics": log["topics"][:2]}]}, InvalidInputError, "receipt.logs[0].topics"),
        ({"logs": [{**log, "topics": [log["topics"][0], "0x12"]}]}, InvalidInputError, "receipt.logs[0].topics[1]"),
        ({"logs": [{**log, "data": "0x1234"}]}, EncodingError, None),
        ({"logs": "none"}, InvalidInputError, "receipt.logs"),
        ([], InvalidInputError, "receipt"),
    ):
        with pytest.raises(error) as info:
            parse_user_op_results(receipt)  # type: ignore[arg-type]  # one is a list on purpose: its refusal is tested
        assert field is None or getattr(info.value, "field", None) == field
    with pytest.raises(EncodingError, match="Cannot decode FailedOp revert data"):
        decode_handle_ops_revert(FAILED_OP[:40])
    assert decode_revert(ERROR_STRING[:30]) == "Error(0x" + ERROR_STRING[4:30].hex() + ")"
    assert decode_revert(_hex(ERROR_STRING)) == "Error(message=nope)"
