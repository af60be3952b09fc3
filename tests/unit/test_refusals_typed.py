"""The refusals that got their own typed errors with issue 13: a limit of the session (read from the session details
and the userOp's calls, whichever node refused), a fee above the cap, another signer than the session's, a chain or
fee token the node does not serve, a transfer beyond the balance, and the other refusals of a userOp's simulation.
The devnet observes each for real in tests/sdk/test_refusals_observed.py; these pin the mapping itself."""

from __future__ import annotations

from typing import Any

from eth_account import Account

from smartsessions import (
    ActionConfig,
    ChainNotSupportedError,
    FeeAboveCapError,
    FeeTokenNotSupportedError,
    InsufficientBalanceError,
    LimitUsage,
    MeeApiError,
    ParamCondition,
    ParamRule,
    PolicyLimitError,
    PolicyViolationError,
    SessionSignerMismatchError,
    SpendingLimit,
    UserOpRefusedError,
    get_spending_limits_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions.account.calls import Call
from smartsessions.encoding.abi import encode_function_call, selector
from smartsessions.encoding.session import PolicyData
from smartsessions.mee._refusals import OpContext, explain_refusal
from smartsessions.mee.node_errors import refused_user_op

USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
COUNTER = "0x2222222222222222222222222222222222222222"
HOLDER = "0x1111111111111111111111111111111111111111"
REDEEMER = "0x3333333333333333333333333333333333333333"
SIGNER = "0x4444444444444444444444444444444444444444"
INCREMENT = selector("increment()")


def _op(target: str, sel: bytes, policy: PolicyData, calls: list[Call]) -> OpContext:
    from smartsessions.sessions import grant_permission_offline

    [details] = grant_permission_offline(
        signer=Account.from_key("0x" + "42" * 32),
        redeemer=REDEEMER,
        actions=[ActionConfig(chain_id=8453, action_target=target, action_target_selector=sel,
                              action_policies=[policy])],
        accounts={8453: HOLDER},
        nonces={8453: 0},
        versions="2.1.0",
    )  # fmt: skip
    return OpContext("userOps[0]", 8453, calls, details, None, HOLDER)


def _refused(op: OpContext, policy: PolicyData) -> Any:
    assert op.session_details is not None
    pid = "0x" + bytes(op.session_details.permission_id).hex()
    facts = {"field": "userOps[0]", "chainId": 8453, "permissionId": pid, "policy": policy.policy}
    by_code = explain_refusal("x", {"userOps[0]": op}, code="POLICY_VIOLATION", facts=facts)
    by_text = explain_refusal(
        f"userOps[0] (chain 8453): refused in simulation: AA23 reverted: PolicyViolation(permissionId="
        f"{facts['permissionId']}, policy={policy.policy})",
        {"userOps[0]": op},
    )
    assert by_code is not None and by_text is not None and type(by_code) is type(by_text)  # a code or words: the same
    assert (by_code.short_message, by_code.meta_messages) == (by_text.short_message, by_text.meta_messages)
    return by_code


def test_a_usage_limit_says_the_limit_and_what_the_userop_asks() -> None:
    policy = get_usage_limit_policy(limit=1)
    err = _refused(_op(COUNTER, INCREMENT, policy, [Call(to=COUNTER, data=INCREMENT)] * 2), policy)
    assert isinstance(err, PolicyLimitError) and isinstance(err, PolicyViolationError)
    assert (err.limit, err.requested, err.used, err.token, err.policy_name) == (1, 2, None, None, "UsageLimitPolicy")
    assert err.rule == "at most 1 use in all; this userOp needs 2 more, beyond what is left"
    assert "grant a new permission" in str(err)


def test_a_value_limit() -> None:
    by = selector("incrementBy(uint256)")
    policy = get_value_limit_policy(limit=10)
    call = Call(to=COUNTER, value=11, data=by + (1).to_bytes(32, "big"))
    err = _refused(_op(COUNTER, by, policy, [call]), policy)
    assert isinstance(err, PolicyLimitError) and (err.limit, err.requested) == (10, 11)


def test_a_spending_limit_names_the_token() -> None:
    policy = get_spending_limits_policy([SpendingLimit(token=USDC, limit=1_000)])
    transfer = Call(to=USDC, data=encode_function_call("transfer(address,uint256)", [HOLDER, 600]))
    err = _refused(_op(USDC, selector("transfer(address,uint256)"), policy, [transfer, transfer]), policy)
    assert isinstance(err, PolicyLimitError) and (err.limit, err.requested, err.token) == (1_000, 1_200, USDC)


def test_a_universal_rule_call_by_call_is_no_limit_but_its_cumulative_limit_is() -> None:
    set_number = selector("setNumber(uint256)")
    rule = ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=0, ref=10, is_limited=True,
                     usage=LimitUsage(limit=15))  # fmt: skip
    policy = get_universal_action_policy(param_rules=[rule])

    def call(n: int) -> Call:
        return Call(to=COUNTER, data=set_number + n.to_bytes(32, "big"))

    broken = _refused(_op(COUNTER, set_number, policy, [call(11)]), policy)
    assert type(broken) is PolicyViolationError and broken.rule == "rule 0: argument 1 (offset 0) must be <= 10, got 11"
    cumulative = _refused(_op(COUNTER, set_number, policy, [call(10), call(10)]), policy)
    assert isinstance(cumulative, PolicyLimitError) and (cumulative.limit, cumulative.requested) == (15, 20)


