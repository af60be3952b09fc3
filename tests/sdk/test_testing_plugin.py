"""The pytest plugin ``smartsessions.testing`` (issue 15 item 7): a bot developer's suite gets the devnet, its node, a
funded owner, a prepared account and granted sessions as fixtures, each test isolated.

Run as a user runs it, in a pytest of its own (``pytester``, in a subprocess, ``-p smartsessions.testing``): the
README's bot test as written (and, with its grant made too generous, failing: the test tests the bot); two tests that
spend a session and move the clock see the same starting state in either order, and a node that never saw the other
test's super-transaction; the devnet's chains and block time come from ini options; a suite that uses none of the
fixtures starts no devnet. Our own suite loads the plugin
too (tests/conftest.py), so the fixtures are also used here directly: the prepared account, a grant on both chains,
and an async bot stopped by its time frame once the clock moves.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from smartsessions import (
    SMART_SESSIONS_ADDRESS,
    Instruction,
    OutsideTimeFrameError,
    create_session_client,
    get_time_frame_policy,
)
from smartsessions.encoding.abi import encode_function_call
from smartsessions.rpc import call_word
from smartsessions.testing import (
    API_KEY,
    COUNTER_ADDRESS,
    INCREMENT_SELECTOR,
    BotClientFactory,
    GrantSession,
    Sandbox,
    counter_action,
)

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow  # super-transactions through a node, and pytest runs of their own

README = Path(__file__).parents[2] / "README.md"
#: a pytest of its own, as a user runs it: the plugin by -p, no async plugin (the fixtures need none)
PLUGIN = ("-p", "smartsessions.testing", "-p", "no:asyncio", "-p", "no:cacheprovider")


def readme_bot_test() -> str:
    """The first Python block of the README's "Testing your bot offline" section."""
    text = README.read_text()
    section = text[text.index("## Testing your bot offline") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_bot_test_runs_as_written(pytester: pytest.Pytester) -> None:
    code = readme_bot_test()
    assert code.count("limit=2") == 1
    pytester.makepyfile(test_bot=code, test_generous_bot=code.replace("limit=2", "limit=3"))
    result = pytester.runpytest_subprocess(*PLUGIN, "-rA", "-vv", timeout=300)
    # as written it passes; with a grant of 3 uses the third call is not refused, and the same test says so
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "PASSED test_bot.py::test_the_bot_stops_at_its_budget",
            "FAILED test_generous_bot.py::test_the_bot_stops_at_its_budget - Failed: DID NOT RAISE*PolicyLimitError*",
        ]
    )


#: Two tests that each spend a session of one use and move the clock a day; each first checks that nothing an
#: earlier test did is there, and logs its super-transaction for the next.
ISOLATION_TESTS = """
import json
import time
from pathlib import Path

import pytest
from smartsessions import Instruction, MeeApiError, get_usage_limit_policy
from smartsessions.testing import COUNTER_ADDRESS, OWNER_ACCOUNT_FUNDS, counter_action

LOG = Path(__file__).with_name("log.jsonl")
INCREMENT = Instruction(chain_id=8453, calls=[{"to": COUNTER_ADDRESS, "data": "0xd09de08a"}])


def spend_the_session(name, grant_session, bot_client, owner_client, sandbox):
    account = owner_client.account.address
    earlier = [json.loads(line) for line in LOG.read_text().splitlines()] if LOG.exists() else []
    assert sandbox.counter() == 0 and sandbox.counter(10) == 0
    assert all(sandbox.rpc(c).request("eth_getCode", [account, "latest"]) == "0x" for c in (8453, 10))
    assert sandbox.usdc_balance(account) == OWNER_ACCOUNT_FUNDS
    assert abs(sandbox.now() - time.time()) < 10  # not the day ahead an earlier test moved the clock to
    for entry in earlier:  # this test's node never saw an earlier test's super-transaction
        with pytest.raises(MeeApiError) as unknown:
            owner_client.get_supertransaction_receipt(entry["hash"])
        assert unknown.value.status == 404

    handoff = grant_session([counter_action(policies=[get_usage_limit_policy(limit=1)])])
    bot = bot_client(handoff)
    quote = bot.get_session_quote(
        mode="USE", session_details=list(handoff.session_details), fee_token=sandbox.fee_token, instructions=[INCREMENT]
    )
    result = bot.execute_session_quote(quote)
    assert bot.wait_for_supertransaction_receipt(result.hash).status == "MINED_SUCCESS"
    assert sandbox.counter() == 1 and sandbox.usdc_balance(account) < OWNER_ACCOUNT_FUNDS
    sandbox.advance_time(86_400)
    assert sandbox.now() >= time.time() + 86_000
    with LOG.open("a") as log:
        log.write(json.dumps({"test": name, "hash": str(result.hash)}) + "\\n")


def test_first(grant_session, bot_client, owner_client, sandbox):
    spend_the_session("first", grant_session, bot_client, owner_client, sandbox)


def test_second(grant_session, bot_client, owner_client, sandbox):
    spend_the_session("second", grant_session, bot_client, owner_client, sandbox)
"""

REVERSIBLE = """
import os


def pytest_collection_modifyitems(items):
    if os.environ.get("REVERSE_TESTS"):
        items.reverse()
"""


@pytest.mark.parametrize("order", ["as written", "reversed"])
def test_each_test_starts_from_the_same_state_in_either_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    pytester.makepyfile(test_isolation=ISOLATION_TESTS)
    pytester.makeconftest(REVERSIBLE)
    if order == "reversed":
        monkeypatch.setenv("REVERSE_TESTS", "1")
    result = pytester.runpytest_subprocess(*PLUGIN, timeout=300)
    result.assert_outcomes(passed=2)
    log = [json.loads(line) for line in (pytester.path / "log.jsonl").read_text().splitlines()]
    expected = ["first", "second"] if order == "as written" else ["second", "first"]
    assert [entry["test"] for entry in log] == expected
    assert log[0]["hash"] != log[1]["hash"]


