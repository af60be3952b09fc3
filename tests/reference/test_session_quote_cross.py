"""Cross-client runs of the new session flow (abstractjs ``getSessionQuote`` / ``executeSessionQuote``, our
``get_session_quote`` / ``execute_session_quote``), both ways, on two chains, against the same devnet and local MEE
node: one client PREPAREs a fresh account (deploy, install SmartSessions, enable the session on chain, in one
permit-funded super-transaction) and the other USEs the session twice.

The details cross the process boundary as JSON, as an application would hand them over: the reference's written by
``stringify`` and read by ``session_details_from_json``; ours written by ``session_details_to_json`` and read by
abstractjs ``parse``. Every check reads the chains.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartsessions import build_session_action, session_details_from_json, session_details_to_json
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from ..contracts.harness import Chain
from ..sdk.conftest import CHAINS, INCREMENT, Sdk, increment
from ..sdk.test_examples import state_file
from ..sdk.test_mee_flows import TRIGGER
from .test_cross_clients import reference

pytestmark = pytest.mark.slow  # the reference client runs in Node.js

INDEX = 1  # the owner's account at index 1: fresh on every test's devnet (the other tests use index 0)


def assert_prepared(sdk: Sdk, account: str, permission_ids: list[str]) -> None:
    """On each chain: the account is deployed, SmartSessions is installed, and that chain's permission is enabled."""
    assert len(permission_ids) == len(CHAINS)
    for chain_id, pid in zip(CHAINS, permission_ids, strict=True):
        chain = sdk.chains[chain_id]
        assert chain.code(account), f"no account at {account} on {chain_id}"
        installed = chain.call(
            account, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""], ["bool"]
        )
        assert installed is True, chain_id
        enabled = chain.call(
            SMART_SESSIONS_ADDRESS,
            "isPermissionEnabled(bytes32,address)",
            [bytes.fromhex(pid.removeprefix("0x")), account],
            ["bool"],
        )
        assert enabled is True, (chain_id, pid)


def counters(sdk: Sdk) -> dict[int, int]:
    return {c: sdk.counter(c) for c in CHAINS}


async def test_the_reference_prepare_is_used_by_our_sdk(
    sdk: Sdk, devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path
) -> None:
    owner = await sdk.owner_client(index=INDEX)  # only for the account's address
    account = owner.account.address
    assert all(not sdk.chains[c].code(account) for c in CHAINS)
    stored = tmp_path / "reference.json"
    prepared = reference(
        "session-prepare", state_file(devnet, node, tmp_path), "--out", str(stored), "--index", str(INDEX)
    )
    assert prepared["account"].lower() == account.lower()
    assert prepared["quoteType"] == "permit" and prepared["status"] == "MINED_SUCCESS"
    assert_prepared(sdk, account, [p.lower() for p in prepared["permissionIds"]])

    details = session_details_from_json(stored.read_text())
    assert ["0x" + bytes(d.permission_id).hex() for d in details] == [p.lower() for p in prepared["permissionIds"]]
    assert [d.chain_id for d in details] == list(CHAINS)

    redeemer = await sdk.redeemer_client(account)
    before = counters(sdk)
    for n in (1, 2):
        quote = await redeemer.get_session_quote(
            mode="USE", session_details=details, fee_token=sdk.fee(), instructions=[increment(c) for c in CHAINS]
        )
        assert quote is not None and quote.quote_type == "simple"
        result = await redeemer.execute_session_quote(quote)
        receipt = await redeemer.wait_for_supertransaction_receipt(result.hash)
        assert receipt.status == "MINED_SUCCESS"
        assert counters(sdk) == {c: before[c] + n for c in CHAINS}


async def test_our_prepare_is_used_by_the_reference_client(
    sdk: Sdk, devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path
) -> None:
    owner = await sdk.owner_client(index=INDEX)
    account = owner.account.address
    assert all(not sdk.chains[c].code(account) for c in CHAINS)
    actions = build_session_action(
        type="custom",
        chain_ids=list(CHAINS),
        contract_address=COUNTER_ADDRESS,
        function_signature=INCREMENT,
        policies=[{"type": "sudo"}],
    )
    prepared = await owner.get_session_quote(
        mode="PREPARE",
        enable_session={"redeemer": sdk.signer.address, "actions": actions},
        fee_token=sdk.fee(),
        trigger={"token_address": usdc_address(8453), "chain_id": 8453, "amount": TRIGGER},
    )
    assert prepared is not None and prepared.quote_type == "permit" and prepared.session_details is not None
    result = await owner.execute_session_quote(prepared)
    receipt = await owner.wait_for_supertransaction_receipt(result.hash)
    assert receipt.status == "MINED_SUCCESS"
    details = prepared.session_details
    assert [d.chain_id for d in details] == list(CHAINS)
    assert_prepared(sdk, account, ["0x" + bytes(d.permission_id).hex() for d in details])

    stored = tmp_path / "ours.json"
    stored.write_text(session_details_to_json(details))
    state = state_file(devnet, node, tmp_path)
    before = counters(sdk)
    for n in (1, 2):
        used = reference("session-use", state, "--details", str(stored), "--account", account)
        assert used["quoteType"] == "simple" and used["status"] == "MINED_SUCCESS"
        assert counters(sdk) == {c: before[c] + n for c in CHAINS}
