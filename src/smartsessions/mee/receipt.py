"""What a super-transaction's explorer payload means (spec §9.9): its overall status, whether it is final, and which
userOp failed.

The payment userOp (index 0) and clean-up userOps are left out, as the reference SDK does; the rest decide:
FAILED if any failed off chain; else MINED_FAIL if any reverted on chain (and, by default, is confirmed); else MINING;
else PENDING; MINED_SUCCESS only when all succeeded (and are confirmed). Anything else (a MINED_FAIL or MINED_SUCCESS
not confirmed yet, a SKIPPED userOp that counts) reads as PENDING and not final, as in the reference SDK; "confirmed"
is the node's ``isConfirmed``, which it sets once the userOp's block has its ``?confirmations`` (default 3) blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ReceiptSummary", "summarize_receipt"]

Status = Literal["PENDING", "MINING", "MINED_SUCCESS", "MINED_FAIL", "FAILED"]


@dataclass(frozen=True)
class ReceiptSummary:
    status: Status
    is_final: bool
    #: ``(index in the quote's userOps, executionError)`` of each failed userOp, in order.
    failures: tuple[tuple[int, str], ...] = ()

    @property
    def error_message(self) -> str:
        """The reference SDK's ``"[index] executionError"`` lines."""
        return "\n".join(f"[{index}] {error}" for index, error in self.failures)


def _status(op: Mapping[str, Any]) -> str:
    status = str(op.get("executionStatus", "PENDING"))
    return "MINED_SUCCESS" if status == "SUCCESS" else status  # legacy name


def summarize_receipt(
    user_ops: Sequence[Mapping[str, Any]], *, mode: Literal["default", "fast-block"] = "default"
) -> ReceiptSummary:
    """Summarise the ``userOps`` of an explorer payload (payment userOp included, at index 0)."""
    relevant = [(k, op) for k, op in enumerate(user_ops) if k > 0 and not op.get("isCleanUpUserOp")]
    confirmed_needed = mode == "default"

    def confirmed(op: Mapping[str, Any]) -> bool:
        return bool(op.get("isConfirmed")) or not confirmed_needed

    failed = [(k, str(op.get("executionError") or "failed")) for k, op in relevant if _status(op) == "FAILED"]
    if failed:
        return ReceiptSummary("FAILED", True, tuple(failed))
    mined_fail = [
        (k, str(op.get("executionError") or "reverted"))
        for k, op in relevant
        if _status(op) == "MINED_FAIL" and confirmed(op)
    ]
    if mined_fail:
        return ReceiptSummary("MINED_FAIL", True, tuple(mined_fail))
    statuses = [_status(op) for _, op in relevant]
    if "MINING" in statuses:
        return ReceiptSummary("MINING", False)
    if "PENDING" in statuses:
        return ReceiptSummary("PENDING", False)
    if relevant and all(s == "MINED_SUCCESS" and confirmed(op) for s, (_, op) in zip(statuses, relevant, strict=True)):
        return ReceiptSummary("MINED_SUCCESS", True)
    return ReceiptSummary("PENDING", False)
