"""The node tests share the session's devnet (chains 8453 and 10): each test runs between a snapshot and a revert of
both chains, with its own node (a thread serving real HTTP, or a process) and its own SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from smartsessions import ActionConfig, SessionDetails, get_sudo_policy
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeConfig, NodeServer, devnet_node_config

from ..contracts.conftest import _chain
from ..contracts.flows import COUNTER, INCREMENT, deployed_with_sessions_module, increment_call
from ..contracts.harness import Chain
from .helpers import API_KEY, Lanes, NodeClient, fund_usdc, grant, session_quote


@pytest.fixture(scope="session")
def on_demand_mining() -> Iterator[Devnet]:
    """A devnet of its own (chains 8453 and 10) whose chains make a block only when a transaction arrives (anvil's
    automine, no block time), for the tests that pause mining (:func:`~.helpers.paused_mining`). The shared devnet's
    chains also make a block every 2 s (anvil's mixed mining), and anvil has no way back to that mode once
    ``evm_setAutomine`` changed it: pausing them would change them for every later test. Started on first use."""
    net = Devnet.start((8453, 10), block_time=0)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def devnet(request: pytest.FixtureRequest, devnet: Devnet) -> Devnet:
    """The session's devnet; for a test that asks for ``on_demand_mining``, that devnet instead."""
    if "on_demand_mining" in request.fixturenames:
        return cast(Devnet, request.getfixturevalue("on_demand_mining"))
    return devnet


@pytest.fixture
def chains(devnet: Devnet) -> Iterator[tuple[Chain, Chain]]:
    """Chains 8453 and 10, both reverted after the test."""
    a, b = _chain(devnet, 8453), _chain(devnet, 10)
    yield next(a), next(b)
    for gen in (a, b):
        next(gen, None)


@pytest.fixture
def node_config(devnet: Devnet, tmp_path: Path) -> NodeConfig:
    return devnet_node_config(devnet, database=tmp_path / "node.sqlite", api_key=API_KEY)


@dataclass
class Node:
    server: NodeServer
    client: NodeClient

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def node(chains: tuple[Chain, Chain], node_config: NodeConfig) -> Iterator[Node]:
    """A node on a thread of the test process, over real HTTP; stopped before the chains are reverted."""
    server = NodeServer(node_config).start()
    client = NodeClient(server.url)
    try:
        yield Node(server, client)
    finally:
        client.close()
        server.stop()


@dataclass
class SessionSetup:
    """A deployed account with SmartSessions, 10 USDC, and a granted Counter.increment session (sudo)."""

    chain: Chain
    account: str
    details: list[SessionDetails]
    lanes: Lanes

    def request(self, *, enable: bool = True) -> dict[str, Any]:
        return session_quote([self.chain], self.account, self.details, [(self.chain, increment_call())], self.lanes,
                             enable=enable)  # fmt: skip


@pytest.fixture
def session(chains: tuple[Chain, Chain]) -> SessionSetup:
    chain = chains[0]
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner).address
    fund_usdc(chain, account, 10_000_000, owner)
    action = ActionConfig(
        chain_id=chain.chain_id, action_target=COUNTER, action_target_selector=INCREMENT,
        action_policies=[get_sudo_policy()],
    )  # fmt: skip
    return SessionSetup(chain, account, grant([chain], account, owner, redeemer, [action]), Lanes())
