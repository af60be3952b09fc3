"""``build_action_policy``: one call for any action policy, typed, as abstractjs ``buildActionPolicy`` builds it.

The reference's new session flow names a policy by ``type`` (``"sudo"``, ``"universal"``, ``"timeframe"``,
``"usageLimit"``, ``"spendingLimits"``) and writes the universal policy's conditions as strings (``"lessThanOrEqual"``).
Each type here is a frozen model (``BuildUniversalActionPolicyParams``, ...; :data:`ActionPolicyParams` is their union,
discriminated by ``type``), and the policy is built by the policy's own module (:mod:`.universal_action`,
:mod:`.time_frame`, ...): for valid, unambiguous inputs the bytes are the reference's (``tests/vectors/
build_action_policy.json``).

Where the reference turns a mistake into another permission without a word (a condition it does not know becomes
``equal``, a usage limit without ``isLimited`` is not enforced, ``validUntil: 0`` means no end, a field of another type
is dropped, ...), the model refuses it with an :class:`~smartsessions.errors.InvalidInputError` naming the field and the
fix. The list is in ``docs/reference-differences.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from .._model import Bytes32, Model, Uint48, Uint64, Uint128, Uint256, parse_by_type
from ..encoding.session import PolicyData
from ..errors import InvalidInputError
from .spending_limits import SpendingLimit, get_spending_limits_policy
from .sudo import get_sudo_policy
from .time_frame import get_time_frame_policy
from .universal_action import (
    MAX_RULES,
    LimitUsage,
    ParamCondition,
    ParamRule,
    ParamRules,
    _ref_word,
    get_universal_action_policy,
)
from .usage_limit import get_usage_limit_policy

__all__ = [
    "SDK_PADDING_RULE",
    "ActionPolicyParams",
    "BuildSpendingLimitsActionPolicyParams",
    "BuildSudoActionPolicyParams",
    "BuildTimeFrameActionPolicyParams",
    "BuildUniversalActionPolicyParams",
    "BuildUniversalActionPolicyRule",
    "BuildUsageLimitActionPolicyParams",
    "UniversalActionPolicyConditionType",
    "build_action_policy",
    "calldata_argument",
]

UniversalActionPolicyConditionType = Literal[
    "equal", "notEqual", "greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual"
]

_CONDITIONS: dict[str, ParamCondition] = {
    "equal": ParamCondition.EQUAL,
    "notEqual": ParamCondition.NOT_EQUAL,
    "greaterThan": ParamCondition.GREATER_THAN,
    "lessThan": ParamCondition.LESS_THAN,
    "greaterThanOrEqual": ParamCondition.GREATER_THAN_OR_EQUAL,
    "lessThanOrEqual": ParamCondition.LESS_THAN_OR_EQUAL,
}

#: abstractjs pads the 16 rule slots with this rule (module-sdk's own examples pad with the all-zero rule); the contract
#: never reads a slot past ``length``, but the bytes, and so the session digest, depend on it.
SDK_PADDING_RULE = ParamRule(condition=ParamCondition.GREATER_THAN, offset=0, ref=bytes(32))

_UINT64 = (1 << 64) - 1


def _refuse(problem: str, fix: str) -> PydanticCustomError:
    """A validator's refusal, turned by the model base into an ``InvalidInputError`` naming the field's path."""
    return PydanticCustomError("smartsessions", "{problem}|{fix}", {"problem": problem, "fix": fix})


def calldata_argument(n: int) -> int:
    """The ``offset`` of a universal-action rule on the ``n``-th (1-based) 32-byte argument of a call:
    ``(n - 1) * 32``, as abstractjs ``calldataArgument(n)``. A non-integer ``n`` is refused (the reference turns 1.5
    into offset 16, the middle of the first argument)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidInputError(
            "n", f"expected an integer, got {type(n).__name__}", fix="pass the argument's position: 1, 2, ...", value=n
        )
    if n < 1:
        raise InvalidInputError("n", "arguments are counted from 1", fix="pass 1 for the first argument", value=n)
    offset = (n - 1) * 32
    if offset > _UINT64:
        raise InvalidInputError(
            "n", "its offset does not fit the rule's uint64 offset", fix=f"pass at most {_UINT64 // 32 + 1}", value=n
        )
    return offset


class BuildSudoActionPolicyParams(Model):
    """``{type: "sudo"}``: the action is allowed without any condition."""

    type: Literal["sudo"] = "sudo"


