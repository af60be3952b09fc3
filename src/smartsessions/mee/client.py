"""The MEE client (spec §9): quotes, signatures, execution and receipts, against Biconomy's node or the local one.

``client = await create_mee_client(account=..., url=..., api_key=...)`` reads ``GET /info`` and checks that the node
serves every chain of the account. Then, as the reference SDK (``@biconomy/abstractjs`` 1.2.3) does it:

* :meth:`MeeClient.get_quote` builds the ``POST /quote`` body of spec §9.3 (one userOp per chain after batching, each
  with its window, call data, ``callGasLimit``, a nonce on a fresh lane of the validator's nonce key, and the
  ``initCode`` of an undeployed account; the payment info; the MEE versions); :meth:`~MeeClient.sign_quote` signs the
  super-transaction hash; :meth:`~MeeClient.execute_signed_quote` posts it to ``/exec``; :meth:`~MeeClient.execute`
  does the three; every quote's ``commitment`` must be its node's signature over its hash, or the quote is refused
  on arrival (:class:`~smartsessions.errors.QuoteCommitmentError`);
* the fusion path (:meth:`~MeeClient.get_fusion_quote`, :meth:`~MeeClient.sign_fusion_quote`,
  :meth:`~MeeClient.execute_fusion_quote`) funds the account from the signer's EOA with an ERC-2612 permit of the
  trigger token, signed over the quote (``deadline = uint256(quote.hash)``);
* :meth:`~MeeClient.get_supertransaction_receipt` and :meth:`~MeeClient.wait_for_supertransaction_receipt` read
  ``GET /explorer/{hash}`` (spec §9.9); a failed super-transaction raises an error naming the failing userOp.

Chain reads are batched: one JSON-RPC round trip per chain per quote (every nonce, the deployment check, and the latest
block, whose timestamp starts the chain's default execution windows: the chain's clock, not this machine's), all
chains at once. Every HTTP answer that is not 2xx raises :class:`~smartsessions.errors.MeeApiError` with the status
and body, or the more specific error the node's message explains (a policy, the session's state, the balance).

There is no default API key: pass yours (``api_key=``) for Biconomy's node; the local node's is in ``devnet.json``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
from eth_abi.abi import decode as abi_decode

from .._coerce import keccak, to_address, to_bytes32
from .._httpio import aread_at_most
from .._json import DEFAULT_MAX_BYTES, json_value_problem, loads_bounded
from .._model import Address, Model, Uint64
from .._repr import bounded_repr
from ..account.calls import Call, decode_execute
from ..account.instructions import (
    AnyInstruction,
    ComposableInstruction,
    Instruction,
    batch_instructions,
    to_composable_call,
    to_instruction,
)
from ..account.multichain import MultichainNexusAccount, NexusDeployment
from ..encoding.abi import abi_encode, encode_function_call
from ..encoding.quote import (
    encode_onchain_quote_signature,
    encode_permit_quote_signature,
    get_permit_digest,
    recover_commitment_signer,
    sign_quote,
)
from ..encoding.session import SmartSessionMode
from ..encoding.userop import get_nonce_key
from ..errors import (
    ChainNotSupportedError,
    ConfigurationError,
    EncodingError,
    FailedUserOp,
    FeeTokenNotSupportedError,
    InsufficientBalanceError,
    InvalidInputError,
    MeeApiError,
    QuoteCommitmentError,
    RpcError,
    SmartSessionsError,
    SupertransactionFailedError,
    SupertransactionTimeoutError,
)
from ..rpc import RpcClient, quantity, return_data
from ..signer import sign_typed_digest
from ..versions import (
    SMART_SESSIONS_ADDRESS,
    SPONSORSHIP_GAS_TANK_ADDRESS,
    USDC_BASE_ADDRESS,
    MeeVersionConfig,
    version_number,
)
from ..wire.mee import (
    ExplorerResponse,
    ExplorerUserOp,
    FeeTokenInfo,
    GetInfoPayload,
    GetQuotePayload,
    MeeVersionEntry,
    PaymentInfo,
    QuoteRequest,
    QuoteRequestUserOp,
    SignedQuote,
    Simulation,
    SupportedGasTokens,
    Trigger,
    from_wire,
    to_wire,
)
from ..wire.session import SessionDetails
from ._refusals import OpContext, explain_refusal
from ._transactions import send_transaction, wait_for_transaction
from .receipt import summarize_receipt

__all__ = [
    "DEFAULT_GAS_LIMIT",
    "DEFAULT_POLLING_INTERVAL",
    "DEFAULT_VERIFICATION_GAS_LIMIT",
    "MEE_NETWORK_URL",
    "MEE_STAGING_NETWORK_URL",
    "USEROP_MIN_EXEC_WINDOW_DURATION",
    "ExecuteResult",
    "FusionQuote",
    "GasTank",
    "MeeClient",
    "MeeQuote",
    "SignedMeeQuote",
    "SponsorshipOptions",
    "SupertransactionReceipt",
    "create_mee_client",
    "parse_error_message",
]

MEE_NETWORK_URL = "https://network.biconomy.io/v1"
MEE_STAGING_NETWORK_URL = "https://staging-network.biconomy.io/v1"
MEESCAN_URL = "https://meescan.biconomy.io/details/"
DEFAULT_POLLING_INTERVAL = 0.25  # seconds, as the SDK's 250 ms
USEROP_MIN_EXEC_WINDOW_DURATION = 180
DEFAULT_GAS_LIMIT = 75_000  # payment userOp callGasLimit, and a trigger's transferFrom
DEFAULT_VERIFICATION_GAS_LIMIT = 150_000
SESSION_ENABLE_VERIFICATION_GAS_LIMIT = 1_000_000
SESSION_USE_VERIFICATION_GAS_LIMIT = 250_000
_ZERO = "0x0000000000000000000000000000000000000000"
_V2_2_1 = (2, 2, 1)

SmartSessionModeName = Literal["USE", "ENABLE_AND_USE"]
_T = TypeVar("_T")


# -- inputs -----------------------------------------------------------------------------------------------------------


class GasTank(Model):
    """The sponsor's account: who pays a sponsored super-transaction, in which token, on which chain."""

    address: Address
    token: Address
    chain_id: Uint64


class SponsorshipOptions(Model):
    """A sponsorship backend. Biconomy's (the node's own URL) is trusted; any other is asked for the sponsor's nonce
    before the quote and signs the quote after it (``/sponsorship/nonce``, ``/sponsorship/sign``)."""

    url: str
    gas_tank: GasTank
    custom_headers: dict[str, str] | None = None


DEFAULT_GAS_TANK = GasTank(address=SPONSORSHIP_GAS_TANK_ADDRESS, token=USDC_BASE_ADDRESS, chain_id=8453)


def _fee_token(value: FeeTokenInfo | Mapping[str, Any] | None) -> FeeTokenInfo | None:
    if value is None or isinstance(value, FeeTokenInfo):
        return value
    return FeeTokenInfo.model_validate(dict(value))


def _trigger(value: Trigger | Mapping[str, Any]) -> Trigger:
    return value if isinstance(value, Trigger) else Trigger.model_validate(dict(value))


# -- results ----------------------------------------------------------------------------------------------------------


def _check_commitment(quote: GetQuotePayload) -> None:
    """The quote's ``commitment`` must be the node's own signature over ``quote.hash``: what the node commits to,
    and what it checks again at ``/exec``. A quote changed on its way is refused here, before anything is signed."""
    signer = recover_commitment_signer(quote_hash=quote.hash, commitment=quote.commitment)
    if signer == quote.node:
        return
    quote_hash = "0x" + bytes(quote.hash).hex()
    got = f"recovers to {signer}" if signer is not None else f"is no signature ({len(quote.commitment)} bytes)"
    raise QuoteCommitmentError(
        f"The quote's commitment is not the signature of its node {quote.node} over its hash {quote_hash}: it {got}.",
        quote_hash=quote_hash,
        node=quote.node,
        signer=signer,
        meta_messages=[
            "Field: quote.commitment (the node's EIP-191 signature over the 32 bytes of quote.hash)",
            "Fix: ask for a new quote; if it persists, check the node URL and whatever sits between it and you.",
        ],
    )


