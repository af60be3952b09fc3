"""Every error of issue 5 point 4, observed for real on the devnet and the local node: each is the typed error, says
what to do, and keeps what it came from as its cause."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smartsessions import (
    ActionConfig,
    ActionNotPermittedError,
    ChainNotConfiguredError,
    ChainNotSupportedError,
    ConfigurationError,
    EnableSignatureUsedError,
    FeePaymentBlockedError,
    FeeTokenInfo,
    FeeTokenNotSupportedError,
    GrantAccountMismatchError,
    InsufficientBalanceError,
    MeeApiError,
    ParamCondition,
    ParamRule,
    PolicyViolationError,
    SessionClient,
    SessionDetails,
    SessionNotEnabledError,
    SmartSessionsError,
    create_mee_client,
    get_universal_action_policy,
    to_multichain_nexus_account,
    to_smart_sessions_module,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer, devnet_node_config
from smartsessions.encoding.abi import selector
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS

from .conftest import API_KEY, Sdk, increment, increment_action
from .test_mee_flows import prepared


async def granted(sdk: Sdk) -> tuple[SessionClient, SessionClient, list[SessionDetails]]:
    owner = await prepared(sdk)
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    redeemer = await sdk.redeemer_client(owner.account.address)
    return owner, redeemer, details


@pytest.mark.slow  # a grant, then the refusal
async def test_use_before_enable_is_session_not_enabled(sdk: Sdk) -> None:
    """A session used before anything enabled it is refused before anything is asked or signed: the SDK reads the
    permission's state and its SmartSessions nonce on the chain, and says it was never enabled here (not "revoked")."""
    _, redeemer, details = await granted(sdk)
    with pytest.raises(SessionNotEnabledError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    err = refused.value
    assert err.permission_id == "0x" + bytes(details[0].permission_id).hex()
    assert err.chain_id == 8453 and "ENABLE_AND_USE" in str(err) and redeemer.account.address in str(err)
    assert "No grant's enable signature of it was ever used on this account" in str(err)
    assert "removed" not in str(err)
    assert err.__cause__ is None  # decided by the SDK's own reads: no quote was asked for


@pytest.mark.slow  # a super-transaction, then a refusal
async def test_enable_signature_used_twice(sdk: Sdk) -> None:
    _, redeemer, details = await granted(sdk)
    used = await redeemer.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
    )
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    with pytest.raises(EnableSignatureUsedError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    assert refused.value.chain_id == 8453 and "mode='USE'" in str(refused.value)
    assert "enabled already" in str(refused.value) and refused.value.__cause__ is None


async def test_details_granted_for_another_account(sdk: Sdk) -> None:
    """The owner's grant used from another account's client: USE and ENABLE_AND_USE both name the account mismatch
    (the grant's signed digest matches none of this account's nonces), never "revoked"; before anything is
    signed."""
    _, _, details = await granted(sdk)
    other = (await sdk.owner_client(index=5)).account.address
    stranger = await sdk.redeemer_client(other)
    with pytest.raises(GrantAccountMismatchError) as use:
        await stranger.use_permission(
            session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    assert other in str(use.value) and "another account" in str(use.value) and "removed" not in str(use.value)
    with pytest.raises(GrantAccountMismatchError) as enable:
        await stranger.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    err = enable.value
    assert (err.account, err.chain_id, err.permission_id) == (other, 8453, "0x" + bytes(details[0].permission_id).hex())
    assert "account_address" in str(err)


@pytest.mark.slow  # four super-transactions
async def test_revoke_then_a_refused_use(sdk: Sdk) -> None:
    owner, redeemer, details = await granted(sdk)
    pid = "0x" + bytes(details[0].permission_id).hex()
    used = await redeemer.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
    )
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    revoked = await owner.revoke_permission(permission_id=pid, chain_id=8453, fee_token=sdk.fee())
    await owner.wait_for_supertransaction_receipt(revoked.hash)
    assert await owner.is_permission_enabled(permission_id=pid, chain_id=8453) is False
    assert await owner.list_permissions(chain_id=8453) == []
    counter = sdk.counter()
    with pytest.raises(SessionNotEnabledError):
        used = await redeemer.use_permission(
            session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[increment()]
        )
        await redeemer.wait_for_supertransaction_receipt(used.hash)
    with pytest.raises(EnableSignatureUsedError):  # the old grant cannot enable it again
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    assert sdk.counter() == counter


async def test_chain_not_configured(sdk: Sdk) -> None:
    owner = await sdk.owner_client(chain_ids=(8453,))
    with pytest.raises(ChainNotConfiguredError, match="not configured on chain 10"):
        await owner.get_quote(instructions=[increment(10)], fee_token=sdk.fee())
    with pytest.raises(ChainNotConfiguredError):
        await owner.get_quote(instructions=[increment()], fee_token=sdk.fee(10))


async def test_chain_not_supported_by_the_node(sdk: Sdk, devnet: Devnet, tmp_path: Path) -> None:
    config = devnet_node_config({8453: devnet.url(8453)}, database=tmp_path / "one.sqlite", api_key=API_KEY)
    with NodeServer(config) as one_chain:
        account = await to_multichain_nexus_account(signer=sdk.owner, chain_configurations=sdk.configs())
        try:
            with pytest.raises(ChainNotSupportedError, match="not supported by the MEE node: 10") as refused:
                await create_mee_client(account=account, url=one_chain.url, api_key=API_KEY)
            assert refused.value.chain_ids == (10,) and isinstance(refused.value, ConfigurationError)
        finally:
            await account.aclose()


async def test_fee_token_unsupported(sdk: Sdk) -> None:
    owner = await sdk.owner_client()
    with pytest.raises(FeeTokenNotSupportedError, match="takes no fees in") as refused:
        await owner.get_quote(
            instructions=[increment()], fee_token=FeeTokenInfo(address=COUNTER_ADDRESS, chain_id=8453)
        )
    assert "USDC" in str(refused.value)


async def test_insufficient_balance(sdk: Sdk) -> None:
    owner = await sdk.owner_client(index=7)  # a fresh account without any USDC
    with pytest.raises(InsufficientBalanceError) as refused:
        await owner.get_quote(instructions=[increment()], fee_token=sdk.fee())
    err = refused.value
    assert err.holder == owner.account.address and err.balance == 0 and err.token == sdk.fee().address
    assert err.chain_id == 8453 and isinstance(err.__cause__, MeeApiError) and "fund the account" in str(err)
    # the node found it in the payment userOp's simulation, before the fee was priced: no amount needed is known
    assert err.__cause__.code == "INSUFFICIENT_BALANCE" and err.needed is None
    assert err.__cause__.facts == {"field": "paymentInfo", "chainId": 8453, "holder": err.holder, "token": err.token,
                                   "balance": "0"}  # fmt: skip

    # the node's own balance check (the simulation passes, the fee does not fit): exact amounts
    sdk.fund(owner.account.address, 1)
    with pytest.raises(InsufficientBalanceError) as short:
        await owner.get_quote(instructions=[increment()], fee_token=sdk.fee())
    assert short.value.balance == 1 and short.value.needed is not None and short.value.needed > 1
    cause = short.value.__cause__
    assert isinstance(cause, MeeApiError) and cause.code == "INSUFFICIENT_BALANCE"
    assert int(cause.facts["required"]) == short.value.needed and cause.facts["balance"] == "1"


async def test_mee_api_errors_keep_status_and_body(sdk: Sdk) -> None:
    account = await to_multichain_nexus_account(signer=sdk.owner, chain_configurations=sdk.configs())
    try:
        with pytest.raises(MeeApiError) as refused:
            await create_mee_client(account=account, url=sdk.node.url, api_key="wrong")
        assert refused.value.status == 401
        assert refused.value.body == {
            "error": "x-api-key: missing or wrong API key for this node",
            "code": "API_KEY_INVALID",
            "facts": {},
        }
        assert str(refused.value).startswith("x-api-key: missing or wrong API key")
    finally:
        await account.aclose()


async def test_a_grant_whose_rules_refuse_its_own_fee(sdk: Sdk) -> None:
    """A recipient rule on the fee token's transfer: the fee goes to the node, so the grant is refused unsigned; the
    same rules granted without a fee token (sponsored use) are granted."""
    owner = await sdk.owner_client()
    usdc = sdk.fee().address
    only_alice = get_universal_action_policy(
        param_rules=[ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=sdk.net.key("alice").address)]
    )
    action = ActionConfig(chain_id=8453, action_target=usdc, action_target_selector="0xa9059cbb",
                          action_policies=[only_alice])  # fmt: skip
    for grant in (owner.grant_permission_typed_data_sign, owner.grant_permission_personal_sign):
        with pytest.raises(FeePaymentBlockedError) as refused:
            await grant(redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[action])
        assert refused.value.token == usdc and refused.value.chain_id == 8453
        assert "the recipient must be" in refused.value.rule
    with pytest.raises(FeePaymentBlockedError):
        await owner.prepare_for_permissions(
            smart_sessions_validator=to_smart_sessions_module(signer=sdk.signer),
            fee_token=sdk.fee(),
            redeemer=sdk.signer.address,
            actions=[action],
        )
    [details] = await owner.grant_permission_typed_data_sign(redeemer=sdk.signer.address, actions=[action])
    assert details.chain_id == 8453


