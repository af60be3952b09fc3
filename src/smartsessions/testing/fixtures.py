"""The plugin's fixtures and its ini options (see :mod:`smartsessions.testing` for how to enable it and why).

Nothing here runs at import or collection: the devnet starts when the first test that asks for one of its fixtures
runs, and a test session that asks for none never starts anvil.

Every fixture that touches the chains is blocking (the :mod:`smartsessions.sync` facade's clients): they work the
same from a plain ``def`` test and from an async one (pytest-asyncio, anyio), and need no async plugin.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from .. import sync
from ..account.multichain import ChainConfiguration
from ..devnet.deploy import test_keys
from ..devnet.network import DEFAULT_CHAIN_IDS, Devnet
from ..devnet.node import NodeServer, devnet_node_config
from ..encoding.session import PolicyData
from ..errors import DevnetError
from ..policies.payment import SessionAction
from ..sessions.grant import ActionConfig
from ..sessions.handoff import SessionHandoff
from .isolation import isolated
from .sandbox import API_KEY, MEE_VERSION, Sandbox

__all__ = [
    "OWNER_ACCOUNT_FUNDS",
    "BotClientFactory",
    "GrantSession",
    "bot_client",
    "bot_key",
    "devnet",
    "grant_session",
    "isolated_devnet",
    "mee_node",
    "owner_client",
    "owner_key",
    "prepared_owner",
    "pytest_addoption",
    "sandbox",
]

#: USDC (smallest unit) the owner's account gets on the fee chain before the test: the fees of hundreds of
#: super-transactions (a session's USE is charged about 5 cents), and more than a session's default fee budget (5).
OWNER_ACCOUNT_FUNDS = 100 * 10**6

_CHAINS_INI = "smartsessions_chains"
_BLOCK_TIME_INI = "smartsessions_block_time"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _CHAINS_INI,
        "smartsessions.testing: the test devnet's chain ids, space-separated (default: 8453 10)",
        type="args",
        default=[str(c) for c in DEFAULT_CHAIN_IDS],
    )
    parser.addini(
        _BLOCK_TIME_INI,
        "smartsessions.testing: seconds between the test devnet's blocks (default 1; a receipt is final after 3)",
        default="1",
    )


def _chain_ids(config: pytest.Config) -> tuple[int, ...]:
    raw = config.getini(_CHAINS_INI)
    try:
        return tuple(int(c) for c in raw)
    except ValueError:
        raise DevnetError(
            f"The ini option {_CHAINS_INI} is {' '.join(raw)!r}, not chain ids.",
            meta_messages=[f"Fix: {_CHAINS_INI} = 8453 10 (space-separated integers)."],
        ) from None


def _block_time(config: pytest.Config) -> float:
    raw = config.getini(_BLOCK_TIME_INI)
    try:
        return float(raw)
    except ValueError:
        raise DevnetError(
            f"The ini option {_BLOCK_TIME_INI} is {raw!r}, not a number of seconds.",
            meta_messages=[f"Fix: {_BLOCK_TIME_INI} = 1 (0: blocks only when a transaction arrives)."],
        ) from None


@pytest.fixture(scope="session")
def devnet(pytestconfig: pytest.Config) -> Iterator[Devnet]:
    """The test session's devnet: anvil chains with the contract suite at the production addresses (chains from the
    ``smartsessions_chains`` ini option, default 8453 and 10), started on first use, stopped at the end.

    Shared by every test: use it through :func:`isolated_devnet` (or the fixtures built on it), or the next test
    sees what this one did. Override it in a ``conftest.py`` for another devnet (``Devnet.start(...)``)."""
    net = Devnet.start(_chain_ids(pytestconfig), block_time=_block_time(pytestconfig))
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def isolated_devnet(devnet: Devnet) -> Iterator[Devnet]:
    """The session's devnet for one test: every chain's clock caught up with real time and snapshotted before the
    test, and reverted after it (balances, accounts, sessions, spent limits and the clock alike), so no test sees
    another's state, in whatever order they run (:mod:`smartsessions.testing.isolation`)."""
    with isolated(devnet) as net:
        yield net


