"""The signed userOps, checked at ``/exec`` before anything is stored or sent.

Biconomy's node simulates the signed payment userOp when it accepts a super-transaction (its validation and its
call, on the fee chain's current state) and refuses the ``/exec`` with a 400 when it would not pass: a signature the
account refuses, a window already over, a fee transfer that reverts. Only then does it schedule every chain at once,
without waiting for the payment to be mined (:mod:`.executor`). This node does the same, so the node is paid for what
it runs on the other chains, and the client hears of an unpaid super-transaction from ``/exec`` itself.

One check is this node's own (issue 11): a session userOp's ``sessionDetails`` are not covered by the quote's
signature or its commitment, and the client may legitimately re-assign their modes at ``/exec`` (the reference SDK
does: "the first session userOp of each chain enables, the others use"). So whoever relays the body can change them
too, say USE into ENABLE_AND_USE with an enable signature already used up, and the userOp then never passes
validation while the fee is taken. Biconomy's node accepts such a body and fails the userOp at its deadline; this
node simulates every session userOp, signed as the body's modes make it, in order on its chain after the ones before
it, and refuses the ``/exec`` when one fails validation for a reason that waiting does not mend. What waiting mends
is let through: a window not yet open (``AA22``), a nonce still ahead (``AA25``, a pipelining client), a call that
reverts (the executor waits for its conditions), and anything while this node still has work in flight on that chain
(an earlier super-transaction may enable the permission).

Each refusal starts with ``paymentInfo (chain N):`` or ``userOps[i] (chain N):`` as the quote's refusals do, and
carries the same codes and facts (:mod:`.refusals`: ``POLICY_VIOLATION``, ``SESSION_NOT_ENABLED``,
``ENABLE_SIGNATURE_USED``, ``SIGNATURE_INVALID``, ``USER_OP_CALL_REVERTED``...), so that a client reads both alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ...encoding.abi import encode_function_call
from ...versions import ENTRY_POINT_V07_ADDRESS
from ...wire.mee import MeeFilledUserOpDetails
from ._chain import ChainClient
from .errors import Code, Fact, NodeError
from .refusals import RefusedOp, call_reverted, in_words, signature_refused, validation_failed
from .session_state import worded_by_permission_state
from .simulation import SimulatedOp, simulate_user_ops

__all__ = ["NONCE_WAIT_ATTEMPTS", "NONCE_WAIT_DELAY", "check_signed_user_ops"]

_ADDRESS_MASK = (1 << 160) - 1
#: A payment userOp whose nonce is ahead of the EntryPoint's (the client sent /exec for a quote built on top of one
#: still mining) is simulated again this many times, this many seconds apart, before the /exec is refused. Biconomy's
#: node simulates the payment userOp with 20 retries.
NONCE_WAIT_ATTEMPTS = 20
NONCE_WAIT_DELAY = 0.5
#: Validation failures of a session userOp that time mends: a window not yet open, a nonce still ahead.
_MENDED_BY_WAITING = ("AA22", "AA25")


async def _nonce_ahead(chain: ChainClient, op: MeeFilledUserOpDetails) -> bool:
    """True if the userOp's nonce is still to come on its key (earlier userOps of that key may yet be mined)."""
    key = op.user_op.nonce >> 64
    raw = await chain.call(
        ENTRY_POINT_V07_ADDRESS, encode_function_call("getNonce(address,uint192)", [op.user_op.sender, key])
    )
    return int.from_bytes(raw[:32], "big") < op.user_op.nonce


def _mode_name(mode: int) -> str:
    return {0: "USE", 1: "ENABLE", 2: "UNSAFE_ENABLE (ENABLE_AND_USE)"}.get(mode, f"0x{mode:02x}")


