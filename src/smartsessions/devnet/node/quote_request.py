"""From a ``/quote`` request to the quote's userOps (:class:`Draft`), before any gas or price is known.

1. **Check the request** (:func:`check_request`): supported chains, quote type (simple, permit, onchain), fee token,
   no EIP-7702, and the execution windows (a missing upper bound is ``lower + 300 s``; a window lasts 60 s to 1 day).
2. **The payment userOp** goes first (``userOps[0]``, :func:`build_drafts`):
   * non-sponsored: ``execute(single, feeToken.transfer(node, fee))`` from ``paymentInfo.sender`` with its nonce,
     initCode, short encoding and session details (a session pays with the payment action of spec §3.3);
   * fusion (a permit or on-chain trigger on the fee chain, with ``paymentInfo.eoa``, :func:`mark_trigger`):
     ``feeToken.transferFrom(eoa, node, fee)``, paid from the part of the allowance above the trigger amount (the SDK
     adds the fee to the permit, or to the amount its EOA approves on chain);
   * sponsored: a **gas-tank entry**. On the devnet the gas tank is virtual: the entry (``sender`` = the gas tank,
     empty call data) is part of the quote and of its Merkle tree, exactly as the client expects, but it is never
     submitted: the node paymaster pays every userOp's gas anyway, and nothing is charged.

   Every submitted userOp carries the node paymaster's ``paymasterAndData`` as a production node builds it
   (:func:`paymaster_and_data`).
3. **Nonces** are taken as sent, as Biconomy's node takes them: not checked against ``EntryPoint.getNonce``, so a
   client may pipeline quotes (a second quote on the same nonce key, built before the first executes, carries the
   next nonce). A wrong nonce fails at execution, with the EntryPoint's reason (``AA25 invalid account nonce``) in the
   receipt. One exception (:func:`number_repeats`): a userOp that repeats the very nonce of an earlier userOp of the
   same quote (same sender, key and sequence; the reference SDK draws keys from the clock's milliseconds and now and
   then draws one twice) could never execute, so the node gives it the next nonce of that key in the quote (the
   client signs what the node returns). Only an account's first userOp on a chain keeps its ``initCode``
   (:func:`deploy_once`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...account.calls import Call, encode_execute_single
from ...encoding.abi import encode_function_call
from ...encoding.session import SmartSessionMode
from ...encoding.userop import PackedUserOperation
from ...wire.mee import QuoteRequest, QuoteRequestUserOp
from ...wire.session import SessionDetails
from ..deploy import NODE_PAYMASTER_ADDRESS
from ._chain import ChainFees
from .config import FeeTokenConfig, NodeConfig
from .errors import Code, Fact, NodeError
from .simulation import SimulatedOp

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_WINDOW",
    "MIN_WINDOW",
    "PAYMASTER_POST_OP_GAS_LIMIT",
    "PAYMASTER_VERIFICATION_GAS_LIMIT",
    "Draft",
    "build_drafts",
    "check_request",
    "deploy_once",
    "mark_trigger",
    "number_repeats",
    "paymaster_and_data",
    "payment_call",
]

# The node paymaster's limits and node data, as the production MEE node sends them (its gas-estimator defaults:
# 25,000 verification, 50,000 postOp; refund and premium modes of the production BaseNodePaymaster).
PAYMASTER_VERIFICATION_GAS_LIMIT = 25_000
PAYMASTER_POST_OP_GAS_LIMIT = 50_000
NODE_PM_REFUND_USER = bytes.fromhex("170de000")  # refund the unused gas to the userOp's sender
NODE_PM_REFUND_DAPP = bytes.fromhex("170de001")  # refund it to the receiver that follows the premium mode
NODE_PM_REFUND_KEEP = bytes.fromhex("170de002")  # no refund (and no postOp): the node sponsors
NODE_PM_PREMIUM_PERCENT = bytes.fromhex("9ee4ce00")  # a uint192 premium follows (100 % = 10,000,000); unused here
NODE_PM_PREMIUM_FIXED = bytes.fromhex("9ee4ce01")  # the node's fee is charged off chain; nothing follows
# Execution windows as Biconomy's node takes them: a userOp without an upperBoundTimestamp gets lower + 300 s, and a
# window (upper - lower) must last from 1 minute to 1 day. The SDKs always send both bounds (their own default is
# 180 s), so the default only serves a hand-made request.
DEFAULT_WINDOW = 300
MIN_WINDOW = 60
MAX_WINDOW = 86_400


def paymaster_and_data(*, sponsored: bool = False, refund_receiver: str | None = None) -> bytes:
    """``NodePaymaster ‖ uint128 25000 ‖ uint128 50000 ‖ node data``, the node data as a production node picks it:

    * sponsored (the devnet's gas tank is virtual, like the production node's trusted gas tank): ``KEEP``, nothing
      else, so there is no refund and no postOp;
    * ``paymentInfo.gasRefundAddress`` set: ``DAPP ‖ FIXED ‖ receiver``;
    * otherwise ``USER ‖ FIXED``: the unused part of each userOp's maximum gas cost goes back to its sender.

    (A production node sends ``DAPP ‖ FIXED ‖ gas tank`` for a gas tank it does not trust; the devnet has none.)"""
    if sponsored:
        data = NODE_PM_REFUND_KEEP
    elif refund_receiver is not None:
        data = NODE_PM_REFUND_DAPP + NODE_PM_PREMIUM_FIXED + bytes.fromhex(refund_receiver[2:])
    else:
        data = NODE_PM_REFUND_USER + NODE_PM_PREMIUM_FIXED
    return (
        bytes.fromhex(NODE_PAYMASTER_ADDRESS[2:])
        + PAYMASTER_VERIFICATION_GAS_LIMIT.to_bytes(16, "big")
        + PAYMASTER_POST_OP_GAS_LIMIT.to_bytes(16, "big")
        + data
    )


@dataclass
class Draft:
    """One userOp of the quote while it is being filled."""

    index: int
    role: str  # "payment" | "sponsor" | "user"
    where: str  # the request path, for error messages ("paymentInfo", "userOps[0]")
    chain_id: int
    sender: str
    nonce: int
    init_code: bytes
    call_data: bytes
    lower: int
    upper: int
    short_encoding: bool = False
    session_details: SessionDetails | None = None
    requested_verification_gas: int | None = None
    requested_call_gas: int = 0
    metadata: tuple[dict[str, Any], ...] | None = None
    is_clean_up: bool | None = None
    retry_delay: int | None = None
    is_permit_tx: bool = False
    is_trigger_op: bool = False  # the first userOp on the trigger chain (the spender of the trigger's allowance)
    sim_mode: SmartSessionMode | None = None
    sim: SimulatedOp | None = None
    verification_gas: int = 0
    call_gas: int = 0
    pre_verification_gas: int = 0
    fees: ChainFees | None = None
    node_paymaster: bytes = b""  # its paymasterAndData (none for the gas-tank entry, which is never submitted)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def executed(self) -> bool:
        return self.role != "sponsor"

    @property
    def nonce_key(self) -> int:
        return self.nonce >> 64

    def packed(self, signature: bytes = b"") -> PackedUserOperation:
        fees = self.fees or ChainFees(0, 0, 0)
        return PackedUserOperation(
            sender=self.sender,
            nonce=self.nonce,
            init_code=self.init_code,
            call_data=self.call_data,
            call_gas_limit=self.call_gas,
            verification_gas_limit=self.verification_gas,
            pre_verification_gas=self.pre_verification_gas,
            max_fee_per_gas=fees.max_fee_per_gas,
            max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            paymaster_and_data=self.node_paymaster,
            signature=signature,
        )


def _window(op: QuoteRequestUserOp, now: int) -> tuple[int, int]:
    """A userOp's execution window: the bounds it was sent with; a missing lower bound is ``now`` (the time of the
    userOp's chain), a missing upper bound ``lower + DEFAULT_WINDOW``. :func:`check_request` bounds it."""
    lower = now if op.lower_bound_timestamp is None else op.lower_bound_timestamp
    return lower, lower + DEFAULT_WINDOW if op.upper_bound_timestamp is None else op.upper_bound_timestamp


