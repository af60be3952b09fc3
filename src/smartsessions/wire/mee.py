"""Models of the MEE node's JSON (spec §9), shared by the SDK's client and the local node.

Conventions, as the reference client writes and reads them:

* keys are camelCase (snake_case attributes here; the few keys that are not plain camelCase have explicit aliases:
  ``supported_wallet_providers`` and ``isEIP712TrustedSponsorshipSupported``);
* JS bigints are **decimal strings** (:data:`BigIntStr`: any integer form is read, a decimal string is written);
  values §9 types as ``number`` stay numbers (timestamps in a quote request, ``meeVersions[].chainId``,
  ``trigger.chainId``, token decimals);
* session details use the wire form of :mod:`smartsessions.wire.session` (bigints as decimal strings);
* absent optional keys are omitted (``undefined`` in JS), never written as ``null``: use :func:`to_wire`.

Unknown keys: every model here **ignores** keys it does not know (pydantic ``extra="ignore"``). The reference client
sends more than §9 lists (its types evolve between SDK versions) and the hosted node answers more than the SDK reads
(spec Appendix E.6); refusing them would break one side on every minor version. Everything a node or client acts on
is modelled and validated; a key that is dropped is by definition not acted on. The structs inside session details
(:class:`~smartsessions.wire.session.SessionDetails`) keep their strict validation: their bytes are signed.

Parse with :func:`from_wire`, which reports the first bad field by its JSON path (``userOps[0].callData``), so a
node can answer ``400 {"error": "userOps[0].callData: ..."}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

from hexbytes import HexBytes
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from .._coerce import to_address
from .._json import json_value_problem
from .._model import Address, Bytes32, HexData, Model, Uint8, Uint64, Uint256, _wrap
from ..encoding.userop import PackedUserOperation
from ..errors import InvalidInputError
from .session import SessionDetails, to_wire_session_details

__all__ = [
    "EXECUTION_STATUSES",
    "BigIntStr",
    "ErrorResponse",
    "ExecResponse",
    "ExecutionStatus",
    "ExplorerResponse",
    "ExplorerUserOp",
    "FeeTokenInfo",
    "FilledPaymentInfo",
    "FilledUserOp",
    "GetInfoPayload",
    "GetQuotePayload",
    "MeeFilledUserOpDetails",
    "MeeVersionEntry",
    "PaymentInfo",
    "PaymentToken",
    "QuoteRequest",
    "QuoteRequestUserOp",
    "QuoteType",
    "SignedQuote",
    "Simulation",
    "SupportedChain",
    "SupportedGasTokens",
    "Trigger",
    "WireModel",
    "from_wire",
    "to_wire",
    "wire_error",
]


def _as_decimal_string(value: int) -> str:
    return str(value)


#: A JS bigint on the wire: read from an int, a decimal string or a 0x hex string; written as a decimal string.
BigIntStr = Annotated[Uint256, PlainSerializer(_as_decimal_string, return_type=str, when_used="json")]

#: Session details inside MEE JSON: the strict model, written in its wire form (bigints as decimal strings).
WireSessionDetails = Annotated[
    SessionDetails,
    PlainSerializer(to_wire_session_details, return_type=dict[str, Any], when_used="json"),
]

QuoteType = Literal["simple", "permit", "onchain", "mm-dtk", "safe-sa"]
ExecutionStatus = Literal["PENDING", "MINING", "MINED_SUCCESS", "MINED_FAIL", "FAILED", "SUCCESS", "SKIPPED"]
EXECUTION_STATUSES: tuple[str, ...] = (
    "PENDING",
    "MINING",
    "MINED_SUCCESS",
    "MINED_FAIL",
    "FAILED",
    "SUCCESS",
    "SKIPPED",
)


def _json_object(value: dict[str, Any], field: str) -> dict[str, Any]:
    found = json_value_problem(value)
    if found is not None:
        where, problem = found
        where = where.lstrip(".") or "the object"
        shown = where if len(where) <= 80 else "..." + where[-77:]
        raise InvalidInputError(field, f"{shown} {problem}", fix="pass JSON data")
    return value


#: A JSON object kept as it is (metadata, simulation overrides): JSON that loads_bounded would read back, so that
#: writing it can neither fail nor, nested deep enough, overflow the C stack in json.dumps.
JsonObject = Annotated[dict[str, Any], AfterValidator(_wrap(_json_object))]


class WireModel(Model):
    """A model of MEE JSON: camelCase keys, unknown keys ignored (see the module docstring)."""

    model_config = ConfigDict(**{**Model.model_config, "extra": "ignore"})


_M = TypeVar("_M", bound=WireModel)


def _json_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def wire_error(model: str, exc: ValidationError) -> InvalidInputError:
    """Our error for a bad MEE JSON body: ``field`` is the JSON path of the first bad value, as the client wrote it."""
    first = exc.errors()[0]
    path = _json_path([p for p in first["loc"] if isinstance(p, (int, str))]) or model
    kind = first["type"]
    if kind == "smartsessions":
        problem, _, fix = first["msg"].partition("|")
        return InvalidInputError(path, problem, fix=fix or None, value=first.get("input"), cause=exc)
    if kind == "missing":
        return InvalidInputError(path, "is required", cause=exc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return InvalidInputError(path, "must be a JSON object", value=first.get("input"), cause=exc)
    return InvalidInputError(path, first["msg"], value=first.get("input"), cause=exc)


def from_wire(model: type[_M], data: Any) -> _M:
    """Parse already-decoded JSON into ``model``; a bad value raises :class:`InvalidInputError` naming its path."""
    if not isinstance(data, dict):
        raise InvalidInputError(model.__name__, "must be a JSON object", value=type(data).__name__)
    try:
        return model.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]  # pydantic-core types it Any
    except ValidationError as exc:
        raise wire_error(model.__name__, exc) from exc


def to_wire(model: Model) -> JsonObject:
    """The JSON object the other side reads: camelCase keys, bigints as decimal strings, absent keys omitted."""
    out: JsonObject = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


# -- GET /info (§9.2) ----------------------------------------------------------------------------------


class PaymentToken(WireModel):
    name: str
    address: Address
    symbol: str
    decimals: Uint8  # number
    permit_enabled: bool = False


class SupportedGasTokens(WireModel):
    chain_id: BigIntStr
    payment_tokens: tuple[PaymentToken, ...] = ()
    is_arbitrary_fee_tokens_supported: bool = False


class SupportedChain(WireModel):
    chain_id: BigIntStr
    name: str = ""


class WalletProvider(WireModel):
    wallet_provider: str
    supported_chains: tuple[str, ...] = ()
    eoa_enabled: bool | None = None
    eoa_fusion: bool | None = None


class GetInfoPayload(WireModel):
    version: str
    node: Address
    supported_chains: tuple[SupportedChain, ...]
    supported_gas_tokens: tuple[SupportedGasTokens, ...]
    supported_wallet_providers: tuple[WalletProvider, ...] = Field(default=(), alias="supported_wallet_providers")

    def gas_token(self, chain_id: int, address: object) -> PaymentToken | None:
        wanted = to_address(address, field="address")
        for entry in self.supported_gas_tokens:
            if entry.chain_id == chain_id:
                for token in entry.payment_tokens:
                    if token.address == wanted:
                        return token
        return None


# -- quote request (§9.3) ---------------------------------------------------------------------------------------------


class MeeVersionEntry(WireModel):
    """``{version: <the SDK's MEE version config>, chainId: number}``. The config is kept as sent (its keys vary
    between versions); :attr:`validator_address` reads the one value the node needs."""

    version: JsonObject
    chain_id: Uint64  # number

    @property
    def version_name(self) -> str:
        return str(self.version.get("version", ""))

    @property
    def validator_address(self) -> str | None:
        value = self.version.get("validatorAddress")
        return None if value is None else to_address(value, field="meeVersions.version.validatorAddress")


class Trigger(WireModel):
    """The fusion trigger: the token the EOA funds the account with. ``amount`` excludes the fee in the quote
    request; in the exec body the SDK has added ``paymentInfo.tokenWeiAmount`` to it."""

    token_address: Address
    chain_id: Uint64  # number
    gas_limit: BigIntStr | None = None
    amount: BigIntStr | None = None
    approval_amount: BigIntStr | None = None
    recipient_address: Address | None = None


class Simulation(WireModel):
    simulate: bool = False
    overrides: JsonObject | None = None
    gas_limit_buffers: dict[str, str] | None = None


class QuoteRequestUserOp(WireModel):
    """One userOp the client asks the node to fill (§9.3 ``userOps[i]``)."""

    lower_bound_timestamp: Uint64 | None = None  # number
    upper_bound_timestamp: Uint64 | None = None  # number
    execution_simulation_retry_delay: Uint64 | None = None  # number (ms)
    sender: Address
    call_data: HexData
    call_gas_limit: BigIntStr
    nonce: BigIntStr
    chain_id: BigIntStr
    is_clean_up_user_op: bool = False
    init_code: HexData | None = None
    eip7702_auth: JsonObject | None = None
    verification_gas_limit: BigIntStr | None = None
    short_encoding: bool = False
    session_details: WireSessionDetails | None = None
    metadata: tuple[JsonObject, ...] | None = None
    simulation_overrides: JsonObject | None = None


class FeeTokenInfo(Model):
    """The token the super-transaction's fee is paid in, and the chain it is paid on. A plain (strict) model, not a
    :class:`WireModel`: the session layer builds it from user input, where an unknown key is a mistake to name."""

    address: Address
    chain_id: Uint64
    gas_refund_address: Address | None = Field(default=None, exclude_if=lambda v: v is None)


class PaymentInfo(WireModel):
    """Who pays the super-transaction's fee, in what, and on which chain (§9.3 ``paymentInfo``)."""

    sponsored: bool = False
    sender: Address
    token: Address
    nonce: BigIntStr
    call_gas_limit: BigIntStr
    verification_gas_limit: BigIntStr
    chain_id: BigIntStr
    gas_refund_address: Address | None = None
    eoa: Address | None = None
    init_code: HexData | None = None
    eip7702_auth: JsonObject | None = None
    short_encoding: bool | None = None
    session_details: WireSessionDetails | None = None
    sponsorship_url: str | None = None


