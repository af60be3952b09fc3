"""Issue 13, row 2: a session whose time frame is not open yet, or is over, is refused before anything is signed,
naming the TimeFramePolicy, the window and the chain's time; by the SDK's own reads (``use_permission``) and by the
node's quote for a client that does not decide early; and a time frame that opens within the execution window is
waited for, not refused. Observed on the devnet and the local node."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from smartsessions import (
    MeeApiError,
    OutsideTimeFrameError,
    SessionClient,
    SessionDetails,
    SmartSessionMode,
    get_sudo_policy,
    get_time_frame_policy,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS
from smartsessions.policies import TIME_FRAME_POLICY_ADDRESS
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from ..signers import RemoteSigner
from .conftest import API_KEY, Sdk, increment, increment_action
from .test_mee_flows import prepared

pytestmark = pytest.mark.slow  # a prepare and a grant each
HOUR = 3_600


async def _granted(sdk: Sdk, *, valid_after: int, valid_until: int) -> tuple[SessionClient, list[SessionDetails]]:
    """A grant of Counter.increment under a TimeFramePolicy (and the fee payment, without one), and the session
    signer's client, whose key counts what it signs."""
    owner = await prepared(sdk)
    window = get_time_frame_policy(valid_after=valid_after, valid_until=valid_until)
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address,
        fee_token=sdk.fee(),
        actions=[increment_action(policies=[get_sudo_policy(), window])],
    )
    key = RemoteSigner(sdk.signer)
    redeemer = await sdk.client(key, account_address=owner.account.address)  # type: ignore[arg-type]
    return redeemer, details


def _signatures(redeemer: SessionClient) -> int:
    signer = redeemer.account.signer
    assert isinstance(signer, RemoteSigner)
    return signer.calls


async def _super_transactions(sdk: Sdk) -> int:
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"{sdk.node.url}/health", headers={"x-api-key": API_KEY})).json()
    return int(health["store"]["superTransactions"])


async def test_a_time_frame_that_opens_in_an_hour_is_refused_before_anything_is_signed(sdk: Sdk) -> None:
    now = sdk.chains[8453].timestamp()
    redeemer, details = await _granted(sdk, valid_after=now + HOUR, valid_until=0)
    before, counter = await _super_transactions(sdk), sdk.counter()
    with pytest.raises(OutsideTimeFrameError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    err = refused.value
    pid = "0x" + bytes(details[0].permission_id).hex()
    assert err.not_yet_open and (err.valid_after, err.valid_until) == (now + HOUR, 0)
    assert err.chain_time is not None and now <= err.chain_time <= sdk.chains[8453].timestamp()  # the chain's time
    assert (err.permission_id, err.chain_id, err.policy, err.policy_name) == (
        pid, 8453, TIME_FRAME_POLICY_ADDRESS, "TimeFramePolicy"
    )  # fmt: skip
    assert (err.action_target, err.action_selector) == (COUNTER_ADDRESS, "0xd09de08a")
    assert f"(unix {now + HOUR}), {now + HOUR - err.chain_time} s from now" in err.short_message
    assert "the chain's time is " in err.short_message and f"(unix {err.chain_time})" in err.short_message
    assert "Fix: wait until" in str(err)
    assert err.__cause__ is None  # the SDK's own reads decided: no quote was asked for
    assert _signatures(redeemer) == 0 and await _super_transactions(sdk) == before and sdk.counter() == counter


async def test_a_time_frame_that_is_over_is_refused_before_anything_is_signed(sdk: Sdk) -> None:
    chain = sdk.chains[8453]
    now = chain.timestamp()
    redeemer, details = await _granted(sdk, valid_after=now - 60, valid_until=now + 600)
    chain.warp(chain.timestamp() + 2 * HOUR)  # the chain's clock, not this machine's
    before = await _super_transactions(sdk)
    with pytest.raises(OutsideTimeFrameError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
        )
    err = refused.value
    assert not err.not_yet_open and (err.valid_after, err.valid_until) == (now - 60, now + 600)
    assert err.chain_time is not None and err.chain_time == chain.timestamp() >= now + 2 * HOUR
    assert "closed at" in err.short_message and f"(unix {now + 600}), {err.chain_time - now - 600} s ago" in str(err)
    assert "grant a new permission" in str(err) and err.__cause__ is None
    assert _signatures(redeemer) == 0 and await _super_transactions(sdk) == before


async def _quote_without_deciding_early(redeemer: SessionClient, sdk: Sdk, details: list[SessionDetails]) -> Any:
    """What a client that does not read the chain first sends (the reference SDK's ``usePermission`` asks for the
    quote straight away): ``get_quote`` with the session, bypassing ``use_permission``'s own check."""
    return await redeemer.get_quote(
        instructions=[increment()],
        fee_token=sdk.fee(),
        module_address=SMART_SESSIONS_ADDRESS,
        short_encoding_super_txn=True,
        session_details=details,
        smart_session_mode=SmartSessionMode.UNSAFE_ENABLE,
    )


@pytest.mark.parametrize("simulate", [True, False])
async def test_the_node_refuses_a_time_frame_not_open_at_the_quote(sdk: Sdk, simulate: bool) -> None:
    now = sdk.chains[8453].timestamp()
    redeemer, details = await _granted(sdk, valid_after=now + HOUR, valid_until=now + 2 * HOUR)
    with pytest.raises(OutsideTimeFrameError) as refused:
        await redeemer.get_quote(
            instructions=[increment()],
            fee_token=sdk.fee(),
            module_address=SMART_SESSIONS_ADDRESS,
            short_encoding_super_txn=True,
            session_details=details,
            smart_session_mode=SmartSessionMode.UNSAFE_ENABLE,
            simulation={"simulate": simulate},  # judged with or without a simulation
        )
    err, cause = refused.value, refused.value.__cause__
    pid = "0x" + bytes(details[0].permission_id).hex()
    assert isinstance(cause, MeeApiError) and cause.status == 400 and cause.code == "SESSION_TIME_FRAME_NOT_OPEN"
    facts = cause.facts
    chain_time = facts["chainTime"]
    assert isinstance(chain_time, int) and now <= chain_time <= sdk.chains[8453].timestamp() + 1
    assert facts == {
        "chainId": 8453, "userOpIndex": 1, "field": "userOps[0]", "permissionId": pid,
        "policy": TIME_FRAME_POLICY_ADDRESS, "policyName": "TimeFramePolicy", "target": COUNTER_ADDRESS,
        "selector": "0xd09de08a", "validAfter": now + HOUR, "validUntil": now + 2 * HOUR, "chainTime": chain_time,
        "lowerBoundTimestamp": facts["lowerBoundTimestamp"], "upperBoundTimestamp": facts["lowerBoundTimestamp"] + 180,
    }  # fmt: skip
    text = cause.short_message
    assert text.startswith(f"userOps[0] (chain 8453): permission {pid} cannot be used yet: its TimeFramePolicy")
    assert f"opens at {now + HOUR} (" in text and f"the chain's time is {chain_time}" in text and "AA22" in text
    # the same typed error as the SDK's own early refusal
    assert err.not_yet_open and (err.valid_after, err.valid_until, err.chain_time) == (
        now + HOUR, now + 2 * HOUR, chain_time
    )  # fmt: skip
    assert (err.permission_id, err.chain_id, err.action_target, err.action_selector, err.policy) == (
        pid, 8453, COUNTER_ADDRESS, "0xd09de08a", TIME_FRAME_POLICY_ADDRESS
    )  # fmt: skip
    assert _signatures(redeemer) == 0


async def test_the_node_refuses_a_time_frame_that_is_over_at_the_quote(sdk: Sdk) -> None:
    chain = sdk.chains[8453]
    now = chain.timestamp()
    redeemer, details = await _granted(sdk, valid_after=now - 60, valid_until=now + 600)
    chain.rpc.request("evm_increaseTime", [hex(HOUR)])
    chain.rpc.request("evm_mine", [])
    with pytest.raises(OutsideTimeFrameError) as refused:
        await _quote_without_deciding_early(redeemer, sdk, details)
    cause = refused.value.__cause__
    assert isinstance(cause, MeeApiError) and cause.code == "SESSION_TIME_FRAME_OVER"
    assert {k: cause.facts[k] for k in ("field", "validAfter", "validUntil")} == {
        "field": "userOps[0]", "validAfter": now - 60, "validUntil": now + 600
    }  # fmt: skip
    assert cause.facts["chainTime"] >= now + HOUR and "can no longer be used" in cause.short_message
    assert not refused.value.not_yet_open and refused.value.chain_time == cause.facts["chainTime"]


async def test_a_time_frame_that_opens_within_the_execution_window_is_waited_for(sdk: Sdk) -> None:
    """Not a refusal: the node holds the userOp until the time frame opens, as it holds it for its own window."""
    chain = sdk.chains[8453]
    now = chain.timestamp()
    redeemer, details = await _granted(sdk, valid_after=now + 60, valid_until=0)
    counter = sdk.counter()
    result = await redeemer.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
    )
    chain.rpc.request("evm_increaseTime", [hex(90)])  # the chain's clock reaches the time frame
    chain.rpc.request("evm_mine", [])
    receipt = await redeemer.wait_for_supertransaction_receipt(result.hash)
    assert receipt.status == "MINED_SUCCESS" and sdk.counter() == counter + 1


