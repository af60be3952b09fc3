"""The local node's refusal codes and facts, read from simulation revert data (``devnet/node/refusals.py``): the
EntryPoint's ``FailedOp`` / ``FailedOpWithRevert``, SmartSessions' errors, a reverted call, and the universal action
policy rule a call breaks. Pure: crafted revert data, no chain."""

from __future__ import annotations

import pytest

from smartsessions.account.calls import Call, encode_execute_single
from smartsessions.devnet.node.errors import Code
from smartsessions.devnet.node.refusals import RefusedOp, broken_rule, call_reverted, validation_failed
from smartsessions.devnet.node.simulation import SimulatedOp
from smartsessions.encoding.abi import encode_function_call
from smartsessions.policies import (
    VALUE_LIMIT_POLICY_ADDRESS,
    LimitUsage,
    ParamCondition,
    ParamRule,
    ParamRules,
)
from smartsessions.policies.universal_action import UniversalActionConfig, encode_action_config

TARGET = "0x1111111111111111111111111111111111111111"
PERMISSION = bytes(range(32))
SET_NUMBER = encode_function_call("setNumber(uint256)", [11])
OP = RefusedOp(
    index=1,
    field="userOps[0]",
    chain_id=8453,
    nonce=(7 << 64) | 3,
    call_data=bytes(encode_execute_single(Call(to=TARGET, data=SET_NUMBER))),
)
WHERE = {"chainId": 8453, "userOpIndex": 1, "field": "userOps[0]"}


def _failed(reason: str, inner: bytes | None = None) -> SimulatedOp:
    if inner is None:
        data = encode_function_call("FailedOp(uint256,string)", [0, reason])
    else:
        data = encode_function_call("FailedOpWithRevert(uint256,string,bytes)", [0, reason, inner])
    return SimulatedOp(error="(the message the node writes)", failure=bytes(data))


def test_the_entry_points_own_codes() -> None:
    assert validation_failed(OP, _failed("AA25 invalid account nonce")) == (
        Code.NONCE_INVALID,
        {**WHERE, "aaCode": "AA25", "reason": "AA25 invalid account nonce", "nonce": str((7 << 64) | 3)},
    )
    assert validation_failed(OP, _failed("AA24 signature error")) == (
        Code.SIGNATURE_INVALID,
        {**WHERE, "aaCode": "AA24", "reason": "AA24 signature error"},
    )
    assert validation_failed(OP, _failed("AA20 account not deployed")) == (
        Code.USER_OP_VALIDATION_FAILED,
        {**WHERE, "aaCode": "AA20", "reason": "AA20 account not deployed"},
    )


def test_no_revert_data_keeps_the_chains_message() -> None:
    result = SimulatedOp(error="execution reverted")
    assert validation_failed(OP, result) == (
        Code.USER_OP_VALIDATION_FAILED,
        {**WHERE, "reason": "execution reverted"},
    )


@pytest.mark.parametrize(
    ("inner", "code", "facts"),
    [
        (encode_function_call("PolicyViolation(bytes32,address)", [PERMISSION, VALUE_LIMIT_POLICY_ADDRESS]),
         Code.POLICY_VIOLATION,
         {"revertError": "PolicyViolation", "permissionId": "0x" + PERMISSION.hex(),
          "policy": VALUE_LIMIT_POLICY_ADDRESS, "policyName": "ValueLimitPolicy",
          "target": TARGET, "selector": "0x" + SET_NUMBER[:4].hex()}),
        (encode_function_call("NoPoliciesSet(bytes32)", [PERMISSION]), Code.ACTION_NOT_PERMITTED,
         {"revertError": "NoPoliciesSet", "permissionId": "0x" + PERMISSION.hex(),
          "target": TARGET, "selector": "0x" + SET_NUMBER[:4].hex()}),
        (encode_function_call("InvalidPermissionId(bytes32)", [PERMISSION]), Code.SESSION_NOT_ENABLED,
         {"revertError": "InvalidPermissionId", "permissionId": "0x" + PERMISSION.hex()}),
        (encode_function_call("HashMismatch(bytes32,bytes32)", [b"\x01" * 32, b"\x02" * 32]),
         Code.ENABLE_SIGNATURE_USED,
         {"revertError": "HashMismatch", "providedHash": "0x" + "01" * 32, "computedHash": "0x" + "02" * 32}),
        (encode_function_call("InvalidEnableSignature(address,bytes32)", [TARGET, b"\x03" * 32]),
         Code.ENABLE_SIGNATURE_INVALID,
         {"revertError": "InvalidEnableSignature", "account": TARGET, "hash": "0x" + "03" * 32}),
        (encode_function_call("PolicyCheckReverted(bytes32)", [b"\x04" * 32]), Code.POLICY_VIOLATION,
         {"revertError": "PolicyCheckReverted", "policyReason": "0x" + "04" * 32}),
        (encode_function_call("Error(string)", ["nope"]), Code.USER_OP_VALIDATION_FAILED, {"revertError": "Error"}),
        (b"\xde\xad\xbe\xef", Code.USER_OP_VALIDATION_FAILED, {}),
    ],
    ids=["PolicyViolation", "NoPoliciesSet", "InvalidPermissionId", "HashMismatch", "InvalidEnableSignature",
         "PolicyCheckReverted", "Error", "unknown"],
)  # fmt: skip
def test_smart_sessions_errors_inside_aa23(inner: bytes, code: Code, facts: dict[str, object]) -> None:
    assert validation_failed(OP, _failed("AA23 reverted", bytes(inner))) == (
        code,
        {**WHERE, "aaCode": "AA23", "reason": "AA23 reverted", "revertData": "0x" + bytes(inner).hex(), **facts},
    )


