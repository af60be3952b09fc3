"""Permission-wide limits (issue 15, item 4) on the devnet: a session's userOp policies meet every userOp of the
session, whatever it calls, each chain's session with counters of its own, and the fee payment a session signs is
one of its userOps. Every count is read from the UsageLimitPolicy contract; every refusal is the SDK's typed error.

Measured here (and the reason the SDK does not scale a usage limit up on the fee chain): a paid super-transaction
that calls something on the fee chain uses 2 there (the payment userOp and the call's), a batch of calls in one userOp
1, a use that only calls on another chain 1 on the fee chain (its payment) and 1 on its own, a sponsored one 1.
Doubling the limit on the fee chain would give a sponsored session twice the uses its grant says. The payment sends
no native value: a value limit among the userOp policies counts only the calls'.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from smartsessions import (
    SMART_SESSIONS_ADDRESS,
    ActionConfig,
    OutsideTimeFrameError,
    PolicyLimitError,
    SessionClient,
    SessionDetails,
    get_sudo_policy,
    get_time_frame_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions._coerce import keccak
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.encoding.abi import selector
from smartsessions.policies import TIME_FRAME_POLICY_ADDRESS, USAGE_LIMIT_POLICY_ADDRESS, VALUE_LIMIT_POLICY_ADDRESS

from .conftest import SET_NUMBER, Sdk, increment, increment_action, set_number
from .test_mee_flows import prepared
from .test_session_quote import prepare

pytestmark = pytest.mark.slow  # a prepare or a grant, then several super-transactions each
HOUR = 3_600


def _set_number_action(chain_id: int = 8453) -> ActionConfig:
    return ActionConfig(chain_id=chain_id, action_target=COUNTER_ADDRESS, action_target_selector=SET_NUMBER,
                        action_policies=[get_sudo_policy()])  # fmt: skip


def _used(sdk: Sdk, chain_id: int, account: str, details: SessionDetails) -> tuple[int, int]:
    """The permission's userOp-level UsageLimitPolicy on ``chain_id``, as the contract holds it: (used, limit). Its
    config id is keccak256(account ‖ permissionId)."""
    config = keccak(bytes.fromhex(account[2:]) + bytes(details.permission_id))
    args = [config, SMART_SESSIONS_ADDRESS, account]
    chain = sdk.chains[chain_id]
    used = chain.call(USAGE_LIMIT_POLICY_ADDRESS, "getUsed(bytes32,address,address)", args, ["uint128"])
    limit = chain.call(USAGE_LIMIT_POLICY_ADDRESS, "getUsageLimit(bytes32,address,address)", args, ["uint128"])
    return int(used), int(limit)


async def _use(bot: SessionClient, details: Any, instructions: list[Any], **kwargs: Any) -> None:
    quote = await bot.get_session_quote(mode="USE", session_details=details, instructions=instructions, **kwargs)
    assert quote is not None
    receipt = await bot.wait_for_supertransaction_receipt((await bot.execute_session_quote(quote)).hash)
    assert receipt.status == "MINED_SUCCESS"


@pytest.mark.parametrize("last", ["increment", "setNumber"])
async def test_a_permission_wide_usage_limit_counts_every_action_and_refuses_the_next_use(sdk: Sdk, last: str) -> None:
    """PREPARE enables increment and setNumber under one usage limit of 2 for the permission; sponsored, each use is
    one userOp: increment, then setNumber, then whichever comes third is refused (per action it would pass: no action
    has a limit of its own). The limit is given as one list (JSON name), or by chain."""
    limit = [get_usage_limit_policy(limit=2)]
    owner, prepared_quote = await prepare(
        sdk,
        actions=[increment_action(), _set_number_action()],
        **({"userOpPolicies": limit} if last == "increment" else {"user_op_policies": {8453: limit}}),
    )
    account = owner.account.address
    assert prepared_quote.session_details is not None
    [details] = prepared_quote.session_details
    assert details.enable_session_data.enable_session.session_to_enable.user_op_policies == (
        get_usage_limit_policy(limit=2),
    )
    assert _used(sdk, 8453, account, details) == (0, 2)  # enabled on chain with the grant's limit

    bot = await sdk.redeemer_client(account, chain_ids=(8453,))
    await _use(bot, [details], [increment()], sponsorship=True)
    await _use(bot, [details], [set_number(40)], sponsorship=True)
    assert _used(sdk, 8453, account, details) == (2, 2) and sdk.counter() == 40

    third = increment() if last == "increment" else set_number(7)
    with pytest.raises(PolicyLimitError) as refused:
        await bot.get_session_quote(mode="USE", session_details=[details], instructions=[third], sponsorship=True)
    err = refused.value
    assert err.permission_wide and (err.policy, err.policy_name) == (USAGE_LIMIT_POLICY_ADDRESS, "UsageLimitPolicy")
    assert (err.limit, err.requested, err.chain_id) == (2, 1, 8453)
    assert err.permission_id == "0x" + bytes(details.permission_id).hex()
    assert err.action_selector == "0x" + bytes(third["calls"][0]["data"][:4]).hex()
    assert err.short_message.startswith("UsageLimitPolicy, the permission-wide limit, refused ")
    assert "at most 2 userOps of the permission on this chain, whatever they call" in str(err)
    assert _used(sdk, 8453, account, details) == (2, 2) and sdk.counter() == 40  # refused at the quote: nothing ran


async def test_a_paid_super_transaction_uses_two_on_the_fee_chain_and_each_chain_counts_its_own(sdk: Sdk) -> None:
    """A typed-data grant over two chains, a usage limit of 3 on the permission, fees paid by the session in USDC on
    8453: the payment is a userOp of the session there."""
    owner = await prepared(sdk)
    account = owner.account.address
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address,
        fee_token=sdk.fee(),
        actions=[increment_action(8453), _set_number_action(8453), increment_action(10)],
        user_op_policies=[get_usage_limit_policy(limit=3)],
    )
    base, optimism = details
    bot = await sdk.redeemer_client(account)
    first = await bot.use_permission(
        session_details=details,
        mode="ENABLE_AND_USE",
        fee_token=sdk.fee(),
        instructions=[increment(8453), increment(10)],
    )
    assert (await bot.wait_for_supertransaction_receipt(first.hash)).status == "MINED_SUCCESS"
    # 8453: the payment and the increment; 10: the increment. Each chain's session counts its own.
    assert (_used(sdk, 8453, account, base), _used(sdk, 10, account, optimism)) == ((2, 3), (1, 3))

    # One left on 8453, and a paid use there needs 2: refused at the quote, before anything is signed or paid.
    paid_before = sdk.usdc(account)
    with pytest.raises(PolicyLimitError) as refused:
        await bot.use_permission(session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[set_number(5)])
    assert refused.value.permission_wide and refused.value.chain_id == 8453
    assert refused.value.action_selector == "0x" + SET_NUMBER.hex()  # the payment passed, the call's userOp did not
    assert _used(sdk, 8453, account, base) == (2, 3) and sdk.usdc(account) == paid_before

    # A use that calls only on chain 10 still pays on 8453: 1 there (the payment), 1 on 10.
    used = await bot.use_permission(
        session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[increment(10)]
    )
    assert (await bot.wait_for_supertransaction_receipt(used.hash)).status == "MINED_SUCCESS"
    assert (_used(sdk, 8453, account, base), _used(sdk, 10, account, optimism)) == ((3, 3), (2, 3))

    # Now the fee payment itself is refused: named as the fee payment, and the fix is not the fee budget.
    with pytest.raises(PolicyLimitError) as refused:
        await bot.use_permission(session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[increment(10)])
    err = refused.value
    assert err.permission_wide and (err.action_target, err.action_selector) == (usdc_address(8453), "0xa9059cbb")
    assert "(the fee payment)" in err.short_message and "the fee payment included" in str(err)
    assert "max_payment_amount" not in str(err)
    assert _used(sdk, 10, account, optimism) == (2, 3) and sdk.counter(10) == 2


async def test_a_permission_wide_time_frame_is_one_window_for_every_action(sdk: Sdk) -> None:
    """A personal-sign grant with one time frame for the whole permission: both actions run inside it; once the
    chain's clock is past it, either is refused before anything is signed, named as the permission-wide window."""
    owner = await prepared(sdk)
    chain = sdk.chains[8453]
    now = chain.timestamp()
    details = await owner.grant_permission_personal_sign(
        redeemer=sdk.signer.address,
        fee_token=sdk.fee(),
        actions=[increment_action(8453), _set_number_action(8453)],
        user_op_policies=[get_time_frame_policy(valid_after=now - 60, valid_until=now + 600)],
    )
    bot = await sdk.redeemer_client(owner.account.address)
    modes: list[tuple[Literal["ENABLE_AND_USE", "USE"], dict[str, Any]]] = [
        ("ENABLE_AND_USE", increment()),
        ("USE", set_number(9)),
    ]
    for mode, instruction in modes:
        used = await bot.use_permission(
            session_details=details, mode=mode, fee_token=sdk.fee(), instructions=[instruction]
        )
        assert (await bot.wait_for_supertransaction_receipt(used.hash)).status == "MINED_SUCCESS"
    assert sdk.counter() == 9

    chain.warp(chain.timestamp() + HOUR)
    for instruction in (increment(), set_number(3)):
        with pytest.raises(OutsideTimeFrameError) as refused:
            await bot.use_permission(
                session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[instruction]
            )
        err = refused.value
        assert not err.not_yet_open and (err.valid_after, err.valid_until) == (now - 60, now + 600)
        assert (err.policy, err.action_target, err.action_selector) == (TIME_FRAME_POLICY_ADDRESS, None, None)
        assert "the permission-wide one, a userOp policy: every userOp of the session" in err.short_message
    assert sdk.counter() == 9


