"""A remote (async) signer runs the whole seed flow on the devnet, for the owner (the permit trigger, the grant) and
for the session signer (ENABLE_AND_USE); and ``async with`` closes every connection the client and its account
opened."""

from __future__ import annotations

import pytest

from smartsessions import (
    SmartSessionMode,
    create_mee_client,
    mee_session_actions,
    to_multichain_nexus_account,
    to_smart_sessions_module,
)
from smartsessions.devnet.deploy import usdc_address

from ..signers import RemoteSigner
from .conftest import API_KEY, Sdk, increment, increment_action

pytestmark = pytest.mark.slow  # whole flows through the node


async def test_remote_signers_run_the_seed_flow_and_async_with_closes_everything(sdk: Sdk) -> None:
    owner_key, session_key = RemoteSigner(sdk.owner), RemoteSigner(sdk.signer)
    owner_account = await to_multichain_nexus_account(signer=owner_key, chain_configurations=sdk.configs((8453,)))
    async with await create_mee_client(account=owner_account, url=sdk.node.url, api_key=API_KEY) as mee:
        owner = mee.extend(mee_session_actions)
        prepared = await owner.prepare_for_permissions(
            smart_sessions_validator=to_smart_sessions_module(signer=session_key),
            fee_token=sdk.fee(),
            trigger={"token_address": usdc_address(8453), "chain_id": 8453, "amount": 10_000_000},
        )
        assert prepared is not None
        assert (await owner.wait_for_supertransaction_receipt(prepared.hash)).status == "MINED_SUCCESS"
        details = await owner.grant_permission_typed_data_sign(
            redeemer=session_key.address, fee_token=sdk.fee(), actions=[increment_action()]
        )
        assert [d.mode for d in details] == [SmartSessionMode.UNSAFE_ENABLE]
        account = owner.account.address
    assert owner_key.calls == 2  # the permit over the quote, the grant
    assert mee.is_closed and owner.is_closed  # the node connection and every RPC connection of the account
    assert all(d.rpc.is_closed for d in owner_account.deployments)

    before = sdk.counter()
    configs = sdk.configs((8453,), account_address=account)
    async with await to_multichain_nexus_account(signer=session_key, chain_configurations=configs) as redeemer_account:
        client = await create_mee_client(account=redeemer_account, url=sdk.node.url, api_key=API_KEY)
        redeemer = client.extend(mee_session_actions)
        used = await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
        assert (await redeemer.wait_for_supertransaction_receipt(used.hash)).status == "MINED_SUCCESS"
        await client.aclose()
        assert redeemer.is_closed
    assert session_key.calls == 1  # the quote
    assert sdk.counter() == before + 1
    await client.aclose()  # closing twice is harmless