class QuoteRequest(WireModel):
    """``POST /quote`` and ``POST /quote-permit``."""

    quote_type: QuoteType = "simple"
    user_ops: tuple[QuoteRequestUserOp, ...]
    payment_info: PaymentInfo
    mee_versions: tuple[MeeVersionEntry, ...] = ()
    simulation: Simulation | None = None
    trigger: Trigger | None = None
    tags: tuple[str, ...] | None = None


# -- quote response (§9.4) --------------------------------------------------------------------------------------------


class FilledPaymentInfo(PaymentInfo):
    """The request's payment info plus the fee: ``tokenAmount`` (human units), ``tokenWeiAmount`` (token base
    units, what a fusion trigger adds to its amount) and ``tokenValue`` (USD); Biconomy's node also itemises the
    USD value as ``gasFee`` and ``orchestrationFee`` (absent from older nodes)."""

    token_amount: str
    token_wei_amount: BigIntStr
    token_value: str
    gas_fee: str | None = None
    orchestration_fee: str | None = None


#: The fields a packed userOp and its quote form share: all but the signature.
_PACKED_FIELDS = tuple(name for name in PackedUserOperation.model_fields if name != "signature")


class FilledUserOp(WireModel):
    """The packed userOp's fields as the node filled them (bigints as decimal strings)."""

    sender: Address
    nonce: BigIntStr
    init_code: HexData = HexBytes(b"")
    call_data: HexData
    call_gas_limit: BigIntStr
    verification_gas_limit: BigIntStr
    max_fee_per_gas: BigIntStr
    max_priority_fee_per_gas: BigIntStr
    paymaster_and_data: HexData = HexBytes(b"")
    pre_verification_gas: BigIntStr
    signature: HexData | None = None

    # The one userOp model is :class:`~smartsessions.encoding.userop.PackedUserOperation`; this is its JSON form in a
    # quote (bigints as decimal strings, the signature apart). The two conversions below are the only crossings.

    def to_packed(self, signature: object = b"") -> PackedUserOperation:
        """The userOp the EntryPoint takes, with ``signature``."""
        return PackedUserOperation(**{name: getattr(self, name) for name in _PACKED_FIELDS}, signature=signature)

    @classmethod
    def from_packed(cls, op: PackedUserOperation) -> FilledUserOp:
        """The quote's form of ``op`` (without its signature, which the client adds at ``/exec``)."""
        return cls(**{name: getattr(op, name) for name in _PACKED_FIELDS})


