"""End-to-end fixtures: the session's devnet (chains 8453 and 10, reverted after each test), a local MEE node per test
(a thread serving real HTTP, fresh SQLite), and the SDK's clients for the owner and the session signer. The isolation
and the node are the public plugin's (``smartsessions.testing``: ``isolated_devnet``, ``mee_node``); ``Sdk`` adds what
only our tests need (any signer, account index, MEE version and chains)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
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
    testing,
    to_multichain_nexus_account,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer
from smartsessions.encoding.abi import encode_function_call, selector

from ..contracts.harness import Chain

API_KEY = testing.API_KEY  # what the plugin's node asks for
CHAINS = (8453, 10)
INCREMENT = selector("increment()")
SET_NUMBER = selector("setNumber(uint256)")


@pytest.fixture
def chains(isolated_devnet: Devnet) -> Iterator[dict[int, Chain]]:
    """Chains 8453 and 10 as the contract harness drives them, on the plugin's ``isolated_devnet``: both reverted after
    the test, clock included (smartsessions.testing.isolation)."""
    out = {
        c: Chain(
            chain_id=c,
            rpc=isolated_devnet.rpc(c),
            contracts=isolated_devnet.chains[c].contracts,
            keys={k.role: k for k in isolated_devnet.keys},
        )
        for c in CHAINS
    }
    try:
        yield out
    finally:
        for chain in out.values():
            chain.rpc.close()


@pytest.fixture
def node(mee_node: NodeServer) -> NodeServer:
    """The plugin's node of the test (a thread of this process, real HTTP, fresh SQLite), stopped before the revert."""
    return mee_node


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
