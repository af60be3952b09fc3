"""The session flow through ``smartsessions.sync`` alone, as a script without an event loop runs it, on the devnet and
a local node: the owner PREPAREs a session, the bot USEs it and the counter moves; a call outside the session is
refused with the error the async API raises for it.

A plain ``def`` test: no loop runs on its thread, as in a script. It builds its own clients through the facade from
the devnet's URLs and keys (the ``sdk`` fixture's clients are async ones, made on pytest-asyncio's loop). The
README's blocking script runs too, as written.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

import smartsessions
from smartsessions import (
    ActionNotPermittedError,
    SessionDetails,
    session_details_from_json,
    session_details_to_json,
    sync,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer

from ..contracts.harness import Chain
from .conftest import API_KEY, Sdk, increment, increment_action, set_number

pytestmark = pytest.mark.slow  # two super-transactions through the node

USDC = 10**6
HOME = (8453,)


def test_a_script_prepares_and_its_bot_uses_the_session_without_await(
    devnet: Devnet, node: NodeServer, chains: dict[int, Chain]
) -> None:
    sdk = Sdk(devnet, node, chains)  # for the URLs, keys and chain reads only: every SDK call below is sync's

    # the owner's script
    owner_account = sync.to_multichain_nexus_account(signer=sdk.owner, chain_configurations=sdk.configs(HOME), index=7)
    owner_client = sync.create_mee_client(account=owner_account, url=node.url, api_key=API_KEY)
    with owner_client.extend(sync.mee_session_actions) as owner:
        account = owner.account.address
        sdk.fund(account, 20 * USDC)
        prepared = owner.get_session_quote(
            mode="PREPARE",
            enable_session={"redeemer": sdk.signer.address, "actions": [increment_action()]},
            fee_token=sdk.fee(),
        )
        assert prepared is not None and prepared.session_details is not None
        done = owner.wait_for_supertransaction_receipt(owner.execute_session_quote(prepared).hash)
        assert done.status == "MINED_SUCCESS"
        handoff_text = sync.to_session_handoff(prepared.session_details, account=owner.account).dump()
    assert owner_client.is_closed is True  # the with block closed the node connection and the account's RPC ones
    handoff = session_details_to_json(list(prepared.session_details))

    # the bot's script: the handoff, the owner's account address and its own key
    details = session_details_from_json(handoff)
    bot_account = sync.to_multichain_nexus_account(
        signer=sdk.signer, chain_configurations=sdk.configs(HOME, account_address=account)
    )
    with sync.create_mee_client(account=bot_account, url=node.url, api_key=API_KEY).extend(
        sync.mee_session_actions
    ) as bot:
        before = sdk.counter()
        quote = bot.get_session_quote(
            mode="USE", session_details=details, instructions=[increment()], fee_token=sdk.fee()
        )
        assert quote is not None
        receipt = bot.wait_for_supertransaction_receipt(bot.execute_session_quote(quote).hash)
        assert receipt.status == "MINED_SUCCESS"
        assert sdk.counter() == before + 1

        # setNumber is not granted: refused before anything is signed, as the async API refuses it
        with pytest.raises(ActionNotPermittedError) as blocking:
            bot.get_session_quote(
                mode="USE", session_details=details, instructions=[set_number(5)], fee_token=sdk.fee()
            )
    awaited = asyncio.run(refused_by_the_async_api(sdk, account, details))
    assert type(blocking.value) is type(awaited) is ActionNotPermittedError
    assert str(blocking.value) == str(awaited)
    assert (blocking.value.action_selector, blocking.value.allowed) == (awaited.action_selector, awaited.allowed)
    assert blocking.value.allowed and sdk.counter() == before + 1  # it names what is allowed; nothing moved

    # the README's blocking script, run as written, increments once more
    bot_script = readme_function("bot_script")
    bot_script(sdk.signer, handoff_text, {8453: devnet.url(8453)}, node.url, API_KEY, COUNTER_ADDRESS, sdk.fee())
    assert sdk.counter() == before + 2


def readme_function(name: str) -> Callable[..., None]:
    """The function ``name`` of the README's Python block that defines it."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    [block] = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if f"def {name}(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    return cast(Callable[..., None], namespace[name])


async def refused_by_the_async_api(sdk: Sdk, account: str, details: list[SessionDetails]) -> ActionNotPermittedError:
    bot_account = await smartsessions.to_multichain_nexus_account(
        signer=sdk.signer, chain_configurations=sdk.configs(HOME, account_address=account)
    )
    client = await smartsessions.create_mee_client(account=bot_account, url=sdk.node.url, api_key=API_KEY)
    bot = client.extend(smartsessions.mee_session_actions)
    async with bot:
        try:
            await bot.get_session_quote(
                mode="USE", session_details=details, instructions=[set_number(5)], fee_token=sdk.fee()
            )
        except ActionNotPermittedError as refused:
            return refused
    raise AssertionError("the async API did not refuse setNumber")
