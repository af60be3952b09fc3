"""End-to-end fixtures: the session's devnet (chains 8453 and 10, reverted after each test), a local MEE node per test
(a thread serving real HTTP, fresh SQLite), and the SDK's clients for the owner and the session signer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from smartsessions import (
    ActionConfig,
    ChainConfiguration,
    FeeTokenInfo,
    SessionClient,
    create_mee_client,
    get_sudo_policy,
    mee_session_actions,
    to_multichain_nexus_account,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer, devnet_node_config
from smartsessions.encoding.abi import encode_function_call, selector

from ..contracts.conftest import _chain
from ..contracts.harness import Chain

API_KEY = "sdk-test-key"
CHAINS = (8453, 10)
INCREMENT = selector("increment()")
SET_NUMBER = selector("setNumber(uint256)")


@pytest.fixture
def chains(devnet: Devnet) -> Iterator[dict[int, Chain]]:
    """Chains 8453 and 10, both reverted after the test (clock included, see tests/contracts/conftest.py)."""
    gens = {c: _chain(devnet, c) for c in CHAINS}
    out = {c: next(g) for c, g in gens.items()}
    yield out
    for g in gens.values():
        next(g, None)


@pytest.fixture
def node(chains: dict[int, Chain], devnet: Devnet, tmp_path: Path) -> Iterator[NodeServer]:
    """The local MEE node on a thread of this process; stopped before the chains are reverted."""
    config = devnet_node_config(devnet, database=tmp_path / "node.sqlite", api_key=API_KEY)
    server = NodeServer(config).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Sdk:
    """The owner's and the session signer's clients of one test, on the devnet and the node."""

    net: Devnet
    node: NodeServer
    chains: dict[int, Chain]
    version: str = "2.1.0"
    owner: LocalAccount = field(init=False)
    signer: LocalAccount = field(init=False)
    _open: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.owner = Account.from_key(self.net.key("owner").private_key)
        self.signer = Account.from_key(self.net.key("session_signer").private_key)

    def fee(self, chain_id: int = 8453) -> FeeTokenInfo:
        return FeeTokenInfo(address=usdc_address(chain_id), chain_id=chain_id)

    def configs(self, chain_ids: tuple[int, ...] = CHAINS, account_address: str | None = None) -> list[Any]:
        return [
            ChainConfiguration(
                chain_id=c, rpc_url=self.net.url(c), version=self.version, account_address=account_address
            )
            for c in chain_ids
        ]

    async def client(
        self,
        signer: LocalAccount | None = None,
        *,
        chain_ids: tuple[int, ...] = CHAINS,
        account_address: str | None = None,
        index: int = 0,
    ) -> SessionClient:
        account = await to_multichain_nexus_account(
            signer=signer or self.owner, chain_configurations=self.configs(chain_ids, account_address), index=index
        )
        self._open.append(account)
        client = await create_mee_client(account=account, url=self.node.url, api_key=API_KEY)
        self._open.append(client)
        return client.extend(mee_session_actions)

    async def owner_client(self, **kwargs: Any) -> SessionClient:
        return await self.client(self.owner, **kwargs)

    async def redeemer_client(self, account_address: str, **kwargs: Any) -> SessionClient:
        return await self.client(self.signer, account_address=account_address, **kwargs)

    async def aclose(self) -> None:
        for item in reversed(self._open):
            await item.aclose()

    # -- chain reads ----------------------------------------------------------------------------------------------

    def counter(self, chain_id: int = 8453) -> int:
        return int(self.chains[chain_id].call(COUNTER_ADDRESS, "number()", [], ["uint256"]))

    def usdc(self, holder: str, chain_id: int = 8453) -> int:
        return int(self.chains[chain_id].call(usdc_address(chain_id), "balanceOf(address)", [holder], ["uint256"]))

    def fund(self, to: str, amount: int, chain_id: int = 8453) -> None:
        data = encode_function_call("transfer(address,uint256)", [to, amount])
        self.chains[chain_id].transact(self.owner.address, usdc_address(chain_id), data)


@pytest.fixture
async def sdk(devnet: Devnet, node: NodeServer, chains: dict[int, Chain]) -> AsyncIterator[Sdk]:
    helper = Sdk(devnet, node, chains)
    try:
        yield helper
    finally:
        await helper.aclose()


def increment_action(chain_id: int = 8453, policies: Any = None) -> ActionConfig:
    return ActionConfig(
        chain_id=chain_id,
        action_target=COUNTER_ADDRESS,
        action_target_selector=INCREMENT,
        action_policies=policies or [get_sudo_policy()],
    )


def increment(chain_id: int = 8453) -> dict[str, Any]:
    return {"chain_id": chain_id, "calls": [{"to": COUNTER_ADDRESS, "data": INCREMENT}]}


def set_number(n: int, chain_id: int = 8453) -> dict[str, Any]:
    return {"chain_id": chain_id, "calls": [{"to": COUNTER_ADDRESS, "data": SET_NUMBER + n.to_bytes(32, "big")}]}
