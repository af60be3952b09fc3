"""Permission-wide limits (issue 15, item 4): a grant's ``user_op_policies`` become each chain's session's
``userOpPolicies`` in place of the reference's SudoPolicy; what no userOp policy can be is refused naming the field;
and a refusal by one is told as the permission-wide limit. The devnet runs them in tests/sdk/test_user_op_policies.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    ActionConfig,
    InvalidInputError,
    PolicyLimitError,
    SpendingLimit,
    get_spending_limits_policy,
    get_sudo_policy,
    get_time_frame_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions.account.calls import Call
from smartsessions.encoding.abi import selector
from smartsessions.encoding.session import PolicyData
from smartsessions.mee._refusals import OpContext, explain_refusal
from smartsessions.policies import USAGE_LIMIT_POLICY_ADDRESS, ParamCondition, ParamRule, check_user_op_policies
from smartsessions.sessions import build_grant_sessions, grant_permission_offline
from smartsessions.sessions.prepare import EnableSessionParams, to_enable_session

COUNTER = "0x2222222222222222222222222222222222222222"
HOLDER = "0x1111111111111111111111111111111111111111"
REDEEMER = "0x3333333333333333333333333333333333333333"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
INCREMENT, SET_NUMBER = selector("increment()"), selector("setNumber(uint256)")
OWNER = Account.from_key("0x" + "42" * 32)


def _actions() -> list[ActionConfig]:
    return [
        ActionConfig(chain_id=c, action_target=COUNTER, action_target_selector=s, action_policies=[get_sudo_policy()])
        for c in (8453, 10)
        for s in (INCREMENT, SET_NUMBER)
    ]


def _grant(**kwargs: Any) -> Any:
    return grant_permission_offline(
        signer=OWNER, redeemer=REDEEMER, actions=_actions(), accounts=HOLDER, nonces={8453: 0, 10: 0},
        versions="2.1.0", salts=[b"\x01" * 32, b"\x02" * 32], **kwargs,
    )  # fmt: skip


def test_the_default_is_the_references_sudo_policy_and_the_same_bytes() -> None:
    default, explicit = _grant(), _grant(user_op_policies=None)
    sudo = _grant(user_op_policies=[get_sudo_policy()])
    for details in (default, explicit, sudo):
        assert [d.enable_session_data.enable_session.session_to_enable.user_op_policies for d in details] == [
            (get_sudo_policy(),)
        ] * 2
    assert [d.model_dump_json() for d in default] == [d.model_dump_json() for d in sudo]


def test_the_permission_wide_limits_go_to_every_chains_session_and_its_digest() -> None:
    limits = [get_usage_limit_policy(limit=10), get_time_frame_policy(valid_after=100, valid_until=200),
              get_value_limit_policy(limit=5)]  # fmt: skip
    limited, default = _grant(user_op_policies=limits), _grant()
    for with_limits, without in zip(limited, default, strict=True):
        session = with_limits.enable_session_data.enable_session.session_to_enable
        assert session.user_op_policies == tuple(limits)  # in place of Sudo, on both chains
        # the same permission id (it does not depend on policies), another digest, so another owner signature
        assert with_limits.permission_id == without.permission_id
        assert with_limits.enable_session_data.enable_session.hashes_and_chain_ids != (
            without.enable_session_data.enable_session.hashes_and_chain_ids
        )
    # The JSON a session key is handed carries them under the wire name.
    assert '"userOpPolicies":[{"policy":"0x00000000001d4479FA2A947026204d0283ceDe4B"' in limited[0].model_dump_json()
    sessions = build_grant_sessions(
        redeemer=REDEEMER, actions=_actions(), versions="2.1.0", user_op_policies=[limits[0].model_dump()]
    )
    assert [s.user_op_policies for s in sessions] == [(limits[0],)] * 2  # a policy's dict is read as the policy


_ACTION_ONLY = [
    (get_universal_action_policy(param_rules=[ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=1)]),
     "universal action policy"),
    (get_spending_limits_policy([SpendingLimit(token=USDC, limit=1)]), "ERC-20 spending limits"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policies", "field", "problem"),
    [
        *[([p], "user_op_policies[0]", f"is the {words}") for p, words in _ACTION_ONLY],
        ([get_usage_limit_policy(limit=3), _ACTION_ONLY[0][0]], "user_op_policies[1]", "an action policy only"),
        ([], "user_op_policies", "NoPoliciesSet"),
        ([get_usage_limit_policy(limit=3), get_usage_limit_policy(limit=4)], "user_op_policies[1]", "repeats"),
        ([PolicyData(policy=COUNTER, init_data=b"")], "user_op_policies[0]", "not a userOp policy the SDK knows"),
        (
            [PolicyData(policy=USAGE_LIMIT_POLICY_ADDRESS, init_data=bytes(16))],
            "user_op_policies[0]",
            "without a limit",
        ),
        ([get_time_frame_policy(valid_until=0)], "user_op_policies[0]", "without bounds"),
        (get_usage_limit_policy(limit=3), "user_op_policies", "expected a list"),
        (["0x00"], "user_op_policies[0]", "expected a PolicyData"),
    ],
)
def test_what_cannot_be_a_user_op_policy_is_refused_naming_the_field(policies: Any, field: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        _grant(user_op_policies=policies)
    assert refused.value.field == field and problem in refused.value.problem, str(refused.value)
    with pytest.raises(InvalidInputError) as again:
        check_user_op_policies(policies)
    assert again.value.field == field


def test_prepares_enable_session_takes_them_by_either_name_and_refuses_the_same() -> None:
    limit = get_usage_limit_policy(limit=2)
    for key in ("user_op_policies", "userOpPolicies"):
        params = to_enable_session({"redeemer": REDEEMER, "actions": _actions(), key: [limit]})
        assert params.user_op_policies == (limit,)
    assert EnableSessionParams(redeemer=REDEEMER, actions=tuple(_actions())).user_op_policies is None
    with pytest.raises(InvalidInputError) as refused:
        to_enable_session({"redeemer": REDEEMER, "actions": _actions(), "userOpPolicies": [_ACTION_ONLY[1][0]]})
    assert refused.value.field == "EnableSessionParams.user_op_policies"
    assert "[0] is the ERC-20 spending limits policy" in refused.value.problem


def _refused(policies: list[PolicyData], calls: list[Call], *, fee_token: str | None = None) -> Any:
    [details, _] = _grant(user_op_policies=policies)
    where = "paymentInfo" if fee_token else "userOps[0]"
    op = OpContext(where, 8453, calls, details, fee_token, HOLDER)
    pid = "0x" + bytes(details.permission_id).hex()
    message = (
        f"{where} (chain 8453): refused in simulation: AA23 reverted: PolicyViolation(permissionId={pid}, "
        f"policy={policies[0].policy})"
    )
    return explain_refusal(message, {where: op})


def test_a_refusal_by_the_permission_wide_usage_limit_counts_the_userop_once_and_says_so() -> None:
    calls = [Call(to=COUNTER, data=INCREMENT), Call(to=COUNTER, data=SET_NUMBER + bytes(32))]  # one batched userOp
    err = _refused([get_usage_limit_policy(limit=10)], calls)
    assert isinstance(err, PolicyLimitError) and err.permission_wide
    assert (err.limit, err.requested, err.policy_name, err.chain_id) == (10, 1, "UsageLimitPolicy", 8453)
    assert err.short_message.startswith("UsageLimitPolicy, the permission-wide limit, refused ")
    assert err.rule is not None and err.rule.startswith("at most 10 userOps of the permission on this chain")
    assert "the fee payment included" in str(err) and "a sponsored one 1" in str(err)


def test_the_fee_payment_refused_by_the_permission_wide_limit_is_not_blamed_on_the_fee_budget() -> None:
    err = _refused([get_usage_limit_policy(limit=4)], [], fee_token=USDC)
    assert isinstance(err, PolicyLimitError) and err.permission_wide
    assert "(the fee payment)" in err.short_message and "max_payment_amount" not in str(err)
    assert (err.action_target, err.action_selector) == (USDC, "0xa9059cbb")


def test_an_action_policy_refusal_is_not_permission_wide() -> None:
    action = ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                          action_policies=[get_usage_limit_policy(limit=1)])  # fmt: skip
    [details] = grant_permission_offline(
        signer=OWNER, redeemer=REDEEMER, actions=[action], accounts=HOLDER, nonces={8453: 0}, versions="2.1.0",
        user_op_policies=[get_value_limit_policy(limit=5)],
    )  # fmt: skip
    op = OpContext("userOps[0]", 8453, [Call(to=COUNTER, data=INCREMENT)], details, None, HOLDER)
    pid = "0x" + bytes(details.permission_id).hex()
    message = f"userOps[0] (chain 8453): PolicyViolation(permissionId={pid}, policy={USAGE_LIMIT_POLICY_ADDRESS})"
    err = explain_refusal(message, {"userOps[0]": op})
    assert isinstance(err, PolicyLimitError) and not err.permission_wide and err.requested == 1
    assert err.rule == "at most 1 use in all; this userOp needs 1 more, beyond what is left"
    assert "permission-wide" not in str(err)


def test_a_mapping_gives_each_chain_its_own_and_must_name_exactly_the_grants_chains() -> None:
    """How the fee chain gets 2 * N for N paid uses while another chain gets N."""
    by_chain = {8453: [get_usage_limit_policy(limit=6)], 10: [get_usage_limit_policy(limit=3)]}
    base, optimism = _grant(user_op_policies=by_chain)
    assert base.enable_session_data.enable_session.session_to_enable.user_op_policies == tuple(by_chain[8453])
    assert optimism.enable_session_data.enable_session.session_to_enable.user_op_policies == tuple(by_chain[10])
    for policies, field, problem in [
        ({8453: by_chain[8453]}, "user_op_policies", "has no entry for chain 10"),
        ({**by_chain, 1: by_chain[10]}, "user_op_policies", "has an entry for chain 1, where the grant has no action"),
        ({**by_chain, 10: [_ACTION_ONLY[0][0]]}, "user_op_policies[10][0]", "an action policy only"),
    ]:
        with pytest.raises(InvalidInputError) as refused:
            _grant(user_op_policies=policies)
        assert refused.value.field == field and problem in refused.value.problem, str(refused.value)
    # PREPARE's parameters take the mapping too, JSON's string keys included.
    params = to_enable_session(
        {"redeemer": REDEEMER, "actions": _actions(), "userOpPolicies": {"8453": by_chain[8453]}}
    )
    assert params.user_op_policies == {8453: tuple(by_chain[8453])}


def test_a_policy_on_both_the_action_and_the_permission_says_either_may_have_refused() -> None:
    action = ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                          action_policies=[get_usage_limit_policy(limit=1)])  # fmt: skip
    [details] = grant_permission_offline(
        signer=OWNER, redeemer=REDEEMER, actions=[action], accounts=HOLDER, nonces={8453: 0}, versions="2.1.0",
        user_op_policies=[get_usage_limit_policy(limit=5)],
    )  # fmt: skip
    op = OpContext("userOps[0]", 8453, [Call(to=COUNTER, data=INCREMENT)], details, None, HOLDER)
    pid = "0x" + bytes(details.permission_id).hex()
    message = f"userOps[0] (chain 8453): PolicyViolation(permissionId={pid}, policy={USAGE_LIMIT_POLICY_ADDRESS})"
    err = explain_refusal(message, {"userOps[0]": op})
    assert isinstance(err, PolicyLimitError) and not err.permission_wide and err.limit == 1
    assert "is also one of the permission-wide policies" in str(err)
