"""Policies, one module each, as module-sdk lays them out: the address constant, the struct models with their
Solidity types, and a ``get_*_policy`` builder that returns the :class:`~smartsessions.PolicyData` to put in a session.
"""

from .build import (
    ActionPolicyParams,
    BuildSpendingLimitsActionPolicyParams,
    BuildSudoActionPolicyParams,
    BuildTimeFrameActionPolicyParams,
    BuildUniversalActionPolicyParams,
    BuildUniversalActionPolicyRule,
    BuildUsageLimitActionPolicyParams,
    build_action_policy,
    calldata_argument,
)
from .payment import add_payment_policy_for_actions
from .spending_limits import SPENDING_LIMITS_POLICY_ADDRESS, SpendingLimit, get_spending_limits_policy
from .sudo import SUDO_POLICY_ADDRESS, get_sudo_policy
from .time_frame import TIME_FRAME_POLICY_ADDRESS, get_time_frame_policy
from .universal_action import (
    MAX_RULES,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    LimitUsage,
    ParamCondition,
    ParamRule,
    ParamRules,
    UniversalActionConfig,
    decode_action_config,
    encode_action_config,
    get_universal_action_policy,
)
from .usage_limit import USAGE_LIMIT_POLICY_ADDRESS, get_usage_limit_policy
from .user_op import USER_OP_POLICY_ADDRESSES, UserOpPolicies, check_user_op_policies, user_op_policies_by_chain
from .value_limit import VALUE_LIMIT_POLICY_ADDRESS, get_value_limit_policy

#: Each policy's contract name, by its lowercase address: what errors, the node's facts and its messages call it.
POLICY_NAMES: dict[str, str] = {
    SUDO_POLICY_ADDRESS.lower(): "SudoPolicy",
    UNIVERSAL_ACTION_POLICY_ADDRESS.lower(): "UniActionPolicy",
    TIME_FRAME_POLICY_ADDRESS.lower(): "TimeFramePolicy",
    USAGE_LIMIT_POLICY_ADDRESS.lower(): "UsageLimitPolicy",
    VALUE_LIMIT_POLICY_ADDRESS.lower(): "ValueLimitPolicy",
    SPENDING_LIMITS_POLICY_ADDRESS.lower(): "ERC20SpendingLimitPolicy",
}

__all__ = [
    "MAX_RULES",
    "POLICY_NAMES",
    "SPENDING_LIMITS_POLICY_ADDRESS",
    "SUDO_POLICY_ADDRESS",
    "TIME_FRAME_POLICY_ADDRESS",
    "UNIVERSAL_ACTION_POLICY_ADDRESS",
    "USAGE_LIMIT_POLICY_ADDRESS",
    "USER_OP_POLICY_ADDRESSES",
    "VALUE_LIMIT_POLICY_ADDRESS",
    "ActionPolicyParams",
    "BuildSpendingLimitsActionPolicyParams",
    "BuildSudoActionPolicyParams",
    "BuildTimeFrameActionPolicyParams",
    "BuildUniversalActionPolicyParams",
    "BuildUniversalActionPolicyRule",
    "BuildUsageLimitActionPolicyParams",
    "LimitUsage",
    "ParamCondition",
    "ParamRule",
    "ParamRules",
    "SpendingLimit",
    "UniversalActionConfig",
    "UserOpPolicies",
    "add_payment_policy_for_actions",
    "build_action_policy",
    "calldata_argument",
    "check_user_op_policies",
    "decode_action_config",
    "encode_action_config",
    "get_spending_limits_policy",
    "get_sudo_policy",
    "get_time_frame_policy",
    "get_universal_action_policy",
    "get_usage_limit_policy",
    "get_value_limit_policy",
    "user_op_policies_by_chain",
]
