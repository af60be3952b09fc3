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
