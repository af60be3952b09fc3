"""A TimeFramePolicy's window, read back from its init data and from a session, and judged as the EntryPoint judges
it (``validAfter <= block.timestamp <= validUntil``, 0 = no end), against the times a userOp can execute; and the
error the SDK makes of it, the same from its own reads and from the node's codes."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from smartsessions import (
    ActionConfig,
    ActionData,
    FeeTokenInfo,
    Instruction,
    OutsideTimeFrameError,
    PolicyViolationError,
    Session,
    SessionDetails,
    get_sudo_policy,
    get_time_frame_policy,
)
from smartsessions.account.calls import Call
from smartsessions.encoding.session import FALLBACK_TARGET_FLAG, FALLBACK_TARGET_SELECTOR_FLAG, PolicyData
from smartsessions.errors import EncodingError
from smartsessions.mee._refusals import explain_refusal
from smartsessions.mee._time_frames import outside_time_frame_error
from smartsessions.policies import TIME_FRAME_POLICY_ADDRESS
from smartsessions.policies.time_frame import TimeFrame, decode_time_frame, session_time_frames, utc_date
from smartsessions.sessions import grant_permission_offline
from smartsessions.sessions.use import _judge_time_frames, _session_ops

COUNTER = "0x1111111111111111111111111111111111111111"
USDC = "0x2222222222222222222222222222222222222222"
OTHER = "0x3333333333333333333333333333333333333333"
INCREMENT = bytes.fromhex("d09de08a")
TRANSFER = bytes.fromhex("a9059cbb")
PID = "0x" + "ab" * 32


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**48 - 1))
def test_init_data_round_trips(after: int, until: int) -> None:
    if until and after > until:
        after, until = until, after
    policy = get_time_frame_policy(valid_until=until, valid_after=after)
    assert decode_time_frame(bytes(policy.init_data)) == TimeFrame(valid_after=after, valid_until=until)


def test_init_data_layout() -> None:
    # abi.encodePacked(uint48 validUntil, uint48 validAfter): until first; the contract ignores bytes past the 12th
    raw = (200).to_bytes(6, "big") + (100).to_bytes(6, "big")
    assert decode_time_frame(raw + b"\xff" * 4) == TimeFrame(valid_after=100, valid_until=200)
    with pytest.raises(EncodingError, match="11 bytes; it needs 12"):
        decode_time_frame(raw[:11])


def test_the_entry_points_boundaries() -> None:
    window = TimeFrame(valid_after=100, valid_until=200)
    assert [window.contains(t) for t in (99, 100, 150, 200, 201)] == [False, True, True, True, False]
    endless = TimeFrame(valid_after=100, valid_until=0)
    assert not endless.contains(99) and endless.contains(100) and endless.contains(2**48 - 1)


def test_judged_against_the_times_a_user_op_can_execute() -> None:
    window = TimeFrame(valid_after=100, valid_until=200)
    # the userOp can execute from `earliest` to `latest`, both inclusive
    assert window.judge(earliest=20, latest=99) == "not_open"
    assert window.judge(earliest=20, latest=100) is None  # exactly at validAfter: it passes then
    assert window.judge(earliest=50, latest=230) is None  # opens within the span: the node waits for it
    assert window.judge(earliest=200, latest=380) is None  # exactly at validUntil: still inside
    assert window.judge(earliest=201, latest=381) == "over"
    assert TimeFrame(valid_after=100, valid_until=0).judge(earliest=10**12, latest=10**12 + 180) is None
    assert TimeFrame(valid_after=0, valid_until=5).judge(earliest=0, latest=180) is None


def _session(user_op_policies: tuple[PolicyData, ...] = (), actions: tuple[ActionData, ...] = ()) -> Session:
    return Session(
        session_validator=OTHER,
        session_validator_init_data=b"",
        salt=bytes(32),
        user_op_policies=user_op_policies,
        actions=actions,
    )


def test_the_windows_a_user_op_meets() -> None:
    on_increment = get_time_frame_policy(valid_after=1_000, valid_until=2_000)
    every_op = get_time_frame_policy(valid_after=10, valid_until=0)
    session = _session(
        user_op_policies=(get_sudo_policy(), every_op),
        actions=(
            ActionData(action_target=COUNTER, action_target_selector=INCREMENT,
                       action_policies=(get_sudo_policy(), on_increment)),
            ActionData(action_target=USDC, action_target_selector=TRANSFER, action_policies=(get_sudo_policy(),)),
        ),
    )  # fmt: skip
    increment, transfer = Call(to=COUNTER, data=INCREMENT), Call(to=USDC, data=TRANSFER + bytes(64))
    frames = session_time_frames(session, [transfer, increment])
    assert [(f.window, f.target, f.selector) for f in frames] == [
        (TimeFrame(10, 0), None, None),  # the userOp policy, for every userOp of the session
        (TimeFrame(1_000, 2_000), COUNTER, "0xd09de08a"),  # the increment's action only
    ]
    assert all(f.policy == TIME_FRAME_POLICY_ADDRESS for f in frames)
    assert [f.window for f in session_time_frames(session, [transfer])] == [TimeFrame(10, 0)]
    # a call the session has no action for meets no action window (the chain refuses it as NoPoliciesSet)
    assert [f.window for f in session_time_frames(session, [Call(to=OTHER, data=INCREMENT)])] == [TimeFrame(10, 0)]


def test_a_call_without_its_own_action_meets_the_fallback_actions_windows() -> None:
    fallback = get_time_frame_policy(valid_after=5, valid_until=6)
    session = _session(
        actions=(
            ActionData(action_target=FALLBACK_TARGET_FLAG, action_target_selector=FALLBACK_TARGET_SELECTOR_FLAG,
                       action_policies=(fallback,)),
            ActionData(action_target=COUNTER, action_target_selector=INCREMENT, action_policies=(get_sudo_policy(),)),
        ),
    )  # fmt: skip
    assert [f.window for f in session_time_frames(session, [Call(to=OTHER, data=b"\x01")])] == [TimeFrame(5, 6)]
    assert [f.selector for f in session_time_frames(session, [Call(to=OTHER, data=b"")])] == ["0xffffffff"]
    assert session_time_frames(session, [Call(to=COUNTER, data=INCREMENT)]) == []  # its own action: no window


def test_init_data_that_is_no_window_is_left_to_the_chain() -> None:
    short = PolicyData(policy=TIME_FRAME_POLICY_ADDRESS, init_data=b"\x01" * 11)
    zero = PolicyData(policy=TIME_FRAME_POLICY_ADDRESS, init_data=bytes(12))
    assert session_time_frames(_session(user_op_policies=(short, zero)), []) == []


def test_dates() -> None:
    assert utc_date(0) == "1970-01-01 00:00:00 UTC"
    assert utc_date(1_800_000_000) == "2027-01-15 08:00:00 UTC"
    assert utc_date(2**48 - 1) == f"unix {2**48 - 1}"


def test_the_error_of_a_window_not_yet_open() -> None:
    err = outside_time_frame_error(
        "not_open", permission_id=PID, chain_id=8453, policy=TIME_FRAME_POLICY_ADDRESS,
        valid_after=1_800_003_600, valid_until=0, chain_time=1_800_000_000, target=COUNTER, selector="0xd09de08a",
    )  # fmt: skip
    assert isinstance(err, PolicyViolationError) and err.not_yet_open
    assert (err.valid_after, err.valid_until, err.chain_time) == (1_800_003_600, 0, 1_800_000_000)
    assert (err.permission_id, err.chain_id, err.action_target, err.action_selector) == (
        PID, 8453, COUNTER, "0xd09de08a"
    )  # fmt: skip
    assert (err.policy, err.policy_name) == (TIME_FRAME_POLICY_ADDRESS, "TimeFramePolicy")
    assert err.short_message == (
        f"Permission {PID} cannot be used yet on chain 8453: its TimeFramePolicy on {COUNTER}.0xd09de08a opens at "
        "2027-01-15 09:00:00 UTC (unix 1800003600), 3600 s from now; the chain's time is 2027-01-15 08:00:00 UTC "
        "(unix 1800000000)."
    )
    assert "with no end" in str(err) and "Fix: wait until 2027-01-15 09:00:00 UTC" in str(err)


def test_the_error_of_a_window_that_is_over() -> None:
    err = outside_time_frame_error(
        "over", permission_id=PID, chain_id=10, policy=TIME_FRAME_POLICY_ADDRESS,
        valid_after=1_799_990_000, valid_until=1_799_999_000, chain_time=1_800_000_000,
    )  # fmt: skip
    assert not err.not_yet_open and err.action_target is None
    assert "closed at 2027-01-15 07:43:20 UTC (unix 1799999000), 1000 s ago" in err.short_message
    assert "the permission-wide one, a userOp policy: every userOp of the session" in err.short_message
    assert "grant a new permission" in str(err)


def test_the_nodes_codes_give_the_same_error() -> None:
    facts = {
        "field": "userOps[0]", "chainId": 8453, "userOpIndex": 1, "permissionId": PID,
        "policy": TIME_FRAME_POLICY_ADDRESS, "policyName": "TimeFramePolicy", "target": COUNTER,
        "selector": "0xd09de08a", "validAfter": 1_800_003_600, "validUntil": 0, "chainTime": 1_800_000_000,
        "lowerBoundTimestamp": 1_800_000_000, "upperBoundTimestamp": 1_800_000_180,
    }  # fmt: skip
    from_node = explain_refusal("whatever the node says", code="SESSION_TIME_FRAME_NOT_OPEN", facts=facts)
    own = outside_time_frame_error(
        "not_open", permission_id=PID, chain_id=8453, policy=TIME_FRAME_POLICY_ADDRESS,
        valid_after=1_800_003_600, valid_until=0, chain_time=1_800_000_000, target=COUNTER, selector="0xd09de08a",
    )  # fmt: skip
    assert isinstance(from_node, OutsideTimeFrameError)
    assert from_node.short_message == own.short_message and from_node.meta_messages == own.meta_messages
    assert from_node.details == "whatever the node says"
    over = explain_refusal("x", code="SESSION_TIME_FRAME_OVER", facts=facts | {"validUntil": 1_799_999_000})
    assert isinstance(over, OutsideTimeFrameError) and not over.not_yet_open and over.valid_until == 1_799_999_000
    # facts a node left out, or that are no timestamps, are None
    bare = explain_refusal("x", code="SESSION_TIME_FRAME_OVER", facts={"validAfter": "soon", "chainTime": -1})
    assert isinstance(bare, OutsideTimeFrameError)
    assert (bare.valid_after, bare.valid_until, bare.chain_time, bare.permission_id) == (None, None, None, None)
    assert "(unknown)" in bare.short_message


# -- use_permission's own judgement: the span each userOp of the quote it asks for can execute in ---------------------

NOW = 1_800_000_000


def _details(window: PolicyData) -> SessionDetails:
    [details] = grant_permission_offline(
        signer=Account.from_key("0x" + "42" * 32),
        redeemer=OTHER,
        actions=[ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                              action_policies=[window])],
        accounts={8453: USDC},
        nonces={8453: 0},
        versions="2.1.0",
        fee_token=FeeTokenInfo(address=USDC, chain_id=8453),
        fee_token_decimals=6,
    )  # fmt: skip
    return details


def _judged(window: PolicyData, *, lower: int | None = None, upper: int | None = None) -> str | None:
    details = _details(window)
    instruction = Instruction(chain_id=8453, calls=(Call(to=COUNTER, data=INCREMENT),), lower_bound_timestamp=lower,
                              upper_bound_timestamp=upper)  # fmt: skip
    ops = _session_ops([instruction], FeeTokenInfo(address=USDC, chain_id=8453), batch=True)
    assert [op.payment for op in ops] == [True, False]
    try:
        _judge_time_frames({8453: details}, ops, {8453: NOW})
    except OutsideTimeFrameError as err:
        assert err.chain_time == NOW and err.action_target == COUNTER and err.permission_id is not None
        return "not_open" if err.not_yet_open else "over"
    return None


def test_use_permission_judges_the_default_execution_window() -> None:
    # by default a userOp can execute from the chain's time for 180 s (the quote's default window)
    assert _judged(get_time_frame_policy(valid_after=NOW + 180, valid_until=0)) is None  # opens at its last second
    assert _judged(get_time_frame_policy(valid_after=NOW + 181, valid_until=0)) == "not_open"
    assert _judged(get_time_frame_policy(valid_after=NOW - 10, valid_until=NOW)) is None  # its last second is now
    assert _judged(get_time_frame_policy(valid_after=NOW - 10, valid_until=NOW - 1)) == "over"


def test_use_permission_judges_an_instructions_own_window() -> None:
    later = get_time_frame_policy(valid_after=NOW + 3_600, valid_until=NOW + 7_200)
    assert _judged(later) == "not_open"
    assert _judged(later, lower=NOW + 3_500, upper=NOW + 3_700) is None  # scheduled into the time frame
    assert _judged(later, lower=NOW + 7_201, upper=NOW + 7_400) == "over"  # scheduled after it closed