def test_a_fee_above_the_cap() -> None:
    facts = {"field": "paymentInfo", "chainId": 8453, "userOpIndex": 0, "token": USDC, "fee": "2500",
             "capPerPayment": "1000", "capInTotal": "1000", "target": USDC, "selector": "0xa9059cbb"}  # fmt: skip
    err = explain_refusal("x", code="SESSION_FEE_ABOVE_CAP", facts=facts)
    assert isinstance(err, FeeAboveCapError) and isinstance(err, PolicyLimitError)
    assert (err.fee, err.cap_per_payment, err.cap_in_total, err.limit, err.requested, err.token) == (
        2500, 1000, 1000, 1000, 2500, USDC,
    )  # fmt: skip
    assert "max_payment_amount" in str(err)


def test_a_signature_by_another_key_than_the_sessions() -> None:
    facts = {"field": "signature", "userOpIndex": 0, "chainId": 8453, "role": "redeemer", "expected": REDEEMER,
             "signer": SIGNER}  # fmt: skip
    err = explain_refusal("x", code="SIGNATURE_INVALID", facts=facts)
    assert isinstance(err, SessionSignerMismatchError) and (err.redeemer, err.signer) == (REDEEMER, SIGNER)
    # the owner's signature: no session error (the node's error is raised, as a UserOpRefusedError)
    assert explain_refusal("x", code="SIGNATURE_INVALID", facts={**facts, "role": "owner"}) is None


def test_a_chain_or_fee_token_the_node_does_not_serve() -> None:
    chain = explain_refusal("x", code="CHAIN_NOT_SERVED", facts={"field": "userOps[0]", "chainId": 10,
                                                                  "supported": [8453]})  # fmt: skip
    assert isinstance(chain, ChainNotSupportedError) and chain.chain_ids == (10,) and "8453" in str(chain)
    token = explain_refusal("x", code="FEE_TOKEN_NOT_SUPPORTED", facts={"field": "paymentInfo.token", "chainId": 8453,
                                                                         "token": COUNTER})  # fmt: skip
    assert isinstance(token, FeeTokenNotSupportedError) and token.field == "paymentInfo.token"


def test_a_transfer_beyond_the_balance_and_other_reverts() -> None:
    facts = {"field": "userOps[0]", "chainId": 8453, "userOpIndex": 1, "revertData": "0x08c379a0",
             "revertError": "Error"}  # fmt: skip
    short = {"holder": HOLDER, "token": USDC, "balance": "5", "required": "9"}
    err = explain_refusal("x", code="USER_OP_CALL_REVERTED", facts=facts | short)
    assert isinstance(err, InsufficientBalanceError)
    assert (err.holder, err.token, err.balance, err.needed, err.chain_id) == (HOLDER, USDC, 5, 9, 8453)
    assert explain_refusal("x", code="USER_OP_CALL_REVERTED", facts=facts) is None
    refused = refused_user_op(MeeApiError("x", status=400, body={}, code="USER_OP_CALL_REVERTED", facts=facts))
    assert isinstance(refused, UserOpRefusedError)
    assert (refused.chain_id, refused.user_op_index, refused.where, refused.revert_error) == (
        8453, 1, "userOps[0]", "Error",
    )  # fmt: skip
    assert "simulation={'simulate': False}" in str(refused)
    other = MeeApiError("x", status=401, body={}, code="API_KEY_INVALID")
    assert refused_user_op(other) is other
