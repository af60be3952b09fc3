"""Issue 13, rows 3 to 5, as the node tells them: a session refused for its permission's state, for a client that
does not read the chain before it asks for a quote (``get_quote`` with session details; the reference SDK).

The node reads SmartSessions' ``isPermissionEnabled`` and ``getNonce`` for the account and names the cause: a grant
made for another account (``GRANT_ACCOUNT_MISMATCH``), never enabled there, or enabled and since removed; the SDK
turns each into the same typed error, with the same words, as its own early decision (``use_permission``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from smartsessions import (
    EnableSignatureUsedError,
    GrantAccountMismatchError,
    MeeApiError,
    SessionClient,
    SessionDetails,
    SessionNotEnabledError,
    SmartSessionsError,
    session_details_to_json,
    to_smart_sessions_module,
)
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from ..contracts.harness import Chain
from .conftest import Sdk, increment, increment_action
from .test_examples import state_file
from .test_mee_flows import TRIGGER

pytestmark = pytest.mark.slow  # prepared accounts, grants, refusals

ROOT = Path(__file__).resolve().parents[2]
CROSS = ROOT / "tests" / "reference" / "cross_grant.mjs"


async def _prepared(sdk: Sdk, index: int) -> SessionClient:
    owner = await sdk.owner_client(index=index)
    result = await owner.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer),
        fee_token=sdk.fee(),
        trigger={"token_address": usdc_address(8453), "chain_id": 8453, "amount": TRIGGER},
    )
    assert result is not None
    assert (await owner.wait_for_supertransaction_receipt(result.hash)).status == "MINED_SUCCESS"
    return owner


async def _quote(client: SessionClient, sdk: Sdk, details: list[SessionDetails], mode: str) -> Any:
    """A session quote asked for as use_permission asks for it, without its early decision: the node decides."""
    return await client.get_quote(
        instructions=[increment()],
        module_address=SMART_SESSIONS_ADDRESS,
        short_encoding_super_txn=True,
        session_details=details,
        smart_session_mode=mode,  # type: ignore[arg-type]  # the seed's names, as use_permission takes them
        fee_token=sdk.fee(),
    )


def _node_said(err: SmartSessionsError) -> MeeApiError:
    cause = err.__cause__
    assert isinstance(cause, MeeApiError), repr(cause)
    return cause


async def test_a_grant_for_another_account_is_named_by_the_node(sdk: Sdk) -> None:
    granter = await _prepared(sdk, 0)
    other = await _prepared(sdk, 5)
    details = await granter.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    stranger = await sdk.redeemer_client(other.account.address)
    for mode in ("USE", "ENABLE_AND_USE"):  # USE: the node simulates it enabling, as the details could
        with pytest.raises(GrantAccountMismatchError) as refused:
            await _quote(stranger, sdk, details, mode)
        err, node = refused.value, _node_said(refused.value)
        assert node.code == "GRANT_ACCOUNT_MISMATCH" and node.facts["permissionState"] == "other_account"
        assert (err.account, err.chain_id) == (other.account.address, 8453)
        assert f"was not made for account {other.account.address}" in str(err)
        assert "revoked" not in str(err) and "removed" not in str(err)


async def test_never_enabled_here_and_enabled_then_removed_are_told_apart(sdk: Sdk) -> None:
    granter = await _prepared(sdk, 0)
    other = await _prepared(sdk, 5)
    # details of a permission prepare_for_permissions enabled on the granter's account (mode USE, no enable data)
    result = await granter.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer),
        fee_token=sdk.fee(),
        redeemer=sdk.signer.address,
        actions=[increment_action()],
    )
    assert result is not None and result.session_details is not None
    await granter.wait_for_supertransaction_receipt(result.hash)
    stranger = await sdk.redeemer_client(other.account.address)
    with pytest.raises(SessionNotEnabledError) as never:
        await _quote(stranger, sdk, list(result.session_details), "USE")
    node = _node_said(never.value)
    assert node.code == "SESSION_NOT_ENABLED" and node.facts["permissionState"] == "never_enabled"
    # no grant in these details: the words say where such a session comes from, and which account to use
    assert "never enabled on this account" in str(never.value) and "removed" not in str(never.value)
    assert "use the account that PREPARE ran on" in str(never.value)

    # a grant used once, then removed: its enable signature is spent, and the node says so
    details = await granter.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    redeemer = await sdk.redeemer_client(granter.account.address)
    used = await redeemer.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
    )
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    pid = "0x" + bytes(details[0].permission_id).hex()
    revoked = await granter.revoke_permission(permission_id=pid, chain_id=8453, fee_token=sdk.fee())
    await granter.wait_for_supertransaction_receipt(revoked.hash)
    with pytest.raises(EnableSignatureUsedError) as removed:
        await _quote(redeemer, sdk, details, "USE")
    node = _node_said(removed.value)
    assert node.code == "ENABLE_SIGNATURE_USED" and node.facts["permissionState"] == "enable_used"
    assert "has since been removed" in str(removed.value)


async def test_the_reference_client_hears_the_account_mismatch(
    sdk: Sdk, devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path
) -> None:
    """Rows 4 and 5 for the reference SDK: our grant, used by its client from another account. The node refuses it
    (at /quote or /exec, before anything is accepted) naming the account the grant was not made for."""
    granter = await _prepared(sdk, 0)
    other = await _prepared(sdk, 5)
    details = await granter.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    stored = tmp_path / "ours.json"
    stored.write_text(session_details_to_json(details))
    state = state_file(devnet, node, tmp_path)
    before = sdk.counter()
    for mode in ("USE", "ENABLE_AND_USE"):
        args = ["use", str(state), "--details", str(stored), "--account", other.account.address, "--mode", mode]
        run = subprocess.run(
            ["node", str(CROSS), *args, "--chains", "8453"], capture_output=True, text=True, timeout=180, cwd=ROOT
        )
        [line] = [json.loads(x) for x in run.stdout.splitlines() if x.strip()]
        assert run.returncode == 1 and line["ok"] is False, run.stdout + run.stderr[-3000:]
        assert f"was not made for account {other.account.address}" in line["error"], (mode, line["error"])
        assert "revoked" not in line["error"], line["error"]
    assert sdk.counter() == before