async def check_signed_user_ops(
    chain: ChainClient,
    ops: Sequence[tuple[int, MeeFilledUserOpDetails, bytes]],
    *,
    node: str,
    paid: bool,
    busy: Callable[[], bool] = lambda: False,
) -> None:
    """Raise a 400 :class:`NodeError` unless the signed userOps of one chain would pass: ``ops`` are ``(index in the
    body, userOp, final signature)`` in quote order. Index 0, when ``paid``, is the payment userOp: its window, its
    validation and its call must pass now. Any other userOp with ``sessionDetails`` must not fail validation for a
    reason that waiting does not mend (the module's docstring). The others are simulated for their effect on the ones
    after them, and not judged.

    ``busy`` says whether this node still has work in flight on the chain: a pipelining client may send /exec for a
    super-transaction that builds on one still mining (its nonce, or the session an earlier one enables). While it is
    busy, or while a failing userOp's nonce is still ahead of the EntryPoint's, the userOps are simulated again
    (:data:`NONCE_WAIT_ATTEMPTS` times, :data:`NONCE_WAIT_DELAY` apart) before the /exec is refused."""
    if paid and ops and ops[0][0] == 0:
        _check_window(ops[0][1], await chain.clock())
    judged = [i for i, (k, op, _) in enumerate(ops) if (k == 0 and paid) or (k > 0 and op.session_details is not None)]
    if not judged:
        return
    ops = ops[: judged[-1] + 1]  # what comes after the last judged userOp cannot change its outcome
    packed = [op.user_op.to_packed(signature) for _, op, signature in ops]
    for _ in range(NONCE_WAIT_ATTEMPTS):
        results = await simulate_user_ops(chain, packed, sender=node)
        refused = ((ops[i][1], results[i], _refusal(ops[i][0], ops[i][1], results[i], paid)) for i in judged)
        first = next(((op, result, why) for op, result, why in refused if why is not None), None)
        if first is None:
            return
        op, result, why = first
        nonce_ahead = (result.error or "").startswith("AA25") and await _nonce_ahead(chain, op)
        if not (nonce_ahead or busy()):
            break
        await asyncio.sleep(NONCE_WAIT_DELAY)  # a pipelined super-transaction: the one before it is still mining
    if op.session_details is not None:
        why = await worded_by_permission_state(
            chain,
            why,
            details=op.session_details,
            account=op.user_op.sender,
            mode=op.session_details.mode,
            chain_id=op.chain_id,
        )
    raise why


def _check_window(op: MeeFilledUserOpDetails, now: int) -> None:
    where = f"paymentInfo (chain {op.chain_id})"
    facts: dict[str, Fact] = {
        "field": "paymentInfo",
        "chainId": op.chain_id,
        "userOpIndex": 0,
        "lowerBoundTimestamp": op.lower_bound_timestamp,
        "upperBoundTimestamp": op.upper_bound_timestamp,
        "chainTime": now,
    }
    if now > op.upper_bound_timestamp:
        raise NodeError(
            400,
            f"{where}: the super-transaction's execution window has expired (it ended at {op.upper_bound_timestamp}, "
            f"chain time {now}); ask for a new quote",
            code=Code.EXECUTION_WINDOW_ENDED,
            facts=facts,
        )
    if now < op.lower_bound_timestamp:
        raise NodeError(
            400,
            f"{where}: the super-transaction is scheduled for future execution: its window opens at "
            f"{op.lower_bound_timestamp} (chain time {now}); send /exec once it has opened",
            code=Code.EXECUTION_WINDOW_NOT_OPEN,
            facts=facts,
        )


def _refusal(k: int, op: MeeFilledUserOpDetails, result: SimulatedOp, paid: bool) -> NodeError | None:
    """Why userOp ``k`` is refused (None if it is not)."""
    sig_failed = result.account_validation_data & _ADDRESS_MASK == 1
    subject = RefusedOp(
        index=k,
        field="paymentInfo" if k == 0 else f"userOps[{k - 1}]",
        chain_id=op.chain_id,
        nonce=op.user_op.nonce,
        call_data=bytes(op.user_op.call_data),
        session_details=op.session_details,
    )
    if k == 0 and paid:
        where = f"paymentInfo (chain {op.chain_id})"
        if result.error is not None:
            code, facts = validation_failed(subject, result)
            failed = f"the payment userOp fails validation: {result.error}"
            said = in_words(code, facts)
            message = f"{where}: " + (failed if said is None else f"{said} ({failed})")
        elif sig_failed:
            code, facts = signature_refused(subject)
            message = f"{where}: the account's validator refuses the signature of the payment userOp"
        elif result.reverted:
            code, facts = call_reverted(subject, result)
            message = f"{where}: the fee payment reverts: {result.revert_reason or 'no reason given'}"
        else:
            return None
        return NodeError(400, message, code=code, facts=facts)
    if op.session_details is None:
        return None
    mode = _mode_name(int(op.session_details.mode))
    where = f"userOps[{k - 1}] (chain {op.chain_id})"
    fix = "send the body with the sessionDetails and modes of the quote (USE once the permission is enabled)"
    if result.error is not None and not result.error.startswith(_MENDED_BY_WAITING):
        code, facts = validation_failed(subject, result)
        failed = f"the session userOp in mode {mode} fails validation: {result.error}"
        said = in_words(code, facts)  # the call itself is refused: the modes are not the cause
        message = f"{where}: " + (f"{failed}; {fix}" if said is None else f"{said} ({failed})")
    elif sig_failed:
        code, facts = signature_refused(subject)
        message = f"{where}: the validator refuses the session userOp in mode {mode}; {fix}"
    else:
        return None
    return NodeError(400, message, code=code, facts=facts | {"mode": op.session_details.mode.hex})
