"""Refusals from a node that passes the bundler's raw revert data on (not the devnet node's spelled-out form) are
explained the same way: the SmartSessions error inside the hex is found and decoded."""

from __future__ import annotations

from eth_account import Account

from smartsessions import (
    ActionConfig,
    ActionNotPermittedError,
    ChainNotSupportedError,
    EnableSignatureUsedError,
    InsufficientBalanceError,
    PolicyViolationError,
    SessionNotEnabledError,
    SessionStateError,
)
from smartsessions.account.calls import Call
from smartsessions.encoding.abi import abi_encode, selector
from smartsessions.mee._refusals import OpContext, explain_refusal
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS, get_sudo_policy
from smartsessions.sessions import grant_permission_offline

PID = bytes(range(32))


def failed_op_with_revert(inner: bytes) -> str:
    """EntryPoint v0.7 ``FailedOpWithRevert(uint256 opIndex, string reason, bytes inner)``, as hex."""
    body = abi_encode(["uint256", "string", "bytes"], [0, "AA23 reverted", inner], what="revert")
    return "0x" + (selector("FailedOpWithRevert(uint256,string,bytes)") + body).hex()


def test_a_policy_violation_inside_raw_revert_data() -> None:
    inner = selector("PolicyViolation(bytes32,address)") + abi_encode(
        ["bytes32", "address"], [PID, UNIVERSAL_ACTION_POLICY_ADDRESS], what="inner"
    )
    err = explain_refusal(f"simulation failed: execution reverted: {failed_op_with_revert(inner)}")
    assert isinstance(err, PolicyViolationError)
    assert err.permission_id == "0x" + PID.hex()
    assert err.policy == UNIVERSAL_ACTION_POLICY_ADDRESS and err.policy_name is not None


def test_an_unknown_permission_inside_raw_revert_data() -> None:
    inner = selector("InvalidPermissionId(bytes32)") + PID
    err = explain_refusal("AA23 reverted " + "0x" + inner.hex())
    assert isinstance(err, SessionNotEnabledError) and err.permission_id == "0x" + PID.hex()


def test_hex_without_a_known_error_is_left_alone() -> None:
    assert explain_refusal("AA23 reverted 0x08c379a0" + "00" * 96) is None
    assert explain_refusal("AA23 reverted 0x1234") is None


# -- a node that sends codes: the code and its facts decide, the message is not read ----------------------------------

USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
HOLDER = "0x1111111111111111111111111111111111111111"


def test_a_code_decides_and_the_message_is_not_read() -> None:
    facts = {"field": "userOps[0]", "chainId": 8453, "permissionId": "0x" + PID.hex(),
             "policy": UNIVERSAL_ACTION_POLICY_ADDRESS.lower()}  # fmt: skip
    err = explain_refusal("words that name nothing", code="POLICY_VIOLATION", facts=facts)
    assert isinstance(err, PolicyViolationError)
    assert (err.permission_id, err.policy, err.chain_id) == ("0x" + PID.hex(), UNIVERSAL_ACTION_POLICY_ADDRESS, 8453)
    assert err.details == "words that name nothing"
    # a message that spells out another refusal changes nothing when a code is given
    text = "userOps[0] (chain 10): AA23 reverted: InvalidPermissionId(permissionId=0x" + "ab" * 32 + ")"
    again = explain_refusal(text, code="POLICY_VIOLATION", facts=facts)
    assert isinstance(again, PolicyViolationError) and again.chain_id == 8453
    served = explain_refusal(text, code="CHAIN_NOT_SERVED", facts={"chainId": 10})
    assert isinstance(served, ChainNotSupportedError) and served.chain_ids == (10,)
    assert explain_refusal(text, code="BUSY", facts={"retryAfter": 1}) is None  # no typed error stands for it


