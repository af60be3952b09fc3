"""UniActionPolicy ("universal action policy"): rules on the call's arguments, plus a native-value limit per use.

Each rule compares one 32-byte word of the calldata (``offset`` bytes after the selector) with ``ref``; a limited rule
also adds the word to a running total that must stay within ``usage.limit``. The contract's struct always holds 16
rules and checks only the first ``length``; this module pads to 16 itself, so the seed's two-rule example works as
written (the reference SDK throws "array length mismatch" there) and gives the bytes the reference gives when it is
handed the explicit all-zero padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from pydantic import field_validator, model_validator

from .._coerce import to_address, to_bytes, to_uint
from .._model import Bytes32, Model, Uint64, Uint256
from ..encoding.session import PolicyData
from ..errors import EncodingError, InvalidInputError
from ._built import built_policy

__all__ = [
    "CONDITION_SYMBOLS",
    "MAX_RULES",
    "UNIVERSAL_ACTION_POLICY_ADDRESS",
    "LimitUsage",
    "ParamCondition",
    "ParamRule",
    "ParamRules",
    "UniversalActionConfig",
    "decode_action_config",
    "encode_action_config",
    "get_universal_action_policy",
]

UNIVERSAL_ACTION_POLICY_ADDRESS = "0x0000000000714Cf48FcF88A0bFBa70d313415032"
MAX_RULES = 16
_WORDS = 2 + 6 * MAX_RULES  # valueLimitPerUse, length, 16 x (condition, offset, isLimited, ref, limit, used)


class ParamCondition(IntEnum):
    """How a rule compares the argument word with ``ref`` (unsigned, big-endian)."""

    EQUAL = 0
    GREATER_THAN = 1
    LESS_THAN = 2
    GREATER_THAN_OR_EQUAL = 3
    LESS_THAN_OR_EQUAL = 4
    NOT_EQUAL = 5
    IN_RANGE = 6  # ref = uint128(min) ‖ uint128(max)


#: How error messages write each condition (``IN_RANGE`` has no symbol: its ``ref`` packs two bounds).
CONDITION_SYMBOLS = {
    ParamCondition.EQUAL: "==",
    ParamCondition.GREATER_THAN: ">",
    ParamCondition.LESS_THAN: "<",
    ParamCondition.GREATER_THAN_OR_EQUAL: ">=",
    ParamCondition.LESS_THAN_OR_EQUAL: "<=",
    ParamCondition.NOT_EQUAL: "!=",
}


class LimitUsage(Model):
    limit: Uint256  # uint256
    used: Uint256 = 0  # uint256


def _ref_word(value: object) -> bytes:
    """A rule reference as the 32-byte word: ints big-endian, 20-byte addresses left-padded, else exactly 32 bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return to_uint(value, field="ref").to_bytes(32, "big")
    raw = bytes(to_bytes(value, field="ref"))
    if len(raw) == 20:
        to_address(raw, field="ref")
        return bytes(12) + raw
    if len(raw) != 32:
        raise InvalidInputError(
            "ref",
            f"expected 32 bytes (or a 20-byte address, or an int), got {len(raw)}",
            fix="left-pad the value to 32 bytes, e.g. with eth_abi.encode(['uint256'], [value])",
            value=value,
        )
    return raw


class ParamRule(Model):
    condition: ParamCondition  # uint8
    offset: Uint64  # uint64: byte offset after the 4-byte selector; argument n (1-based) is at (n - 1) * 32
    is_limited: bool = False  # bool
    ref: Bytes32  # bytes32
    usage: LimitUsage = LimitUsage(limit=0, used=0)  # LimitUsage

    @field_validator("ref", mode="before")
    @classmethod
    def _ref(cls, value: object) -> bytes:
        return _ref_word(value)

    @field_validator("condition", mode="before")
    @classmethod
    def _condition(cls, value: object) -> object:
        if isinstance(value, str) and value.upper() in ParamCondition.__members__:
            return ParamCondition[value.upper()]
        return value


_PADDING_RULE = ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=bytes(32))