class BuildUniversalActionPolicyRule(Model):
    """One rule: the ``calldata_offset``-th byte's 32-byte word of the arguments, compared with ``comparison_value``;
    with ``is_limited``, the words of all calls together must also stay within ``usage.limit``."""

    condition: UniversalActionPolicyConditionType
    calldata_offset: Uint64  # uint64; calldata_argument(n) for the n-th argument
    comparison_value: Bytes32  # bytes32: an int, a 20-byte address or a 32-byte word
    usage: LimitUsage | None = None
    is_limited: bool = Field(default=False, validate_default=True)

    @field_validator("condition", mode="before")
    @classmethod
    def _condition(cls, value: object) -> object:
        if value in _CONDITIONS:
            return value
        raise _refuse(
            f"{value!r} is not a condition (the reference makes any unknown condition 'equal')",
            f"use one of {', '.join(map(repr, _CONDITIONS))}; for IN_RANGE, build the rule with "
            "get_universal_action_policy and ParamCondition.IN_RANGE",
        )

    @field_validator("calldata_offset")
    @classmethod
    def _offset(cls, value: int) -> int:
        if value % 32:
            raise _refuse(
                f"{value} is not a multiple of 32: the rule would read a word across two arguments",
                "use calldata_argument(n) for the n-th argument (offset (n - 1) * 32); for a word inside dynamic "
                "data, build the rule with get_universal_action_policy",
            )
        return value

    @field_validator("comparison_value", mode="before")
    @classmethod
    def _comparison(cls, value: object) -> object:
        if isinstance(value, bool):  # the reference encodes a JS boolean as 0 or 1
            return int(value).to_bytes(32, "big")
        try:
            return _ref_word(value)
        except InvalidInputError as exc:
            raise _refuse(
                exc.problem
                + " (the reference left-pads any shorter hex, which is wrong for a bytesN argument: ABI pads those "
                "on the right)",
                "pass an int for a number, a 20-byte address, or the argument's full 32-byte word",
            ) from exc

    @field_validator("is_limited")
    @classmethod
    def _limited(cls, value: bool, info: ValidationInfo) -> bool:
        usage = info.data.get("usage")
        if value and usage is None:
            raise _refuse(
                "is True without usage: the cumulative limit would be 0, so only zero values would ever pass",
                "pass usage={'limit': N} with the most the calls may add up to",
            )
        if not value and usage is not None:
            raise _refuse(
                "is False while usage sets a limit: the contract does not enforce a limit that is not is_limited",
                "pass is_limited=True to enforce usage.limit, or drop usage",
            )
        return value

    def to_param_rule(self) -> ParamRule:
        return ParamRule(
            condition=_CONDITIONS[self.condition],
            offset=self.calldata_offset,
            is_limited=self.is_limited,
            ref=bytes(self.comparison_value),
            usage=self.usage or LimitUsage(limit=0, used=0),
        )


class BuildUniversalActionPolicyParams(Model):
    """``{type: "universal", rules, valueLimitPerUse?}``: 1 to 16 rules on the arguments, and the native value a call
    may send (0, the default: none)."""

    type: Literal["universal"] = "universal"
    rules: tuple[BuildUniversalActionPolicyRule, ...]
    value_limit_per_use: Uint256 = 0  # uint256

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: tuple[BuildUniversalActionPolicyRule, ...]) -> tuple[BuildUniversalActionPolicyRule, ...]:
        if not value:
            raise _refuse(
                "is empty: the contract refuses a universal policy without rules (PolicyNotInitialized)",
                "add a rule, or use {'type': 'sudo'} for an action without conditions",
            )
        if len(value) > MAX_RULES:
            raise _refuse(f"has {len(value)} rules; at most {MAX_RULES} fit the policy", "merge or drop rules")
        return value


