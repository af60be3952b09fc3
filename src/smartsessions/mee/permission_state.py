"""What a permission's state on one chain says about using it, from two reads of SmartSessions for the account:
``isPermissionEnabled(permissionId, account)`` and ``getNonce(permissionId, account)``.

The nonce counts the enable signatures used for that permission on that account, so it tells a permission that was
never enabled there from one that was enabled and then removed, and, with the grant's signed digest for the chain,
an enable signature already used from a grant made for another account. ``use_permission`` decides with it before
anything is asked or signed, and the devnet node words its refusals with it for clients that do not decide early,
so that both tell the same story (and neither says "revoked" of a permission that never was).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ..encoding.abi import encode_function_call
from ..encoding.eip712 import get_session_digest
from ..encoding.session import SmartSessionMode
from ..errors import (
    EnableSignatureUsedError,
    GrantAccountMismatchError,
    SessionNotEnabledError,
    SessionStateError,
)
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.session import SessionDetails

__all__ = [
    "STATE_KINDS",
    "PermissionStateRefusal",
    "permission_state_calls",
    "permission_state_refusal",
    "session_state_error",
]

RefusalKind = Literal["never_enabled", "removed", "enabled_already", "enable_used", "other_account"]
STATE_KINDS: tuple[RefusalKind, ...] = get_args(RefusalKind)
#: How many of the account's earlier SmartSessions nonces a grant's digest is compared with: each enable of the same
#: permission on the account moves it by one, so more than a few is not seen in practice.
_NONCES_LOOKED_BACK = 16


@dataclass(frozen=True)
class PermissionStateRefusal:
    """Why the permission cannot be used in the mode asked for, on ``chain_id``, by ``account``."""

    kind: RefusalKind
    permission_id: str
    chain_id: int
    account: str
    #: The details carry no grant (a PREPARE's, whose session the owner enables on chain): no enable signature to
    #: speak of, and a session never enabled here most likely means the client names another account.
    prepared: bool = False

    @property
    def message(self) -> str:
        pid, where = self.permission_id, f"on chain {self.chain_id} for account {self.account}"
        return {
            "never_enabled": f"Permission {pid} is not enabled {where}.",
            "removed": f"Permission {pid} is not enabled {where}.",
            "enabled_already": f"Permission {pid} is enabled already {where}: ENABLE_AND_USE would enable it again.",
            "enable_used": f"The enable signature of permission {pid} was used {where} already, and the permission "
            "is not enabled there now.",
            "other_account": f"The grant of permission {pid} was not made for account {self.account} (chain "
            f"{self.chain_id}): its enable signature covers another account.",
        }[self.kind]

    @property
    def history(self) -> str:
        """What happened to the permission on this account, and what to do."""
        if self.prepared and self.kind == "never_enabled":
            return (
                "It was never enabled on this account, and these details are of a session a PREPARE enables on "
                "chain: use the account that PREPARE ran on (the session signer's client names it as its account "
                "address), or PREPARE this account with enable_session."
            )
        if self.prepared and self.kind == "removed":
            return "It was enabled on this account and has since been removed (removeSession): enable a new session."
        return {
            "never_enabled": "No grant's enable signature of it was ever used on this account. Use the grant's "
            "details once in ENABLE_AND_USE mode, or enable it with prepare_for_permissions (redeemer and actions); "
            "details granted for another account cannot be used for this one.",
            "removed": "A grant's enable signature of it was used on this account: it was enabled here and has since "
            "been removed (removeSession). Grant a new permission.",
            "enabled_already": "Use it in USE mode.",
            "enable_used": "It was enabled with this grant and has since been removed: grant a new permission.",
            "other_account": "Use the granter's account (the session signer's client names it as its account "
            "address), or have this account's owner grant the permission.",
        }[self.kind]


def permission_state_calls(permission_id: bytes, account: str) -> list[tuple[str, bytes]]:
    """The two reads the judgement needs, as ``(to, data)`` calls of SmartSessions: ``isPermissionEnabled`` then
    ``getNonce``, for ``permission_id`` on ``account``."""
    return [
        (SMART_SESSIONS_ADDRESS, encode_function_call(sig, [permission_id, account]))
        for sig in ("isPermissionEnabled(bytes32,address)", "getNonce(bytes32,address)")
    ]


def permission_state_refusal(
    details: SessionDetails, *, chain_id: int, account: str, enabled: bool, nonce: int, mode: SmartSessionMode
) -> PermissionStateRefusal | None:
    """The refusal the chain's state already decides for ``details`` used in ``mode`` by ``account`` (the two reads:
    ``enabled`` and the SmartSessions ``nonce``), or None when it decides none (the chain then has the last word).

    Details from a grant carry the owner's signed digest for each chain, which covers the account and the nonce it
    was made at: this account's digest at its current nonce (the grant would enable it now), at the nonce before (the
    grant was used here), or neither (the grant was made for another account). Details without one (from
    ``prepare_for_permissions``) only tell never enabled (nonce 0) from enabled and removed."""
    pid = details.permission_id

    def refused(kind: RefusalKind, prepared: bool = False) -> PermissionStateRefusal:
        return PermissionStateRefusal(kind, pid, chain_id, account, prepared)

    if mode is SmartSessionMode.USE and enabled:
        return None
    if mode is not SmartSessionMode.USE and enabled:
        return refused("enabled_already")
    enable = details.enable_session_data.enable_session
    signed = next((bytes(x.session_digest) for x in enable.hashes_and_chain_ids if x.chain_id == chain_id), None)
    if signed is None or len(signed) != 32:  # no grant's digest to compare with (details from prepare_for_permissions)
        if mode is SmartSessionMode.USE:
            return refused("removed" if nonce > 0 else "never_enabled", prepared=True)
        return None  # the chain decides
    session = enable.session_to_enable

    def digest(at: int) -> bytes:
        return bytes(get_session_digest(session, account=account, mode=SmartSessionMode.UNSAFE_ENABLE, nonce=at))

    if digest(nonce) == signed:  # the grant would enable it here now
        return refused("never_enabled") if mode is SmartSessionMode.USE else None
    if any(digest(at) == signed for at in range(nonce - 1, max(nonce - _NONCES_LOOKED_BACK, 0) - 1, -1)):
        return refused("removed" if mode is SmartSessionMode.USE else "enable_used")
    return refused("other_account")


#: What the SDK says to do, in its own words (Python keywords), where the shared history names a mode.
_SDK_FIX = {
    "enabled_already": "Fix: use mode='USE'.",
    "other_account": "Fix: give the session signer's client the granter's account (account_address in its chain "
    "configurations), or have this account's owner grant the permission.",
}


def session_state_error(refusal: PermissionStateRefusal, *, details: str | None = None) -> SessionStateError:
    """The typed error of ``refusal``: the SDK's own early decision and a node's coded refusal raise the same
    (``details``: the node's words, when it was the node's)."""
    meta = [_SDK_FIX.get(refusal.kind, refusal.history)]
    pid, chain_id, message = refusal.permission_id, refusal.chain_id, refusal.message
    if refusal.kind in ("never_enabled", "removed"):
        return SessionNotEnabledError(
            message, permission_id=pid, chain_id=chain_id, meta_messages=meta, details=details
        )
    if refusal.kind == "other_account":
        return GrantAccountMismatchError(
            message, permission_id=pid, chain_id=chain_id, account=refusal.account, meta_messages=meta, details=details
        )
    return EnableSignatureUsedError(message, permission_id=pid, chain_id=chain_id, meta_messages=meta, details=details)
