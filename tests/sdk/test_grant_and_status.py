"""Grants made by the SDK against the devnet (nonces and decimals read from chain, digests offline) are accepted by
the contracts on first use; permission status reads across two chains."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account

from smartsessions import ActionConfig, SessionDetails, SmartSessionMode, get_sudo_policy
from smartsessions.account.multichain import ChainConfiguration, MultichainNexusAccount, to_multichain_nexus_account
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.policies import decode_action_config
from smartsessions.sessions.actions import (
    check_enabled_permissions,
    grant_permission_personal_sign,
    grant_permission_typed_data_sign,
    is_permission_enabled,
    list_permissions,
)

from ..contracts.conftest import _chain
from ..contracts.flows import (
    COUNTER,
    INCREMENT,
    counter_value,
    deployed_with_sessions_module,
    increment_call,
    session_op,
)
from ..contracts.flows import Account as FlowAccount
from ..contracts.harness import Chain


@dataclass
class Client:
    account: MultichainNexusAccount


@pytest.fixture
def chains(devnet: Devnet) -> Iterator[tuple[Chain, Chain]]:
    a, b = _chain(devnet, 8453), _chain(devnet, 10)
    yield next(a), next(b)
    for gen in (a, b):
        next(gen, None)


async def owner_client(devnet: Devnet) -> Client:
    owner = Account.from_key(devnet.key("owner").private_key)
    configs = [ChainConfiguration(chain_id=c, rpc_url=devnet.url(c)) for c in (8453, 10)]
    return Client(await to_multichain_nexus_account(signer=owner, chain_configurations=configs))


@pytest.mark.parametrize("grant", [grant_permission_typed_data_sign, grant_permission_personal_sign])
async def test_sdk_grant_is_accepted_on_two_chains(
    devnet: Devnet, chains: tuple[Chain, Chain], grant: Callable[..., Awaitable[list[SessionDetails]]]
) -> None:
    c8453, c10 = chains
    owner, redeemer = c8453.keys["owner"], c8453.keys["session_signer"]
    accounts = [deployed_with_sessions_module(c, owner) for c in (c8453, c10)]
    client = await owner_client(devnet)
    try:
        assert client.account.address == accounts[0].address == accounts[1].address
        actions = [
            ActionConfig(
                chain_id=chain_id,
                action_target=COUNTER,
                action_target_selector=INCREMENT,
                action_policies=[get_sudo_policy()],
            )
            for chain_id in (8453, 10)
        ]
        details = await grant(
            client,
            redeemer=redeemer.address,
            actions=actions,
            fee_token={"address": usdc_address(8453), "chain_id": 8453},
        )
        assert [d.chain_id for d in details] == [8453, 10]
        # the fee chain's session allows the fee payment: 5 USDC by default (decimals read from the token)
        payment = details[0].enable_session_data.enable_session.session_to_enable.actions[-1]
        assert (
            int.from_bytes(decode_action_config(payment.action_policies[0].init_data).param_rules.rules[0].ref, "big")
            == 5_000_000
        )
        assert len(details[1].enable_session_data.enable_session.session_to_enable.actions) == 1

        before = await check_enabled_permissions(client, details)
        assert before == {"0x" + bytes(d.permission_id).hex(): {d.chain_id: False} for d in details}
        for chain, account, d in zip((c8453, c10), accounts, details, strict=True):
            session = d.enable_session_data.enable_session.session_to_enable
            op = session_op(
                chain, FlowAccount(address=account.address, owner=owner), redeemer, increment_call(), session=session,
                mode=SmartSessionMode.UNSAFE_ENABLE, enable=d.enable_session_data,
            )  # fmt: skip
            [result] = chain.handle_ops([op])
            assert result.success, result.revert_message
            assert counter_value(chain) == 1
            assert await is_permission_enabled(client, permission_id=d.permission_id, chain_id=chain.chain_id)
            assert await list_permissions(client, chain_id=chain.chain_id) == ["0x" + bytes(d.permission_id).hex()]
        after = await check_enabled_permissions(client, details)
        assert all(v is True for per_chain in after.values() for v in per_chain.values())
        assert sum(len(v) for v in after.values()) == 2
    finally:
        await client.account.aclose()
