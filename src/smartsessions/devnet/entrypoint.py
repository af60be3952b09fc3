"""EntryPoint v0.7 bundling: ``handleOps`` call data, and what a bundle's receipt says about each userOp.

Pure functions, shared by the contract tests, the gas benchmark and the local MEE node's executor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode

from .._coerce import keccak, to_address
from ..encoding.abi import abi_encode, selector
from ..encoding.userop import PackedUserOperation
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


def _topic_bytes(topic: str) -> bytes:
    return bytes.fromhex(topic[2:])


def parse_user_op_results(receipt: dict[str, Any]) -> list[UserOpResult]:
    """Every userOp of a ``handleOps`` receipt, in log order."""
    reasons: dict[bytes, bytes] = {}
    events = []
    for log in receipt.get("logs", []):
        topics = [_topic_bytes(t) for t in log["topics"]]
        data = bytes.fromhex(log["data"][2:])
        if topics and topics[0] == USER_OPERATION_REVERT_REASON_TOPIC:
            _nonce, reason = abi_decode(["uint256", "bytes"], data)
            reasons[topics[1]] = bytes(reason)
        elif topics and topics[0] == USER_OPERATION_EVENT_TOPIC:
            events.append((topics, data))
    results = []
    for topics, data in events:
        nonce, success, cost, used = abi_decode(["uint256", "bool", "uint256", "uint256"], data)
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
    """``FailedOp(index, "AA23 reverted")`` and friends, with the inner revert decoded where there is one."""
    if data[:4] == _FAILED_OP:
        index, reason = abi_decode(["uint256", "string"], data[4:])
        return f"FailedOp(op {index}: {reason})"
    if data[:4] == _FAILED_OP_WITH_REVERT:
        index, reason, inner = abi_decode(["uint256", "string", "bytes"], data[4:])
        return f"FailedOpWithRevert(op {index}: {reason}: {decode_revert(bytes(inner))})"
    return decode_revert(data)