@dataclass(frozen=True)
class MeeQuote:
    """A quote as the node issued it: ``json`` exactly as received (it is echoed back to ``/exec``), ``payload`` its
    typed view, ``request`` the body that asked for it."""

    json: dict[str, Any]
    payload: GetQuotePayload
    request: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def hash(self) -> str:
        """The super-transaction hash (the Merkle root the signer signs)."""
        return "0x" + bytes(self.payload.hash).hex()

    @property
    def quote_type(self) -> str:
        return self.payload.quote_type or str(self.request.get("quoteType", "simple"))

    @property
    def sponsored(self) -> bool:
        return self.payload.payment_info.sponsored

    @property
    def fee(self) -> int:
        """The fee in the fee token's base units (``paymentInfo.tokenWeiAmount``)."""
        return self.payload.payment_info.token_wei_amount

    @property
    def fee_amount(self) -> str:
        """The fee in whole tokens, as the node wrote it (``paymentInfo.tokenAmount``)."""
        return self.payload.payment_info.token_amount


@dataclass(frozen=True)
class FusionQuote:
    """A quote funded from the signer's EOA, and its trigger; ``trigger.amount`` already includes the fee (unless
    sponsored). ``quote.quote_type`` says how the EOA authorises the pull: ``"permit"`` (an ERC-2612 signature;
    ``permit`` holds what signing it needs) or ``"onchain"`` (an ``approve`` transaction sent by the EOA)."""

    quote: MeeQuote
    trigger: Trigger
    permit: _PermitToken | None = field(repr=False, default=None)


@dataclass(frozen=True)
class SignedMeeQuote:
    """The ``/exec`` body: the quote as issued, with the signature and the MEE versions."""

    json: dict[str, Any]

    @property
    def hash(self) -> str:
        return str(self.json["hash"])

    @property
    def signature(self) -> str:
        return str(self.json["signature"])


@dataclass(frozen=True)
class ExecuteResult:
    """What ``/exec`` answered: the super-transaction hash."""

    hash: str


@dataclass(frozen=True)
class SupertransactionReceipt:
    """A super-transaction as the node's explorer shows it (spec §9.9). ``user_ops`` leave out the payment userOp
    (index 0 of the quote), as the reference does; ``receipts`` are the transactions' receipts once it succeeded."""

    hash: str
    status: str
    is_finalised: bool
    json: dict[str, Any] = field(repr=False)
    payload: ExplorerResponse = field(repr=False)
    receipts: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def user_ops(self) -> tuple[ExplorerUserOp, ...]:
        return self.payload.user_ops[1:]

    @property
    def payment_user_op(self) -> ExplorerUserOp:
        return self.payload.user_ops[0]

    @property
    def transaction_hashes(self) -> list[str]:
        return list(dict.fromkeys("0x" + bytes(op.execution_data).hex() for op in self.user_ops if op.execution_data))

    @property
    def explorer_links(self) -> list[str]:
        return [MEESCAN_URL + self.hash]

    @property
    def gas_used(self) -> int | None:
        """The gas of the bundle transactions that carried the userOps, once receipts were read."""
        if self.receipts is None:
            return None
        return sum(quantity(r.get("gasUsed", "0x0"), what="a receipt's gasUsed") for r in self.receipts if r)


# -- the node's errors ------------------------------------------------------------------------------------------------

_AA_ARGS = re.compile(r'errorArgs=\[.*?,\s*"(AA[0-9]+[^"]+)"')
_AA_HEX = re.compile(r'errorArgs=\[.*?,\s*"AA[0-9]+[^"]+",\s*"(0x[^"]+)"\]')
_ANY_ARGS = re.compile(r'errorArgs=\[.*?,\s*"([^"]+)"\]')
_GAS_CODE = re.compile(r"code=([A-Z_]+),\s*version=")
_REASON = re.compile(r'"reason":"([^"]+)"')
_PREFIX = re.compile(r"^(Error|Details|Message):\s*", re.I)


def _failed_op(message: str) -> str | None:
    if match := _AA_ARGS.search(message):
        return match.group(1)
    if (match := _AA_HEX.search(message)) and match.group(1) != "0x":
        try:
            raw = bytes.fromhex(re.sub(r"(00)+$", "", match.group(1)[130:]))
            return re.sub(r"[\x00-\x1f]", "", raw.decode(errors="replace"))
        except ValueError:
            pass
    match = _ANY_ARGS.search(message)
    return match.group(1) if match else None


def _extract(message: str) -> str:
    found = _failed_op(message)
    if found is None and (m := _GAS_CODE.search(message)):
        found = m.group(1)
    if found is None and (m := _REASON.search(message)):
        found = m.group(1)
    return found or message


def _clean(message: str) -> str:
    out = _PREFIX.sub("", message)
    return ("" if out.lower() == "error" else out).strip()


#: How deeply parse_error_message reads a node's error; deeper parts are shown as "...". A node's errors nest a few
#: levels (an errors array of objects with a path array); JSON the client parsed nests at most 64.
_ERROR_DEPTH = 16


def _js_string(value: Any, depth: int = 0) -> str:
    """``String(value)`` as JavaScript writes it, for the JSON values a node answers; never raises on them."""
    if isinstance(value, str):
        return value
    if depth > _ERROR_DEPTH:
        return "..."
    if isinstance(value, list):
        return ",".join(_js_string(v, depth + 1) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        if not _nests_deeper(value, _ERROR_DEPTH - depth):
            try:
                return json.dumps(value)
            except (TypeError, ValueError):  # not JSON: bytes inside, or an int of more than 4,300 digits
                pass
        return bounded_repr(value, 2000)
    try:
        return str(value)
    except ValueError:  # an int of more than 4,300 digits
        return bounded_repr(value, 2000)


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest more than ``limit`` levels in ``value`` (without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth >= limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def parse_error_message(error: Any) -> str:
    """The message the reference SDK makes of a node's error (``parseErrorMessage``): validation arrays become
    ``"path: message"`` lines, bundler ``errorArgs`` give their AA reason, anything else its text. Any JSON value is
    read (never raises)."""
    if not isinstance(error, dict):
        return _extract(_clean(_js_string(error)))
    if error.get("type") == "AcrossApiError":
        message = error.get("message")
        return f"AcrossApiError: {'None' if message is None else _js_string(message)}"
    errors = error.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict) and (first.get("msg") or first.get("message")):
            lines = []
            for e in errors:
                text = _js_string(e.get("message") or e.get("msg")) if isinstance(e, dict) else _js_string(e)
                path = e.get("path") if isinstance(e, dict) else None
                lines.append(f"{_js_string(path)}: {text}" if path not in (None, "") else text)
            return _clean("\n".join(lines))
        return _clean(_extract(_js_string(first)))
    message = _js_string(error.get("message") or error.get("statusText") or error)
    return _extract(_clean(message))


# -- nonce lanes ------------------------------------------------------------------------------------------------------


class _NonceLanes:
    """Distinct nonce-key lanes per (account, chain), from the clock in milliseconds as the SDK draws them; two
    userOps asked for in the same millisecond get consecutive lanes instead of waiting."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], int] = {}

    def next(self, account: str, chain_id: int) -> int:
        key = (account.lower(), chain_id)
        now = int(time.time() * 1000)
        last = self._last.get(key, -1)
        ms = now if now > last else last + 1
        self._last[key] = ms
        return ms


_LANES = _NonceLanes()


# -- the permit trigger -----------------------------------------------------------------------------------------------

_EIP712_DOMAIN = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
_EIP712_DOMAIN_SALT = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)"
_EIP712_DOMAIN_LEGACY = "EIP712Domain(string name,string version,address verifyingContract,bytes32 salt)"


@dataclass(frozen=True)
class _PermitToken:
    """What signing an ERC-2612 permit of the trigger token needs, read from the token before quoting."""

    token: str
    chain_id: int
    owner: str
    spender: str
    nonce: int
    domain_separator: bytes


def _domain_matches(name: str, version: str, chain_id: int, contract: str, salt: bytes, separator: bytes) -> bool:
    """One of the three domain forms the SDK accepts hashes to the token's ``DOMAIN_SEPARATOR()``."""
    n, v = keccak(name.encode()), keccak(version.encode())
    forms = [
        abi_encode(["bytes32", "bytes32", "bytes32", "address", "bytes32"],
                   [keccak(_EIP712_DOMAIN_LEGACY.encode()), n, v, contract, salt], what="domain"),
        abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                   [keccak(_EIP712_DOMAIN.encode()), n, v, chain_id, contract], what="domain"),
        abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address", "bytes32"],
                   [keccak(_EIP712_DOMAIN_SALT.encode()), n, v, chain_id, contract, salt], what="domain"),
    ]  # fmt: skip
    return any(keccak(f) == separator for f in forms)


