"""Refusals from a node that passes the bundler's raw revert data on (not the devnet node's spelled-out form) are
explained the same way: the SmartSessions error inside the hex is found and decoded."""

from __future__ import annotations

from smartsessions import PolicyViolationError, SessionNotEnabledError
from smartsessions.encoding.abi import abi_encode, selector
from smartsessions.mee._refusals import explain_refusal
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS

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