async def test_a_fee_above_the_sessions_max_payment_is_refused_at_the_quote(sdk: Sdk) -> None:
    """The session pays the fee under its own payment policy: with a max payment of 0.001 USDC, the node refuses
    the quote (before anything is signed or sent), naming the fee, the cap, the permission and the policy."""
    owner = await prepared(sdk)
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()], max_payment_amount=1_000
    )
    redeemer = await sdk.redeemer_client(owner.account.address)
    before = sdk.counter()
    with pytest.raises(SmartSessionsError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    node_error = refused.value if isinstance(refused.value, MeeApiError) else refused.value.__cause__
    assert isinstance(node_error, MeeApiError) and node_error.status == 400
    text = str(node_error.body)
    pid = "0x" + bytes(details[0].permission_id).hex()
    typed = refused.value  # the SDK's reading of the node's code: the session's payment policy refused the fee
    assert isinstance(typed, PolicyViolationError) and node_error.code == "SESSION_FEE_ABOVE_CAP"
    assert (typed.permission_id, typed.policy, typed.chain_id) == (pid, UNIVERSAL_ACTION_POLICY_ADDRESS, 8453)
    assert re.search(r"the fee of 0\.\d+ USDC \(\d+ base units\) is more than permission " + pid, text), text
    assert "at most 0.001 USDC per payment and at most 0.001 USDC in all (its maxPaymentAmount)" in text, text
    assert "UniActionPolicy" in text and "maxPaymentAmount" in text, text
    assert isinstance(node_error.body, dict) and node_error.body["code"] == "SESSION_FEE_ABOVE_CAP"
    facts = node_error.body["facts"]
    fee = int(facts["fee"])
    assert {k: facts[k] for k in ("chainId", "userOpIndex", "field", "permissionId", "policy", "token")} == {
        "chainId": 8453,
        "userOpIndex": 0,
        "field": "paymentInfo",
        "permissionId": pid,
        "policy": UNIVERSAL_ACTION_POLICY_ADDRESS,
        "token": sdk.fee().address,
    }
    assert (facts["capPerPayment"], facts["capInTotal"]) == ("1000", "1000") and fee > 1_000
    assert (facts["target"], facts["selector"]) == (sdk.fee().address, "0xa9059cbb")  # the fee's transfer
    assert facts["rule"] == {
        "index": 0, "condition": "LESS_THAN_OR_EQUAL", "offset": 32, "ref": "1000", "value": str(fee),
    }  # fmt: skip
    assert sdk.counter() == before


@pytest.mark.slow  # a grant, then the refusal
async def test_a_call_the_session_grants_nothing_for_is_refused_at_the_quote(sdk: Sdk) -> None:
    """USDC.approve under a grant of Counter.increment alone: refused at the quote, before the session key signs
    anything, naming the call, the permission and what the session allows (the increment and the fee payment)."""
    owner, redeemer, details = await granted(sdk)
    usdc = sdk.fee().address
    approve = {"chain_id": 8453, "calls": [{"to": usdc, "data": selector("approve(address,uint256)") + bytes(64)}]}
    before = sdk.counter()
    with pytest.raises(ActionNotPermittedError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[approve]
        )
    err = refused.value
    pid = "0x" + bytes(details[0].permission_id).hex()
    assert (err.permission_id, err.chain_id, err.action_target, err.action_selector) == (pid, 8453, usdc, "0x095ea7b3")
    assert set(err.allowed) == {f"{COUNTER_ADDRESS}.0xd09de08a", f"{usdc}.0xa9059cbb (transfer(address,uint256))"}
    cause = err.__cause__
    assert isinstance(cause, MeeApiError) and cause.code == "ACTION_NOT_PERMITTED"
    assert await owner.is_permission_enabled(permission_id=pid, chain_id=8453) is False  # nothing was sent
    assert sdk.counter() == before