async def _read_permit_token(deployment: NexusDeployment, token: str, owner: str, chain_id: int) -> _PermitToken:
    """``nonces(owner)``, ``name()``, ``version()``, ``DOMAIN_SEPARATOR()`` and ``eip712Domain()`` in one batch."""
    reads = {
        "nonces(owner)": encode_function_call("nonces(address)", [owner]),
        "name()": bytes.fromhex("06fdde03"),
        "version()": bytes.fromhex("54fd4d50"),
        "DOMAIN_SEPARATOR()": bytes.fromhex("3644e515"),
        "eip712Domain()": bytes.fromhex("84b0196e"),
    }
    results = await deployment.rpc.batch(
        [("eth_call", [{"to": token, "data": "0x" + s.hex()}, "latest"]) for s in reads.values()], return_errors=True
    )
    # A reverted call is a function the token does not have; an answer that is not hex data is the endpoint's fault.
    raw = [
        None if isinstance(r, RpcError) else return_data(r, what=f"{name} of the token {token}") or None
        for name, r in zip(reads, results, strict=True)
    ]
    nonce_raw, name_raw, version_raw, separator_raw, domain_raw = raw
    problem = None
    if nonce_raw is None:
        problem = "it has no nonces(owner), which EIP-2612 requires"
    elif len(nonce_raw) < 32:
        problem = f"its nonces(owner) answered {len(nonce_raw)} bytes, not a uint256"
    elif separator_raw is None:
        problem = "it has no DOMAIN_SEPARATOR()"
    name = version = None
    salt, domain_chain, contract = chain_id.to_bytes(32, "big"), chain_id, token
    if problem is None:
        try:
            if name_raw is not None:
                name = str(abi_decode(["string"], name_raw)[0])
            if version_raw is not None:
                version = str(abi_decode(["string"], version_raw)[0])
            if domain_raw is not None:
                _f, name_, version_, chain_, contract_, salt_, _ext = abi_decode(
                    ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"], domain_raw
                )
                name, version = str(name_), str(version_)
                domain_chain, contract, salt = int(chain_), to_address(contract_, field="verifyingContract"), salt_
        except Exception as exc:  # malformed token answers: explained below
            problem = f"its metadata does not decode ({type(exc).__name__})"
    if problem is None and name is None:
        problem = "it has neither name() nor eip712Domain()"
    separator = b"" if separator_raw is None else separator_raw[:32]
    if problem is None and not _domain_matches(
        str(name), version or "1", domain_chain, contract, bytes(salt), separator
    ):
        problem = "its DOMAIN_SEPARATOR() matches none of the EIP-712 domain forms a permit can be signed for"
    if problem is not None:
        raise ConfigurationError(
            "trigger.token_address",
            f"{token} on chain {chain_id} cannot be used as a permit trigger: {problem}",
            fix="use get_fusion_quote(..., quote_type='onchain') (the EOA sends an approve transaction), or a token "
            "with ERC-2612 permit",
        )
    assert nonce_raw is not None
    return _PermitToken(
        token=token,
        chain_id=chain_id,
        owner=owner,
        spender=deployment.address,
        nonce=int.from_bytes(nonce_raw[:32], "big"),
        domain_separator=separator,
    )


# -- the client -------------------------------------------------------------------------------------------------------


