"""A pytest plugin for testing a bot offline: the local devnet and its MEE node, a funded owner, a prepared account
and granted sessions as fixtures, each test on chains reverted after it (clocks included).

Enable it with ``pytest -p smartsessions.testing``, or for the whole suite in the pytest configuration
(``addopts = "-p smartsessions.testing"``), or ``pytest_plugins = ["smartsessions.testing"]`` in the root
``conftest.py``. Then::

    def test_the_bot_stops_at_its_budget(grant_session, bot_client, sandbox):
        handoff = grant_session([counter_action(policies=[get_usage_limit_policy(limit=2)])])
        ...

The fixtures (:mod:`.fixtures`), from the session's devnet down to one test's session:

============================  ==========  =========================================================================
fixture                       scope       what
============================  ==========  =========================================================================
``devnet``                    session     the chains (ini ``smartsessions_chains``, default ``8453 10``), on first use
``isolated_devnet``           test        the same, every chain snapshotted and reverted after the test
``mee_node``                  test        a node of the test's own (fresh state) on those chains
``sandbox``                   test        :class:`Sandbox`: URLs, ``client_options``, ``fee_token``, reads, the clock
``owner_key`` / ``bot_key``   test        funded devnet keys: the owner's, and the session key a grant goes to
``owner_client``              test        the owner's blocking client, its account funded, not yet deployed
``prepared_owner``            test        the same after a PREPARE: deployed, SmartSessions installed
``grant_session``             test        ``grant_session(actions, ...)`` -> :class:`~smartsessions.SessionHandoff`
``bot_client``                test        ``bot_client(handoff)`` -> the bot's blocking session client
============================  ==========  =========================================================================

Needs the ``devnet`` extra (``pip install 'smartsessions[devnet]'``) and anvil; importing it without the extra
raises :class:`~smartsessions.errors.ExtraNotInstalledError`, which says so.

**Why no pytest11 entry point** (the plugin is not loaded by merely installing the package): an entry point cannot be
limited to an extra, so pytest would load it in every environment that has ``smartsessions``, the SDK alone included
(where it could only stay silent); loading it imports the SDK, which adds most of a second to every pytest run of
every project in that environment, related or not; and its fixture names (``devnet``, ``sandbox``, ...) would appear
in suites that never asked for them. One line of configuration opts in, as ``pytester`` does.

**How each test is isolated.** The devnet is started once per session (a second or so); each test runs between an
``evm_snapshot`` and an ``evm_revert`` of every chain (:func:`.isolation.isolated`), which undoes balances, deployed
accounts, enabled sessions, spent limits and what the test did to the clocks; before the snapshot each chain's clock
is moved forward to real time, so every test starts at "now" as on a real chain. The node is the test's own: it
keeps state (sent super-transactions, its account's nonces) that a revert would contradict, and a fresh one starts
in some 30 ms (and stops in 0.2 s). It is stopped before the chains are reverted.
"""

from .._extras import DEVNET_NEEDS, require_extra

require_extra(__name__, DEVNET_NEEDS)

# after the check: it names this module, and each of these imports the devnet's packages
from .fixtures import (  # noqa: E402
    OWNER_ACCOUNT_FUNDS,
    BotClientFactory,
    GrantSession,
    bot_client,
    bot_key,
    devnet,
    grant_session,
    isolated_devnet,
    mee_node,
    owner_client,
    owner_key,
    prepared_owner,
    pytest_addoption,
    sandbox,
)
from .isolation import catch_up_with_real_time, isolated  # noqa: E402
from .sandbox import API_KEY, COUNTER_ADDRESS, INCREMENT_SELECTOR, MEE_VERSION, Sandbox, counter_action  # noqa: E402

__all__ = [
    "API_KEY",
    "COUNTER_ADDRESS",
    "INCREMENT_SELECTOR",
    "MEE_VERSION",
    "OWNER_ACCOUNT_FUNDS",
    "BotClientFactory",
    "GrantSession",
    "Sandbox",
    "bot_client",
    "bot_key",
    "catch_up_with_real_time",
    "counter_action",
    "devnet",
    "grant_session",
    "isolated",
    "isolated_devnet",
    "mee_node",
    "owner_client",
    "owner_key",
    "prepared_owner",
    "pytest_addoption",
    "sandbox",
]
