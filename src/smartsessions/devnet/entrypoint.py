"""EntryPoint v0.7 bundling: ``handleOps`` call data, and what a bundle's receipt says about each userOp.

Pure functions, shared by the contract tests, the gas benchmark and the local MEE node's executor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._coerce import keccak, to_address, to_bytes, to_bytes32
from ..encoding.abi import abi_decode, abi_encode, selector
from ..encoding.userop import PackedUserOperation
from ..errors import InvalidInputError
from .artifacts import decode_revert

__all__ = [
    "HANDLE_OPS_SELECTOR",
    "USER_OPERATION_EVENT_TOPIC",
    "USER_OPERATION_REVERT_REASON_TOPIC",
    "UserOpResult",
    "decode_handle_ops_revert",
    "encode_handle_ops",
    "max_gas_limit",
    "parse_user_op_results",
    "paymaster_gas_limits",
]

_PACKED = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"
HANDLE_OPS_SELECTOR = selector(f"handleOps({_PACKED}[],address)")
USER_OPERATION_EVENT_TOPIC = keccak(b"UserOperationEvent(bytes32,address,address,uint256,bool,uint256,uint256)")
USER_OPERATION_REVERT_REASON_TOPIC = keccak(b"UserOperationRevertReason(bytes32,address,uint256,bytes)")
_FAILED_OP = selector("FailedOp(uint256,string)")
_FAILED_OP_WITH_REVERT = selector("FailedOpWithRevert(uint256,string,bytes)")


def encode_handle_ops(ops: Sequence[PackedUserOperation], beneficiary: object) -> bytes:
    return HANDLE_OPS_SELECTOR + abi_encode(
        [f"{_PACKED}[]", "address"],
        [[op.to_abi() for op in ops], to_address(beneficiary, field="beneficiary")],
        what="handleOps",
    )


def paymaster_gas_limits(paymaster_and_data: bytes) -> tuple[int, int]:
    """``(pmVerificationGasLimit, pmPostOpGasLimit)`` as the EntryPoint reads them from bytes 20–52 of
    ``paymasterAndData``; ``(0, 0)`` without a paymaster (the EntryPoint refuses 1–51 bytes as AA93)."""
    data = bytes(paymaster_and_data)
    if len(data) < 52:
        return 0, 0
    return int.from_bytes(data[20:36], "big"), int.from_bytes(data[36:52], "big")


def max_gas_limit(op: PackedUserOperation) -> int:
    """All the gas the EntryPoint may charge a userOp for: its limits, the paymaster's two included (spec §9.4
    ``maxGasLimit``; what the node charges for, at ``maxFeePerGas``, and sizes bundles with)."""
    return (
        op.verification_gas_limit
        + op.call_gas_limit
        + op.pre_verification_gas
        + sum(paymaster_gas_limits(op.paymaster_and_data))
    )


@dataclass(frozen=True)
class UserOpResult:
    """One userOp of a mined bundle, from its ``UserOperationEvent`` (and revert reason, if execution failed)."""

    user_op_hash: bytes
    sender: str
    paymaster: str
    nonce: int
    success: bool
    actual_gas_cost: int
    actual_gas_used: int
    revert_reason: bytes | None = None

    @property
    def revert_message(self) -> str | None:
        return None if self.revert_reason is None else decode_revert(self.revert_reason)


_RECEIPT_FIX = "pass the eth_getTransactionReceipt result of the handleOps transaction, as the node answered it"


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInputError(
            field, f"must be a JSON array, got {type(value).__name__}", fix=_RECEIPT_FIX, value=value
        )
    return value


def _topics(log: object, k: int, needed: int) -> list[bytes] | None:
    """The log's topics as bytes if its first is one of the EntryPoint events read here (None otherwise)."""
    if not isinstance(log, Mapping):
        raise InvalidInputError(
            f"receipt.logs[{k}]", f"must be a JSON object, got {type(log).__name__}", fix=_RECEIPT_FIX
        )
    raw = _list(log.get("topics"), f"receipt.logs[{k}].topics")
    if not raw:
        return None
    first = bytes(to_bytes32(raw[0], field=f"receipt.logs[{k}].topics[0]"))
    if first not in (USER_OPERATION_EVENT_TOPIC, USER_OPERATION_REVERT_REASON_TOPIC):
        return None
    if len(raw) < needed:
        raise InvalidInputError(
            f"receipt.logs[{k}].topics",
            f"an EntryPoint event has {needed} topics, this log {len(raw)}",
            fix=_RECEIPT_FIX,
        )
    return [bytes(to_bytes32(t, field=f"receipt.logs[{k}].topics[{j}]")) for j, t in enumerate(raw)]


def parse_user_op_results(receipt: Mapping[str, Any]) -> list[UserOpResult]:
    """Every userOp of a ``handleOps`` receipt, in log order.

    A receipt not shaped as ``eth_getTransactionReceipt`` answers raises
    :class:`~smartsessions.errors.InvalidInputError` naming the bad field (``receipt.logs[2].topics[1]``); event
    data that is not the event's ABI encoding raises :class:`~smartsessions.errors.EncodingError`."""
    if not isinstance(receipt, Mapping):
        raise InvalidInputError("receipt", f"must be a JSON object, got {type(receipt).__name__}", fix=_RECEIPT_FIX)
    reasons: dict[bytes, bytes] = {}
    events = []
    for k, log in enumerate(_list(receipt.get("logs", []), "receipt.logs")):
        topics = _topics(log, k, needed=2)
        if topics is None:
            continue
        data = bytes(to_bytes(log.get("data"), field=f"receipt.logs[{k}].data"))
        if topics[0] == USER_OPERATION_REVERT_REASON_TOPIC:
            _nonce, reason = abi_decode(
                ["uint256", "bytes"], data, what=f"receipt.logs[{k}] (UserOperationRevertReason)"
            )
            reasons[topics[1]] = bytes(reason)
        else:
            if len(topics) < 4:
                raise InvalidInputError(
                    f"receipt.logs[{k}].topics",
                    f"a UserOperationEvent has 4 topics, this log {len(topics)}",
                    fix=_RECEIPT_FIX,
                )
            events.append((k, topics, data))
    results = []
    for k, topics, data in events:
        nonce, success, cost, used = abi_decode(
            ["uint256", "bool", "uint256", "uint256"], data, what=f"receipt.logs[{k}] (UserOperationEvent)"
        )
        results.append(
            UserOpResult(
                user_op_hash=topics[1],
                sender=to_address(topics[2][12:], field="sender"),
                paymaster=to_address(topics[3][12:], field="paymaster"),
                nonce=nonce,
                success=success,
                actual_gas_cost=cost,
                actual_gas_used=used,
                revert_reason=reasons.get(topics[1]),
            )
        )
    return results


def decode_handle_ops_revert(data: bytes) -> str:
    """``FailedOp(index, "AA23 reverted")`` and friends, with the inner revert decoded where there is one. Revert
    data that is no valid encoding of its error raises :class:`~smartsessions.errors.EncodingError`."""
    raw = bytes(to_bytes(data, field="data"))
    if raw[:4] == _FAILED_OP:
        index, reason = abi_decode(["uint256", "string"], raw[4:], what="FailedOp revert data")
        return f"FailedOp(op {index}: {reason})"
    if raw[:4] == _FAILED_OP_WITH_REVERT:
        index, reason, inner = abi_decode(
            ["uint256", "string", "bytes"], raw[4:], what="FailedOpWithRevert revert data"
        )
        return f"FailedOpWithRevert(op {index}: {reason}: {decode_revert(bytes(inner))})"
    return decode_revert(raw)
