"""The dry run of a session's use (issue 15, item 3) on the devnet: its verdict is the one the real use gets."""

from __future__ import annotations

from typing import Any

import pytest

from smartsessions import (
    ActionNotPermittedError,
    PolicyLimitError,
    get_usage_limit_policy,
)

from .conftest import Sdk, increment, increment_action, set_number
from .test_session_quote import prepare

pytestmark = pytest.mark.slow  # a prepare, then uses


async def test_smoke(sdk: Sdk) -> None:
    owner, quote = await prepare(sdk, actions=[increment_action(8453, [get_usage_limit_policy(limit=1)])])
    assert quote.session_details is not None
    [details] = [d for d in quote.session_details if d.chain_id == 8453]
    bot = await sdk.redeemer_client(owner.account.address, chain_ids=(8453,))
    verdict = await bot.dry_run_use(session_details=[details], instructions=[increment()])
    assert verdict.allowed, verdict.error
    verdict = await bot.dry_run_use(session_details=[details], instructions=[set_number(3)])
    assert isinstance(verdict.error, ActionNotPermittedError), verdict.error
    verdict = await bot.dry_run_use(session_details=[details], instructions=[increment(), increment()], batch=False)
    assert isinstance(verdict.error, PolicyLimitError), verdict.error
    print(verdict.error)
