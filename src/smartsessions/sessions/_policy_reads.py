"""Where a session's policies keep their state, and the ``eth_call`` that reads each: pure, no I/O.

SmartSessions hands each policy a config id and keeps itself as the multiplexer, so a policy's state for one account
lives at ``(configId, SmartSessions, account)``:

* a userOp policy (the permission as a whole): ``configId = keccak256(account ‖ permissionId)``;
* an action policy: ``configId = keccak256(account ‖ keccak256(permissionId ‖ actionId))``, ``actionId =
  keccak256(target ‖ selector)``.

(erc7579/smartsessions ``IdLib``; our ``contracts/smart-sessions/SessionHashing.sol`` computes the same.) The getters
read are those the production policies (SmartSessions 1.0.0) have, with the same answers on the devnet's:

========================  ==========================================================  ==============================
policy                    getter                                                      answer
========================  ==========================================================  ==============================
UsageLimitPolicy          ``usageLimitConfigs(bytes32,address,address)``              ``(uint128 limit, uint128 used)``
ValueLimitPolicy          ``valueLimitConfigs(bytes32,address,address)``              ``(uint256 limit, uint256 used)``
TimeFramePolicy           ``getTimeFrameConfig(bytes32,address,address)``             ``validUntil << 48 | validAfter``
UniActionPolicy           ``actionConfigs(bytes32,address,address)``                  the 98-word ``ActionConfig``
ERC20SpendingLimitPolicy  ``getPolicyData(bytes32,address,address token,address)``   ``(limit, spent, approved)``
========================  ==========================================================  ==============================
"""

from __future__ import annotations

from .._coerce import keccak, to_address
from ..encoding.abi import encode_function_call
from ..encoding.session import get_action_id

__all__ = [
    "action_config_id",
    "action_policy_id",
    "policy_read",
    "spending_read",
    "user_op_config_id",
]

_GETTERS = {
    "usage": "usageLimitConfigs(bytes32,address,address)",
    "value": "valueLimitConfigs(bytes32,address,address)",
    "time_frame": "getTimeFrameConfig(bytes32,address,address)",
    "universal": "actionConfigs(bytes32,address,address)",
}


def _address_bytes(account: str) -> bytes:
    return bytes.fromhex(to_address(account, field="account")[2:])


def user_op_config_id(permission_id: bytes, account: str) -> bytes:
    """The config id of the permission's userOp policies for ``account``: ``keccak256(account ‖ permissionId)``."""
    return keccak(_address_bytes(account) + bytes(permission_id))


def action_policy_id(permission_id: bytes, target: str, selector: bytes) -> bytes:
    """``keccak256(permissionId ‖ actionId)``: what SmartSessions keys an action's policies by."""
    return keccak(bytes(permission_id) + bytes(get_action_id(target=target, selector=selector)))


def action_config_id(permission_id: bytes, account: str, target: str, selector: bytes) -> bytes:
    """The config id of the action ``(target, selector)``'s policies for ``account``."""
    return keccak(_address_bytes(account) + action_policy_id(permission_id, target, selector))


def policy_read(kind: str, config_id: bytes, multiplexer: str, account: str) -> bytes:
    """The calldata of ``kind``'s getter (``"usage"``, ``"value"``, ``"time_frame"``, ``"universal"``)."""
    return encode_function_call(_GETTERS[kind], [config_id, multiplexer, account])


def spending_read(config_id: bytes, multiplexer: str, token: str, account: str) -> bytes:
    """``ERC20SpendingLimitPolicy.getPolicyData(configId, multiplexer, token, account)``: it reverts for a token
    the config does not hold (a session never enabled)."""
    return encode_function_call(
        "getPolicyData(bytes32,address,address,address)", [config_id, multiplexer, token, account]
    )
