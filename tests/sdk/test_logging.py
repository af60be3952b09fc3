"""The client's log (issue 15 item 8): each quote, submission and final status at INFO, signatures and refusals at
DEBUG, through ``logging`` under ``smartsessions``; never a key, on a whole PREPARE-then-USE flow on the devnet."""

from __future__ import annotations

import logging

import pytest

from smartsessions import PolicyViolationError

from .conftest import CHAINS, Sdk, increment, increment_action, set_number
from .test_session_quote import prepare


async def test_quotes_signatures_and_submissions_are_logged_and_keys_never(
    sdk: Sdk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="smartsessions")
    owner, prepared = await prepare(sdk, actions=[increment_action(c) for c in CHAINS])
    assert prepared.session_details is not None
    bot = await sdk.redeemer_client(owner.account.address)
    quote = await bot.get_session_quote(
        mode="USE", session_details=list(prepared.session_details), instructions=[increment(8453)], fee_token=sdk.fee()
    )
    assert quote is not None
    result = await bot.execute_session_quote(quote)
    await bot.wait_for_supertransaction_receipt(result.hash)
    with pytest.raises(PolicyViolationError):  # a call the session does not allow: refused before signing
        await bot.get_session_quote(
            mode="USE",
            session_details=list(prepared.session_details),
            instructions=[set_number(5)],
            fee_token=sdk.fee(),
        )

    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("smartsessions")]
    infos = [m for _, level, m in records if level == logging.INFO]
    debugs = [m for _, level, m in records if level == logging.DEBUG]
    assert f"quote {quote.hash} (simple): 2 userOps on chains 8453, fee " in "\n".join(infos)
    assert f"submitted super-transaction {result.hash}" in infos
    assert f"super-transaction {result.hash} MINED_SUCCESS" in infos
    assert f"signed quote {quote.hash} as {sdk.signer.address}" in debugs
    assert any(m.startswith("signed quote") and "as a permit" not in m for m in debugs)
    everything = "\n".join(m for _, _, m in records).lower()
    for key in (sdk.owner.key, sdk.signer.key):
        assert bytes(key).hex() not in everything
    assert all(name.startswith("smartsessions.") for name, _, _ in records)