async def test_a_user_op_policys_time_frame_is_met_by_the_fee_payment_first(sdk: Sdk) -> None:
    """A time frame among the session's userOp policies applies to every userOp of the session, the fee payment
    (userOp 0) included, and names no action. Our grants set only Sudo there, so the session is given one by hand
    (its enable signature no longer covers it: the quote asks for no simulation, whose HashMismatch would come
    first; the node judges the time frame from the details either way)."""
    now = sdk.chains[8453].timestamp()
    redeemer, details = await _granted(sdk, valid_after=now - 60, valid_until=0)  # open now, on the increment
    enable = details[0].enable_session_data.enable_session
    session = enable.session_to_enable
    window = get_time_frame_policy(valid_after=now + HOUR, valid_until=0)
    changed = session.model_copy(update={"user_op_policies": (*session.user_op_policies, window)})
    data = details[0].enable_session_data.model_copy(
        update={"enable_session": enable.model_copy(update={"session_to_enable": changed})}
    )
    hand_made = details[0].model_copy(update={"enable_session_data": data})
    with pytest.raises(OutsideTimeFrameError) as refused:
        await redeemer.get_quote(
            instructions=[increment()],
            fee_token=sdk.fee(),
            module_address=SMART_SESSIONS_ADDRESS,
            short_encoding_super_txn=True,
            session_details=[hand_made],
            smart_session_mode=SmartSessionMode.UNSAFE_ENABLE,
            simulation={"simulate": False},
        )
    cause = refused.value.__cause__
    assert isinstance(cause, MeeApiError) and cause.code == "SESSION_TIME_FRAME_NOT_OPEN"
    assert {k: cause.facts[k] for k in ("field", "userOpIndex", "validAfter", "validUntil")} == {
        "field": "paymentInfo", "userOpIndex": 0, "validAfter": now + HOUR, "validUntil": 0
    }  # fmt: skip
    assert "target" not in cause.facts and "as a userOp policy (every userOp of the session)" in cause.short_message
    assert refused.value.action_target is None and "every userOp of the session" in refused.value.short_message
