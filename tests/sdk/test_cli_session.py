"""``smartsessions session show / revoke`` on the devnet (issue 15 item 5), as a person runs them: on a handoff of a
PREPAREd session with rules of several kinds, and with the mistakes a hurried person makes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from smartsessions import (
    SMART_SESSIONS_ADDRESS,
    SessionHandoff,
    build_action_policy,
    build_session_action,
    calldata_argument,
    get_usage_limit_policy,
    to_session_handoff,
)
from smartsessions.cli import main as cli
from smartsessions.devnet.deploy import COUNTER_ADDRESS

from .conftest import API_KEY, CHAINS, SET_NUMBER, Sdk, increment, increment_action
from .test_session_quote import prepare

pytestmark = pytest.mark.slow  # a PREPARE on two chains per test


async def _handoff_file(sdk: Sdk, tmp_path: Path) -> tuple[Path, SessionHandoff]:
    set_number = build_session_action(
        type="custom",
        chain_ids=[8453],
        contract_address=COUNTER_ADDRESS,
        function_signature=SET_NUMBER,
        policies=[
            build_action_policy(
                type="universal",
                rules=[
                    {"condition": "lessThanOrEqual", "calldata_offset": calldata_argument(1), "comparison_value": 10}
                ],
            )
        ],
    )
    owner, prepared = await prepare(
        sdk,
        actions=[*(increment_action(c) for c in CHAINS), *set_number],
        user_op_policies=[get_usage_limit_policy(limit=10)],
    )
    assert prepared.session_details is not None
    handoff = to_session_handoff(prepared.session_details, account=owner.account)
    path = tmp_path / "session.json"
    path.write_text(handoff.dump())
    return path, handoff


async def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    # the command runs its own event loop (asyncio.run), so it runs on a thread of its own here
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env, catch_exceptions=False)


async def test_show_says_what_the_handoff_grants_in_words(sdk: Sdk, tmp_path: Path) -> None:
    path, handoff = await _handoff_file(sdk, tmp_path)
    shown = await _run("session", "show", str(path))
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"Session key {sdk.signer.address}" in out and "no key is in the file" in out
    for c in CHAINS:
        assert f"chain {c}  account {handoff.chains[0].account_address}" in out
    assert f"may call increment() [0xd09de08a] on {COUNTER_ADDRESS}" in out
    assert f"may call setNumber(uint256) [0x3fb5c1cb] on {COUNTER_ADDRESS}" in out
    assert "rule 0: argument 1 must be <= 10" in out
    assert "no limit (sudo)" in out
    assert out.count("at most 10 userOps in all (of the permission's userOps on this chain)") == 2
    assert "transfer(address,uint256)" in out  # the fee payment action on the fee token
    assert "\x1b[" not in out  # no colour when the output is not a terminal

    as_json = await _run("session", "show", str(path), "--json")
    document = json.loads(as_json.output)
    assert document["sessionKey"] == sdk.signer.address
    assert [c["chain_id"] for c in document["chains"]] == list(CHAINS)
    functions = {a["function"] for c in document["chains"] for a in c["actions"]}
    assert {"increment()", "setNumber(uint256)", "transfer(address,uint256)"} <= functions


async def test_show_refuses_what_is_not_a_handoff(tmp_path: Path) -> None:
    other = tmp_path / "package.json"
    other.write_text('{"name": "bot"}')
    refused = await _run("session", "show", str(other))
    assert refused.exit_code == 1 and "handoff.format" in refused.output
    missing = await _run("session", "show", str(tmp_path / "nothing.json"))
    assert missing.exit_code == 1 and "cannot be read from the file" in missing.output


async def test_status_says_what_is_left_after_a_use(sdk: Sdk, tmp_path: Path) -> None:
    path, handoff = await _handoff_file(sdk, tmp_path)
    bot = await sdk.redeemer_client(handoff.chains[0].account_address)
    quote = await bot.get_session_quote(
        mode="USE", session_details=list(handoff.session_details), instructions=[increment(8453)], fee_token=sdk.fee()
    )
    assert quote is not None
    await bot.wait_for_supertransaction_receipt((await bot.execute_session_quote(quote)).hash)

    args = ["session", "status", str(path), "--fee-token", f"8453:{sdk.fee().address}"]
    for c in CHAINS:
        args += ["--rpc", f"{c}={sdk.net.url(c)}"]
    shown = await _run(*args)
    assert shown.exit_code == 0, shown.output
    # on 8453 the fee payment and the increment are two userOps of the permission; on 10 nothing ran
    assert "usage limit: 8 of 10 left (2 used)" in shown.output
    assert "usage limit: 10 of 10 left (0 used)" in shown.output
    as_json = json.loads((await _run(*args, "--json")).output)
    by_chain = {c["chainId"]: c for c in as_json["chains"]}
    assert by_chain[8453]["enabled"] is True and by_chain[10]["enabled"] is True
    assert [p["left"] for p in by_chain[8453]["permissionWide"]] == [8]
    missing_rpc = await _run("session", "status", str(path), "--rpc", f"8453={sdk.net.url(8453)}")
    assert missing_rpc.exit_code == 1 and "--rpc 10=URL" in missing_rpc.output


async def test_revoke_removes_the_permission_on_every_chain(sdk: Sdk, tmp_path: Path) -> None:
    path, handoff = await _handoff_file(sdk, tmp_path)
    account = handoff.chains[0].account_address
    pids = handoff.permission_ids
    args = ["session", "revoke", str(path), "--node", sdk.node.url, "--fee-token", f"8453:{sdk.fee().address}"]
    for c in CHAINS:
        args += ["--rpc", f"{c}={sdk.net.url(c)}"]

    def enabled(c: int) -> bool:
        return bool(
            sdk.chains[c].call(
                SMART_SESSIONS_ADDRESS, "isPermissionEnabled(bytes32,address)", [bytes(pids[c]), account], ["bool"]
            )
        )

    assert all(enabled(c) for c in CHAINS)
    no_key = await _run(*args, env={"SMARTSESSIONS_API_KEY": API_KEY, "SMARTSESSIONS_OWNER_KEY": ""})
    assert no_key.exit_code == 1 and "SMARTSESSIONS_OWNER_KEY" in no_key.output and "is not set" in no_key.output
    wrong = await _run(
        *args, env={"SMARTSESSIONS_API_KEY": API_KEY, "SMARTSESSIONS_OWNER_KEY": "0x" + bytes(sdk.signer.key).hex()}
    )
    assert wrong.exit_code == 1 and "is owned by" in wrong.output
    assert "0x" + bytes(sdk.signer.key).hex() not in wrong.output  # never echo a key
    assert all(enabled(c) for c in CHAINS)

    done = await _run(
        *args, env={"SMARTSESSIONS_API_KEY": API_KEY, "SMARTSESSIONS_OWNER_KEY": "0x" + bytes(sdk.owner.key).hex()}
    )
    assert done.exit_code == 0, done.output
    assert "revoked on 8453, 10" in done.output and "MINED_SUCCESS" in done.output
    assert not any(enabled(c) for c in CHAINS)