class MeeFilledUserOpDetails(WireModel):
    """One entry of ``quote.userOps``: the filled userOp, its hashes, window and fee fields."""

    user_op: FilledUserOp
    user_op_hash: Bytes32
    mee_user_op_hash: Bytes32
    lower_bound_timestamp: BigIntStr
    upper_bound_timestamp: BigIntStr
    max_gas_limit: BigIntStr
    max_fee_per_gas: BigIntStr
    chain_id: BigIntStr
    eip7702_auth: JsonObject | None = None
    is_clean_up_user_op: bool | None = None
    session_details: WireSessionDetails | None = None
    short_encoding: bool = False
    metadata: tuple[JsonObject, ...] | None = None
    signature: HexData | None = None
    is_confirmed: bool | None = None
    execution_simulation_retry_delay: Uint64 | None = None


class GetQuotePayload(WireModel):
    """The quote (§9.4): ``hash`` is the super-transaction hash (the Merkle root the client signs); ``commitment``
    is the node's EIP-191 signature over that root (65 bytes, see
    :func:`smartsessions.encoding.quote.verify_commitment`;
    kept as bytes of any length, so that a node answering otherwise still parses); ``userOps[0]`` is the payment
    userOp (the gas-tank entry when sponsored)."""

    hash: Bytes32
    node: Address
    commitment: HexData
    payment_info: FilledPaymentInfo
    user_ops: tuple[MeeFilledUserOpDetails, ...]
    quote_type: QuoteType | None = None


