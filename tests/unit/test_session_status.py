"""``session_status``'s pure parts: config ids as SmartSessions computes them, and each getter's answer read back into
what is left (the devnet test checks the same against the contracts)."""

from __future__ import annotations

from smartsessions import (
    get_spending_limits_policy,
    get_time_frame_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
)
from smartsessions._coerce import keccak
from smartsessions.encoding.session import get_action_id
from smartsessions.policies import LimitUsage, ParamCondition, ParamRule, decode_action_config, encode_action_config
from smartsessions.sessions._policy_reads import action_config_id, user_op_config_id
from smartsessions.sessions.status import _Plan, _status

ACCOUNT = "0x62738D3D5B9862cE9c8274F9928d29004122386E"
PID = bytes(range(32))
TARGET = "0x000000000000000000000000000000000000c0Fe"
NOW = 1_800_000_000


def _words(*values: int) -> bytes:
    return b"".join(v.to_bytes(32, "big") for v in values)


def test_config_ids_are_keccak_of_account_and_the_policy_id() -> None:
    account = bytes.fromhex(ACCOUNT[2:])
    assert user_op_config_id(PID, ACCOUNT) == keccak(account + PID)
    action = bytes(get_action_id(target=TARGET, selector=bytes.fromhex("d09de08a")))
    assert action_config_id(PID, ACCOUNT, TARGET, bytes.fromhex("d09de08a")) == keccak(account + keccak(PID + action))


def test_usage_left_is_limit_minus_used_and_never_below_zero() -> None:
    plan = _Plan(get_usage_limit_policy(limit=3), [])
    s = _status(plan, [_words(3, 1)], NOW)
    assert (s.limit, s.used, s.left) == (3, 1, 2) and s.describe() == "usage limit: 2 of 3 left (1 used)"
    assert _status(plan, None, NOW).left == 3  # the grant's figures, before it is enabled


def test_spending_left_counts_approvals_and_an_unanswered_token_is_unknown_not_zero() -> None:
    tokens = ["0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85"]
    policy = get_spending_limits_policy([{"token": t, "limit": 100} for t in tokens])
    s = _status(_Plan(policy, [], tuple(tokens)), [_words(100, 30, 20), None], NOW)
    assert [(t.token, t.limit, t.left) for t in s.tokens] == [(tokens[0], 100, 50), (tokens[1], 100, None)]
    assert "could not be read" in s.describe()


def test_time_frame_reads_the_packed_word_and_the_older_struct() -> None:
    policy = get_time_frame_policy(valid_after=NOW - 10, valid_until=NOW + 50)
    packed = _status(_Plan(policy, []), [_words(((NOW + 50) << 48) | (NOW - 10))], NOW)
    struct = _status(_Plan(policy, []), [_words(NOW + 50, NOW - 10)], NOW)
    assert packed == struct
    assert (packed.open, packed.seconds_left, packed.opens_in) == (True, 50, 0)
    later = _status(_Plan(policy, []), None, NOW + 51)
    assert (later.open, later.seconds_left) == (False, 0) and later.describe().endswith(": over")
    early = _status(_Plan(policy, []), None, NOW - 30)
    assert (early.open, early.opens_in, early.seconds_left) == (False, 20, 80)
    no_end = _status(_Plan(get_time_frame_policy(valid_after=1, valid_until=0), []), None, NOW)
    assert no_end.open and no_end.seconds_left is None


def test_universal_lists_only_the_limited_rules_with_what_is_left_on_chain() -> None:
    rules = [
        ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=TARGET),
        ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=32, ref=5, is_limited=True,
                  usage=LimitUsage(limit=7, used=0)),
    ]  # fmt: skip
    policy = get_universal_action_policy(value_limit_per_use=3, param_rules=rules)
    config = decode_action_config(policy.init_data)
    spent = config.param_rules.rules[1].model_copy(update={"usage": LimitUsage(limit=7, used=4)})
    on_chain = config.model_copy(
        update={"param_rules": config.param_rules.model_copy(update={"rules": (rules[0], spent)})}
    )
    s = _status(_Plan(policy, []), [encode_action_config(on_chain)], NOW)
    assert s.value_limit_per_use == 3
    assert [(r.index, r.offset, r.limit, r.used, r.left) for r in s.rules] == [(1, 32, 7, 4, 3)]
    assert "rule 1 (argument 2): 3 of 7 left (4 used)" in s.describe()
