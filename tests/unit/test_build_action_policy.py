"""``build_action_policy``: the three ways to call it give one policy, and its refusals name the field."""

from __future__ import annotations

import pytest

from smartsessions import (
    BuildTimeFrameActionPolicyParams,
    BuildUniversalActionPolicyParams,
    BuildUsageLimitActionPolicyParams,
    InvalidInputError,
    build_action_policy,
    calldata_argument,
    get_time_frame_policy,
    get_usage_limit_policy,
)
from smartsessions.policies import ParamCondition, decode_action_config


def test_keywords_mapping_and_model_give_the_same_policy() -> None:
    expected = get_usage_limit_policy(limit=10)
    assert build_action_policy(type="usageLimit", limit=10) == expected
    assert build_action_policy({"type": "usageLimit", "limit": "10"}) == expected
    assert build_action_policy(BuildUsageLimitActionPolicyParams(limit=10)) == expected


def test_universal_rules_in_camel_or_snake_case_are_padded_as_the_sdk_pads() -> None:
    snake = build_action_policy(
        type="universal",
        rules=[{"condition": "lessThanOrEqual", "calldata_offset": calldata_argument(2), "comparison_value": 7}],
        value_limit_per_use=3,
    )
    camel = build_action_policy(
        BuildUniversalActionPolicyParams.model_validate(
            {
                "type": "universal",
                "rules": [
                    {"condition": "lessThanOrEqual", "calldataOffset": 32, "comparisonValue": "0x" + "00" * 31 + "07"}
                ],
                "valueLimitPerUse": 3,
            }
        )
    )
    assert snake == camel
    config = decode_action_config(snake.init_data)
    assert config.value_limit_per_use == 3
    assert config.param_rules.length == 1
    first, *padding = config.param_rules.rules
    assert (first.condition, first.offset, int.from_bytes(first.ref, "big")) == (
        ParamCondition.LESS_THAN_OR_EQUAL,
        32,
        7,
    )
    assert {(p.condition, p.offset, bytes(p.ref)) for p in padding} == {(ParamCondition.GREATER_THAN, 0, bytes(32))}


def test_a_time_frame_without_an_end_is_none_not_zero() -> None:
    assert build_action_policy(type="timeframe", valid_after=100, valid_until=None) == get_time_frame_policy(
        valid_until=0, valid_after=100
    )
    assert BuildTimeFrameActionPolicyParams(valid_until=200).valid_after == 0
    with pytest.raises(InvalidInputError) as err:
        build_action_policy(type="timeframe", valid_after=100, valid_until=0)
    assert err.value.field.endswith("valid_until")
    assert "valid_until=None" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"type": "valueLimit", "limit": 1}, "type"),
        ({"limit": 1}, "type"),
        ({"type": "sudo", "limit": 1}, "BuildSudoActionPolicyParams.limit"),
        ({"type": "usageLimit", "limit": 0}, "BuildUsageLimitActionPolicyParams.limit"),
        ({"type": "timeframe", "valid_until": None}, "BuildTimeFrameActionPolicyParams.valid_until"),
        ({"type": "universal", "rules": []}, "BuildUniversalActionPolicyParams.rules"),
        (
            {"type": "universal", "rules": [{"condition": "inRange", "calldata_offset": 0, "comparison_value": 1}]},
            "BuildUniversalActionPolicyParams.rules.0.condition",
        ),
        (
            {"type": "spendingLimits", "token_limits": [{"token": "0x" + "11" * 20, "limit": 1}] * 2},
            "BuildSpendingLimitsActionPolicyParams.token_limits",
        ),
    ],
)
def test_refusals_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        build_action_policy(**kwargs)
    assert err.value.field == field


def test_a_model_and_keywords_together_are_refused() -> None:
    with pytest.raises(InvalidInputError) as err:
        build_action_policy(BuildUsageLimitActionPolicyParams(limit=1), limit=2)
    assert err.value.field == "params"


@pytest.mark.parametrize("n", [0, -3, 1.5, True, "2", 2**59 + 1])
def test_calldata_argument_refuses_what_is_no_argument_position(n: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        calldata_argument(n)  # type: ignore[arg-type]
    assert err.value.field == "n"


def test_calldata_argument() -> None:
    assert [calldata_argument(n) for n in (1, 2, 3)] == [0, 32, 64]
    assert calldata_argument(2**59) == 2**64 - 32