async def test_a_permission_wide_value_limit_counts_the_calls_value_and_not_the_fee_payment(sdk: Sdk) -> None:
    """The fee payment is an ERC-20 transfer with no native value: a value limit among the userOp policies counts only
    what the calls send."""
    owner = await prepared(sdk)
    account = owner.account.address
    chain = sdk.chains[8453]
    chain.set_balance(account, 10**18)
    increment_by = selector("incrementBy(uint256)")
    action = ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=increment_by,
                          action_policies=[get_sudo_policy()])  # fmt: skip
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[action],
        user_op_policies=[get_value_limit_policy(limit=10)],
    )  # fmt: skip
    config = keccak(bytes.fromhex(account[2:]) + bytes(details[0].permission_id))

    def used() -> int:
        args = [config, SMART_SESSIONS_ADDRESS, account]
        return int(chain.call(VALUE_LIMIT_POLICY_ADDRESS, "getUsed(bytes32,address,address)", args, ["uint256"]))

    def send(wei: int) -> dict[str, Any]:
        call = {"to": COUNTER_ADDRESS, "data": increment_by + (1).to_bytes(32, "big"), "value": wei}
        return {"chain_id": 8453, "calls": [call]}

    bot = await sdk.redeemer_client(account)
    first = await bot.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[send(6)]
    )
    assert (await bot.wait_for_supertransaction_receipt(first.hash)).status == "MINED_SUCCESS"
    assert used() == 6 and sdk.counter() == 1  # the payment userOp added nothing

    with pytest.raises(PolicyLimitError) as refused:
        await bot.use_permission(session_details=details, mode="USE", fee_token=sdk.fee(), instructions=[send(5)])
    err = refused.value
    assert err.permission_wide and (err.policy, err.limit, err.requested) == (VALUE_LIMIT_POLICY_ADDRESS, 10, 5)
    assert "wei of native value over all the permission's userOps on this chain" in str(err)
    assert used() == 6
