"""A grant whose own rules on the fee token's ``transfer`` would refuse the MEE fee payment is refused before
anything is signed (issue 5 point 3). The fee is ``transfer(node, fee)`` with ``0 < fee <= max_payment_amount``."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    ActionConfig,
    FeePaymentBlockedError,
    FeeTokenInfo,
    ParamCondition,
    ParamRule,
    get_sudo_policy,
    get_universal_action_policy,
)
from smartsessions.sessions.grant import build_grant_sessions, grant_permission_offline

USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
OTHER_TOKEN = "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85"
ALICE = "0x000000000000000000000000000000000000dEaD"
TRANSFER = "0xa9059cbb"
MAX = 5_000_000
OWNER = Account.from_key("0x" + "11" * 32)


def transfer_action(*rules: ParamRule, token: str = USDC, chain_id: int = 8453) -> ActionConfig:
    return ActionConfig(
        chain_id=chain_id,
        action_target=token,
        action_target_selector=TRANSFER,
        action_policies=[get_universal_action_policy(param_rules=list(rules))],
    )


def grant(*actions: ActionConfig, fee_chain: int = 8453, fee_token: str = USDC) -> Any:
    return build_grant_sessions(
        redeemer=ALICE,
        actions=list(actions),
        versions="2.1.0",
        fee_token=FeeTokenInfo(address=fee_token, chain_id=fee_chain),
        max_payment_amount=MAX,
    )


def rule(condition: ParamCondition, offset: int, ref: int | str) -> ParamRule:
    return ParamRule(condition=condition, offset=offset, ref=ref)


@pytest.mark.parametrize(
    ("blocking", "says"),
    [
        (rule(ParamCondition.EQUAL, 0, ALICE), f"the recipient must be {ALICE.lower()}"),
        (rule(ParamCondition.EQUAL, 32, 1_000_000), f"exactly {1_000_000 + MAX}"),
        (rule(ParamCondition.GREATER_THAN, 32, MAX), "above any fee"),
        (rule(ParamCondition.GREATER_THAN_OR_EQUAL, 32, MAX + 1), "above any fee"),
        (rule(ParamCondition.IN_RANGE, 32, ((MAX + 1) << 128) | (MAX + 10)), "which no fee"),
        (rule(ParamCondition.LESS_THAN_OR_EQUAL, 64, 1), "past transfer(address,uint256)'s two arguments"),
    ],
)
def test_rules_that_refuse_every_fee_are_refused(blocking: ParamRule, says: str) -> None:
    amount_cap = rule(ParamCondition.LESS_THAN_OR_EQUAL, 32, 100_000_000)
    with pytest.raises(FeePaymentBlockedError) as refused:
        grant(transfer_action(amount_cap, blocking))
    err = refused.value
    assert err.field == "actions" and err.chain_id == 8453 and err.token == USDC
    assert says in err.rule and err.rule.startswith("action 0, rule 1: ")
    assert "another token" in str(err) and "sponsor" in str(err)


@pytest.mark.parametrize(
    "allowed",
    [
        rule(ParamCondition.LESS_THAN_OR_EQUAL, 32, 100_000_000),  # raised by the max payment
        rule(ParamCondition.NOT_EQUAL, 0, ALICE),
        rule(ParamCondition.GREATER_THAN, 32, MAX - 1),  # a fee of MAX passes
        rule(ParamCondition.GREATER_THAN_OR_EQUAL, 32, MAX),
        rule(ParamCondition.IN_RANGE, 32, (1 << 128) | MAX),
    ],
)
def test_rules_some_fee_can_meet_are_kept(allowed: ParamRule) -> None:
    [session] = grant(transfer_action(allowed))
    assert session.chain_id == 8453 and len(session.actions) == 1  # raised in place, no payment action added


def test_only_the_fee_token_on_the_fee_chain_is_checked() -> None:
    recipient = rule(ParamCondition.EQUAL, 0, ALICE)
    # the same rule on another token, or on the fee token of another chain: the fee never goes through it
    sessions = grant(transfer_action(recipient, token=OTHER_TOKEN), transfer_action(recipient, chain_id=10))
    assert [s.chain_id for s in sessions] == [8453, 10]
    # a sponsored grant (no fee token) keeps any rule
    [session] = build_grant_sessions(redeemer=ALICE, actions=[transfer_action(recipient)], versions="2.1.0")
    assert len(session.actions) == 1
    # a Sudo-only transfer action gets the payment action appended: nothing in it refuses the fee
    sudo = ActionConfig(chain_id=8453, action_target=USDC, action_target_selector=TRANSFER,
                        action_policies=[get_sudo_policy()])  # fmt: skip
    [session] = grant(sudo)
    assert len(session.actions) == 2


def test_the_offline_grant_refuses_before_signing() -> None:
    signed: list[bytes] = []

    class Recording:
        address = OWNER.address

        def sign_message(self, message: Any) -> Any:
            signed.append(b"personal")
            return OWNER.sign_message(message)

        def unsafe_sign_hash(self, digest: Any) -> Any:
            signed.append(bytes(digest))
            return OWNER.unsafe_sign_hash(digest)

    with pytest.raises(FeePaymentBlockedError):
        grant_permission_offline(
            signer=Recording(),
            redeemer=ALICE,
            actions=[transfer_action(rule(ParamCondition.EQUAL, 0, ALICE))],
            versions="2.1.0",
            accounts="0x" + "22" * 20,
            nonces={8453: 0},
            fee_token=FeeTokenInfo(address=USDC, chain_id=8453),
            max_payment_amount=MAX,
        )
    assert signed == []


# -- fee_recipient: the fee payment pinned to the node (issue 13 item 4) -----------------------------------------------

NODE = "0x5CbDd86a2FA8Dc4bDdd8a8f69dBa48572EeC07FB"
COUNTER = "0x00000000000000000000000000000000c0ffee00"


def _payment_rules(session: Any) -> Any:
    from smartsessions.policies.universal_action import decode_action_config

    [payment] = [a for a in session.actions if a.action_target == USDC]
    [policy] = payment.action_policies
    return decode_action_config(policy.init_data).param_rules


def _increment() -> ActionConfig:
    return ActionConfig(
        chain_id=8453, action_target=COUNTER, action_target_selector="0xd09de08a", action_policies=[get_sudo_policy()]
    )


def test_a_pinned_fee_recipient_is_a_second_rule_of_the_payment_policy() -> None:
    """Rule 0 stays the reference's (amount <= max, at most max in all); rule 1 fixes the recipient; the padding
    after them is the reference's too."""
    unpinned = _payment_rules(grant(_increment())[0])
    [session] = build_grant_sessions(
        redeemer=ALICE,
        actions=[_increment()],
        versions="2.1.0",
        fee_token=FeeTokenInfo(address=USDC, chain_id=8453),
        max_payment_amount=MAX,
        fee_recipient=NODE.lower(),
    )
    pinned = _payment_rules(session)
    assert unpinned.length == 1 and pinned.length == 2
    assert pinned.rules[0] == unpinned.rules[0]
    pin = pinned.rules[1]
    assert pin.condition is ParamCondition.EQUAL and pin.offset == 0 and not pin.is_limited
    assert bytes(pin.ref) == bytes(12) + bytes.fromhex(NODE[2:])
    assert pinned.rules[2:] == unpinned.rules[2:]


