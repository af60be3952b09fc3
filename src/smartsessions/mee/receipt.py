"""What a super-transaction's explorer payload means (spec §9.9): its overall status, whether it is final, and which
userOp failed.

The payment userOp (index 0) and clean-up userOps are left out, as the reference SDK does; the rest decide:
FAILED if any failed off chain; else MINED_FAIL if any reverted on chain (and, by default, is confirmed); else MINING;
else PENDING; MINED_SUCCESS only when all succeeded (and are confirmed). Anything else (a MINED_FAIL or MINED_SUCCESS
not confirmed yet, a SKIPPED userOp that counts) reads as PENDING and not final, as in the reference SDK; "confirmed"
is the node's ``isConfirmed``, which it sets once the userOp's block has its ``?confirmations`` (default 3) blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._repr import bounded_repr
from ..account.multichain import MultichainNexusAccount
from ..errors import InvalidInputError, RpcError
from ..rpc import RpcClient, quantity
from ..wire.mee import ExplorerResponse

__all__ = ["ReceiptSummary", "summarize_receipt", "transaction_receipts"]

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


_FIX = "pass the userOps of the node's explorer answer (GET /explorer/{hash})"


def _status(op: Mapping[str, Any], k: int) -> str:
    status = op.get("executionStatus")
    if status is None:
        return "PENDING"
    if not isinstance(status, str):
        raise InvalidInputError(
            f"userOps[{k}].executionStatus",
            f"must be a string, got {type(status).__name__}",
            fix=_FIX,
            value=status,
        )
    return "MINED_SUCCESS" if status == "SUCCESS" else status  # legacy name


def _error(op: Mapping[str, Any], default: str) -> str:
    error = op.get("executionError")
    if not error:
        return default
    return error if isinstance(error, str) else bounded_repr(error, 2000)


def _entries(user_ops: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(user_ops, (str, bytes)) or not isinstance(user_ops, Sequence):
        raise InvalidInputError(
            "userOps",
            f"must be a list of userOp objects, got {type(user_ops).__name__}",
            fix=_FIX,
            value=user_ops,
        )
    for k, op in enumerate(user_ops):
        if not isinstance(op, Mapping):
            raise InvalidInputError(
                f"userOps[{k}]",
                f"must be a JSON object, got {type(op).__name__}",
                fix=_FIX,
                value=op,
            )
    return list(user_ops)


def summarize_receipt(
    user_ops: Sequence[Mapping[str, Any]], *, mode: Literal["default", "fast-block"] = "default"
) -> ReceiptSummary:
    """Summarise the ``userOps`` of an explorer payload (payment userOp included, at index 0).

    Raises :class:`~smartsessions.errors.InvalidInputError` for entries that are not objects, or an
    ``executionStatus`` that is not a string."""
    entries = _entries(user_ops)
    relevant = [(k, op) for k, op in enumerate(entries) if k > 0 and not op.get("isCleanUpUserOp")]
    statuses = {k: _status(op, k) for k, op in relevant}
    confirmed_needed = mode == "default"

    def confirmed(op: Mapping[str, Any]) -> bool:
        return bool(op.get("isConfirmed")) or not confirmed_needed

    failed = [(k, _error(op, "failed")) for k, op in relevant if statuses[k] == "FAILED"]
    if failed:
        return ReceiptSummary("FAILED", True, tuple(failed))
    mined_fail = [(k, _error(op, "reverted")) for k, op in relevant if statuses[k] == "MINED_FAIL" and confirmed(op)]
    if mined_fail:
        return ReceiptSummary("MINED_FAIL", True, tuple(mined_fail))
    if "MINING" in statuses.values():
        return ReceiptSummary("MINING", False)
    if "PENDING" in statuses.values():
        return ReceiptSummary("PENDING", False)
    if relevant and all(statuses[k] == "MINED_SUCCESS" and confirmed(op) for k, op in relevant):
        return ReceiptSummary("MINED_SUCCESS", True)
    return ReceiptSummary("PENDING", False)


async def transaction_receipts(account: MultichainNexusAccount, payload: ExplorerResponse) -> list[dict[str, Any]]:
    """The receipts of the transactions that carried a succeeded super-transaction's userOps (one batch per chain,
    chains at once), in the userOps' order; ``{}`` for one the chain does not know."""
    by_chain: dict[int, list[str]] = {}
    for op in payload.user_ops[1:]:
        if op.execution_data is not None and (not op.is_clean_up_user_op or op.execution_status == "MINED_SUCCESS"):
            by_chain.setdefault(op.chain_id, []).append("0x" + bytes(op.execution_data).hex())

    async def chain_receipts(chain_id: int, hashes: list[str]) -> dict[str, Any]:
        unique = list(dict.fromkeys(hashes))
        rpc: RpcClient = account.deployment_on(chain_id).rpc
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