def test_the_session_codes_and_the_balance_code() -> None:
    pid = "0x" + PID.hex()
    not_enabled = explain_refusal("x", code="SESSION_NOT_ENABLED", facts={"permissionId": pid, "chainId": 10})
    assert isinstance(not_enabled, SessionNotEnabledError) and (not_enabled.permission_id, not_enabled.chain_id) == (
        pid,
        10,
    )
    used = explain_refusal("x", code="ENABLE_SIGNATURE_USED", facts={"permissionId": pid})
    assert isinstance(used, EnableSignatureUsedError) and used.permission_id == pid
    invalid = explain_refusal("x", code="ENABLE_SIGNATURE_INVALID", facts={"chainId": 8453})
    assert type(invalid) is SessionStateError and invalid.chain_id == 8453
    poor = explain_refusal(
        "x",
        code="INSUFFICIENT_BALANCE",
        facts={"field": "paymentInfo", "chainId": 8453, "holder": HOLDER, "token": USDC.lower(), "balance": "5",
               "required": "7000", "fee": "7000"},
    )  # fmt: skip
    assert isinstance(poor, InsufficientBalanceError)
    assert (poor.holder, poor.token, poor.chain_id, poor.balance, poor.needed) == (HOLDER, USDC, 8453, 5, 7000)


def test_facts_of_the_wrong_shape_are_left_unread() -> None:
    err = explain_refusal(
        "x",
        code="INSUFFICIENT_BALANCE",
        facts={"holder": 7, "token": "not an address", "balance": "1" * 100, "chainId": True, "required": -1},
    )
    assert isinstance(err, InsufficientBalanceError)
    assert (err.holder, err.token, err.chain_id, err.balance, err.needed) == (None, None, None, None, None)
    err = explain_refusal("x", code="SESSION_NOT_ENABLED", facts={"permissionId": "0x12"})
    assert isinstance(err, SessionNotEnabledError) and err.permission_id is None


# -- a call the session grants nothing for -----------------------------------------------------------------------------

COUNTER = "0x2222222222222222222222222222222222222222"


def _op_with_session(calls: list[Call]) -> OpContext:
    details = grant_permission_offline(
        signer=Account.from_key("0x" + "42" * 32),
        redeemer="0x3333333333333333333333333333333333333333",
        actions=[ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector="0xd09de08a",
                              action_policies=[get_sudo_policy()])],
        accounts={8453: HOLDER},
        nonces={8453: 0},
        versions="2.1.0",
    )  # fmt: skip
    return OpContext("userOps[0]", 8453, calls, details[0], None, HOLDER)


def test_a_call_without_an_action_names_the_call_and_what_is_allowed() -> None:
    approve = Call(to=USDC, data=selector("approve(address,uint256)") + bytes(64))
    op = _op_with_session([Call(to=COUNTER, data=selector("increment()")), approve])
    assert op.session_details is not None
    pid = "0x" + bytes(op.session_details.permission_id).hex()
    for err in (
        # the local node: its code and facts
        explain_refusal(
            "x",
            {"userOps[0]": op},
            code="ACTION_NOT_PERMITTED",
            facts={
                "field": "userOps[0]",
                "chainId": 8453,
                "permissionId": pid,
                "target": USDC.lower(),
                "selector": "0x095ea7b3",
            },
        ),
        # a node without codes: the revert's name, and the call worked out from the userOp's calls
        explain_refusal(
            f"userOps[0] (chain 8453): refused in simulation: AA23 reverted: NoPoliciesSet(permissionId={pid})",
            {"userOps[0]": op},
        ),
    ):
        assert isinstance(err, ActionNotPermittedError) and isinstance(err, PolicyViolationError)
        assert (err.permission_id, err.chain_id, err.action_target, err.action_selector) == (
            pid,
            8453,
            USDC,
            "0x095ea7b3",
        )
        assert err.allowed == (f"{COUNTER}.0xd09de08a",)
        assert "approve(address,uint256)" in str(err) and f"It allows: {COUNTER}.0xd09de08a" in str(err)


def test_no_policies_set_inside_raw_revert_data() -> None:
    inner = selector("NoPoliciesSet(bytes32)") + PID
    err = explain_refusal("AA23 reverted " + failed_op_with_revert(inner))
    assert isinstance(err, ActionNotPermittedError) and err.permission_id == "0x" + PID.hex() and err.allowed == ()