@pytest.fixture
def mee_node(isolated_devnet: Devnet, tmp_path: Path) -> Iterator[NodeServer]:
    """A local MEE node of the test's own, on a thread of this process: fresh SQLite state in the test's
    ``tmp_path``, requiring :data:`~smartsessions.testing.API_KEY`.

    One node per test rather than one per session: a node remembers what it sent (super-transactions, its own
    account's nonces), which the revert takes off the chains. It stops before the chains are reverted."""
    config = devnet_node_config(isolated_devnet, database=tmp_path / "mee-node.sqlite", api_key=API_KEY)
    server = NodeServer(config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(isolated_devnet: Devnet, mee_node: NodeServer) -> Iterator[Sandbox]:
    """The test's chains and node, the connections a bot needs (``client_options``, ``fee_token``), and chain reads
    and moves (``counter()``, ``usdc_balance()``, ``now()``, ``advance_time()``): :class:`Sandbox`."""
    box = Sandbox(devnet=isolated_devnet, node=mee_node)
    try:
        yield box
    finally:
        box.close()


def _test_key(role: str) -> LocalAccount:
    key = next(k for k in test_keys() if k.role == role)
    account: LocalAccount = Account.from_key(key.private_key)
    return account


@pytest.fixture
def owner_key() -> LocalAccount:
    """The owner's key: a devnet test key with ETH and 1,000,000 USDC on every chain (anvil's well-known dev keys:
    never use them anywhere else)."""
    return _test_key("owner")


@pytest.fixture
def bot_key() -> LocalAccount:
    """The bot's session key: another devnet test key, the redeemer :func:`grant_session` grants to by default."""
    return _test_key("session_signer")


@pytest.fixture
def owner_client(sandbox: Sandbox, owner_key: LocalAccount) -> Iterator[Any]:
    """A blocking client (``smartsessions.sync``) of the owner's account on every chain of the devnet, with the session
    actions bound: MEE version :data:`~smartsessions.testing.MEE_VERSION`, the account not deployed yet, holding
    :data:`OWNER_ACCOUNT_FUNDS` of the fee token. Closed after the test."""
    configs = [
        ChainConfiguration(chain_id=chain_id, rpc_url=url, version=MEE_VERSION)
        for chain_id, url in sandbox.rpc_urls.items()
    ]
    account = sync.to_multichain_nexus_account(signer=owner_key, chain_configurations=configs)
    try:
        mee = sync.create_mee_client(account=account, url=sandbox.node_url, api_key=sandbox.api_key)
    except BaseException:
        account.close()
        raise
    client = mee.extend(sync.mee_session_actions)
    try:
        sandbox.fund_usdc(client.account.address, OWNER_ACCOUNT_FUNDS)
        yield client
    finally:
        client.close()


def _run(client: Any, quote: Any) -> None:
    client.wait_for_supertransaction_receipt(client.execute_session_quote(quote).hash)  # raises on a failure


@pytest.fixture
def prepared_owner(owner_client: Any, sandbox: Sandbox) -> Any:
    """:func:`owner_client` after its PREPARE: the account deployed on every chain, SmartSessions installed."""
    quote = owner_client.get_session_quote(mode="PREPARE", fee_token=sandbox.fee_token)
    if quote is not None:
        _run(owner_client, quote)
    return owner_client


class GrantSession:
    """The :func:`grant_session` fixture: call it to have the owner enable a session and get the bot's handoff."""

    def __init__(self, owner: Any, sandbox: Sandbox, redeemer: str) -> None:
        self._owner = owner
        self._sandbox = sandbox
        self._redeemer = redeemer

    def __call__(
        self,
        actions: Sequence[ActionConfig | SessionAction],
        *,
        user_op_policies: Sequence[PolicyData] | dict[int, Sequence[PolicyData]] | None = None,
        max_payment_amount: int | None = None,
        redeemer: str | None = None,
        batch_actions: bool = True,
    ) -> SessionHandoff:
        """Enable a session with ``actions`` (:class:`~smartsessions.ActionConfig` or
        :func:`~smartsessions.build_session_action` groups) for ``redeemer`` (the bot key by default) in one PREPARE
        of the owner's account (deploying it and installing SmartSessions where needed), paid in the sandbox's
        fee token, whose payment goes only to the node (``fee_recipient="node"``); wait until it is final, and
        return the :class:`~smartsessions.SessionHandoff` the owner would hand the bot."""
        enable: dict[str, Any] = {
            "redeemer": redeemer or self._redeemer,
            "actions": list(actions),
            "fee_recipient": "node",
            "batch_actions": batch_actions,
        }
        if user_op_policies is not None:
            enable["user_op_policies"] = user_op_policies
        if max_payment_amount is not None:
            enable["max_payment_amount"] = max_payment_amount
        quote = self._owner.get_session_quote(mode="PREPARE", enable_session=enable, fee_token=self._sandbox.fee_token)
        _run(self._owner, quote)
        handoff: SessionHandoff = sync.to_session_handoff(quote.session_details, account=self._owner.account)
        return handoff


@pytest.fixture
def grant_session(owner_client: Any, sandbox: Sandbox, bot_key: LocalAccount) -> GrantSession:
    """``grant_session(actions, *, user_op_policies=, max_payment_amount=, redeemer=, batch_actions=)``: the owner
    enables a session for the bot key (PREPARE) and hands back its :class:`~smartsessions.SessionHandoff`, as the
    owner's side of a real deployment would (:class:`GrantSession`)."""
    return GrantSession(owner_client, sandbox, bot_key.address)


class BotClientFactory:
    """The :func:`bot_client` fixture: blocking session clients from a handoff, each closed after the test."""

    def __init__(self, sandbox: Sandbox, signer: LocalAccount) -> None:
        self._sandbox = sandbox
        self._signer = signer
        self._open: list[Any] = []

    def __call__(self, handoff: SessionHandoff | str | Path, *, signer: Any = None) -> Any:
        """``sync.create_session_client(handoff, signer=..., **sandbox.client_options)``: the bot's client on the
        granter's account, signing with ``signer`` (the bot key by default)."""
        client = sync.create_session_client(handoff, signer=signer or self._signer, **self._sandbox.client_options)
        self._open.append(client)
        return client

    def close(self) -> None:
        for client in reversed(self._open):
            client.close()
        self._open.clear()


@pytest.fixture
def bot_client(sandbox: Sandbox, bot_key: LocalAccount) -> Iterator[BotClientFactory]:
    """``bot_client(handoff, *, signer=bot_key)``: a blocking session client (``smartsessions.sync``) built from the
    handoff with the test's RPC URLs and node, as the bot builds its own (:class:`BotClientFactory`). For an async
    bot, ``await create_session_client(handoff, signer=bot_key, **sandbox.client_options)`` in the test's loop."""
    factory = BotClientFactory(sandbox, bot_key)
    try:
        yield factory
    finally:
        factory.close()