def test_pinned_fee_recipients_are_read_back_from_the_session() -> None:
    from smartsessions.policies.payment import pinned_fee_recipients

    [session] = build_grant_sessions(
        redeemer=ALICE,
        actions=[_increment()],
        versions="2.1.0",
        fee_token=FeeTokenInfo(address=USDC, chain_id=8453),
        max_payment_amount=MAX,
        fee_recipient=NODE,
    )
    assert pinned_fee_recipients(session.actions, fee_token=USDC) == {NODE}
    assert pinned_fee_recipients(grant(_increment())[0].actions, fee_token=USDC) == set()
    assert pinned_fee_recipients(session.actions, fee_token=OTHER_TOKEN) == set()


@pytest.mark.parametrize(
    ("fee_token", "actions", "says"),
    [
        (None, [_increment()], "has no fee_token"),
        (FeeTokenInfo(address=USDC, chain_id=8453), [_increment(), "own transfer"], "its own action on"),
    ],
)
def test_a_fee_recipient_that_cannot_mean_what_it_says_is_refused(
    fee_token: FeeTokenInfo | None, actions: list[Any], says: str
) -> None:
    from smartsessions import InvalidInputError

    parsed = [transfer_action(rule(ParamCondition.LESS_THAN_OR_EQUAL, 32, 10**9)) if a == "own transfer" else a
              for a in actions]  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        build_grant_sessions(
            redeemer=ALICE,
            actions=parsed,
            versions="2.1.0",
            fee_token=fee_token,
            max_payment_amount=MAX if fee_token else None,
            fee_recipient=NODE,
        )
    assert refused.value.field == "fee_recipient" and says in str(refused.value)


async def test_fee_recipient_node_needs_a_client_of_a_node() -> None:
    from smartsessions import InvalidInputError
    from smartsessions.sessions.actions import resolve_fee_recipient

    with pytest.raises(InvalidInputError) as refused:
        resolve_fee_recipient(object(), "node")
    assert refused.value.field == "fee_recipient" and "create_mee_client" in str(refused.value)
    assert resolve_fee_recipient(object(), NODE) == NODE


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("Node", "this grant is made without a client"),
        ("0x1234", "not a 20-byte hex address"),
    ],
)
def test_an_offline_fee_recipient_must_be_an_address(value: str, says: str) -> None:
    from smartsessions import InvalidInputError

    with pytest.raises(InvalidInputError) as refused:
        build_grant_sessions(
            redeemer=ALICE,
            actions=[_increment()],
            versions="2.1.0",
            fee_token=FeeTokenInfo(address=USDC, chain_id=8453),
            max_payment_amount=MAX,
            fee_recipient=value,
        )
    assert refused.value.field == "fee_recipient" and says in str(refused.value)
    assert "node's address" in str(refused.value)