def check_request(config: NodeConfig, request: QuoteRequest, clocks: dict[int, int]) -> FeeTokenConfig | None:
    """A 400 for the first thing in ``request`` this node cannot quote; the fee token (None when sponsored in a token
    this node does not know). ``clocks`` are the times of the request's chains that this node serves."""
    supported = sorted(c.chain_id for c in config.chains)
    if request.quote_type not in ("simple", "permit", "onchain"):
        raise NodeError(
            400,
            f"quoteType: {request.quote_type!r} quotes are not supported by this node",
            code=Code.QUOTE_TYPE_NOT_SUPPORTED,
            facts={"field": "quoteType", "quoteType": request.quote_type, "supported": ["simple", "permit", "onchain"]},
        )
    if request.quote_type != "simple" and request.trigger is None:
        raise NodeError(
            400,
            f"trigger: is required for {request.quote_type} quotes",
            code=Code.INVALID_FIELD,
            facts={"field": "trigger"},
        )
    if not request.user_ops:
        raise NodeError(
            400, "userOps: a quote needs at least one userOp", code=Code.INVALID_FIELD, facts={"field": "userOps"}
        )
    for k, op in enumerate(request.user_ops):
        where = f"userOps[{k}]"
        if config.chain(op.chain_id) is None:
            raise NodeError(
                400,
                f"{where}.chainId: chain {op.chain_id} is not supported (supported: {supported})",
                code=Code.CHAIN_NOT_SERVED,
                facts={"field": f"{where}.chainId", "chainId": op.chain_id, "supported": supported},
            )
        if op.eip7702_auth is not None:
            raise NodeError(
                400,
                f"{where}.eip7702Auth: EIP-7702 delegation is not supported by this node",
                code=Code.EIP7702_NOT_SUPPORTED,
                facts={"field": f"{where}.eip7702Auth"},
            )
        if op.short_encoding and op.session_details is None:
            raise NodeError(
                400,
                f"{where}.shortEncoding: only session userOps (with sessionDetails) can be short-encoded",
                code=Code.INVALID_FIELD,
                facts={"field": f"{where}.shortEncoding"},
            )
        if op.session_details is not None and not op.short_encoding:
            raise NodeError(
                400,
                f"{where}.shortEncoding: session userOps must be short-encoded (their leaf is the userOpHash)",
                code=Code.INVALID_FIELD,
                facts={"field": f"{where}.shortEncoding"},
            )
        if op.session_details is not None and request.quote_type == "permit":
            raise NodeError(
                400,
                f"{where}.sessionDetails: session userOps need a simple or onchain quote",
                code=Code.INVALID_FIELD,
                facts={"field": f"{where}.sessionDetails", "quoteType": request.quote_type},
            )
        now = clocks[op.chain_id]
        lower, upper = _window(op, now)
        window: dict[str, Fact] = {
            "field": f"{where}.upperBoundTimestamp",
            "chainId": op.chain_id,
            "lowerBoundTimestamp": lower,
            "upperBoundTimestamp": upper,
        }
        if upper < lower:
            raise NodeError(
                400,
                f"{where}.upperBoundTimestamp: {upper} is before lowerBoundTimestamp {lower}",
                code=Code.EXECUTION_WINDOW_INVALID,
                facts=window | {"minWindow": MIN_WINDOW, "maxWindow": MAX_WINDOW},
            )
        if not MIN_WINDOW <= upper - lower <= MAX_WINDOW:
            raise NodeError(
                400,
                f"{where}.upperBoundTimestamp: the execution window must last {MIN_WINDOW} to {MAX_WINDOW} s, "
                f"this one lasts {upper - lower} s ({lower} to {upper}); set upperBoundTimestamp between "
                f"{lower + MIN_WINDOW} and {lower + MAX_WINDOW}, or leave it out for {DEFAULT_WINDOW} s",
                code=Code.EXECUTION_WINDOW_INVALID,
                facts=window | {"minWindow": MIN_WINDOW, "maxWindow": MAX_WINDOW},
            )
        if upper <= now:
            raise NodeError(
                400,
                f"{where}.upperBoundTimestamp: the window ended at {upper} (chain time {now})",
                code=Code.EXECUTION_WINDOW_ENDED,
                facts=window | {"chainTime": now},
            )
    pay = request.payment_info
    if pay.eip7702_auth is not None:
        raise NodeError(
            400,
            "paymentInfo.eip7702Auth: EIP-7702 delegation is not supported by this node",
            code=Code.EIP7702_NOT_SUPPORTED,
            facts={"field": "paymentInfo.eip7702Auth"},
        )
    if request.trigger is not None and config.chain(request.trigger.chain_id) is None:
        raise NodeError(
            400,
            f"trigger.chainId: chain {request.trigger.chain_id} is not supported",
            code=Code.CHAIN_NOT_SERVED,
            facts={"field": "trigger.chainId", "chainId": request.trigger.chain_id, "supported": supported},
        )
    if pay.sponsored:
        chain = config.chain(pay.chain_id)
        return None if chain is None else chain.fee_token(pay.token)
    chain = config.chain(pay.chain_id)
    if chain is None:
        raise NodeError(
            400,
            f"paymentInfo.chainId: chain {pay.chain_id} is not supported (supported: {supported})",
            code=Code.CHAIN_NOT_SERVED,
            facts={"field": "paymentInfo.chainId", "chainId": pay.chain_id, "supported": supported},
        )
    token = chain.fee_token(pay.token)
    if token is None:
        known = [t.address for t in chain.fee_tokens]
        raise NodeError(
            400,
            f"paymentInfo.token: {pay.token} is not a fee token on chain {pay.chain_id} {known}",
            code=Code.FEE_TOKEN_NOT_SUPPORTED,
            facts={"field": "paymentInfo.token", "chainId": pay.chain_id, "token": pay.token, "supported": known},
        )
    if bool(pay.short_encoding) != (pay.session_details is not None):
        raise NodeError(
            400,
            "paymentInfo.shortEncoding: a session payment (with sessionDetails) must be short-encoded, "
            "any other must not",
            code=Code.INVALID_FIELD,
            facts={"field": "paymentInfo.shortEncoding"},
        )
    return token


