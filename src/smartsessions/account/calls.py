"""Account call data: ERC-7579 ``execute`` (single / batch) and composability 1.0.0 ``executeComposable``
(spec §10.5).

Session userOps must use plain ``execute``: SmartSessions checks each inner ``(target, selector)`` against the
session's actions, while it treats ``executeComposable`` as one call to the account itself (spec §4.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from hexbytes import HexBytes
from pydantic import Field

from .._coerce import to_address, to_bytes
from .._model import Address, Bytes4, HexData, Model, Uint256
from ..encoding.abi import abi_decode, abi_encode, selector
from ..errors import EncodingError, InvalidInputError

__all__ = [
    "EXECUTE_COMPOSABLE_SELECTOR",
    "EXECUTE_SELECTOR",
    "Call",
    "ComposableExecution",
    "Constraint",
    "ConstraintType",
    "FetcherType",
    "InputParam",
    "OutputParam",
    "decode_execute",
    "encode_execute",
    "encode_execute_batch",
    "encode_execute_composable",
    "encode_execute_single",
    "to_composable_execution",
    "to_condition_input_param",
]

EXECUTE_SELECTOR = selector("execute(bytes32,bytes)")
EXECUTE_COMPOSABLE_SELECTOR = selector(
    "executeComposable((address,uint256,bytes4,(uint8,bytes,(uint8,bytes)[])[],(uint8,bytes)[])[])"
)
_MODE_SINGLE = bytes(32)
_MODE_BATCH = b"\x01" + bytes(31)


class Call(Model):
    """One call of an instruction. ``gas_limit`` is the call's share of the userOp's ``callGasLimit``."""

    to: Address
    data: HexData = HexBytes(b"")
    value: Uint256 = 0
    gas_limit: Uint256 | None = None


def encode_execute_single(call: Call) -> HexBytes:
    """``execute(0x00…, abi.encodePacked(target, value, data))``."""
    packed = bytes.fromhex(call.to[2:]) + call.value.to_bytes(32, "big") + bytes(call.data)
    return HexBytes(EXECUTE_SELECTOR + abi_encode(["bytes32", "bytes"], [_MODE_SINGLE, packed], what="call"))


def encode_execute_batch(calls: Sequence[Call]) -> HexBytes:
    """``execute(0x01…, abi.encode((address,uint256,bytes)[]))``."""
    execs = abi_encode(["(address,uint256,bytes)[]"], [[(c.to, c.value, bytes(c.data)) for c in calls]], what="calls")
    return HexBytes(EXECUTE_SELECTOR + abi_encode(["bytes32", "bytes"], [_MODE_BATCH, execs], what="calls"))


def encode_execute(calls: Sequence[Call | dict[str, Any]]) -> HexBytes:
    """Single mode for one call, batch mode for more, as the SDK builds instructions."""
    parsed = [c if isinstance(c, Call) else Call.model_validate(c) for c in calls]
    if not parsed:
        raise InvalidInputError("calls", "an instruction needs at least one call", fix="pass one or more Call")
    return encode_execute_single(parsed[0]) if len(parsed) == 1 else encode_execute_batch(parsed)


def decode_execute(call_data: object) -> list[Call]:
    """The calls inside ERC-7579 ``execute`` call data (single or batch mode); the inverse of :func:`encode_execute`.

    Raises :class:`~smartsessions.errors.EncodingError` for anything else (``executeComposable`` included)."""
    raw = bytes(to_bytes(call_data, field="call_data"))
    if raw[:4] != EXECUTE_SELECTOR:
        raise EncodingError(f"Not ERC-7579 execute call data (selector 0x{raw[:4].hex()}).")
    mode, execution = abi_decode(["bytes32", "bytes"], raw[4:], what="execute")
    mode, execution = bytes(mode), bytes(execution)
    if mode == _MODE_SINGLE:
        if len(execution) < 52:
            raise EncodingError("execute single-mode data is shorter than target and value.")
        return [Call(to=execution[:20], value=int.from_bytes(execution[20:52], "big"), data=execution[52:])]
    if mode == _MODE_BATCH:
        [items] = abi_decode(["(address,uint256,bytes)[]"], execution, what="execute batch")
        return [Call(to=to, value=value, data=bytes(data)) for to, value, data in items]
    raise EncodingError(f"Unsupported execute mode 0x{mode.hex()}.")


class FetcherType(IntEnum):
    RAW_BYTES = 0
    STATIC_CALL = 1


class ConstraintType(IntEnum):
    EQ = 0
    GTE = 1
    LTE = 2
    IN = 3


class Constraint(Model):
    constraint_type: ConstraintType  # uint8
    reference_data: HexData  # bytes


class InputParam(Model):
    fetcher_type: FetcherType  # uint8
    param_data: HexData  # bytes
    constraints: tuple[Constraint, ...] = ()  # Constraint[]


class OutputParam(Model):
    fetcher_type: FetcherType  # uint8
    param_data: HexData  # bytes


class ComposableExecution(Model):
    to: Address  # address
    value: Uint256 = 0  # uint256
    function_sig: Bytes4  # bytes4
    input_params: tuple[InputParam, ...] = ()  # InputParam[]
    output_params: tuple[OutputParam, ...] = Field(default=())  # OutputParam[]

    def to_abi(self) -> tuple[Any, ...]:
        return (
            self.to,
            self.value,
            bytes(self.function_sig),
            [
                (
                    int(p.fetcher_type),
                    bytes(p.param_data),
                    [(int(c.constraint_type), bytes(c.reference_data)) for c in p.constraints],
                )
                for p in self.input_params
            ],
            [(int(p.fetcher_type), bytes(p.param_data)) for p in self.output_params],
        )


def encode_execute_composable(executions: Sequence[ComposableExecution]) -> HexBytes:
    body = abi_encode(
        ["(address,uint256,bytes4,(uint8,bytes,(uint8,bytes)[])[],(uint8,bytes)[])[]"],
        [[e.to_abi() for e in executions]],
        what="executions",
    )
    return HexBytes(EXECUTE_COMPOSABLE_SELECTOR + body)


def to_composable_execution(*, to: object, data: object, value: object = 0) -> ComposableExecution:
    """A plain call as a composable execution: selector plus one RAW_BYTES param with the rest of the calldata.

    This is the SDK's "efficient mode": all static arguments travel as one raw parameter.
    """
    raw = bytes(to_bytes(data, field="data"))
    if len(raw) < 4:
        raise InvalidInputError("data", "composable calls need at least a 4-byte selector", fix="pass full calldata")
    return ComposableExecution(
        to=to_address(to, field="to"),
        value=value,
        function_sig=raw[:4],
        input_params=(InputParam(fetcher_type=FetcherType.RAW_BYTES, param_data=raw[4:]),),
    )


def to_condition_input_param(*, target: object, call_data: object, expected: object) -> InputParam:
    """A STATIC_CALL input whose 32-byte result must equal ``expected``; it appends that word to the call data."""
    param_data = abi_encode(
        ["address", "bytes"],
        [to_address(target, field="target"), bytes(to_bytes(call_data, field="call_data"))],
        what="condition",
    )
    return InputParam(
        fetcher_type=FetcherType.STATIC_CALL,
        param_data=param_data,
        constraints=(
            Constraint(
                constraint_type=ConstraintType.EQ,
                reference_data=to_bytes(expected, field="expected", length=32),
            ),
        ),
    )
