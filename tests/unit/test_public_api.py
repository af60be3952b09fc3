"""The curated public API: the names other code and the issue's checks rely on."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import smartsessions

REQUIRED = {
    # models
    "PolicyData", "ActionData", "ERC7739Context", "ERC7739Data", "Session", "SignedPermissions", "SignedSession",
    "ChainSession", "ChainDigest", "EnableSession", "EnableSessionData", "ParamRules", "ParamRule", "LimitUsage",
    "SpendingLimit", "SessionDetails", "ActionConfig", "FeeTokenInfo", "SessionAction",
    "BuildTransferSessionActionParams", "BuildTransferFromSessionActionParams", "BuildApproveSessionActionParams",
    "BuildERC20SessionActionParams", "BuildCustomSessionActionParams", "BuildBatchSessionActionParams",
    # enums
    "SmartSessionMode", "ParamCondition",
    # functions
    "get_permission_id", "get_action_id", "hash_chain_sessions", "encode_smart_session_signature",
    "decode_smart_session_signature", "flz_compress", "flz_decompress", "get_sudo_policy",
    "get_universal_action_policy", "get_time_frame_policy", "get_usage_limit_policy", "get_value_limit_policy",
    "get_spending_limits_policy", "get_session_digest", "build_action_policy", "calldata_argument",
    "build_session_action",
    "session_details_to_json", "session_details_from_json", "session_status", "SessionStatus",
    # errors
    "SmartSessionsError", "InvalidInputError", "EncodingError", "OutsideTimeFrameError",
    "PolicyLimitError", "FeeAboveCapError",
    "SessionSignerMismatchError", "UserOpRefusedError",
}  # fmt: skip


def test_all_is_exact_and_importable() -> None:
    assert set(smartsessions.__all__) >= REQUIRED
    assert len(smartsessions.__all__) == len(set(smartsessions.__all__))
    for name in smartsessions.__all__:
        assert hasattr(smartsessions, name), name
    public = {
        n for n in vars(smartsessions) if not n.startswith("_") and not inspect.ismodule(getattr(smartsessions, n))
    }
    assert public == set(smartsessions.__all__) - {"__version__"}


def test_keyword_names_mirror_the_reference() -> None:
    def params(fn: Callable[..., object]) -> list[str]:
        return list(inspect.signature(fn).parameters)

    assert params(smartsessions.get_action_id) == ["target", "selector"]
    assert params(smartsessions.encode_smart_session_signature) == [
        "mode", "permission_id", "signature", "enable_session_data"
    ]  # fmt: skip
    assert params(smartsessions.decode_smart_session_signature) == ["signature", "account_type"]
    assert params(smartsessions.get_universal_action_policy) == ["value_limit_per_use", "param_rules"]
    assert params(smartsessions.get_time_frame_policy) == ["valid_until", "valid_after"]
    assert set(smartsessions.ParamCondition.__members__) == {
        "EQUAL", "GREATER_THAN", "LESS_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN_OR_EQUAL", "NOT_EQUAL", "IN_RANGE"
    }  # fmt: skip
    assert [m.value for m in smartsessions.SmartSessionMode] == [0, 1, 2]


def test_models_take_snake_case_and_camel_case() -> None:
    a = smartsessions.PolicyData(policy=smartsessions.SUDO_POLICY_ADDRESS, init_data="0x")
    b = smartsessions.PolicyData.model_validate({"policy": smartsessions.SUDO_POLICY_ADDRESS, "initData": "0x"})
    assert a == b
    assert a.model_dump(mode="json") == {"policy": smartsessions.SUDO_POLICY_ADDRESS, "initData": "0x"}
    rule = smartsessions.ParamRule(condition="EQUAL", offset=0, ref=1, is_limited=True)
    assert smartsessions.ParamRule.model_validate(rule.model_dump(mode="json")) == rule
    assert rule.model_dump(mode="json")["isLimited"] is True


def test_models_are_frozen() -> None:
    import pytest

    p = smartsessions.get_sudo_policy()
    with pytest.raises(Exception, match="frozen"):
        p.policy = "0x0000000000000000000000000000000000000001"  # type: ignore[misc]  # a frozen field on purpose: the refusal is tested