class BuildTimeFrameActionPolicyParams(Model):
    """``{type: "timeframe", validAfter, validUntil}`` in unix seconds, both inclusive. ``valid_until=None`` is a
    window without an end; 0 is refused, because the reference silently reads it so."""

    type: Literal["timeframe"] = "timeframe"
    valid_after: Uint48 = 0  # uint48; 0: no start
    valid_until: Uint48 | None  # uint48; None: no end (encoded as 0)

    @field_validator("valid_until")
    @classmethod
    def _until(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value == 0:
            raise _refuse(
                "is 0, which the policy reads as 'no end': a permission without an end date",
                "pass the last second of the window, or valid_until=None for a window without an end",
            )
        after = info.data.get("valid_after", 0)
        if value is None and after == 0:
            raise _refuse(
                "is None with valid_after 0: a window without bounds; the contract refuses it (PolicyNotInitialized)",
                "pass a bound, or leave the time frame policy out",
            )
        if value is not None and after > value:
            raise _refuse(
                f"is before valid_after ({value} < {after}); the contract refuses such a window",
                "swap the two values",
            )
        return value


class BuildUsageLimitActionPolicyParams(Model):
    """``{type: "usageLimit", limit}``: at most ``limit`` calls (at least 1)."""

    type: Literal["usageLimit"] = "usageLimit"
    limit: Uint128  # uint128

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: int) -> int:
        if value == 0:
            raise _refuse(
                "is 0: the contract refuses a limit of 0 (PolicyNotInitialized), and buildSessionAction's usageLimit "
                "reads 0 as 'unlimited'",
                "pass the number of calls allowed (at least 1), or leave the usage limit policy out for no limit",
            )
        return value


class BuildSpendingLimitsActionPolicyParams(Model):
    """``{type: "spendingLimits", tokenLimits: [{token, limit}]}``: how much of each token the action may transfer
    or approve, in all."""

    type: Literal["spendingLimits"] = "spendingLimits"
    token_limits: tuple[SpendingLimit, ...]

    @field_validator("token_limits")
    @classmethod
    def _limits(cls, value: tuple[SpendingLimit, ...]) -> tuple[SpendingLimit, ...]:
        if not value:
            raise _refuse(
                "is empty: every call of the action would be refused (no token has a limit)",
                "list each token the action may spend, with its limit",
            )
        seen: set[str] = set()
        for k, item in enumerate(value):
            if int(item.token, 16) == 0:
                raise _refuse(f"[{k}].token is the zero address, which the contract refuses", "pass the token")
            if item.limit == 0:
                raise _refuse(
                    f"[{k}].limit is 0, which the contract refuses (InvalidLimit)",
                    "pass the most the action may spend of that token, in its smallest unit",
                )
            if item.token in seen:
                raise _refuse(
                    f"[{k}].token {item.token} is listed twice; the contract keeps the last limit",
                    "list each token once, with the limit you mean",
                )
            seen.add(item.token)
        return value


ActionPolicyParams = Annotated[
    BuildSudoActionPolicyParams
    | BuildUniversalActionPolicyParams
    | BuildTimeFrameActionPolicyParams
    | BuildUsageLimitActionPolicyParams
    | BuildSpendingLimitsActionPolicyParams,
    Field(discriminator="type"),
]

_MODELS: dict[str, type[Model]] = {
    "sudo": BuildSudoActionPolicyParams,
    "universal": BuildUniversalActionPolicyParams,
    "timeframe": BuildTimeFrameActionPolicyParams,
    "usageLimit": BuildUsageLimitActionPolicyParams,
    "spendingLimits": BuildSpendingLimitsActionPolicyParams,
}


def _parse(params: object, fields: Mapping[str, Any]) -> Model:
    return parse_by_type(
        params,
        fields,
        _MODELS,
        what="an action policy",
        model_names="Build*ActionPolicyParams",
        example="build_action_policy(type='usageLimit', limit=10)",
    )


def build_action_policy(params: ActionPolicyParams | Mapping[str, Any] | None = None, /, **fields: Any) -> PolicyData:
    """abstractjs ``buildActionPolicy``: the :class:`~smartsessions.PolicyData` of one action policy.

    Pass a model (``BuildUsageLimitActionPolicyParams(limit=10)``), a mapping in either spelling
    (``{"type": "usageLimit", "limit": 10}``), or keywords (``build_action_policy(type="usageLimit", limit=10)``).
    """
    parsed = _parse(params, fields)
    if isinstance(parsed, BuildUniversalActionPolicyParams):
        rules = tuple(r.to_param_rule() for r in parsed.rules)
        padded = rules + (SDK_PADDING_RULE,) * (MAX_RULES - len(rules))
        return get_universal_action_policy(
            value_limit_per_use=parsed.value_limit_per_use,
            param_rules=ParamRules(length=len(rules), rules=padded),
        )
    if isinstance(parsed, BuildTimeFrameActionPolicyParams):
        return get_time_frame_policy(valid_until=parsed.valid_until or 0, valid_after=parsed.valid_after)
    if isinstance(parsed, BuildUsageLimitActionPolicyParams):
        return get_usage_limit_policy(limit=parsed.limit)
    if isinstance(parsed, BuildSpendingLimitsActionPolicyParams):
        return get_spending_limits_policy(parsed.token_limits)
    return get_sudo_policy()