def test_a_reverted_call_names_its_error() -> None:
    data = bytes(encode_function_call("Error(string)", ["ERC20: transfer amount exceeds balance"]))
    result = SimulatedOp(reverted=True, revert_reason="(decoded)", revert_data=data)
    assert call_reverted(OP, result) == (
        Code.USER_OP_CALL_REVERTED,
        {**WHERE, "revertData": "0x" + data.hex(), "revertError": "Error"},
    )


def _policy(*rules: ParamRule, value_limit: int = 0) -> bytes:
    config = UniversalActionConfig(
        value_limit_per_use=value_limit, param_rules=ParamRules(length=len(rules), rules=rules)
    )
    return bytes(encode_action_config(config))


def _call(*words: int, value: int = 0) -> Call:
    return Call(to=TARGET, value=value, data=b"\xaa\xbb\xcc\xdd" + b"".join(w.to_bytes(32, "big") for w in words))


def test_the_first_rule_the_call_breaks() -> None:
    rules = (
        ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=5),
        ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=32, ref=10),
    )
    assert broken_rule(_policy(*rules), _call(5, 10)) is None
    assert broken_rule(_policy(*rules), _call(5, 11)) == {
        "index": 1, "condition": "LESS_THAN_OR_EQUAL", "offset": 32, "ref": "10", "value": "11",
    }  # fmt: skip
    assert broken_rule(_policy(*rules), _call(6, 11)) == {
        "index": 0, "condition": "EQUAL", "offset": 0, "ref": "5", "value": "6",
    }  # fmt: skip


def test_a_range_a_missing_argument_the_value_and_a_cumulative_limit() -> None:
    in_range = ParamRule(condition=ParamCondition.IN_RANGE, offset=0, ref=(3 << 128) | 9)
    assert broken_rule(_policy(in_range), _call(10)) == {
        "index": 0, "condition": "IN_RANGE", "offset": 0, "min": "3", "max": "9", "value": "10",
    }  # fmt: skip
    assert broken_rule(_policy(in_range), _call()) == {
        "index": 0, "condition": "IN_RANGE", "offset": 0, "min": "3", "max": "9",
    }  # fmt: skip
    any_rule = ParamRule(condition=ParamCondition.GREATER_THAN_OR_EQUAL, offset=0, ref=0)
    assert broken_rule(_policy(any_rule, value_limit=100), _call(1, value=101)) == {
        "valueLimitPerUse": "100", "value": "101",
    }  # fmt: skip
    limited = ParamRule(
        condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=0, ref=50, is_limited=True, usage=LimitUsage(limit=80)
    )
    assert broken_rule(_policy(any_rule, limited), _call(40)) == {
        "index": 1, "condition": "LESS_THAN_OR_EQUAL", "offset": 0, "ref": "50", "value": "40", "limit": "80",
        "cumulative": True,
    }  # fmt: skip


def test_init_data_that_is_no_universal_action_policy() -> None:
    assert broken_rule(b"\x01\x02", _call(1)) is None
