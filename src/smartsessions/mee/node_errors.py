"""What the node's refusals and failures mean, as typed errors: the reference SDK's reading of a node's error body
(:func:`parse_error_message`), what the client knows of each userOp of a request or a quote (its calls, its
session, its payer), which :mod:`._refusals` combines with the node's words to name the permission, the policy and
the rule; and the error of a failed super-transaction."""

from __future__ import annotations

import json
import re
from typing import Any

from .._repr import bounded_repr
from ..account.calls import Call, decode_execute
from ..account.multichain import MultichainNexusAccount
from ..encoding.abi import encode_function_call
from ..errors import (
    EncodingError,
    FailedUserOp,
    InsufficientBalanceError,
    InvalidInputError,
    MeeApiError,
    SmartSessionsError,
    SupertransactionFailedError,
    UserOpRefusedError,
)
from ..wire.mee import ExplorerResponse, GetQuotePayload, QuoteRequest
from ._refusals import OpContext, explain_refusal
from .results import MEESCAN_URL

__all__ = [
    "failed_supertransaction_error",
    "parse_error_message",
    "quote_contexts",
    "refused_user_op",
    "request_contexts",
    "with_balance",
]

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


def _calls_of(call_data: bytes) -> list[Call] | None:
    try:
        return decode_execute(call_data)
    except (EncodingError, InvalidInputError):
        return None


def request_contexts(request: QuoteRequest) -> dict[str, OpContext]:
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


def quote_contexts(payload: GetQuotePayload) -> dict[str, OpContext]:
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


def failed_supertransaction_error(
    key: str, status: str, raw: dict[str, Any], payload: ExplorerResponse
) -> SmartSessionsError:
    """The error of a failed super-transaction: the explained cause when its failure says one (by the userOp's
    ``executionErrorCode`` and facts when the node sends them, else by its ``executionError`` text), else
    :class:`SupertransactionFailedError` naming each failed userOp."""
    failures = []
    contexts = quote_contexts(payload)
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
        # the local node says the cause by code, as at the quote; Biconomy's in executionError's text only
        op = payload.user_ops[f.index]
        code, facts = op.execution_error_code, op.execution_error_facts
        explained = explain_refusal(f.error, contexts, where=where, code=code, facts=facts)
        if explained is not None:
            explained.__cause__ = error
            return explained
    return error


async def with_balance(err: InsufficientBalanceError, account: MultichainNexusAccount) -> InsufficientBalanceError:
    """The refusal, with the payer's balance read from its chain (best effort: the refusal stands without)."""
    if err.holder is None or err.token is None or err.chain_id is None:
        return err
    try:
        rpc = account.deployment_on(err.chain_id).rpc
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


#: What to do about a userOp the node's simulation refused, by the node's code (those no other typed error takes).
_USER_OP_FIXES = {
    "USER_OP_VALIDATION_FAILED": "Fix: `aa_code` and `reason` say why validation failed (AA20: no account at the "
    "sender; AA1x: it cannot be created; AA23: a revert in the account's validation, `revert_error`).",
    "USER_OP_CALL_REVERTED": "Fix: the call reverts with the chain's state now (`revert_error`, `revert_data`): check "
    "its arguments and what it needs; for a call that can only pass later, quote with simulation={'simulate': False}.",
    "NONCE_INVALID": "Fix: ask for a new quote (another super-transaction of the account took the nonce).",
    "SIGNATURE_INVALID": "Fix: sign with the key the userOp needs (the account's owner, or the session's key).",
}


def refused_user_op(exc: MeeApiError) -> MeeApiError:
    """``exc`` as a :class:`UserOpRefusedError` when the node's code says its simulation refused a userOp (and no
    more specific error took it), else ``exc`` itself."""
    fix = _USER_OP_FIXES.get(exc.code or "")
    if fix is None or isinstance(exc, UserOpRefusedError):
        return exc
    return UserOpRefusedError(
        exc.short_message,
        status=exc.status,
        body=exc.body,
        code=exc.code,
        facts=exc.facts,
        meta_messages=[*exc.meta_messages, fix],
        details=exc.details,
    )
