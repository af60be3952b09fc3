"""A failed userOp's cause as the explorer gives it: the same code and facts a refusal at the quote would carry.

The executor keeps the raw revert data of a userOp's failure (``revertError``): the EntryPoint's ``FailedOp`` or
``FailedOpWithRevert`` when its validation failed (for good, or at its last try before its window ended), the call's
revert data when it reverted on chain. Read with the quote's userOp, they give ``executionErrorCode`` and
``executionErrorFacts`` (:mod:`.refusals`), so that a client names the cause of a failed super-transaction by code,
as it does a refused quote, instead of reading ``executionError``'s text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..artifacts import decode_error
from .errors import Code, Fact
from .refusals import RefusedOp, call_reverted, validation_failed
from .simulation import SimulatedOp

__all__ = ["failure_code"]


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(str(value), 0)


def failure_code(
    index: int, issued: Mapping[str, Any], status: str, error: str | None, revert_hex: str | None
) -> tuple[Code, dict[str, Fact]] | None:
    """The code and facts of userOp ``index`` of a quote (``issued``: its JSON as accepted), failed with ``status``,
    ``error`` (its text) and ``revert_hex`` (the raw revert data); None when nothing is known to read."""
    if status not in ("FAILED", "MINED_FAIL") or not revert_hex:
        return None
    try:
        data = bytes.fromhex(revert_hex[2:])
        user_op = issued["userOp"]
        op = RefusedOp(
            index=index,
            field="paymentInfo" if index == 0 else f"userOps[{index - 1}]",
            chain_id=_int(issued["chainId"]),
            nonce=_int(user_op["nonce"]),
            call_data=bytes.fromhex(str(user_op["callData"])[2:]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    decoded = decode_error(data)
    if decoded is not None and decoded[0] in ("FailedOp", "FailedOpWithRevert"):
        return validation_failed(op, SimulatedOp(error=error or "", failure=data))
    return call_reverted(op, SimulatedOp(reverted=True, revert_data=data))