def build_drafts(request: QuoteRequest, clocks: dict[int, int]) -> list[Draft]:
    """The payment userOp (or the gas-tank entry) and the request's userOps, with their windows and the node
    paymaster; no gas, fees or signatures yet."""
    windows = [_window(op, clocks[op.chain_id]) for op in request.user_ops]
    pay = request.payment_info
    lower, upper = min(w[0] for w in windows), max(w[1] for w in windows)
    if pay.chain_id in clocks:  # due at once on its own chain, even when another chain's clock runs ahead
        lower = min(lower, clocks[pay.chain_id])
    pm = paymaster_and_data(sponsored=pay.sponsored, refund_receiver=pay.gas_refund_address)
    payment = Draft(
        index=0,
        role="sponsor" if pay.sponsored else "payment",
        where="paymentInfo",
        chain_id=pay.chain_id,
        sender=pay.sender,
        nonce=pay.nonce,
        init_code=b"" if pay.sponsored or pay.init_code is None else bytes(pay.init_code),
        call_data=b"",
        lower=lower,
        upper=upper,
        short_encoding=bool(pay.short_encoding),
        session_details=pay.session_details,
        requested_verification_gas=pay.verification_gas_limit,
        requested_call_gas=pay.call_gas_limit,
        node_paymaster=b"" if pay.sponsored else pm,
    )
    drafts = [payment]
    for k, op in enumerate(request.user_ops):
        drafts.append(
            Draft(
                index=k + 1,
                role="user",
                where=f"userOps[{k}]",
                chain_id=op.chain_id,
                sender=op.sender,
                nonce=op.nonce,
                init_code=b"" if op.init_code is None else bytes(op.init_code),
                call_data=bytes(op.call_data),
                lower=windows[k][0],
                upper=windows[k][1],
                short_encoding=op.short_encoding,
                session_details=op.session_details,
                requested_verification_gas=op.verification_gas_limit,
                requested_call_gas=op.call_gas_limit,
                metadata=op.metadata,
                is_clean_up=op.is_clean_up_user_op,
                retry_delay=op.execution_simulation_retry_delay,
                node_paymaster=pm,
            )
        )
    return drafts