class MeeClient:
    """A connection to one MEE node for one multichain account. Create it with :func:`create_mee_client`."""

    def __init__(
        self,
        *,
        account: MultichainNexusAccount,
        url: str = MEE_NETWORK_URL,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        timeout: float = 60.0,
    ) -> None:
        self.account = account
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.polling_interval = polling_interval
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout, transport=transport)
        self._info: GetInfoPayload | None = None
        self.info_json: dict[str, Any] = {}

    async def __aenter__(self) -> MeeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection to the node (the account's RPC connections are the account's)."""
        await self._http.aclose()

    def extend(self, actions: Callable[[MeeClient], _T]) -> _T:
        """Bind a set of actions to this client: ``session_client = mee_client.extend(mee_session_actions)``."""
        return actions(self)

    @property
    def info(self) -> GetInfoPayload:
        if self._info is None:
            raise ConfigurationError("info", "is not loaded yet", fix="create the client with create_mee_client")
        return self._info

    # -- HTTP --------------------------------------------------------------------------------------------------------

    async def request(
        self,
        path: str,
        *,
        method: str = "POST",
        body: Any = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One call to the node (``base_url/path``); a non-2xx answer raises :class:`MeeApiError`."""
        url = f"{(base_url or self.url).rstrip('/')}/{path}"
        found = None if body is None else json_value_problem(body, max_depth=1000, max_number_digits=4000)
        if found is not None:  # json.dumps would raise, or recurse deep enough to overflow the C stack
            where, problem = found
            raise InvalidInputError(f"body{where}", problem, fix="pass JSON values, as the MEE API describes them")
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        try:
            for attempt in range(BUSY_RETRIES + 1):
                request = self._http.build_request(method, url, content=content, headers=dict(headers or {}))
                response = await self._http.send(request, stream=True)
                raw = await aread_at_most(response, MAX_ANSWER_BYTES)  # never more than that in memory
                wait = _retry_after(response)
                if wait is None or attempt == BUSY_RETRIES:
                    break
                await asyncio.sleep(wait)  # a busy node (429/503 with Retry-After): it asked us to come back
        except httpx.HTTPError as exc:
            raise MeeApiError(
                f"Cannot reach the MEE node at {url}.",
                status=0,
                body=None,
                meta_messages=["Check the URL, and that the node (or `smartsessions devnet up`) is running."],
                details=f"{type(exc).__name__}: {exc}",
                cause=exc,
            ) from exc
        if raw is None:
            raise MeeApiError(
                f"The MEE node answered {method} {path} with more than {MAX_ANSWER_BYTES} bytes.",
                status=response.status_code,
                body=None,
                meta_messages=["Check that the URL is an MEE node's API."],
                details=f"{method} {url} answered {response.status_code}",
            )
        text = raw.decode("utf-8", "replace")
        try:
            answer: Any = loads_bounded(raw, field="body", max_bytes=MAX_ANSWER_BYTES, refuse_lone_surrogates=True)
        except InvalidInputError as exc:  # not JSON, too deeply nested, or not Unicode text
            if response.is_success:
                raise MeeApiError(
                    f"The MEE node answered {method} {path} with something that is not JSON the SDK reads.",
                    status=response.status_code,
                    body=text,
                    details=f"`{exc.field}` {exc.problem}; the answer starts with {text[:500]!r}",
                    cause=exc,
                ) from exc
            answer = text or response.reason_phrase
        if not response.is_success:
            error = answer.get("error") if isinstance(answer, dict) and answer.get("error") is not None else answer
            message = parse_error_message(error if error not in (None, "", {}) else response.reason_phrase)
            raise MeeApiError(
                message or f"The MEE node answered {response.status_code}.",
                status=response.status_code,
                body=answer,
                details=f"{method} {url} answered {response.status_code}",
            )
        return answer

    async def get_info(self) -> GetInfoPayload:
        """``GET /info``: the node's chains and fee tokens (also kept as :attr:`info`)."""
        raw = await self.request("info", method="GET")
        self._info = from_wire(GetInfoPayload, raw)
        self.info_json = raw
        return self._info

    # -- fee tokens --------------------------------------------------------------------------------------------------

    def get_gas_token(self, chain_id: int) -> SupportedGasTokens:
        """The node's fee tokens on ``chain_id`` (a lookup in :attr:`info`)."""
        for entry in self.info.supported_gas_tokens:
            if entry.chain_id == chain_id:
                return entry
        raise FeeTokenNotSupportedError(
            "fee_token.chain_id",
            f"the MEE node takes no fees on chain {chain_id}",
            fix=f"pay on one of {[e.chain_id for e in self.info.supported_gas_tokens]}, or use sponsorship",
        )

    def check_fee_token(self, fee_token: FeeTokenInfo) -> None:
        """The node must take fees in this token on this chain (per ``/info``)."""
        entry = self.get_gas_token(fee_token.chain_id)
        if entry.is_arbitrary_fee_tokens_supported:
            return
        if not any(t.address == fee_token.address for t in entry.payment_tokens):
            known = ", ".join(f"{t.symbol} {t.address}" for t in entry.payment_tokens) or "none"
            raise FeeTokenNotSupportedError(
                "fee_token.address",
                f"the MEE node takes no fees in {fee_token.address} on chain {fee_token.chain_id} (it takes: {known})",
                fix="pick one of the node's fee tokens, or use sponsorship",
            )

    # -- quotes ------------------------------------------------------------------------------------------------------

    async def get_quote(
        self,
        *,
        instructions: Sequence[AnyInstruction | dict[str, Any]],
        fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
        sponsorship: bool = False,
        sponsorship_options: SponsorshipOptions | None = None,
        batch: bool = True,
        lower_bound_timestamp: int | None = None,
        upper_bound_timestamp: int | None = None,
        gas_limit: int | None = None,
        verification_gas_limit: int | None = None,
        module_address: str | None = None,
        short_encoding_super_txn: bool | None = None,
        session_details: Sequence[SessionDetails] | None = None,
        smart_session_mode: SmartSessionModeName | None = None,
        simulation: Simulation | Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> MeeQuote:
        """A quote for ``instructions``, paid in ``fee_token`` (or sponsored): the reference SDK's ``getQuote``.

        Each userOp's execution window is ``[lower_bound_timestamp, upper_bound_timestamp]`` (an instruction's own
        bounds take precedence); by default it opens at its chain's latest block's timestamp (the reference SDK takes
        this machine's clock) and lasts 180 s.

        ``simulation``: unlike the reference SDK, this one asks the node to simulate by default
        (``{"simulate": True}``), so that a userOp that cannot pass now is refused at the quote, with its reason,
        before anything is signed. Pass ``simulation={"simulate": False}`` for a step that can only succeed later
        (funds still bridging): the node then takes the instructions' gas limits, and executes the userOp once it
        passes, within its window."""
        return await self._quote(
            instructions=[to_instruction(i) for i in instructions],
            fee_token=_fee_token(fee_token),
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            batch=batch,
            lower_bound_timestamp=lower_bound_timestamp,
            upper_bound_timestamp=upper_bound_timestamp,
            gas_limit=gas_limit,
            verification_gas_limit=verification_gas_limit,
            module_address=module_address,
            short_encoding_super_txn=short_encoding_super_txn,
            session_details=session_details,
            smart_session_mode=smart_session_mode,
            simulation=simulation,
            tags=tags,
        )

    def _with_default_metadata(self, instructions: Sequence[AnyInstruction]) -> list[AnyInstruction]:
        out: list[AnyInstruction] = []
        for i in instructions:
            if not i.metadata:
                meta = ({"type": "CUSTOM", "description": "Custom on-chain action", "chainId": i.chain_id},)
                i = i.model_copy(update={"metadata": meta})
            out.append(i)
        return out

    async def _quote(
        self,
        *,
        instructions: Sequence[AnyInstruction],
        fee_token: FeeTokenInfo | None,
        sponsorship: bool,
        sponsorship_options: SponsorshipOptions | None = None,
        batch: bool = True,
        lower_bound_timestamp: int | None = None,
        upper_bound_timestamp: int | None = None,
        gas_limit: int | None = None,
        verification_gas_limit: int | None = None,
        module_address: str | None = None,
        short_encoding_super_txn: bool | None = None,
        session_details: Sequence[SessionDetails] | None = None,
        smart_session_mode: SmartSessionModeName | None = None,
        simulation: Simulation | Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        path: str = "quote",
        quote_type: str = "simple",
        trigger: Trigger | None = None,
        eoa: str | None = None,
    ) -> MeeQuote:
        account = self.account
        if not instructions:
            raise InvalidInputError("instructions", "a quote needs at least one instruction")
        if not sponsorship and fee_token is None:
            raise InvalidInputError(
                "fee_token", "is required unless the quote is sponsored", fix="pass fee_token=, or sponsorship=True"
            )
        module = None if module_address is None else to_address(module_address, field="module_address")
        mode = SmartSessionMode.UNSAFE_ENABLE if smart_session_mode == "ENABLE_AND_USE" else SmartSessionMode.USE

        resolved = self._with_default_metadata(instructions)
        final = batch_instructions(resolved) if batch else list(resolved)

        # The chains: every instruction's must be the account's and the node's; the fee token must be the node's.
        supported = {c.chain_id for c in self.info.supported_chains}
        missing = [c for c in dict.fromkeys(i.chain_id for i in final) if c not in supported]
        for i in final:
            account.deployment_on(i.chain_id)
        if missing:
            raise ChainNotSupportedError(
                "instructions.chain_id",
                f"the MEE node does not support chain(s) {', '.join(map(str, missing))}",
                chain_ids=missing,
                fix=f"use the node's chains: {sorted(supported)}",
            )
        version_chains = list(dict.fromkeys(i.chain_id for i in resolved))
        if not sponsorship:
            assert fee_token is not None
            account.deployment_on(fee_token.chain_id)
            self.check_fee_token(fee_token)
            if fee_token.chain_id not in version_chains:
                version_chains.append(fee_token.chain_id)
        mee_versions = [
            MeeVersionEntry(version=account.deployment_on(c).version.to_wire(), chain_id=c) for c in version_chains
        ]
        if quote_type == "simple":
            _check_consistent_versions([account.deployment_on(c).version for c in version_chains])

        details_by_chain: dict[int, SessionDetails] = {}
        for d in session_details or ():
            if d.chain_id is not None and d.chain_id not in details_by_chain:
                details_by_chain[d.chain_id] = d

        def details_for(chain_id: int) -> SessionDetails:
            if chain_id not in details_by_chain:
                raise InvalidInputError(
                    "session_details",
                    f"No session details found for chainId {chain_id}",
                    fix="grant the permission on every chain the instructions run on",
                )
            return details_by_chain[chain_id]

        # Nonce keys: one fresh lane per userOp (and for the payment userOp), read per chain in one batch.
        pay_chain = None if sponsorship or fee_token is None else fee_token.chain_id
        keys: dict[int, list[int]] = {}

        def lane(chain_id: int) -> int:
            deployment = account.deployment_on(chain_id)
            validator = module or deployment.version.default_validator_address
            key = get_nonce_key(validator=validator, now_ms=_LANES.next(deployment.address, chain_id))
            keys.setdefault(chain_id, []).append(key)
            return len(keys[chain_id]) - 1

        payment_slot = None if pay_chain is None else lane(pay_chain)
        op_slots = [lane(i.chain_id) for i in final]
        sponsor_nonce: Any = None
        reads: list[Any] = [account.deployment_on(c).quote_reads(k) for c, k in keys.items()]
        gas_tank = sponsorship_options.gas_tank if sponsorship_options is not None else DEFAULT_GAS_TANK
        self_hosted = sponsorship and sponsorship_options is not None and _is_self_hosted(sponsorship_options.url)
        if self_hosted:
            assert sponsorship_options is not None
            reads.append(
                self.request(
                    f"sponsorship/nonce/{gas_tank.chain_id}/{gas_tank.address}",
                    method="GET",
                    base_url=sponsorship_options.url,
                    headers=sponsorship_options.custom_headers,
                )
            )
        results = await asyncio.gather(*reads)
        if self_hosted:
            sponsor_nonce = results.pop()["nonce"]
        nonces = {c: r.nonces for c, r in zip(keys, results, strict=True)}
        deployed = {c: r.deployed for c, r in zip(keys, results, strict=True)}

        # The default execution window of a chain's userOps starts at that chain's own time, its latest block's
        # timestamp (read in the same batch), not at this machine's clock: the EntryPoint checks the window against
        # the block's time, and a chain's clock need not be ours (a devnet whose time was moved, a skewed local clock).
        windows: dict[int, tuple[int, int]] = {}
        for c, r in zip(keys, results, strict=True):
            lower = r.timestamp if lower_bound_timestamp is None else lower_bound_timestamp
            upper = lower + USEROP_MIN_EXEC_WINDOW_DURATION if upper_bound_timestamp is None else upper_bound_timestamp
            windows[c] = (lower, upper)

        # The payment info.
        processed_init: set[int] = set()
        processed_sessions: set[int] = set()
        if sponsorship:
            url = sponsorship_options.url if sponsorship_options is not None else MEE_NETWORK_URL
            trusted = gas_tank.address.lower() == SPONSORSHIP_GAS_TANK_ADDRESS.lower() and not _is_self_hosted(url)
            payment = PaymentInfo(
                sponsored=True,
                sender=gas_tank.address,
                token=gas_tank.token,
                nonce=0 if trusted or sponsor_nonce is None else int(sponsor_nonce),
                call_gas_limit=gas_limit or DEFAULT_GAS_LIMIT,
                verification_gas_limit=DEFAULT_VERIFICATION_GAS_LIMIT,
                chain_id=gas_tank.chain_id,
                sponsorship_url=url,
                eoa=eoa,
            )
        else:
            assert fee_token is not None and pay_chain is not None and payment_slot is not None
            deployment = account.deployment_on(pay_chain)
            payment_details = None
            if session_details is not None:
                payment_details = details_for(pay_chain).model_copy(update={"mode": mode})
            payment = PaymentInfo(
                sponsored=False,
                sender=deployment.address,
                token=fee_token.address,
                nonce=nonces[pay_chain][payment_slot],
                call_gas_limit=gas_limit or DEFAULT_GAS_LIMIT,
                verification_gas_limit=_payment_verification_gas(module, verification_gas_limit)
                or DEFAULT_VERIFICATION_GAS_LIMIT,
                chain_id=pay_chain,
                gas_refund_address=fee_token.gas_refund_address,
                eoa=eoa,
                init_code=None if deployed[pay_chain] else deployment.init_code,
                short_encoding=short_encoding_super_txn,
                session_details=payment_details,
            )
            processed_init.add(pay_chain)
            processed_sessions.add(pay_chain)
        payment_chain_id = payment.chain_id

        # The userOps.
        index_on_chain: dict[int, int] = {}
        user_ops = []
        for instruction, slot in zip(final, op_slots, strict=True):
            chain_id = instruction.chain_id
            deployment = account.deployment_on(chain_id)
            init_code = None
            if not deployed[chain_id] and chain_id not in processed_init:
                processed_init.add(chain_id)
                init_code = deployment.init_code
            index = index_on_chain.get(chain_id, 0)
            index_on_chain[chain_id] = index + 1
            vgl = _verification_gas(
                module=module,
                verification_gas_limit=verification_gas_limit,
                sponsorship=sponsorship,
                index=index,
                payment_chain=chain_id == payment_chain_id,
            )
            details = None
            if session_details is not None:
                first = chain_id not in processed_sessions
                details = details_for(chain_id).model_copy(update={"mode": mode if first else SmartSessionMode.USE})
                processed_sessions.add(chain_id)
            lower_default, upper_default = windows[chain_id]
            user_ops.append(
                QuoteRequestUserOp(
                    lower_bound_timestamp=instruction.lower_bound_timestamp or lower_default,
                    upper_bound_timestamp=instruction.upper_bound_timestamp or upper_default,
                    sender=deployment.address,
                    call_data=instruction.call_data,
                    call_gas_limit=instruction.call_gas_limit,
                    nonce=nonces[chain_id][slot],
                    chain_id=chain_id,
                    is_clean_up_user_op=False,
                    init_code=init_code,
                    verification_gas_limit=vgl,
                    short_encoding=bool(short_encoding_super_txn),
                    session_details=details,
                    metadata=instruction.metadata,
                )
            )
        request = QuoteRequest(
            quote_type=quote_type,
            user_ops=tuple(user_ops),
            payment_info=payment,
            mee_versions=tuple(mee_versions),
            simulation=_simulation(simulation),
            trigger=trigger,
            tags=None if tags is None else tuple(tags),
        )
        body = to_wire(request)
        try:
            raw = await self.request(path, body=body)
        except MeeApiError as exc:
            explained = explain_refusal(exc.short_message, _request_contexts(request))
            if isinstance(explained, InsufficientBalanceError) and explained.balance is None:
                explained = await self._with_balance(explained)
            if explained is not None:
                raise explained from exc
            raise
        if self_hosted:
            assert sponsorship_options is not None
            raw = await self.request(
                f"sponsorship/sign/{gas_tank.chain_id}/{gas_tank.address}",
                body=raw,
                base_url=sponsorship_options.url,
                headers=sponsorship_options.custom_headers,
            )
        payload = from_wire(GetQuotePayload, raw)
        _check_commitment(payload)
        return MeeQuote(json=raw, payload=payload, request=body)

    async def _with_balance(self, err: InsufficientBalanceError) -> InsufficientBalanceError:
        """The refusal, with the payer's balance read from its chain (best effort: the refusal stands without)."""
        if err.holder is None or err.token is None or err.chain_id is None:
            return err
        try:
            rpc = self.account.deployment_on(err.chain_id).rpc
            raw = await rpc.call(err.token, encode_function_call("balanceOf(address)", [err.holder]))
        except SmartSessionsError:
            return err
        balance = int.from_bytes(raw[:32], "big") if raw else 0
        return InsufficientBalanceError(
            f"{err.holder} holds {balance} base units of the fee token {err.token} on chain {err.chain_id}: not "
            "enough for the fee.",
            holder=err.holder,
            token=err.token,
            chain_id=err.chain_id,
            balance=balance,
            meta_messages=err.meta_messages,
            details=err.details,
        )

    # -- signing and execution ---------------------------------------------------------------------------------------

    def _version_chains_of(self, quote: MeeQuote) -> list[int]:
        """The chains of the quote's userOps (the payment userOp's left out when sponsored), in order."""
        start = 1 if quote.sponsored else 0
        return list(dict.fromkeys(op.chain_id for op in quote.payload.user_ops[start:]))

    def _mee_versions_of(self, quote: MeeQuote) -> list[dict[str, Any]]:
        return [
            to_wire(MeeVersionEntry(version=self.account.deployment_on(c).version.to_wire(), chain_id=c))
            for c in self._version_chains_of(quote)
        ]

    def _first_version_of(self, quote: MeeQuote) -> tuple[int, int, int] | None:
        """The MEE version number of the quote's first chain, which decides how it is signed (None: no userOps)."""
        chains = self._version_chains_of(quote)
        if not chains:
            return None
        return version_number(self.account.deployment_on(chains[0]).version.version, field="MeeVersionConfig.version")

    async def sign_quote(self, quote: MeeQuote) -> SignedMeeQuote:
        """Sign the super-transaction hash with the account's signer (MEE < 2.2.1: ``0x177eee00 ‖ personal_sign``)."""
        versions = self._mee_versions_of(quote)
        first = self._first_version_of(quote)
        if first is not None and first >= _V2_2_1:
            raise ConfigurationError(
                "version",
                f"MEE {'.'.join(map(str, first))} quotes are signed as EIP-712 SuperTx data, which this SDK "
                "does not support yet",
                fix="use MEE version 2.0.0 or 2.1.0",
            )
        signature = sign_quote(self.account.signer, quote.hash)
        body = {
            **quote.json,
            "signature": "0x" + bytes(signature).hex(),
            "meeVersions": versions,
            "isEIP712TrustedSponsorshipSupported": True,
        }
        return SignedMeeQuote(json=body)

    async def execute_signed_quote(self, signed_quote: SignedMeeQuote) -> ExecuteResult:
        """``POST /exec``: the node checks the signature and the payment userOp, then submits the userOps.

        A refusal the node explains (the payment userOp's session is not enabled, its enable signature was used, a
        policy refuses the fee, the account lost the fee) is raised as the same typed error a quote refusal gives."""
        try:
            answer = await self.request("exec", body=signed_quote.json)
        except MeeApiError as exc:
            try:
                contexts = _quote_contexts(from_wire(SignedQuote, signed_quote.json))
            except InvalidInputError:
                raise exc from None
            explained = explain_refusal(exc.short_message, contexts)
            if explained is not None:
                raise explained from exc
            raise
        return ExecuteResult(hash=str(answer["hash"]))

    async def execute(self, **params: Any) -> ExecuteResult:
        """:meth:`get_quote`, :meth:`sign_quote` and :meth:`execute_signed_quote` in one call."""
        quote = await self.get_quote(**params)
        return await self.execute_signed_quote(await self.sign_quote(quote))

    # -- fusion (permit trigger) -------------------------------------------------------------------------------------

    async def get_fusion_quote(
        self,
        *,
        trigger: Trigger | Mapping[str, Any],
        instructions: Sequence[AnyInstruction | dict[str, Any]] = (),
        fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
        sponsorship: bool = False,
        sponsorship_options: SponsorshipOptions | None = None,
        batch: bool = True,
        gas_limit: int | None = None,
        lower_bound_timestamp: int | None = None,
        upper_bound_timestamp: int | None = None,
        simulation: Simulation | Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        quote_type: Literal["permit", "onchain"] | None = None,
    ) -> FusionQuote:
        """A quote funded from the signer's EOA: the account pulls ``trigger.amount`` (and the fee) of the trigger
        token with ``transferFrom`` in its first userOp on the trigger chain (spec §9.7).

        The EOA authorises the pull with an ERC-2612 permit signed over the quote when the token supports it (the
        node's ``/info`` says so, or the token's domain checks out on chain), else with an ``approve`` transaction
        it sends itself (``"onchain"``), as the reference decides; ``quote_type`` forces one."""
        trig = _trigger(trigger)
        if trig.amount is None:
            raise InvalidInputError("trigger.amount", "is required", fix="pass the amount to pull from the EOA")
        if trig.approval_amount is not None and trig.approval_amount < trig.amount:
            raise InvalidInputError(
                "trigger.approval_amount",
                f"must be at least the trigger amount ({trig.amount})",
                value=trig.approval_amount,
            )
        if trig.token_address == _ZERO:
            raise InvalidInputError(
                "trigger.token_address",
                "native-token triggers (through the ETH forwarder) are not supported by this SDK yet",
                fix="use an ERC-20 trigger, or fund the account directly",
            )
        if quote_type not in (None, "permit", "onchain"):
            raise InvalidInputError("quote_type", "must be 'permit', 'onchain' or None", value=quote_type)
        owner = self.account.signer.address
        deployment = self.account.deployment_on(trig.chain_id)
        spender = deployment.address
        recipient = trig.recipient_address or spender
        listed = None
        for entry in self.info.supported_gas_tokens:
            if entry.chain_id == trig.chain_id:
                listed = next((t for t in entry.payment_tokens if t.address == trig.token_address), None)
        permit = None
        kind = quote_type
        if kind == "permit":
            permit = await _read_permit_token(deployment, trig.token_address, owner, trig.chain_id)
        elif kind is None:
            if listed is not None and not listed.permit_enabled:
                kind = "onchain"
            else:
                try:
                    permit = await _read_permit_token(deployment, trig.token_address, owner, trig.chain_id)
                    kind = "permit"
                except ConfigurationError:
                    kind = "onchain"  # the reference falls back to an approve transaction too
        resolved = [to_instruction(i) for i in instructions]
        trigger_gas = trig.gas_limit or DEFAULT_GAS_LIMIT
        transfer_data = encode_function_call("transferFrom(address,address,uint256)", [owner, recipient, trig.amount])
        metadata = (
            {
                "type": "TRANSFER",
                "tokenAddress": trig.token_address,
                "fromAddress": owner,
                "toAddress": recipient,
                "amount": str(trig.amount),
                "chainId": trig.chain_id,
            },
        )
        transfer: AnyInstruction
        if any(isinstance(i, ComposableInstruction) for i in resolved):
            transfer = ComposableInstruction(
                chain_id=trig.chain_id,
                calls=(to_composable_call(to=trig.token_address, data=transfer_data, gas_limit=trigger_gas),),
                metadata=metadata,
            )
        else:
            transfer = Instruction(
                chain_id=trig.chain_id,
                calls=(Call(to=trig.token_address, data=transfer_data, gas_limit=trigger_gas),),
                metadata=metadata,
            )
        if batch:
            prepared = batch_instructions([transfer, *resolved])
        elif resolved:
            prepared = [*batch_instructions([transfer, resolved[0]]), *resolved[1:]]
        else:
            prepared = [transfer]
        trigger_info = Trigger(
            token_address=trig.token_address,
            chain_id=trig.chain_id,
            gas_limit=trigger_gas,
            amount=trig.amount,
            approval_amount=trig.approval_amount,
            recipient_address=trig.recipient_address,
        )
        quote = await self._quote(
            instructions=prepared,
            fee_token=_fee_token(fee_token),
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            batch=batch,
            gas_limit=gas_limit or trigger_gas,
            lower_bound_timestamp=lower_bound_timestamp,
            upper_bound_timestamp=upper_bound_timestamp,
            simulation=simulation,
            tags=tags,
            path="quote-permit",
            quote_type=kind,
            trigger=trigger_info,
            eoa=owner,
        )
        fee = 0 if sponsorship else quote.fee
        assert trigger_info.amount is not None
        with_fee = trigger_info.model_copy(update={"amount": trigger_info.amount + fee})
        return FusionQuote(quote=quote, trigger=with_fee, permit=permit)

    async def sign_fusion_quote(
        self, fusion_quote: FusionQuote, *, confirmations: int = 2, timeout: float = 120.0
    ) -> SignedMeeQuote:
        """Authorise the trigger. Permit quotes: the owner's EIP-2612 permit of ``trigger.approval_amount`` (or
        amount, fee included) to the account, with ``deadline = uint256(quote.hash)``, in the ``0x177eee02`` format
        (MEE < 3.0.0). On-chain quotes: the owner's EOA sends ``approve(account, amount)`` with the quote hash
        appended and waits for ``confirmations`` blocks (2 by default, as the reference SDK; the devnet makes a
        block every 2 s, so they come there too); the signature is ``0x177eee01 ‖ abi.encode(txHash, chainId)``."""
        quote, trigger, permit = fusion_quote.quote, fusion_quote.trigger, fusion_quote.permit
        if quote.quote_type == "onchain":
            return await self._sign_onchain_quote(fusion_quote, confirmations=confirmations, timeout=timeout)
        if permit is None:
            raise InvalidInputError("fusion_quote.permit", "is missing", fix="get the quote with get_fusion_quote")
        first = self._first_version_of(quote)
        if first is not None and first >= (3, 0, 0):
            raise ConfigurationError(
                "version", "permit signatures of MEE >= 3.0.0 are not supported yet", fix="use MEE 2.0.0 or 2.1.0"
            )
        amount = trigger.approval_amount if trigger.approval_amount is not None else trigger.amount
        assert amount is not None
        digest = get_permit_digest(
            domain_separator=permit.domain_separator,
            owner=permit.owner,
            spender=permit.spender,
            value=amount,
            nonce=permit.nonce,
            deadline=int(quote.hash, 16),
        )
        signature = sign_typed_digest(self.account.signer, digest)
        encoded = encode_permit_quote_signature(
            token=trigger.token_address,
            spender=permit.spender,
            domain_separator=permit.domain_separator,
            amount=amount,
            chain_id=trigger.chain_id,
            nonce=permit.nonce,
            signature=signature,
        )
        body = {
            **quote.json,
            "signature": "0x" + bytes(encoded).hex(),
            "meeVersions": self._mee_versions_of(quote),
            "isEIP712TrustedSponsorshipSupported": True,
        }
        return SignedMeeQuote(json=body)

    async def _sign_onchain_quote(
        self, fusion_quote: FusionQuote, *, confirmations: int, timeout: float
    ) -> SignedMeeQuote:
        quote, trigger = fusion_quote.quote, fusion_quote.trigger
        if confirmations < 1:
            raise InvalidInputError("confirmations", "must be at least 1", value=confirmations)
        signer: Any = self.account.signer
        if not hasattr(signer, "sign_transaction"):
            raise ConfigurationError(
                "signer",
                "cannot sign transactions, which an on-chain trigger needs (the EOA sends an approve transaction)",
                fix="use a signer with sign_transaction (an eth_account LocalAccount), or a token with ERC-2612 permit",
            )
        deployment = self.account.deployment_on(trigger.chain_id)
        amount = trigger.approval_amount if trigger.approval_amount is not None else trigger.amount
        assert amount is not None
        data = encode_function_call("approve(address,uint256)", [deployment.address, amount]) + bytes(
            to_bytes32(quote.hash, field="quote.hash")
        )
        tx_hash = await send_transaction(
            deployment.rpc, signer, chain_id=trigger.chain_id, to=trigger.token_address, data=data
        )
        await wait_for_transaction(
            deployment.rpc, tx_hash, confirmations=confirmations, timeout=timeout, what="the trigger's approve"
        )
        signature = encode_onchain_quote_signature(tx_hash=tx_hash, chain_id=trigger.chain_id)
        return SignedMeeQuote(
            json={
                **quote.json,
                "signature": "0x" + bytes(signature).hex(),
                "meeVersions": self._mee_versions_of(quote),
                "isEIP712TrustedSponsorshipSupported": True,
            }
        )

    async def execute_fusion_quote(
        self, fusion_quote: FusionQuote, *, confirmations: int = 2, timeout: float = 120.0
    ) -> ExecuteResult:
        """Authorise the trigger (:meth:`sign_fusion_quote`) and ``POST /exec`` with the trigger (its amount
        including the fee)."""
        signed = await self.sign_fusion_quote(fusion_quote, confirmations=confirmations, timeout=timeout)
        body = {**signed.json, "trigger": to_wire(fusion_quote.trigger)}
        return await self.execute_signed_quote(SignedMeeQuote(json=body))

    # -- receipts ----------------------------------------------------------------------------------------------------

    async def get_supertransaction_receipt(
        self,
        hash: str,
        *,
        mode: Literal["default", "fast-block"] = "default",
        wait_for_receipts: bool = True,
    ) -> SupertransactionReceipt:
        """The super-transaction's state. A failed one raises :class:`SupertransactionFailedError` (or the
        specific error its failure explains); once it succeeded, the transactions' receipts are read too."""
        key = "0x" + bytes(to_bytes32(hash, field="hash")).hex()
        raw = await self.request(f"explorer/{key}", method="GET")
        payload = from_wire(ExplorerResponse, raw)
        summary = summarize_receipt(raw.get("userOps", []), mode=mode)
        if summary.status in ("FAILED", "MINED_FAIL"):
            raise _failure(key, summary.status, raw, payload)
        receipts = None
        if summary.status == "MINED_SUCCESS" and wait_for_receipts:
            receipts = await self._transaction_receipts(payload)
        return SupertransactionReceipt(
            hash=key,
            status=summary.status,
            is_finalised=summary.is_final,
            json=raw,
            payload=payload,
            receipts=receipts,
        )

    async def wait_for_supertransaction_receipt(
        self,
        hash: str,
        *,
        timeout: float = 120.0,
        polling_interval: float | None = None,
        mode: Literal["default", "fast-block"] = "default",
    ) -> SupertransactionReceipt:
        """Poll the explorer until the super-transaction is final (every ``polling_interval`` s, default the
        client's 0.25 s; 0.075 s in ``fast-block`` mode). Raises on failure, and after ``timeout`` seconds."""
        interval = polling_interval or (0.075 if mode == "fast-block" else self.polling_interval)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            receipt = await self.get_supertransaction_receipt(hash, mode=mode)
            if receipt.is_finalised:
                return receipt
            if loop.time() + interval > deadline:
                raise SupertransactionTimeoutError(
                    f"Super-transaction {receipt.hash} is not final after {timeout:g} s (status {receipt.status}).",
                    hash=receipt.hash,
                    status=receipt.status,
                    meta_messages=[f"Look it up later: {MEESCAN_URL}{receipt.hash}, or wait longer (timeout=)."],
                )
            await asyncio.sleep(interval)

    async def _transaction_receipts(self, payload: ExplorerResponse) -> list[dict[str, Any]]:
        by_chain: dict[int, list[str]] = {}
        for op in payload.user_ops[1:]:
            if op.execution_data is not None and (not op.is_clean_up_user_op or op.execution_status == "MINED_SUCCESS"):
                by_chain.setdefault(op.chain_id, []).append("0x" + bytes(op.execution_data).hex())

        async def chain_receipts(chain_id: int, hashes: list[str]) -> dict[str, Any]:
            unique = list(dict.fromkeys(hashes))
            rpc: RpcClient = self.account.deployment_on(chain_id).rpc
            results = await rpc.batch([("eth_getTransactionReceipt", [h]) for h in unique])
            for h, receipt in zip(unique, results, strict=True):  # gas_used adds them up: read them now
                what = f"eth_getTransactionReceipt({h}) on chain {chain_id}"
                if receipt is not None and not isinstance(receipt, dict):
                    raise RpcError(f"The endpoint answered {what} with {bounded_repr(receipt)}, not a receipt.")
                if receipt:
                    quantity(receipt.get("gasUsed", "0x0"), what=f"the gasUsed of {what}")
            return dict(zip(unique, results, strict=True))

        found: dict[str, Any] = {}
        for part in await asyncio.gather(*(chain_receipts(c, h) for c, h in by_chain.items())):
            found.update(part)
        return [
            found.get("0x" + bytes(op.execution_data).hex()) or {}
            for op in payload.user_ops[1:]
            if op.execution_data is not None
        ]


# -- helpers ----------------------------------------------------------------------------------------------------------


def _is_self_hosted(url: str) -> bool:
    return url.rstrip("/") not in (MEE_NETWORK_URL, MEE_STAGING_NETWORK_URL)


#: How often :meth:`MeeClient.request` asks a busy node again (a 429 or 503 with ``Retry-After``), and the longest
#: wait it accepts from one ``Retry-After`` (longer ones are raised at once, as the node's refusal).
BUSY_RETRIES = 3
MAX_RETRY_AFTER = 30.0
#: The most of an answer the client reads from the node: a quote or a receipt is a few kB, an /info a few hundred.
MAX_ANSWER_BYTES = DEFAULT_MAX_BYTES


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before asking again, if the node said it is busy and when to come back; else None."""
    if response.status_code not in (429, 503):
        return None
    raw = response.headers.get("retry-after", "").strip()
    if not raw.isdigit() or len(raw) > 6 or int(raw) > MAX_RETRY_AFTER:
        return None
    return float(raw)


def _simulation(simulation: Simulation | Mapping[str, Any] | None) -> Simulation:
    """What the quote asks of the node's simulation: to simulate, by default (see :meth:`MeeClient.get_quote`)."""
    if simulation is None:
        return Simulation(simulate=True)
    return simulation if isinstance(simulation, Simulation) else Simulation.model_validate(dict(simulation))


def _check_consistent_versions(versions: Sequence[MeeVersionConfig]) -> None:
    sides = {version_number(v.version, field="chain_configurations.version") >= _V2_2_1 for v in versions}
    if len(sides) > 1:
        raise ConfigurationError(
            "chain_configurations.version",
            "a simple quote cannot mix MEE versions before and from 2.2.1 (their signatures differ)",
            fix="configure the chains of one super-transaction with compatible MEE versions",
        )


def _payment_verification_gas(module: str | None, given: int | None) -> int | None:
    if module is None:
        return given
    if module.lower() == SMART_SESSIONS_ADDRESS.lower():
        return given or SESSION_ENABLE_VERIFICATION_GAS_LIMIT
    return given


def _verification_gas(
    *, module: str | None, verification_gas_limit: int | None, sponsorship: bool, index: int, payment_chain: bool
) -> int | None:
    """The userOp's verification gas limit as the SDK resolves it (None: the node's default). A session userOp that
    enables the permission gets 1,000,000 (or the given limit), any other session userOp 250,000."""
    if module is None:
        return verification_gas_limit
    if module.lower() != SMART_SESSIONS_ADDRESS.lower():
        return verification_gas_limit
    if payment_chain:
        if sponsorship and index == 0:
            return verification_gas_limit or SESSION_ENABLE_VERIFICATION_GAS_LIMIT
        return SESSION_USE_VERIFICATION_GAS_LIMIT
    if index == 0:
        return verification_gas_limit or SESSION_ENABLE_VERIFICATION_GAS_LIMIT
    return SESSION_USE_VERIFICATION_GAS_LIMIT


def _calls_of(call_data: bytes) -> list[Call] | None:
    try:
        return decode_execute(call_data)
    except (EncodingError, InvalidInputError):
        return None


def _request_contexts(request: QuoteRequest) -> dict[str, OpContext]:
    pay = request.payment_info
    out = {
        "paymentInfo": OpContext(
            "paymentInfo",
            pay.chain_id,
            None,
            pay.session_details,
            None if pay.sponsored else pay.token,
            pay.sender,
        )
    }
    for k, op in enumerate(request.user_ops):
        out[f"userOps[{k}]"] = OpContext(
            f"userOps[{k}]", op.chain_id, _calls_of(bytes(op.call_data)), op.session_details, None, op.sender
        )
    return out


def _quote_contexts(payload: GetQuotePayload) -> dict[str, OpContext]:
    """What the client knows of each userOp of a quote (for :func:`explain_refusal`), keyed as the node names them."""
    contexts: dict[str, OpContext] = {}
    for k, op in enumerate(payload.user_ops):
        where = "paymentInfo" if k == 0 else f"userOps[{k - 1}]"
        contexts[where] = OpContext(
            where,
            op.chain_id,
            _calls_of(bytes(op.user_op.call_data)),
            op.session_details,
            None if payload.payment_info.sponsored or k != 0 else payload.payment_info.token,
            op.user_op.sender,
        )
    return contexts


def _failure(key: str, status: str, raw: dict[str, Any], payload: ExplorerResponse) -> SmartSessionsError:
    """The error of a failed super-transaction: the explained cause when its failure says one, else
    :class:`SupertransactionFailedError` naming each failed userOp."""
    failures = []
    contexts = _quote_contexts(payload)
    for k, op in enumerate(payload.user_ops):
        status_k = "MINED_SUCCESS" if op.execution_status == "SUCCESS" else op.execution_status
        if status_k in ("FAILED", "MINED_FAIL"):
            failures.append(
                FailedUserOp(
                    index=k,
                    chain_id=op.chain_id,
                    user_op_hash="0x" + bytes(op.user_op_hash).hex(),
                    status=status_k,
                    error=op.execution_error or ("failed" if status_k == "FAILED" else "reverted"),
                )
            )
    relevant = [f for f in failures if f.index > 0] or failures
    lines = [f"[{f.index}] {f.error}" for f in relevant]
    shown = relevant[0] if relevant else None
    what = f"userOp {shown.index} on chain {shown.chain_id} ({shown.user_op_hash})" if shown is not None else "a userOp"
    error = SupertransactionFailedError(
        f"Super-transaction {key} {'failed' if status == 'FAILED' else 'reverted'}: {what}"
        + (f": {parse_error_message(shown.error)}" if shown is not None else "."),
        hash=key,
        status=status,
        failures=failures,
        receipt=raw,
        meta_messages=[*lines, f"Explorer: {MEESCAN_URL}{key}"],
    )
    for f in sorted(failures, key=lambda f: f.index):
        where = "paymentInfo" if f.index == 0 else f"userOps[{f.index - 1}]"
        explained = explain_refusal(f.error, contexts, where=where)
        if explained is not None:
            explained.__cause__ = error
            return explained
    return error


async def create_mee_client(
    *,
    account: MultichainNexusAccount,
    url: str = MEE_NETWORK_URL,
    api_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    polling_interval: float = DEFAULT_POLLING_INTERVAL,
) -> MeeClient:
    """A client of the MEE node at ``url`` for ``account``: reads ``GET /info`` and checks that the node serves every
    chain of the account. ``api_key`` goes in ``x-api-key`` (there is no default key)."""
    client = MeeClient(
        account=account, url=url, api_key=api_key, transport=transport, polling_interval=polling_interval
    )
    try:
        info = await client.get_info()
        supported = [c.chain_id for c in info.supported_chains]
        missing = [d.chain_id for d in account.deployments if d.chain_id not in supported]
        if missing:
            raise ChainNotSupportedError(
                "account.chain_configurations",
                f"Some account chains are not supported by the MEE node: {', '.join(map(str, missing))} "
                f"(it supports {', '.join(map(str, supported)) or 'none'})",
                chain_ids=missing,
                fix="drop those chains from the account, or use a node that serves them",
            )
    except BaseException:
        await client.aclose()
        raise
    return client
