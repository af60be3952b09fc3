"""How a session key uses its permission (spec §6): the checks made before anything is asked or signed (the client's
signer is the session key; what the chains already decide: the permission's state, its time frames), the quote, and
the session details each userOp carries when signed.

:func:`~smartsessions.sessions.mee_actions.use_permission` and
:func:`~smartsessions.sessions.session_quote.get_session_quote` (mode ``"USE"``) both quote here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._coerce import to_address
from ..account.calls import Call
from ..account.instructions import (
    AnyInstruction,
    ComposableInstruction,
    Instruction,
    batch_instructions,
    to_instruction,
)
from ..account.multichain import QuoteReads
from ..encoding.session import SmartSessionMode
from ..errors import InvalidInputError, SessionSignerMismatchError
from ..mee._time_frames import outside_time_frame_error
from ..mee.client import MeeClient, MeeQuote, SignedMeeQuote, SponsorshipOptions
from ..mee.permission_state import permission_state_calls, permission_state_refusal, session_state_error
from ..mee.request import (
    USEROP_MIN_EXEC_WINDOW_DURATION,
    Preflight,
    details_for,
    first_mode_per_chain,
    session_details_by_chain,
    to_fee_token,
)
from ..policies.payment import TRANSFER_SELECTOR
from ..policies.time_frame import session_time_frames
from ..rpc import call_word
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo, Simulation
from ..wire.session import SessionDetails, to_wire_session_details

__all__ = [
    "ENABLE_AND_USE_ERROR",
    "check_enable_mode",
    "details_list",
    "plain_instructions",
    "quote_use",
    "with_session_details",
]

#: The reference SDK's error text for ENABLE_AND_USE with details that cannot enable (prepare-flow details).
ENABLE_AND_USE_ERROR = "ENABLE_AND_USE mode cannot be used with given session details, instead try USE mode directly"


def details_list(session_details: Sequence[SessionDetails] | SessionDetails) -> list[SessionDetails]:
    items = [session_details] if isinstance(session_details, SessionDetails) else list(session_details)
    out = []
    for d in items:
        out.append(d if isinstance(d, SessionDetails) else SessionDetails.model_validate(d))
    if not out:
        raise InvalidInputError("session_details", "is empty", fix="pass the details a grant or prepare returned")
    return out


def check_enable_mode(mode: SmartSessionMode, details: Sequence[SessionDetails], given: object) -> None:
    """ENABLE_AND_USE needs details that can enable (a grant's); ``given`` is the mode as the caller passed it."""
    if mode is SmartSessionMode.UNSAFE_ENABLE and not any(d.mode is SmartSessionMode.UNSAFE_ENABLE for d in details):
        raise InvalidInputError("mode", ENABLE_AND_USE_ERROR, value=given)


def plain_instructions(parsed: Sequence[AnyInstruction]) -> list[Instruction]:
    """The instructions of a session's use, which must be plain calls (``execute``): SmartSessions checks each call
    of a userOp against the session, and a composable one is refused naming the field."""
    plain = []
    for i in parsed:
        if isinstance(i, ComposableInstruction):
            raise InvalidInputError(
                "instructions",
                "session userOps must be plain calls (execute): SmartSessions checks each call against the session",
                fix="pass Instruction(chain_id=..., calls=[Call(...)])",
            )
        plain.append(i)
    return plain


def _check_redeemer(client: MeeClient, details: Sequence[SessionDetails]) -> None:
    """The client's signer must be the sessions' redeemer (the K1MeeValidator session owner: 20 bytes): any other
    key's signature is refused by SmartSessions, so it is refused here, before anything is asked or signed."""
    signer = to_address(client.account.signer.address, field="signer")
    for d in details:
        redeemer = d.session_key
        if redeemer is None or redeemer == signer:
            continue
        pid = d.permission_id
        raise SessionSignerMismatchError(
            f"Permission {pid} is granted to the session key {redeemer}, but this client signs as {signer}.",
            permission_id=pid,
            chain_id=d.chain_id,
            redeemer=redeemer,
            signer=signer,
            meta_messages=[
                "Fix: use a client whose account signer is the session key (and account_address the granter's account)."
            ],
        )


@dataclass(frozen=True)
class _SessionOp:
    """A userOp ``use_permission`` will ask for: its chain, its calls and its own window bounds (None: the quote's
    default, from the chain's time); ``payment`` for the fee payment, whose window spans the others'."""

    chain_id: int
    calls: tuple[Call, ...]
    lower: int | None = None
    upper: int | None = None
    payment: bool = False


def _session_ops(parsed: Sequence[Instruction], fee: FeeTokenInfo | None, batch: bool) -> list[_SessionOp]:
    """The userOps of the quote ``use_permission`` asks for, as the request will lay them out: the fee payment
    (``feeToken.transfer``) first, then the instructions, batched per chain unless ``batch`` is False."""
    ops = []
    if fee is not None:
        ops.append(_SessionOp(fee.chain_id, (Call(to=fee.address, data=TRANSFER_SELECTOR + bytes(64)),), payment=True))
    for i in batch_instructions(parsed) if batch else parsed:
        calls = tuple(c for c in i.calls if isinstance(c, Call))
        ops.append(_SessionOp(i.chain_id, calls, i.lower_bound_timestamp, i.upper_bound_timestamp))
    return ops


def _early_decision(
    client: MeeClient, details: Sequence[SessionDetails], mode: SmartSessionMode, ops: Sequence[_SessionOp]
) -> Preflight:
    """What the chains already decide about the permission, told before anything is asked or signed: read in the
    quote's own batch on each chain (``isPermissionEnabled`` and the SmartSessions nonce of the permission for this
    account, beside the quote's nonces and the latest block), so it costs no round trip of its own.

    USE of a permission that is not enabled fails on chain; the nonce tells whether a grant's enable signature of it
    was ever used on this account (then it was enabled and has since been removed) or not. ENABLE_AND_USE fails when
    the permission is enabled already, and when the grant's digest for this chain is not the one this account's
    current nonce gives: with the nonce before it, the signature was used; with neither, the grant was made for
    another account. Then the session's time frames (:func:`_judge_time_frames`), against the chain's time."""
    by_chain = session_details_by_chain(details)
    chains = list(dict.fromkeys(op.chain_id for op in ops))
    for chain_id in chains:
        details_for(by_chain, chain_id)  # every chain has its details, or the refusal names the one without
    accounts = {c: client.account.deployment_on(c).address for c in chains}

    def calls(chain_id: int) -> list[tuple[str, list[Any]]]:
        reads = permission_state_calls(bytes(by_chain[chain_id].permission_id), accounts[chain_id])
        return [("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for to, data in reads]

    def check(reads: Mapping[int, QuoteReads]) -> None:
        for chain_id in chains:
            enabled, nonce = reads[chain_id].extra
            what = f"on chain {chain_id}"
            _judge(
                by_chain[chain_id],
                chain_id,
                accounts[chain_id],
                call_word(enabled, what=f"SmartSessions.isPermissionEnabled {what}", empty=0) != 0,
                call_word(nonce, what=f"SmartSessions.getNonce {what}", empty=0),
                mode,
            )
        _judge_time_frames(by_chain, ops, {c: reads[c].timestamp for c in chains})

    return Preflight(calls={c: calls(c) for c in chains}, check=check)


def _judge_time_frames(
    by_chain: Mapping[int, SessionDetails], ops: Sequence[_SessionOp], times: Mapping[int, int]
) -> None:
    """The session's TimeFramePolicy windows that each userOp meets (its userOp policies', and those of the actions
    its calls run; :func:`~smartsessions.policies.time_frame.session_time_frames`), against the times the userOp
    can execute: from its chain's time (the latest block's, where the quote's default window starts) or its lower
    bound, whichever is later, to its upper bound (by default ``USEROP_MIN_EXEC_WINDOW_DURATION`` seconds after the
    chain's time, as the quote request sets it). A time frame that opens within that is no refusal: the node waits
    for it, as for the userOp's own window. The fee payment's window spans the others' (from its chain's time), as
    the node lays it out."""
    windows = []
    for op in ops:
        now = times[op.chain_id]  # a bound the instruction leaves out is the quote's default, from the chain's time
        lower = now if op.lower is None else op.lower
        windows.append((lower, now + USEROP_MIN_EXEC_WINDOW_DURATION if op.upper is None else op.upper))
    others = [w for op, w in zip(ops, windows, strict=True) if not op.payment]
    for op, (lower, upper) in zip(ops, windows, strict=True):
        if op.payment and others:
            lower, upper = min([lower, *(w[0] for w in others)]), max(w[1] for w in others)
        d, now = by_chain[op.chain_id], times[op.chain_id]
        for applied in session_time_frames(d.enable_session_data.enable_session.session_to_enable, op.calls):
            state = applied.window.judge(earliest=max(now, lower), latest=upper)
            if state is not None:
                raise outside_time_frame_error(
                    state,
                    permission_id=d.permission_id,
                    chain_id=op.chain_id,
                    policy=applied.policy,
                    valid_after=applied.window.valid_after,
                    valid_until=applied.window.valid_until,
                    chain_time=now,
                    target=applied.target,
                    selector=applied.selector,
                )


def _judge(d: SessionDetails, chain_id: int, account: str, enabled: bool, nonce: int, mode: SmartSessionMode) -> None:
    refusal = permission_state_refusal(d, chain_id=chain_id, account=account, enabled=enabled, nonce=nonce, mode=mode)
    if refusal is not None:
        raise session_state_error(refusal)


def with_session_details(
    signed: SignedMeeQuote, details: Sequence[SessionDetails], mode: SmartSessionMode
) -> SignedMeeQuote:
    """The signed quote's session details: the first userOp of each chain gets ``mode``, later ones USE (the
    sponsor's entry is left as it is), by the rule the quote request was built with."""
    body = dict(signed.json)
    ops = [dict(op) for op in body["userOps"]]
    start = 1 if body.get("paymentInfo", {}).get("sponsored") else 0
    by_chain = session_details_by_chain(details)
    chains = [int(op["chainId"]) for op in ops[start:]]
    for chain_id in chains:
        if chain_id not in by_chain:
            raise InvalidInputError("session_details", f"No session details found for chainId {chain_id}")
    for k, (chain_id, op_mode) in enumerate(zip(chains, first_mode_per_chain(chains, mode), strict=True), start):
        ops[k]["sessionDetails"] = to_wire_session_details(by_chain[chain_id].model_copy(update={"mode": op_mode}))
    body["userOps"] = ops
    return SignedMeeQuote(json=body)


async def quote_use(
    client: MeeClient,
    *,
    details: Sequence[SessionDetails],
    mode: SmartSessionMode,
    instructions: Sequence[AnyInstruction | dict[str, Any]] | None,
    fee_token: FeeTokenInfo | Mapping[str, Any] | None,
    sponsorship: bool,
    sponsorship_options: SponsorshipOptions | None,
    verification_gas_limit: int | None,
    batch: bool,
    simulation: Simulation | Mapping[str, Any] | None,
) -> MeeQuote:
    """The quote of a session's use: refused before the node is asked when the signer is not the session key, a
    call is composable, or the chains already decide against it (:func:`_early_decision`, in the quote's own
    batch of reads)."""
    if not instructions:
        raise InvalidInputError("instructions", "a session's use needs at least one instruction")
    if not sponsorship and fee_token is None:
        raise InvalidInputError("fee_token", "is required unless sponsored", fix="pass fee_token=, or sponsorship=True")
    parsed = [to_instruction(i) for i in instructions]
    plain = plain_instructions(parsed)
    _check_redeemer(client, details)
    fee = None if sponsorship else to_fee_token(fee_token)
    return await client.get_quote(
        preflight=_early_decision(client, details, mode, _session_ops(plain, fee, batch)),
        instructions=parsed,
        module_address=SMART_SESSIONS_ADDRESS,
        short_encoding_super_txn=True,
        session_details=details,
        smart_session_mode=mode,
        batch=batch,
        simulation=simulation,
        verification_gas_limit=verification_gas_limit,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options if sponsorship else None,
        fee_token=fee,
    )