def mark_trigger(request: QuoteRequest, drafts: list[Draft]) -> bool:
    """Mark the trigger userOp (and for a permit quote the permit userOp); True if the payment is pulled from the
    EOA with the trigger's allowance (the permit's, or the one the EOA's approve transaction sets)."""
    trigger = request.trigger
    if request.quote_type not in ("permit", "onchain") or trigger is None:
        return False
    first = next((d for d in drafts if d.executed and d.chain_id == trigger.chain_id), None)
    if first is None:
        raise NodeError(
            400,
            f"trigger.chainId: no userOp of the quote runs on the trigger chain {trigger.chain_id}",
            code=Code.INVALID_FIELD,
            facts={"field": "trigger.chainId", "chainId": trigger.chain_id},
        )
    first.is_trigger_op = True
    first.is_permit_tx = request.quote_type == "permit"
    pay = request.payment_info
    return (
        not pay.sponsored
        and pay.eoa is not None
        and pay.chain_id == trigger.chain_id
        and pay.token == trigger.token_address
    )


def number_repeats(drafts: Sequence[Draft]) -> None:
    """Nonces are the client's, with one exception: a userOp that repeats the very nonce of an earlier userOp of
    this quote (same chain, sender, key and sequence) gets the next free nonce of that key in the quote. The
    reference SDK draws each userOp's key from ``Date.now()``, waiting 1 ms between two draws for one account,
    but that timer can fire before the wall clock's millisecond turns: two userOps of one quote then share a key
    and, read from ``getNonce``, a nonce, and the second could never pass the EntryPoint's nonce check."""
    used: dict[tuple[int, str, int], set[int]] = {}
    for d in drafts:
        lane = used.setdefault((d.chain_id, d.sender.lower(), d.nonce_key), set())
        if d.nonce in lane:
            d.nonce = max(lane) + 1
        lane.add(d.nonce)


def deploy_once(drafts: Sequence[Draft]) -> None:
    """Only an account's first userOp on a chain keeps its ``initCode`` (Biconomy's node drops the others': once the
    first has deployed the account, a second ``initCode`` would fail with AA10)."""
    seen: set[tuple[int, str]] = set()
    for d in drafts:
        key = (d.chain_id, d.sender.lower())
        if key in seen:
            d.init_code = b""
        seen.add(key)


def payment_call(request: QuoteRequest, fusion: bool, amount: int, *, node: str) -> bytes:
    """The payment userOp's call data: ``execute(single, token.transfer(node, amount))``, or for a fusion payment
    ``execute(single, token.transferFrom(eoa, node, amount))``."""
    pay = request.payment_info
    if fusion and pay.eoa is not None:
        data = encode_function_call("transferFrom(address,address,uint256)", [pay.eoa, node, amount])
    else:
        data = encode_function_call("transfer(address,uint256)", [node, amount])
    return bytes(encode_execute_single(Call(to=pay.token, data=data)))