class ParamRules(Model):
    """``length`` active rules; ``rules`` may hold just those, or all 16 with padding."""

    length: Uint256  # uint256
    rules: tuple[ParamRule, ...]  # ParamRule[16]

    @model_validator(mode="after")
    def _check(self) -> ParamRules:
        if len(self.rules) > MAX_RULES:
            raise ValueError(f"at most {MAX_RULES} rules fit the policy, got {len(self.rules)}")
        if self.length > len(self.rules):
            raise ValueError(f"length {self.length} counts more rules than the {len(self.rules)} given")
        return self

    @property
    def padded(self) -> tuple[ParamRule, ...]:
        return self.rules + (_PADDING_RULE,) * (MAX_RULES - len(self.rules))


class UniversalActionConfig(Model):
    value_limit_per_use: Uint256  # uint256
    param_rules: ParamRules  # ParamRules


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def encode_action_config(config: UniversalActionConfig) -> bytes:
    """``abi.encode(UniversalActionConfig)``: a fully static tuple, 98 words (3,136 bytes)."""
    out = [_word(config.value_limit_per_use), _word(config.param_rules.length)]
    for rule in config.param_rules.padded:
        out += [
            _word(int(rule.condition)),
            _word(rule.offset),
            _word(int(rule.is_limited)),
            bytes(rule.ref),
            _word(rule.usage.limit),
            _word(rule.usage.used),
        ]
    return b"".join(out)


def decode_action_config(init_data: object) -> UniversalActionConfig:
    """The inverse of :func:`encode_action_config`; all 16 rules are kept (the padding too)."""
    raw = bytes(to_bytes(init_data, field="init_data"))
    if len(raw) < 32 * _WORDS:
        raise EncodingError(
            "Cannot decode a universal action policy config: it is shorter than 3,136 bytes.",
            details=f"{len(raw)} bytes",
        )
    words = [int.from_bytes(raw[32 * k : 32 * k + 32], "big") for k in range(_WORDS)]
    rules = []
    for k in range(MAX_RULES):
        cond, offset, limited, _ref, limit, used = words[2 + 6 * k : 8 + 6 * k]
        if cond > max(ParamCondition) or offset >> 64 or limited > 1:
            raise EncodingError(
                "Cannot decode a universal action policy config: rule fields are out of range.",
                details=f"rule {k}: condition={cond}, offset={offset}, isLimited={limited}",
            )
        rules.append(
            ParamRule(
                condition=ParamCondition(cond),
                offset=offset,
                is_limited=bool(limited),
                ref=raw[32 * (5 + 6 * k) : 32 * (6 + 6 * k)],
                usage=LimitUsage(limit=limit, used=used),
            )
        )
    if words[1] > MAX_RULES:
        raise EncodingError(
            "Cannot decode a universal action policy config: its length exceeds 16 rules.",
            details=str(words[1]),
        )
    return UniversalActionConfig(
        value_limit_per_use=words[0], param_rules=ParamRules(length=words[1], rules=tuple(rules))
    )


def get_universal_action_policy(
    *,
    value_limit_per_use: object = 0,
    param_rules: ParamRules | dict[str, Any] | Sequence[ParamRule | dict[str, Any]],
) -> PolicyData:
    """Build the policy from a value limit and rules; ``param_rules`` may also be a plain list of rules.

    ``ParamRules(length=2, rules=[r1, r2])`` and ``[r1, r2]`` give the same policy: the rules are padded to 16 with
    the all-zero rule, which the contract never evaluates because it is beyond ``length``.
    """
    if isinstance(param_rules, ParamRules):
        rules = param_rules
    elif isinstance(param_rules, dict):
        rules = ParamRules.model_validate(param_rules)
    else:
        items = list(param_rules)
        if len(items) > MAX_RULES:
            raise InvalidInputError(
                "param_rules",
                f"at most {MAX_RULES} rules fit the policy, got {len(items)}",
                fix="merge or drop rules",
            )
        rules = ParamRules(length=len(items), rules=tuple(items))
    config = UniversalActionConfig(
        value_limit_per_use=to_uint(value_limit_per_use, field="value_limit_per_use"), param_rules=rules
    )
    return built_policy(UNIVERSAL_ACTION_POLICY_ADDRESS, encode_action_config(config))
