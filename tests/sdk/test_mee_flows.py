"""The seed's flows in Python, end to end: the SDK's clients against the devnet and the local MEE node. Every check
reads the chains (counters, balances, modules, permissions) or the node's receipts."""

from __future__ import annotations

import pytest

from smartsessions import (
    SMART_SESSIONS_ADDRESS,
    InvalidInputError,
    MeeApiError,
    ParamCondition,
    SessionClient,
    get_universal_action_policy,
    session_details_from_json,
    session_details_to_json,
    to_smart_sessions_module,
)
from smartsessions.devnet.deploy import usdc_address
from smartsessions.encoding.session import SmartSessionMode
from smartsessions.versions import MEE_VERSIONS

from .conftest import CHAINS, SET_NUMBER, Sdk, increment, increment_action, set_number

pytestmark = pytest.mark.slow  # whole flows through the node, a second or more each

TRIGGER = 10_000_000  # 10 USDC from the owner's EOA


async def prepared(sdk: Sdk) -> SessionClient:
    """The owner's client after a permit-funded prepare_for_permissions (the seed's step 2)."""
    owner = await sdk.owner_client()
    result = await owner.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer),
        fee_token=sdk.fee(),
        trigger={"token_address": usdc_address(8453), "chain_id": 8453, "amount": TRIGGER},
    )
    assert result is not None
    receipt = await owner.wait_for_supertransaction_receipt(result.hash)
    assert receipt.status == "MINED_SUCCESS"
    return owner


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0"])
async def test_the_seed_flow_on_one_chain(sdk: Sdk, version: str) -> None:
    sdk.version = version
    eoa_before = sdk.usdc(sdk.owner.address)
    owner = await sdk.owner_client()
    account = owner.account.address
    assert all(not sdk.chains[c].code(account) for c in CHAINS)

    # 2. prepare: one permit-funded super-transaction deploys and prepares the account on both chains
    result = await owner.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer),
        fee_token=sdk.fee(),
        trigger={"token_address": usdc_address(8453), "chain_id": 8453, "amount": TRIGGER},
    )
    assert result is not None and result.session_details is None
    receipt = await owner.wait_for_supertransaction_receipt(result.hash)
    assert receipt.status == "MINED_SUCCESS" and receipt.is_finalised
    assert sorted(op.chain_id for op in receipt.user_ops) == sorted(CHAINS)
    assert receipt.gas_used and receipt.gas_used > 0 and len(receipt.receipts or []) == 2
    fee = receipt.payload.payment_info.token_wei_amount
    assert fee > 0
    assert sdk.usdc(sdk.owner.address) == eoa_before - TRIGGER - fee  # the permit pulled the trigger and the fee
    assert sdk.usdc(account) == TRIGGER
    k1 = MEE_VERSIONS[version].validator_address
    for c in CHAINS:
        chain = sdk.chains[c]
        assert chain.code(account)
        assert chain.call(account, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""],
                          ["bool"])  # fmt: skip
        assert chain.call(k1, "isSafeSender(address,address)", [SMART_SESSIONS_ADDRESS, account], ["bool"])
    # prepared already: nothing more to do
    again = await owner.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer), fee_token=sdk.fee()
    )
    assert again is None

    # 3. grant (typed data), handed over as JSON
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    assert [d.mode for d in details] == [SmartSessionMode.UNSAFE_ENABLE]
    stored = session_details_to_json(details)
    pid = "0x" + bytes(details[0].permission_id).hex()
    assert await owner.check_enabled_permissions(details) == {pid: {8453: False}}

    # 4. use, from the session signer's client: ENABLE_AND_USE, then USE
    redeemer = await sdk.redeemer_client(account)
    loaded = session_details_from_json(stored)
    before = sdk.counter()
    for mode in ("ENABLE_AND_USE", "USE", "USE"):
        used = await redeemer.use_permission(
            session_details=loaded, mode=mode, fee_token=sdk.fee(), instructions=[increment()]
        )
        receipt = await redeemer.wait_for_supertransaction_receipt(used.hash)
        assert receipt.status == "MINED_SUCCESS"
        assert receipt.user_ops[0].session_details is not None
    assert sdk.counter() == before + 3
    assert await redeemer.is_permission_enabled(permission_id=pid, chain_id=8453) is True
    assert await owner.check_enabled_permissions(details) == {pid: {8453: True}}
    assert await owner.list_permissions(chain_id=8453) == [pid]
    assert sdk.usdc(account) < TRIGGER  # the session paid its fees from the account


async def test_one_grant_on_two_chains_personal_sign(sdk: Sdk) -> None:
    owner = await prepared(sdk)
    account = owner.account.address
    details = await owner.grant_permission_personal_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action(8453), increment_action(10)]
    )
    assert [d.chain_id for d in details] == [8453, 10]
    redeemer = await sdk.redeemer_client(account)
    before = {c: sdk.counter(c) for c in CHAINS}
    for mode in ("ENABLE_AND_USE", "USE"):
        used = await redeemer.use_permission(
            session_details=details, mode=mode, fee_token=sdk.fee(), instructions=[increment(8453), increment(10)]
        )
        receipt = await redeemer.wait_for_supertransaction_receipt(used.hash)
        assert sorted(op.chain_id for op in receipt.user_ops) == sorted(CHAINS)
    assert {c: sdk.counter(c) for c in CHAINS} == {c: before[c] + 2 for c in CHAINS}
    pids = ["0x" + bytes(d.permission_id).hex() for d in details]
    # every chain kept (the reference would keep only the last one of a permission id)
    assert await redeemer.check_enabled_permissions(details) == {pids[0]: {8453: True}, pids[1]: {10: True}}


