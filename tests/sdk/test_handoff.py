"""The handoff (issue 15 item 1): a bot gets everything from one file and its own key.

On the devnet: the owner PREPAREs a session on two chains and writes ``to_session_handoff(...).dump()``; the bot
reads the file with ``SessionHandoff.load`` and builds its client with ``create_session_client`` (its key, RPC URLs,
the node), then uses the session on both chains (the counters move). The hurried bot developer's mistakes are refused
before anything is asked: the owner's key instead of the session key, a chain without an RPC URL, a file that is not
a handoff, details without the account they act for. The ids it carries compare with ``list_permissions``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from smartsessions import (
    InvalidInputError,
    SessionHandoff,
    SessionSignerMismatchError,
    create_session_client,
    session_details_to_json,
    to_session_handoff,
)
from smartsessions.sessions.actions import list_permissions

from .conftest import API_KEY, CHAINS, Sdk, increment, increment_action
from .test_session_quote import prepare


async def test_a_bot_uses_the_session_from_the_file_and_its_key(sdk: Sdk, tmp_path: Path) -> None:
    owner, prepared = await prepare(sdk, actions=[increment_action(c) for c in CHAINS])
    assert prepared.session_details is not None
    handoff = to_session_handoff(prepared.session_details, account=owner.account)
    path = tmp_path / "session.json"
    path.write_text(handoff.dump())

    document = json.loads(path.read_text())
    assert document["format"] == "smartsessions.session-handoff" and document["version"] == 1
    assert document["sessionKey"] == sdk.signer.address
    assert [(c["chainId"], c["accountAddress"], c["meeVersion"]) for c in document["chains"]] == [
        (c, owner.account.address, sdk.version) for c in CHAINS
    ]
    assert "private" not in path.read_text().lower() and sdk.signer.key.hex()[2:] not in path.read_text()

    loaded = SessionHandoff.load(path)
    assert loaded == handoff
    rpc_urls = {c: sdk.net.url(c) for c in CHAINS}
    bot = await create_session_client(loaded, signer=sdk.signer, rpc_urls=rpc_urls, url=sdk.node.url, api_key=API_KEY)
    try:
        assert bot.account.address == owner.account.address  # the granter's account, not the bot key's
        for chain_id, pid in loaded.permission_ids.items():
            listed = await list_permissions(bot, chain_id=chain_id)
            assert pid in listed and str(pid) in listed  # one id type: the details' id is the listed one
        before = {c: sdk.counter(c) for c in CHAINS}
        result = await bot.use_permission(
            session_details=list(loaded.session_details),
            mode="USE",
            instructions=[increment(c) for c in CHAINS],
            fee_token=sdk.fee(),
        )
        receipt = await bot.wait_for_supertransaction_receipt(result.hash)
        assert receipt.status == "MINED_SUCCESS"
        assert {c: sdk.counter(c) for c in CHAINS} == {c: before[c] + 1 for c in CHAINS}
    finally:
        await bot.aclose()
        await bot.account.aclose()


async def test_the_hurried_bot_developers_mistakes_are_refused_before_anything_is_asked(
    sdk: Sdk, tmp_path: Path
) -> None:
    owner, prepared = await prepare(sdk, actions=[increment_action(c) for c in CHAINS])
    assert prepared.session_details is not None
    handoff = to_session_handoff(prepared.session_details, account=owner.account)
    rpc_urls = {c: sdk.net.url(c) for c in CHAINS}

    with pytest.raises(SessionSignerMismatchError, match="session key is") as wrong_key:
        await create_session_client(handoff, signer=sdk.owner, rpc_urls=rpc_urls, url=sdk.node.url, api_key=API_KEY)
    assert wrong_key.value.redeemer == sdk.signer.address and wrong_key.value.signer == sdk.owner.address

    with pytest.raises(InvalidInputError, match=r"rpc_urls\[10\]"):
        await create_session_client(
            handoff, signer=sdk.signer, rpc_urls={8453: sdk.net.url(8453)}, url=sdk.node.url, api_key=API_KEY
        )

    # session details alone (what the README used to say to hand over) name what is missing ...
    bare = tmp_path / "details.json"
    bare.write_text(session_details_to_json(list(prepared.session_details)))
    with pytest.raises(InvalidInputError, match="account_address"):
        SessionHandoff.load(bare)
    # ... and with the account, they make the same handoff
    assert SessionHandoff.load(bare, account_address=owner.account.address, mee_version=sdk.version) == handoff

    # a file from elsewhere
    other = tmp_path / "package.json"
    other.write_text('{"name": "bot", "version": "1.0.0"}')
    with pytest.raises(InvalidInputError, match=r"handoff\.format"):
        SessionHandoff.load(other)
    with pytest.raises(InvalidInputError, match="cannot be read from the file"):
        SessionHandoff.load(tmp_path / "missing.json")

    # a handoff whose session key was edited to the bot's own key is refused, not trusted
    edited = json.loads(handoff.dump())
    edited["sessionKey"] = Account.create().address
    with pytest.raises(InvalidInputError, match=r"handoff\.session_key"):
        SessionHandoff.load(json.dumps(edited))
