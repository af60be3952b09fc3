"""The payment userOp, checked at ``/exec`` before anything is stored or sent.

Biconomy's node simulates the signed payment userOp when it accepts a super-transaction (its validation and its
call, on the fee chain's current state) and refuses the ``/exec`` with a 400 when it would not pass: a signature the
account refuses, a window already over, a fee transfer that reverts. Only then does it schedule every chain at once,
without waiting for the payment to be mined (:mod:`.executor`). This node does the same, so the node is paid for what
it runs on the other chains, and the client hears of an unpaid super-transaction from ``/exec`` itself.

Each refusal starts with ``paymentInfo (chain N):`` as the quote's refusals do, so that a client reads both alike
(the SDK turns ``InvalidPermissionId``, ``HashMismatch``, a policy or a balance into its typed errors).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ...encoding.abi import encode_function_call
from ...mee.wire import MeeFilledUserOpDetails
from ...versions import ENTRY_POINT_V07_ADDRESS
from ._chain import ChainClient
from .errors import NodeError
from .simulation import simulate_user_ops

__all__ = ["NONCE_WAIT_ATTEMPTS", "NONCE_WAIT_DELAY", "check_payment"]

_ADDRESS_MASK = (1 << 160) - 1
#: A payment userOp whose nonce is ahead of the EntryPoint's (the client sent /exec for a quote built on top of one
#: still mining) is simulated again this many times, this many seconds apart, before the /exec is refused. Biconomy's
#: node simulates the payment userOp with 20 retries.
NONCE_WAIT_ATTEMPTS = 20
NONCE_WAIT_DELAY = 0.5


async def _nonce_ahead(chain: ChainClient, op: MeeFilledUserOpDetails) -> bool:
    """True if the userOp's nonce is still to come on its key (earlier userOps of that key may yet be mined)."""
    key = op.user_op.nonce >> 64
    raw = await chain.call(
        ENTRY_POINT_V07_ADDRESS, encode_function_call("getNonce(address,uint192)", [op.user_op.sender, key])
    )
    return int.from_bytes(raw[:32], "big") < op.user_op.nonce


async def check_payment(
    chain: ChainClient,
    op: MeeFilledUserOpDetails,
    signature: bytes,
    *,
    node: str,
    busy: Callable[[], bool] = lambda: False,
) -> None:
    """Raise a 400 :class:`NodeError` unless the signed payment userOp ``op`` would pass now on ``chain``.

    ``busy`` says whether this node still has work in flight on the payment's chain: a pipelining client may send
    /exec for a super-transaction that builds on one still mining (its nonce, or the session an earlier one enables).
    While it is busy, or while the payment's nonce is still ahead of the EntryPoint's, a failing payment is simulated
    again (:data:`NONCE_WAIT_ATTEMPTS` times, :data:`NONCE_WAIT_DELAY` apart) before the /exec is refused."""
    where = f"paymentInfo (chain {op.chain_id})"
    now = await chain.clock()
    if now > op.upper_bound_timestamp:
        raise NodeError(
            400,
            f"{where}: the super-transaction's execution window has expired (it ended at {op.upper_bound_timestamp}, "
            f"chain time {now}); ask for a new quote",
        )
    if now < op.lower_bound_timestamp:
        raise NodeError(
            400,
            f"{where}: the super-transaction is scheduled for future execution: its window opens at "
            f"{op.lower_bound_timestamp} (chain time {now}); send /exec once it has opened",
        )
    packed = op.user_op.to_packed(signature)
    for _ in range(NONCE_WAIT_ATTEMPTS):
        [result] = await simulate_user_ops(chain, [packed], sender=node)
        if result.error is None and not result.reverted:
            break
        nonce_ahead = (result.error or "").startswith("AA25") and await _nonce_ahead(chain, op)
        if not (nonce_ahead or busy()):
            break
        await asyncio.sleep(NONCE_WAIT_DELAY)  # a pipelined super-transaction: the one before it is still mining
    if result.error is not None:
        raise NodeError(400, f"{where}: the payment userOp fails validation: {result.error}")
    if result.account_validation_data & _ADDRESS_MASK == 1:
        raise NodeError(400, f"{where}: the account's validator refuses the signature of the payment userOp")
    if result.reverted:
        raise NodeError(400, f"{where}: the fee payment reverts: {result.revert_reason or 'no reason given'}")