async def test_prepare_with_redeemer_and_actions_then_use(sdk: Sdk) -> None:
    owner = await sdk.owner_client()
    account = owner.account.address
    sdk.fund(account, 10_000_000)  # the counterfactual account pays the prepare fee itself
    result = await owner.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer),
        fee_token=sdk.fee(),
        redeemer=sdk.signer.address,
        actions=[increment_action(8453), increment_action(10)],
    )
    assert result is not None and result.session_details is not None
    await owner.wait_for_supertransaction_receipt(result.hash)
    details = result.session_details
    assert [d.mode for d in details] == [SmartSessionMode.USE, SmartSessionMode.USE]
    assert all(v for per_chain in (await owner.check_enabled_permissions(details)).values() for v in per_chain.values())

    redeemer = await sdk.redeemer_client(account)
    with pytest.raises(InvalidInputError, match="ENABLE_AND_USE mode cannot be used with given session details, "
                                                 "instead try USE mode directly"):  # fmt: skip
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    before = sdk.counter(10)
    used = await redeemer.use_permission(
        session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[increment(10)]
    )
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    assert sdk.counter(10) == before + 1


async def test_sponsorship_end_to_end(sdk: Sdk) -> None:
    owner = await sdk.owner_client()
    account = owner.account.address
    result = await owner.prepare_for_permissions(
        smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer), sponsorship=True
    )
    assert result is not None
    await owner.wait_for_supertransaction_receipt(result.hash)
    assert sdk.usdc(account) == 0  # nothing was paid by the account
    details = await owner.grant_permission_typed_data_sign(redeemer=sdk.signer.address, actions=[increment_action()])
    redeemer = await sdk.redeemer_client(account)
    before = sdk.counter()
    for mode in ("ENABLE_AND_USE", "USE"):
        used = await redeemer.use_permission(
            session_details=details, mode=mode, sponsorship=True, instructions=[increment()]
        )
        receipt = await redeemer.wait_for_supertransaction_receipt(used.hash)
        assert receipt.payload.payment_info.sponsored
    assert sdk.counter() == before + 2
    assert sdk.usdc(account) == 0


async def test_a_universal_action_policy_limits_the_argument(sdk: Sdk) -> None:
    from smartsessions import PolicyViolationError

    owner = await prepared(sdk)
    policy = get_universal_action_policy(
        value_limit_per_use=0,
        param_rules={
            "length": 1,
            "rules": [{"condition": ParamCondition.LESS_THAN_OR_EQUAL, "offset": 0, "ref": 10, "is_limited": False}],
        },
    )
    action = increment_action(policies=[policy]).model_copy(update={"action_target_selector": SET_NUMBER})
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[action]
    )
    redeemer = await sdk.redeemer_client(owner.account.address)
    used = await redeemer.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[set_number(7)]
    )
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    assert sdk.counter() == 7
    with pytest.raises(PolicyViolationError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[set_number(11)]
        )
    err = refused.value
    assert err.permission_id == "0x" + bytes(details[0].permission_id).hex()
    assert err.action_target is not None and err.action_target.lower() == set_number(0)["calls"][0]["to"].lower()
    assert err.action_selector == "0x" + SET_NUMBER.hex()
    assert err.policy_name is not None and "UniActionPolicy" in err.policy_name
    assert err.rule == "rule 0: argument 1 (offset 0) must be <= 10, got 11"
    assert err.chain_id == 8453
    assert "Rule: rule 0" in str(err) and isinstance(err.__cause__, MeeApiError) and err.__cause__.status == 400
    assert sdk.counter() == 7


async def test_an_onchain_trigger_funds_the_account(sdk: Sdk) -> None:
    """The fusion path without a permit: the owner's EOA sends approve(account, amount + fee) with the quote hash
    appended, and the account pulls the trigger in its first userOp, which also deploys it."""
    owner = await sdk.owner_client()
    account = owner.account.address
    eoa_before = sdk.usdc(sdk.owner.address)
    before = sdk.counter()
    fusion = await owner.get_fusion_quote(
        trigger={"token_address": usdc_address(8453), "chain_id": 8453, "amount": TRIGGER},
        instructions=[increment()],
        fee_token=sdk.fee(),
        quote_type="onchain",
    )
    assert fusion.quote.quote_type == "onchain" and fusion.trigger.amount == TRIGGER + fusion.quote.fee
    result = await owner.execute_fusion_quote(fusion)  # 2 confirmations, as the reference: the devnet makes blocks
    receipt = await owner.wait_for_supertransaction_receipt(result.hash)
    assert receipt.status == "MINED_SUCCESS"
    assert sdk.counter() == before + 1
    assert sdk.usdc(sdk.owner.address) == eoa_before - TRIGGER - fusion.quote.fee
    assert sdk.usdc(account) == TRIGGER