class SignedQuote(GetQuotePayload):
    """``POST /exec``: the quote echoed back with the client's signature (§9.6–§9.8). The client may also set
    ``meeVersions``, ``trigger``, ``isEIP712TrustedSponsorshipSupported`` and each ``userOps[i].sessionDetails.mode``;
    everything else must be the quote as the node issued it."""

    signature: HexData
    mee_versions: tuple[MeeVersionEntry, ...] | None = None
    is_eip712_trusted_sponsorship_supported: bool | None = Field(
        default=None, alias="isEIP712TrustedSponsorshipSupported"
    )
    trigger: Trigger | None = None


class ExecResponse(WireModel):
    hash: Bytes32


class ErrorResponse(WireModel):
    """Every non-2xx answer of the node: ``error`` says what was wrong (the client shows it as the message); a node
    that sends codes (the local one) adds ``code``, the cause, and ``facts``, what it knows of it."""

    error: str
    code: str | None = None
    facts: JsonObject | None = None


# -- receipts (§9.9) --------------------------------------------------------------------------------------------------


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


_T = TypeVar("_T")

#: A receipt detail read leniently: absent, null, or a value of a shape this client does not know all read as None,
#: so a node that words one of them differently never makes the whole receipt unreadable.
Lenient = Annotated[_T | None, WrapValidator(_or_none)]


class ExplorerUserOp(MeeFilledUserOpDetails):
    """One userOp of the explorer answer. ``confirmations`` counts the blocks from the one that included it to the
    chain's head (1 in its own block); ``isConfirmed`` says whether that reached what the node was asked for."""

    execution_status: ExecutionStatus
    execution_data: Bytes32 | None = None  # the transaction hash, once there is one
    execution_error: str | None = None
    #: The local node's own: a failed userOp's cause as a refusal's code and facts (docs/errors.md), absent elsewhere.
    execution_error_code: Lenient[str] = None
    execution_error_facts: Lenient[JsonObject] = None
    is_confirmed: bool | None = False
    confirmations: Lenient[Uint64] = None  # number
    actual_gas_cost: Lenient[BigIntStr] = None  # wei, decimal string
    revert_error: Lenient[str] = None
    mining_timestamp: Lenient[Uint64] = None  # number (seconds)
    mined_timestamp: Lenient[Uint64] = None  # number (seconds)


class ExplorerResponse(GetQuotePayload):
    """``GET /explorer/{hash}``: the quote with each userOp's execution status; ``itxHash`` is ``hash`` again and
    ``fundingTransaction`` the on-chain trigger transaction of a fusion quote (kept as sent: its shape varies)."""

    user_ops: tuple[ExplorerUserOp, ...]
    itx_hash: Lenient[Bytes32] = None
    funding_transaction: Lenient[JsonObject] = None
