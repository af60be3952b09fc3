"""The new session flow on the devnet (issue 14): ``get_session_quote`` PREPARE enables sessions on chain in the
owner's one super-transaction, and USE runs them from the session key's client; ``batch_actions=False``; what PREPARE
and USE refuse before anything is asked.

Every check reads the chains (deployment, the module, ``isPermissionEnabled``, the counter).
"""

from __future__ import annotations

from typing import Any

import pytest

from smartsessions import (
    SMART_SESSIONS_ADDRESS,
    InvalidInputError,
    SessionQuote,
    build_session_action,
    session_details_from_json,
    session_details_to_json,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS

from .conftest import CHAINS, INCREMENT, SET_NUMBER, Sdk, increment, increment_action, set_number

USDC = 10**6


def enabled(sdk: Sdk, chain_id: int, permission_id: bytes, account: str) -> bool:
    return bool(
        sdk.chains[chain_id].call(
            SMART_SESSIONS_ADDRESS, "isPermissionEnabled(bytes32,address)", [permission_id, account], ["bool"]
        )
    )


def installed(sdk: Sdk, chain_id: int, account: str) -> bool:
    return bool(
        sdk.chains[chain_id].call(
            account, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""], ["bool"]
        )
    )


async def prepare(sdk: Sdk, **enable: Any) -> tuple[Any, SessionQuote]:
    """A fresh owner account (index 7, funded with 20 USDC on 8453) PREPAREd with ``enable``, mined."""
    owner = await sdk.owner_client(index=7)
    account = owner.account.address
    sdk.fund(account, 20 * USDC)
    quote = await owner.get_session_quote(
        mode="PREPARE", enable_session={"redeemer": sdk.signer.address, **enable}, fee_token=sdk.fee()
    )
    assert quote is not None
    result = await owner.execute_session_quote(quote)
    receipt = await owner.wait_for_supertransaction_receipt(result.hash)
    assert receipt.status == "MINED_SUCCESS"
    return owner, quote


async def test_prepare_enables_the_sessions_and_the_session_key_uses_them(sdk: Sdk) -> None:
    owner, prepared = await prepare(sdk, actions=[increment_action(c) for c in CHAINS])
    account = owner.account.address
    assert prepared.quote_type == "simple" and prepared.mode is None
    details = prepared.session_details
    assert details is not None and [d.chain_id for d in details] == list(CHAINS)
    assert all(d.mode.name == "USE" for d in details)
    for c, d in zip(CHAINS, details, strict=True):
        assert sdk.chains[c].code(account) and installed(sdk, c, account)
        assert enabled(sdk, c, bytes(d.permission_id), account)

    # The handoff: the details as JSON, read in the session key's process.
    handed = session_details_from_json(session_details_to_json(list(details)))
    bot = await sdk.redeemer_client(account)
    for round_ in (1, 2):
        before = {c: sdk.counter(c) for c in CHAINS}
        quote = await bot.get_session_quote(
            mode="USE", session_details=handed, instructions=[increment(c) for c in CHAINS], fee_token=sdk.fee()
        )
        assert quote is not None and quote.quote_type == "simple" and quote.mode is not None
        assert quote.mode.name == "USE"
        result = await bot.execute_session_quote(quote)
        receipt = await bot.wait_for_supertransaction_receipt(result.hash)
        assert receipt.status == "MINED_SUCCESS", round_
        assert {c: sdk.counter(c) for c in CHAINS} == {c: before[c] + 1 for c in CHAINS}

    # Nothing left to prepare: no quote at all.
    assert await owner.get_session_quote(mode="PREPARE", fee_token=sdk.fee()) is None


async def test_unbatched_actions_are_enabled_one_userop_each_and_the_details_list_them_all(sdk: Sdk) -> None:
    groups = [
        *build_session_action(type="custom", chain_ids=[8453], contract_address=COUNTER_ADDRESS,
                              function_signature=INCREMENT),
        *build_session_action(type="custom", chain_ids=[8453], contract_address=COUNTER_ADDRESS,
                              function_signature=SET_NUMBER),
    ]  # fmt: skip
    owner, prepared = await prepare(sdk, actions=groups, batch_actions=False)
    account = owner.account.address
    assert prepared.session_details is not None
    [details] = prepared.session_details
    selectors = [
        bytes(a.action_target_selector) for a in details.enable_session_data.enable_session.session_to_enable.actions
    ]
    # Both groups (the reference's details list only the first), then the fee payment action in the first group.
    assert sorted(selectors) == sorted([INCREMENT, SET_NUMBER, bytes.fromhex("a9059cbb")])
    request_ops = prepared.mee_quote.request["userOps"]
    enables = [op for op in request_ops if op.get("simulationOverrides")]
    assert len(enables) == 2  # one userOp per group, each with the module's slot for the node's simulation
    assert all(op["simulationOverrides"]["customOverrides"][0]["contractAddress"].lower() == account.lower()
               for op in enables)  # fmt: skip
    assert enabled(sdk, 8453, bytes(details.permission_id), account)

    bot = await sdk.redeemer_client(account, chain_ids=(8453,))
    for instruction in (increment(), set_number(42)):
        quote = await bot.get_session_quote(
            mode="USE", session_details=[details], instructions=[instruction], fee_token=sdk.fee()
        )
        assert quote is not None
        receipt = await bot.wait_for_supertransaction_receipt((await bot.execute_session_quote(quote)).hash)
        assert receipt.status == "MINED_SUCCESS"
    assert sdk.counter() == 42


async def test_what_prepare_and_use_refuse_before_anything_is_asked(sdk: Sdk) -> None:
    owner = await sdk.owner_client(index=8)
    account = owner.account.address
    enable = {"redeemer": sdk.signer.address, "actions": [increment_action()]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"mode": "PREPARE", "enable_session": {**enable, "max_payment_amount": 0}}, "max_payment_amount"),
        ({"mode": "PREPARE", "enable_session": enable, "smart_session_validator_address": COUNTER_ADDRESS},
         "smart_sessions_validator"),
        ({"mode": "PREPARE", "enable_session": {**enable, "actions": []}}, "actions"),
        ({"mode": "PREPARE", "session_details": []}, "session_details"),
        ({"mode": "USE", "enable_session": enable, "instructions": [increment()]}, "enable_session"),
        ({"mode": "USE", "instructions": [increment()]}, "session_details"),
        ({"mode": "prepare"}, "mode"),
    ]  # fmt: skip
    for params, field in cases:
        with pytest.raises(InvalidInputError) as refused:
            await owner.get_session_quote(fee_token=sdk.fee(), **params)
        assert refused.value.field == field, (params, str(refused.value))

    # A grant's details (mode ENABLE_AND_USE) are for use_permission; the new flow's USE refuses them, naming why.
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    bot = await sdk.redeemer_client(account)
    with pytest.raises(InvalidInputError, match="ENABLE_AND_USE mode is not supported") as refused:
        await bot.get_session_quote(
            mode="USE", session_details=details, instructions=[increment()], fee_token=sdk.fee()
        )
    assert refused.value.field == "session_details"
    assert "use_permission(mode='ENABLE_AND_USE')" in str(refused.value)
    assert not sdk.chains[8453].code(account)  # nothing was deployed, nothing was sent
