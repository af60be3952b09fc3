"""The permission's state, judged from SmartSessions' two reads (``isPermissionEnabled``, ``getNonce``) and the
grant's signed digest: the story the SDK's early decision and the devnet node's refusals both tell (issue 13, rows
3 to 5: never "revoked" for a permission that never was)."""

from __future__ import annotations

import pytest
from eth_account import Account

from smartsessions import ActionConfig, SessionDetails, SmartSessionMode, get_sudo_policy
from smartsessions.mee.permission_state import permission_state_refusal
from smartsessions.sessions.grant import grant_permission_offline

OWNER = Account.from_key("0x" + "11" * 32)
ACCOUNT = "0x00000000000000000000000000000000000000A1"
OTHER = "0x00000000000000000000000000000000000000B2"
USE, ENABLE = SmartSessionMode.USE, SmartSessionMode.UNSAFE_ENABLE


def _granted_at(nonce: int) -> SessionDetails:
    [details] = grant_permission_offline(
        signer=OWNER,
        redeemer=OWNER.address,
        actions=[
            ActionConfig(
                chain_id=8453,
                action_target="0x00000000000000000000000000000000000000c0",
                action_target_selector="0xd09de08a",
                action_policies=[get_sudo_policy()],
            )
        ],
        accounts={8453: ACCOUNT},
        nonces={8453: nonce},
        versions="2.1.0",
    )
    return details


@pytest.mark.parametrize(
    ("account", "enabled", "nonce", "mode", "kind"),
    [
        (ACCOUNT, True, 1, USE, None),  # enabled: USE passes
        (ACCOUNT, False, 2, USE, "never_enabled"),  # the grant (made at nonce 2) would enable it now
        (ACCOUNT, False, 3, USE, "removed"),  # used at 2, then removed
        (ACCOUNT, False, 7, USE, "removed"),  # used at 2; enabled and removed by other grants since
        (OTHER, False, 0, USE, "other_account"),
        (OTHER, False, 3, USE, "other_account"),
        (ACCOUNT, False, 2, ENABLE, None),  # the grant enables it now
        (ACCOUNT, True, 3, ENABLE, "enabled_already"),
        (ACCOUNT, False, 3, ENABLE, "enable_used"),
        (OTHER, False, 2, ENABLE, "other_account"),
    ],
)
def test_the_state_tells_the_story(account: str, enabled: bool, nonce: int, mode: SmartSessionMode, kind: str) -> None:
    details = _granted_at(2)
    refusal = permission_state_refusal(
        details,
        chain_id=8453,
        account=account,
        enabled=enabled,
        nonce=nonce,
        mode=mode,
    )
    assert (refusal.kind if refusal else None) == kind
    if refusal is not None:
        assert refusal.account == account and refusal.chain_id == 8453
        assert ("removed" in refusal.history) == (kind in ("removed", "enable_used"))


def test_details_without_a_grants_digest_tell_never_from_removed() -> None:
    details = _granted_at(0)
    bare = details.model_copy(
        update={
            "enable_session_data": details.enable_session_data.model_copy(
                update={
                    "enable_session": details.enable_session_data.enable_session.model_copy(
                        update={"hashes_and_chain_ids": ()}
                    )
                }
            )
        }
    )
    refusals = [
        permission_state_refusal(bare, chain_id=8453, account=OTHER, enabled=False, nonce=n, mode=USE) for n in (0, 1)
    ]
    assert [r.kind if r else None for r in refusals] == ["never_enabled", "removed"]
    # without a grant there is no enable signature to speak of: the words are a PREPARE's
    assert all(r is not None and r.prepared for r in refusals)
    assert refusals[0] is not None and "use the account that PREPARE ran on" in refusals[0].history
    assert refusals[1] is not None and refusals[1].history.startswith("It was enabled on this account and has since")
    assert all("grant" not in (r.history if r else "") for r in refusals)
    assert permission_state_refusal(bare, chain_id=8453, account=OTHER, enabled=False, nonce=1, mode=ENABLE) is None
