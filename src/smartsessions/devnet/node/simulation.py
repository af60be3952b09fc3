"""Gas estimation before any real signature exists: the userOps of one chain run through the canonical
``EntryPointSimulations`` (npm ``@account-abstraction/contracts@0.7.0``, committed as an artifact), placed at the
EntryPoint's address by a state override, in one ``eth_simulateV1`` block.

* One ``simulateHandleOp(op, 0, "")`` call per userOp, in quote order and from the node's EOA (the node paymaster
  only pays for it), so each userOp sees what the ones before it did: the payment userOp deploys the account or
  enables the session, and the next userOp of the chain is simulated on top of that.
* Signatures are placeholders of the final layout and size. The validators report a bad signature as
  ``SIG_VALIDATION_FAILED`` instead of reverting, and ``simulateHandleOp`` does not check it, so validation and
  execution run their real paths; a policy that refuses the call reverts (``AA23 reverted: PolicyViolation(...)``).
* ``preOpGas`` of the result is the validation gas (account, deployment, paymaster); the execution gas comes from
  the ``UserOperationEvent`` (``actualGasUsed``), with the EntryPoint's 10 % unused-gas penalty (on callGasLimit +
  pmPostOpGasLimit) taken out again, so it includes the node paymaster's postOp (the refund) when one runs. A
  ``UserOperationRevertReason`` log means the call itself reverted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode

from ..._coerce import keccak
from ...encoding.abi import abi_encode, selector
from ...encoding.userop import PackedUserOperation
from ...policies import (
    POLICY_NAMES,
)
from ...versions import ENTRY_POINT_V07_ADDRESS
from ..artifacts import decode_revert, load_artifact
from ..entrypoint import USER_OPERATION_EVENT_TOPIC, USER_OPERATION_REVERT_REASON_TOPIC, paymaster_gas_limits
from ._chain import ChainClient

__all__ = [
    "SIM_CALL_GAS_LIMIT",
    "SIM_VERIFICATION_GAS_LIMIT",
    "SimulatedOp",
    "allowance_override",
    "describe_failed_op",
    "failed_op_index",
    "simulate_user_ops",
]

_PACKED = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"
SIMULATE_HANDLE_OP = selector(f"simulateHandleOp({_PACKED},address,bytes)")
#: Limits the simulated userOps get: generous, so that what they use is measured, not capped.
SIM_VERIFICATION_GAS_LIMIT = 5_000_000
SIM_CALL_GAS_LIMIT = 5_000_000
_CALL_GAS = 14_000_000
_PENALTY_PERCENT = 10
_FAILED_OP = selector("FailedOp(uint256,string)")
_FAILED_OP_WITH_REVERT = selector("FailedOpWithRevert(uint256,string,bytes)")


def failed_op_index(data: bytes) -> int | None:
    """The userOp index of a ``FailedOp`` / ``FailedOpWithRevert``, or None for other revert data."""
    if data[:4] in (_FAILED_OP, _FAILED_OP_WITH_REVERT) and len(data) >= 36:
        return int.from_bytes(data[4:36], "big")
    return None


def describe_failed_op(data: bytes) -> str:
    """An EntryPoint validation failure as a reader wants it: ``AA23 reverted: PolicyViolation(permissionId=0x…,
    policy=0x…) (refused by the universal action policy, UniActionPolicy)``; other revert data decoded as it is."""
    try:
        if data[:4] == _FAILED_OP:
            _index, reason = abi_decode(["uint256", "string"], data[4:])
            return str(reason)
        if data[:4] == _FAILED_OP_WITH_REVERT:
            _index, reason, inner = abi_decode(["uint256", "string", "bytes"], data[4:])
        else:
            return decode_revert(data)
    except Exception:  # malformed revert data (a chain or contract that lies): shown raw, never raised
        return f"revert data 0x{bytes(data[:256]).hex()}"
    text = f"{reason}: {decode_revert(bytes(inner))}"
    for address, name in POLICY_NAMES.items():
        if f"policy={address}" in text.lower():
            shown = "universal action policy, UniActionPolicy" if name == "UniActionPolicy" else name
            text += f" (refused by the {shown})"
    return text


@dataclass(frozen=True)
class SimulatedOp:
    """What one simulated userOp did. ``error`` is set when validation reverted (the userOp cannot be executed), as a
    reader wants it (:func:`describe_failed_op`), and ``failure`` is the raw revert data it was read from (the
    EntryPoint's ``FailedOp`` or ``FailedOpWithRevert``; empty when the chain gave none). ``reverted`` is set when its
    call reverted: ``revert_data`` is the raw ``UserOperationRevertReason``, ``revert_reason`` that decoded."""

    error: str | None = None
    failure: bytes = b""
    validation_gas: int = 0
    execution_gas: int = 0
    reverted: bool = False
    revert_reason: str | None = None
    revert_data: bytes | None = None
    account_validation_data: int = 0
    paymaster_validation_data: int = 0

    @property
    def gas_used(self) -> int:
        return self.validation_gas + self.execution_gas


def _simulation_code() -> str:
    return "0x" + load_artifact("EntryPointSimulations").deployed_bytecode.hex()


def allowance_override(slot: int, owner: str, spender: str, amount: int) -> tuple[str, str]:
    """``(storage key, value)`` that sets ``allowance[owner][spender] = amount`` in a Solidity
    ``mapping(address => mapping(address => uint256))`` at ``slot``."""
    inner = keccak(abi_encode(["address", "uint256"], [owner, slot], what="slot"))
    key = keccak(abi_encode(["address", "bytes32"], [spender, inner], what="slot"))
    return "0x" + key.hex(), "0x" + amount.to_bytes(32, "big").hex()


def _execution_gas(actual_gas_used: int, pre_op_gas: int, call_gas_limit: int) -> int:
    """Undo the EntryPoint's penalty: ``actual = preOp + X + (L - X) * 10 / 100`` (when ``L > X``)."""
    spent = actual_gas_used - pre_op_gas
    if spent <= 0:
        return 0
    x = (spent * 100 - call_gas_limit * _PENALTY_PERCENT) * 100 // (100 - _PENALTY_PERCENT) // 100
    return max(0, min(x, spent)) if x < call_gas_limit else spent


def _words(data: bytes, count: int) -> list[int] | None:
    """The first ``count`` 32-byte words of ``data`` as uints, or None if it is shorter."""
    if len(data) < 32 * count:
        return None
    return [int.from_bytes(data[32 * k : 32 * k + 32], "big") for k in range(count)]


def _tail_bytes(data: bytes, offset: int) -> bytes | None:
    """ABI ``bytes`` whose head word says ``offset`` (from ``data``'s start): None if it does not fit."""
    if offset % 32 or offset + 32 > len(data):
        return None
    length = int.from_bytes(data[offset : offset + 32], "big")
    end = offset + 32 + length
    return data[offset + 32 : end] if end <= len(data) else None


# Reading these three shapes by hand: eth_abi's general decoder was about a tenth of the node's CPU (every simulated
# userOp has one result and one or two logs). Anything that does not fit the shape goes to eth_abi, whose errors
# then say what is wrong.


def _execution_result(data: bytes) -> tuple[int, int, int, int, bool, bytes]:
    """``simulateHandleOp``'s ``ExecutionResult(preOpGas, paid, accountValidationData, paymasterValidationData,
    targetSuccess, targetResult)``, ABI-encoded as one dynamic tuple."""
    words = _words(data, 7)
    if words is not None and words[0] == 32 and words[5] in (0, 1):
        result = _tail_bytes(data[32:], words[6])
        if result is not None:
            return words[1], words[2], words[3], words[4], bool(words[5]), result
    decoded = abi_decode(["(uint256,uint256,uint256,uint256,bool,bytes)"], data)[0]
    return int(decoded[0]), int(decoded[1]), int(decoded[2]), int(decoded[3]), bool(decoded[4]), bytes(decoded[5])


def _parse_logs(logs: Sequence[dict[str, Any]]) -> tuple[int | None, bool, bytes | None]:
    used, success, reason = None, True, None
    for log in logs:
        topics = [bytes.fromhex(t[2:]) for t in log.get("topics", [])]
        if not topics or log.get("address", "").lower() != ENTRY_POINT_V07_ADDRESS.lower():
            continue
        data = bytes.fromhex(log["data"][2:])
        if topics[0] == USER_OPERATION_EVENT_TOPIC:  # (uint256 nonce, bool success, uint256 cost, uint256 gasUsed)
            words = _words(data, 4)
            if words is None or words[1] not in (0, 1):
                words = [int(w) for w in abi_decode(["uint256", "bool", "uint256", "uint256"], data)]
            used, success = words[3], bool(words[1])
        elif topics[0] == USER_OPERATION_REVERT_REASON_TOPIC:  # (uint256 nonce, bytes revertReason)
            head = _words(data, 2)
            raw = None if head is None else _tail_bytes(data, head[1])
            reason = bytes(raw if raw is not None else abi_decode(["uint256", "bytes"], data)[1])
    return used, success, reason


async def simulate_user_ops(
    chain: ChainClient,
    ops: Sequence[PackedUserOperation],
    *,
    sender: str,
    state_overrides: dict[str, Any] | None = None,
) -> list[SimulatedOp]:
    """Simulate ``ops`` (already carrying the simulation limits and placeholder signatures) in order."""
    overrides: dict[str, Any] = {ENTRY_POINT_V07_ADDRESS: {"code": _simulation_code()}}
    for address, override in (state_overrides or {}).items():
        overrides.setdefault(address, {}).update(override)
    calls = [
        {
            "from": sender,
            "to": ENTRY_POINT_V07_ADDRESS,
            "gas": hex(_CALL_GAS),
            "data": "0x"
            + (
                SIMULATE_HANDLE_OP
                + abi_encode([_PACKED, "address", "bytes"], [op.to_abi(), "0x" + "00" * 20, b""], what="simulation")
            ).hex(),
        }
        for op in ops
    ]
    results = await chain.simulate(calls, overrides)
    out = []
    for op, result in zip(ops, results, strict=True):
        data = bytes.fromhex(str(result.get("returnData", "0x"))[2:])
        if result.get("status") != "0x1":
            if not data:
                message = str((result.get("error") or {}).get("message", "reverted without data"))
            else:
                message = describe_failed_op(data)
            out.append(SimulatedOp(error=message, failure=data))
            continue
        (pre_op_gas, _paid, account_vd, paymaster_vd, _ok, _res) = _execution_result(data)
        used, success, reason = _parse_logs(result.get("logs", []))
        # The penalty applies to callGasLimit + pmPostOpGasLimit; the execution gas includes the paymaster's postOp.
        limit = op.call_gas_limit + paymaster_gas_limits(op.paymaster_and_data)[1]
        execution = 0 if used is None else _execution_gas(used, pre_op_gas, limit)
        out.append(
            SimulatedOp(
                validation_gas=int(pre_op_gas) - op.pre_verification_gas,
                execution_gas=execution,
                reverted=not success,
                revert_reason=None if reason is None else decode_revert(reason),
                revert_data=reason,
                account_validation_data=int(account_vd),
                paymaster_validation_data=int(paymaster_vd),
            )
        )
    return out
