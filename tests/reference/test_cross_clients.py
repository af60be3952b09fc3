"""Cross-client runs (issue 5): a grant made by our SDK is used by the unmodified reference client, and a grant made
by the reference client is used by our SDK, on two chains, against the same devnet and local MEE node.

The session details cross the process boundary as JSON, as an application would hand them over: ours written by
``session_details_to_json`` and read by abstractjs ``parse``; the reference's written by ``stringify`` and read by
``session_details_from_json``. Every check reads the chains.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from smartsessions import get_time_frame_policy, session_details_from_json, session_details_to_json
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer

from ..contracts.harness import Chain
from ..sdk.conftest import CHAINS, Sdk, increment, increment_action
from ..sdk.test_examples import state_file
from ..sdk.test_mee_flows import prepared
from .test_reference_client import ROOT, node_binary

pytestmark = pytest.mark.slow  # the reference client runs in Node.js

SCRIPT = ROOT / "tests" / "reference" / "cross_grant.mjs"


def reference(command: str, state: Path, *args: str) -> dict[str, Any]:
    run = subprocess.run(
        [node_binary(), str(SCRIPT), command, str(state), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert run.returncode == 0 and lines and lines[-1]["ok"], run.stdout + run.stderr[-3000:]
    result: dict[str, Any] = lines[-1]
    return result


async def test_our_grant_is_used_by_the_reference_client(
    sdk: Sdk, devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path
) -> None:
    owner = await prepared(sdk)
    account = owner.account.address
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action(c) for c in CHAINS]
    )
    stored = tmp_path / "ours.json"
    stored.write_text(session_details_to_json(details))
    state = state_file(devnet, node, tmp_path)
    before = {c: sdk.counter(c) for c in CHAINS}
    for mode in ("ENABLE_AND_USE", "USE"):
        used = reference("use", state, "--details", str(stored), "--account", account, "--mode", mode)
        assert used["status"] == "MINED_SUCCESS"
    assert {c: sdk.counter(c) for c in CHAINS} == {c: before[c] + 2 for c in CHAINS}
    pids = ["0x" + bytes(d.permission_id).hex() for d in details]
    assert await owner.check_enabled_permissions(details) == {pids[0]: {8453: True}, pids[1]: {10: True}}


async def test_the_reference_grant_is_used_by_our_sdk(
    sdk: Sdk, devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path
) -> None:
    owner = await prepared(sdk)
    account = owner.account.address
    stored = tmp_path / "reference.json"
    granted = reference("grant", state_file(devnet, node, tmp_path), "--out", str(stored))
    details = session_details_from_json(stored.read_text())
    assert ["0x" + bytes(d.permission_id).hex() for d in details] == [p.lower() for p in granted["permissionIds"]]
    assert [d.chain_id for d in details] == list(CHAINS)

    redeemer = await sdk.redeemer_client(account)
    before = {c: sdk.counter(c) for c in CHAINS}
    for mode in ("ENABLE_AND_USE", "USE"):
        used = await redeemer.use_permission(
            session_details=details, mode=mode, fee_token=sdk.fee(), instructions=[increment(c) for c in CHAINS]
        )
        receipt = await redeemer.wait_for_supertransaction_receipt(used.hash)
        assert receipt.status == "MINED_SUCCESS"
    assert {c: sdk.counter(c) for c in CHAINS} == {c: before[c] + 2 for c in CHAINS}
    for d in details:
        assert d.chain_id is not None  # checked against CHAINS above
        assert await redeemer.is_permission_enabled(permission_id=d.permission_id, chain_id=d.chain_id) is True


async def test_the_reference_client_hears_why_its_time_frame_is_refused(
    sdk: Sdk, devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path
) -> None:
    """Issue 13, row 2, for a client that does not read the chain before it asks for a quote: the reference's
    usePermission of a session whose time frame opens in an hour is refused by the node's /quote (nothing is
    signed or sent), and the error it raises names the TimeFramePolicy, the window and the chain's time."""
    owner = await prepared(sdk)
    opens = chains[8453].timestamp() + 3_600
    window = get_time_frame_policy(valid_after=opens, valid_until=0)
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action(policies=[window])]
    )
    stored = tmp_path / "ours.json"
    stored.write_text(session_details_to_json(details))
    state = state_file(devnet, node, tmp_path)
    before = sdk.counter()
    args = ["use", str(state), "--details", str(stored), "--account", owner.account.address]
    run = subprocess.run(
        [node_binary(), str(SCRIPT), *args, "--mode", "ENABLE_AND_USE", "--chains", "8453"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    [line] = [json.loads(x) for x in run.stdout.splitlines() if x.strip()]
    assert run.returncode == 1 and line["ok"] is False, run.stdout + run.stderr[-3000:]
    pid = "0x" + bytes(details[0].permission_id).hex()
    error = line["error"]
    assert f"permission {pid} cannot be used yet: its TimeFramePolicy" in error, error
    assert f"opens at {opens} (" in error and "the chain's time is" in error and "AA22" in error, error
    assert sdk.counter() == before
    assert await owner.is_permission_enabled(permission_id=pid, chain_id=8453) is False  # nothing was sent
