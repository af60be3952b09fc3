"""Instructions: what a super-transaction runs on one chain, before it becomes a userOp.

* :class:`~smartsessions.account.multichain.Instruction` holds plain calls: its call data is ERC-7579 ``execute``
  (single for one call, batch for more). Session userOps must be plain: SmartSessions checks each call.
* :class:`ComposableInstruction` holds composable calls: its call data is ``executeComposable`` (composability
  1.0.0). The SDK builds owner-side set-up this way (install SmartSessions, add the safe sender, enable sessions).

:func:`batch_instructions` merges the instructions of each chain into one (first-appearance order), as the reference
SDK's ``batchInstructions`` does before quoting: one userOp per chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hexbytes import HexBytes

from .._model import HexData, Model, Uint64, Uint256
from ..errors import InvalidInputError
from .calls import Call, ComposableExecution, encode_execute_composable, to_composable_execution
from .multichain import Instruction

__all__ = [
    "LARGE_DEFAULT_GAS_LIMIT",
    "AnyInstruction",
    "ComposableCall",
    "ComposableInstruction",
    "Instruction",
    "batch_instructions",
    "to_composable_call",
    "to_instruction",
]

#: The gas limit the SDK gives a call that names none (its share of the userOp's ``callGasLimit``).
LARGE_DEFAULT_GAS_LIMIT = 700_000


class ComposableCall(ComposableExecution):
    """A composable execution with its share of the userOp's ``callGasLimit`` (default 700,000)."""

    gas_limit: Uint256 | None = None


def to_composable_call(*, to: object, data: object, value: object = 0, gas_limit: int | None = None) -> ComposableCall:
    """A plain call as a composable one: its selector, and the rest of its call data as one RAW_BYTES parameter."""
    execution = to_composable_execution(to=to, data=data, value=value)
    return ComposableCall(**dict(execution), gas_limit=gas_limit)


class ComposableInstruction(Model):
    """Composable calls to run on one chain as one userOp (``executeComposable``)."""

    chain_id: Uint64
    calls: tuple[ComposableCall, ...]
    lower_bound_timestamp: int | None = None
    upper_bound_timestamp: int | None = None
    metadata: tuple[dict[str, Any], ...] = ()
    #: What the node's simulation of this userOp should assume (``{"customOverrides": [...], "tokenOverrides": [...]}``,
    #: spec §9.3 ``simulationOverrides``): state an earlier userOp of the super-transaction will have written.
    simulation_overrides: dict[str, Any] | None = None

    @property
    def call_data(self) -> HexData:
        return HexBytes(encode_execute_composable(self.calls))

    @property
    def call_gas_limit(self) -> int:
        return sum(c.gas_limit if c.gas_limit is not None else LARGE_DEFAULT_GAS_LIMIT for c in self.calls)


AnyInstruction = Instruction | ComposableInstruction


def to_instruction(value: AnyInstruction | dict[str, Any]) -> AnyInstruction:
    """An instruction from a model or a dict (``{"chain_id", "calls": [...]}``; composable when its calls carry a
    ``function_sig``)."""
    if isinstance(value, (Instruction, ComposableInstruction)):
        return value
    if not isinstance(value, dict):
        raise InvalidInputError(
            "instructions", "each instruction must be an Instruction or a dict", value=type(value).__name__
        )
    calls = value.get("calls") or []
    composable = any(
        isinstance(c, ComposableExecution) or (isinstance(c, dict) and ("function_sig" in c or "functionSig" in c))
        for c in calls
    )
    return ComposableInstruction.model_validate(value) if composable else Instruction.model_validate(value)


def _merge(group: Sequence[AnyInstruction]) -> AnyInstruction:
    """One instruction of a chain's instructions: calls and metadata concatenated; the window of the instruction
    with the widest window (the last of equals), when any sets both bounds."""
    composable = isinstance(group[0], ComposableInstruction)
    if any(isinstance(i, ComposableInstruction) != composable for i in group):
        raise InvalidInputError(
            "instructions",
            f"chain {group[0].chain_id} mixes composable and plain instructions, which cannot be batched together",
            fix="build all instructions of a chain the same way, or pass batch=False",
        )
    widest, lower, upper = 0, None, None
    for i in group:
        if i.lower_bound_timestamp is not None and i.upper_bound_timestamp is not None:
            if i.upper_bound_timestamp <= i.lower_bound_timestamp:
                raise InvalidInputError(
                    "instructions.upper_bound_timestamp",
                    "must be after lower_bound_timestamp",
                    value=(i.lower_bound_timestamp, i.upper_bound_timestamp),
                )
            window = i.upper_bound_timestamp - i.lower_bound_timestamp
            if window >= widest:
                widest, lower, upper = window, i.lower_bound_timestamp, i.upper_bound_timestamp
    metadata = tuple(m for i in group for m in i.metadata)
    if composable:
        return ComposableInstruction(
            chain_id=group[0].chain_id,
            calls=tuple(c for i in group for c in i.calls),
            lower_bound_timestamp=lower,
            upper_bound_timestamp=upper,
            metadata=metadata,
            simulation_overrides=_merged_overrides(group),
        )
    calls = [c for i in group for c in i.calls if isinstance(c, Call)]  # not composable: every call is a plain Call
    return Instruction(
        chain_id=group[0].chain_id,
        calls=tuple(calls),
        lower_bound_timestamp=lower,
        upper_bound_timestamp=upper,
        metadata=metadata,
    )


def _merged_overrides(group: Sequence[AnyInstruction]) -> dict[str, Any] | None:
    """The simulation overrides of a batch: every instruction's, concatenated by kind (both kinds named when any
    is), as the reference's ``buildBatch`` merges them."""
    token: list[Any] = []
    custom: list[Any] = []
    for i in group:
        overrides = i.simulation_overrides if isinstance(i, ComposableInstruction) else None
        if overrides:
            token.extend(overrides.get("tokenOverrides") or ())
            custom.extend(overrides.get("customOverrides") or ())
    return {"tokenOverrides": token, "customOverrides": custom} if token or custom else None


def batch_instructions(instructions: Sequence[AnyInstruction]) -> list[AnyInstruction]:
    """One instruction per chain, chains in first-appearance order; a chain's only instruction is kept as it is."""
    groups: dict[int, list[AnyInstruction]] = {}
    for instruction in instructions:
        groups.setdefault(instruction.chain_id, []).append(instruction)
    return [group[0] if len(group) == 1 else _merge(group) for group in groups.values()]
