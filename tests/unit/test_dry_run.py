"""The dry run's reading of the chain's answer (``eth_simulateV1`` of ``handleOps``), with no chain: a refusal becomes
the typed error a real use raises, a time frame that opens in the window is no refusal, a reverting call is allowed
by the session but marked, and an answer of the wrong shape is an RPC error."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    ActionConfig,
    ActionNotPermittedError,
    DryRunResult,
    DryRunUserOp,
    PolicyViolationError,
    RpcError,
    SessionNotEnabledError,
    UserOpRefusedError,
)
from smartsessions._coerce import keccak
from smartsessions.account.calls import Call
from smartsessions.encoding.abi import abi_encode, selector
from smartsessions.encoding.session import SmartSessionMode
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS, get_sudo_policy
from smartsessions.sessions import grant_permission_offline
from smartsessions.sessions.dry_run import _failure, _verdicts
from smartsessions.sessions.use import _SessionOp
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS

ACCOUNT = "0x1111111111111111111111111111111111111111"
COUNTER = "0x000000000000000000000000000000000000c0Fe"
INCREMENT = bytes.fromhex("d09de08a")


def _details() -> Any:
    [details] = grant_permission_offline(
        signer=Account.from_key("0x" + "42" * 32),
        redeemer="0x3333333333333333333333333333333333333333",
        actions=[ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                              action_policies=[get_sudo_policy()])],
        accounts={8453: ACCOUNT},
        nonces={8453: 0},
        versions="2.1.0",
    )  # fmt: skip
    return details


CLIENT: Any = SimpleNamespace(account=SimpleNamespace(deployment_on=lambda chain_id: SimpleNamespace(address=ACCOUNT)))


def _ops(*calls: Call) -> list[Any]:
    details = _details()
    return [(f"userOps[{k}]", _SessionOp(8453, (c,)), details, SmartSessionMode.USE) for k, c in enumerate(calls)]


def _failed(reason: str, inner: bytes | None = None) -> dict[str, Any]:
    if inner is None:
        data = selector("FailedOp(uint256,string)") + abi_encode(["uint256", "string"], [0, reason], what="r")
    else:
        body = abi_encode(["uint256", "string", "bytes"], [0, reason, inner], what="r")
        data = selector("FailedOpWithRevert(uint256,string,bytes)") + body
    return {"status": "0x0", "returnData": "0x" + data.hex(), "logs": []}


def _answer(*results: dict[str, Any]) -> list[Any]:
    return [{"calls": list(results)}]


def test_a_policy_violation_is_the_typed_error_naming_the_policy_and_the_action() -> None:
    details = _details()
    inner = selector("PolicyViolation(bytes32,address)") + abi_encode(
        ["bytes32", "address"], [bytes(details.permission_id), UNIVERSAL_ACTION_POLICY_ADDRESS], what="inner"
    )
    call = Call(to=COUNTER, data=INCREMENT)
    [op] = _verdicts(CLIENT, 8453, _ops(call), _answer(_failed("AA23 reverted", inner)))
    assert isinstance(op.error, PolicyViolationError) and op.chain_id == 8453 and op.calls == (call,)
    assert op.error.policy is not None and op.error.policy.lower() == UNIVERSAL_ACTION_POLICY_ADDRESS.lower()
    assert (op.error.chain_id, op.error.permission_id) == (8453, details.permission_id)
    assert op.error.action_selector == "0xd09de08a"
    result = DryRunResult(error=op.error, user_ops=(op,))
    assert not result.allowed
    with pytest.raises(PolicyViolationError):
        result.raise_for_refusal()


def test_no_action_for_the_call_and_a_permission_not_enabled() -> None:
    details = _details()
    pid = bytes(details.permission_id)
    other = Call(to=COUNTER, data=bytes.fromhex("3fb5c1cb") + bytes(32))
    no_policies = selector("NoPoliciesSet(bytes32)") + pid
    [op] = _verdicts(CLIENT, 8453, _ops(other), _answer(_failed("AA23 reverted", no_policies)))
    assert isinstance(op.error, ActionNotPermittedError)
    not_enabled = selector("InvalidPermissionId(bytes32)") + pid
    [op] = _verdicts(CLIENT, 8453, _ops(other), _answer(_failed("AA23 reverted", not_enabled)))
    assert isinstance(op.error, SessionNotEnabledError) and op.error.chain_id == 8453


def test_the_userops_after_a_refused_one_are_not_judged() -> None:
    call = Call(to=COUNTER, data=INCREMENT)
    ops = _verdicts(CLIENT, 8453, _ops(call, call), _answer(_failed("AA24 signature error"), {"status": "0x1"}))
    assert len(ops) == 1 and isinstance(ops[0].error, UserOpRefusedError)  # no session refusal explains AA24
    assert "AA24 signature error" in str(ops[0].error)


def test_a_time_frame_that_opens_in_the_window_is_no_refusal() -> None:
    """AA22 (not due yet) comes only after every policy passed; the early check found the frame opens in time."""
    [op] = _verdicts(CLIENT, 8453, _ops(Call(to=COUNTER, data=INCREMENT)), _answer(_failed("AA22 expired or not due")))
    assert op.error is None and not op.call_reverted


def test_a_call_that_reverts_is_allowed_by_the_session_and_marked() -> None:
    topic = "0x" + keccak(b"UserOperationRevertReason(bytes32,address,uint256,bytes)").hex()
    reason = selector("Error(string)") + abi_encode(["string"], ["nope"], what="r")
    log = {"address": ENTRY_POINT_V07_ADDRESS, "topics": [topic], "data": "0x" + abi_encode(
        ["uint256", "bytes"], [0, reason], what="log").hex()}  # fmt: skip
    [op] = _verdicts(CLIENT, 8453, _ops(Call(to=COUNTER, data=INCREMENT)), _answer({"status": "0x1", "logs": [log]}))
    assert op.error is None and op.call_reverted and op.revert_data == reason
    result = DryRunResult(error=None, user_ops=(op, DryRunUserOp(8453, ())))
    assert result.allowed and result.call_reverted
    result.raise_for_refusal()


def test_an_answer_of_the_wrong_shape_is_an_rpc_error() -> None:
    with pytest.raises(RpcError, match="answered 0 results for 1 calls"):
        _verdicts(CLIENT, 8453, _ops(Call(to=COUNTER, data=INCREMENT)), {"calls": []})
    assert _failure(b"\x08\xc3\x79\xa0" + bytes(64)) is None
    assert _failure(selector("FailedOp(uint256,string)") + b"\x01") is None  # truncated: not read