INERT_CONFTEST = """
from smartsessions.devnet.network import Devnet


def _no_devnet(*args, **kwargs):
    raise RuntimeError("a devnet was started")


Devnet.start = _no_devnet
"""

INERT_TESTS = """
def test_plain():
    assert 1 + 1 == 2


def test_keys_need_no_chain(owner_key, bot_key):
    assert owner_key.address != bot_key.address


def test_the_sandbox_needs_the_devnet(sandbox):
    pass
"""


def test_the_plugin_starts_nothing_until_a_fixture_needs_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(INERT_CONFTEST)
    pytester.makepyfile(test_inert=INERT_TESTS)
    result = pytester.runpytest_subprocess(*PLUGIN, timeout=120)
    # loading the plugin and collecting started nothing; only the test that asks for the sandbox tries to
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["E * RuntimeError: a devnet was started", "ERROR test_inert.py::test_the_sandbox_needs*"]
    )


CONFIGURED_TESTS = """
def test_one_chain(devnet, sandbox):
    assert list(devnet.chains) == [10] and sandbox.chain_ids == (10,)
    assert devnet.processes[10].block_time == 0.5
    assert sandbox.fee_token.chain_id == 10 and sandbox.fee_token.address == sandbox.usdc(10)
    assert sandbox.counter() == 0
"""


def test_the_devnet_s_chains_and_block_time_come_from_the_ini_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsmartsessions_chains = 10\nsmartsessions_block_time = 0.5\n")
    pytester.makepyfile(test_configured=CONFIGURED_TESTS)
    pytester.runpytest_subprocess(*PLUGIN, timeout=120).assert_outcomes(passed=1)

    pytester.makeini("[pytest]\nsmartsessions_chains = base op\n")
    result = pytester.runpytest_subprocess(*PLUGIN, timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*DevnetError: The ini option smartsessions_chains is 'base op', not chain ids."])


# -- the fixtures in our own suite -----------------------------------------------------------------------------------


def _installed(sandbox: Sandbox, chain_id: int, account: str) -> bool:
    data = encode_function_call("isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""])
    return call_word("0x" + sandbox.rpc(chain_id).call(account, data).hex(), what="isModuleInstalled") == 1


def test_a_prepared_account_and_a_grant_on_both_chains_used_by_the_bot_client(
    prepared_owner: Any,
    grant_session: GrantSession,
    bot_client: BotClientFactory,
    bot_key: LocalAccount,
    sandbox: Sandbox,
) -> None:
    account = prepared_owner.account.address
    assert sandbox.chain_ids == (8453, 10)
    assert all(sandbox.rpc(c).request("eth_getCode", [account, "latest"]) != "0x" for c in sandbox.chain_ids)
    assert all(_installed(sandbox, c, account) for c in sandbox.chain_ids)

    handoff = grant_session([counter_action(c) for c in sandbox.chain_ids])
    assert handoff.session_key == bot_key.address
    assert [(c.chain_id, c.account_address) for c in handoff.chains] == [(8453, account), (10, account)]
    bot = bot_client(handoff)
    assert bot.account.address == account
    calls = [Instruction(chain_id=c, calls=[{"to": COUNTER_ADDRESS, "data": INCREMENT_SELECTOR}]) for c in (8453, 10)]
    quote = bot.get_session_quote(
        mode="USE", session_details=list(handoff.session_details), fee_token=sandbox.fee_token, instructions=calls
    )
    assert bot.wait_for_supertransaction_receipt(bot.execute_session_quote(quote).hash).status == "MINED_SUCCESS"
    assert (sandbox.counter(8453), sandbox.counter(10)) == (1, 1)
    assert sandbox.client_options == {"rpc_urls": sandbox.rpc_urls, "url": sandbox.node.url, "api_key": API_KEY}


async def test_an_async_bot_is_stopped_by_its_time_frame_once_the_clock_moves(
    grant_session: GrantSession, bot_key: LocalAccount, sandbox: Sandbox
) -> None:
    """The blocking fixtures from an async test; the bot's own async client made in the test's loop."""
    now = sandbox.now()
    assert abs(now - time.time()) < 10
    window = get_time_frame_policy(valid_after=now - 60, valid_until=now + 3_600)
    handoff = grant_session([counter_action(policies=[window])])
    call = Instruction(chain_id=8453, calls=[{"to": COUNTER_ADDRESS, "data": INCREMENT_SELECTOR}])
    bot = await create_session_client(handoff, signer=bot_key, **sandbox.client_options)
    try:
        details = list(handoff.session_details)
        quote = await bot.get_session_quote(mode="USE", session_details=details, fee_token=sandbox.fee_token,
                                            instructions=[call])  # fmt: skip
        assert quote is not None
        receipt = await bot.wait_for_supertransaction_receipt((await bot.execute_session_quote(quote)).hash)
        assert receipt.status == "MINED_SUCCESS" and sandbox.counter() == 1

        sandbox.advance_time(7_200)  # an hour past the window's end
        assert sandbox.now() >= now + 7_200
        with pytest.raises(OutsideTimeFrameError):
            await bot.get_session_quote(mode="USE", session_details=details, fee_token=sandbox.fee_token,
                                        instructions=[call])  # fmt: skip
        assert sandbox.counter() == 1
    finally:
        await bot.aclose()
