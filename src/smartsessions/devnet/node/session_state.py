"""A session userOp refused because of its permission's state, told as the chain's state tells it.

SmartSessions refuses such a userOp with ``InvalidPermissionId`` (USE of a permission not enabled) or
``HashMismatch`` (an enable signature that does not pass here), and neither says why. The account's two reads of
SmartSessions (``isPermissionEnabled`` and ``getNonce``) do: never enabled on this account, enabled then removed,
enabled already, the enable signature used already, or a grant made for another account
(:mod:`smartsessions.mee.permission_state`, the same judgement the SDK makes before it asks for a quote). So a
client that does not decide early (the reference SDK) hears the real cause too, and no one is told that a
permission was revoked when it never was.
"""

from __future__ import annotations

from ...encoding.session import SmartSessionMode
from ...errors import RpcError
from ...mee.permission_state import permission_state_calls, permission_state_refusal
from ...wire.session import SessionDetails
from ._chain import ChainClient
from .errors import Code, NodeError

__all__ = ["worded_by_permission_state"]

_STATE_CODES = {
    "never_enabled": Code.SESSION_NOT_ENABLED,
    "removed": Code.SESSION_NOT_ENABLED,
    "enabled_already": Code.ENABLE_SIGNATURE_USED,
    "enable_used": Code.ENABLE_SIGNATURE_USED,
    "other_account": Code.GRANT_ACCOUNT_MISMATCH,
}


async def worded_by_permission_state(
    chain: ChainClient,
    error: NodeError,
    *,
    details: SessionDetails,
    account: str,
    mode: SmartSessionMode,
    chain_id: int,
) -> NodeError:
    """``error`` (a session userOp's refusal) said again from the permission's state when it is about that state
    (``SESSION_NOT_ENABLED``, ``ENABLE_SIGNATURE_USED``), with the state in its facts (``permissionState``,
    ``account``); ``error`` as it is otherwise, or when the chain does not answer. ``mode``: the one the userOp was
    simulated in."""
    if error.code not in (Code.SESSION_NOT_ENABLED, Code.ENABLE_SIGNATURE_USED):
        return error
    pid = bytes(details.permission_id)
    try:
        enabled, nonce = await chain.calls(permission_state_calls(pid, account))
    except RpcError:
        return error
    refusal = permission_state_refusal(
        details,
        chain_id=chain_id,
        account=account,
        enabled=int.from_bytes(enabled[:32], "big") != 0,
        nonce=int.from_bytes(nonce[:32], "big"),
        mode=mode,
    )
    if refusal is None:
        return error
    where, _, reason = error.message.partition(": ")
    return NodeError(
        400,
        f"{where}: {refusal.message} {refusal.history} ({reason})",
        code=_STATE_CODES[refusal.kind],
        facts=error.facts
        | {"permissionId": refusal.permission_id, "account": account, "permissionState": refusal.kind},
    )
