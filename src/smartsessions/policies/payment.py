"""The automatic fee-token payment policy (spec §3.3).

In a super-transaction that is not sponsored, the MEE node adds a payment userOp: an ERC-20 ``transfer`` of the fee
from the account to the node, on the fee-token chain. That userOp is validated through SmartSessions like any other,
so the session must allow ``feeToken.transfer`` for up to ``max_payment_amount``. This mirrors abstractjs
``addPaymentPolicyForActions`` byte for byte, because the session digest (and so the owner's signature) covers it.

What that allows is wider than the fee: the reference's payment action lets the session key ``transfer`` up to
``max_payment_amount`` of the fee token, in all, to **any** address, so a session granted only ``increment()`` may
still send that much of the fee token to a stranger (a node with a bug, or a quote changed on its way, can have it
do so). ``recipient`` narrows it to one address, the node's: a second rule, ``to == recipient``, in the same policy.
The reference has no such option; without ``recipient`` the bytes are the reference's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from pydantic import Field

from .._coerce import to_address, to_uint
from .._model import Model, Uint64
from ..encoding.session import ActionData, PolicyData
from ..errors import FeePaymentBlockedError, InvalidInputError
from ._built import built_policy
from .build import build_action_policy
from .universal_action import (
    CONDITION_SYMBOLS,
    MAX_RULES,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    LimitUsage,
    ParamCondition,
    ParamRule,
    ParamRules,
    UniversalActionConfig,
    decode_action_config,
    encode_action_config,
)

__all__ = [
    "TRANSFER_SELECTOR",
    "PaymentCap",
    "SessionAction",
    "add_payment_policy_for_actions",
    "check_fee_payment_allowed",
    "payment_action",
    "payment_cap",
    "pinned_fee_recipients",
]

TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")
_AMOUNT_OFFSET = 32  # calldataArgument(2): transfer(address to, uint256 amount)
_RAISED = (ParamCondition.EQUAL, ParamCondition.LESS_THAN, ParamCondition.LESS_THAN_OR_EQUAL)


class SessionAction(Model):
    """The actions of one chain, as the SDK groups them (``{chainId, actions}``)."""

    chain_id: Uint64
    actions: tuple[ActionData, ...] = Field(default=())


def payment_action(*, fee_token: object, max_payment_amount: int, recipient: str | None = None) -> ActionData:
    """``transfer(_, amount <= max)`` on the fee token, with a cumulative limit of ``max``; with ``recipient``,
    ``transfer(recipient, amount <= max)``."""
    rules: list[dict[str, object]] = [
        {
            "condition": "lessThanOrEqual",
            "calldata_offset": _AMOUNT_OFFSET,
            "comparison_value": max_payment_amount,
            "is_limited": True,
            "usage": LimitUsage(limit=max_payment_amount, used=0),
        }
    ]
    if recipient is not None:
        rules.append(
            {"condition": "equal", "calldata_offset": 0, "comparison_value": to_address(recipient, field="recipient")}
        )
    return ActionData(
        action_target_selector=TRANSFER_SELECTOR,
        action_target=to_address(fee_token, field="fee_token.address"),
        action_policies=(build_action_policy(type="universal", rules=rules),),
    )


def _is_fee_transfer(action: ActionData, token: str) -> bool:
    return bytes(action.action_target_selector) == TRANSFER_SELECTOR and action.action_target == token


def _raise_limit(policy: PolicyData, amount: int) -> PolicyData:
    """Make room for the fee inside an existing universal-action policy on the fee token's ``transfer``."""
    config = decode_action_config(policy.init_data)
    rules = list(config.param_rules.rules)
    length = config.param_rules.length
    # Only the rules the contract reads (the first ``length``): the reference walks all 16, so a padding slot past
    # ``length`` that happens to read offset 32 is raised (or counts as the amount rule) though it checks nothing.
    has_amount_rule = any(r.offset == _AMOUNT_OFFSET for r in rules[:length])
    if has_amount_rule:
        for k, r in enumerate(rules[:length]):
            if r.offset == _AMOUNT_OFFSET and r.condition in _RAISED:
                ref = int.from_bytes(bytes(r.ref), "big") + amount
                limit = r.usage.limit + amount
                if ref >> 256 or limit >> 256:
                    raise InvalidInputError(
                        "max_payment_amount",
                        "raising the transfer amount rule by the fee would overflow uint256",
                        fix="lower the rule's reference or limit, or the max payment amount",
                    )
                rules[k] = r.model_copy(
                    update={
                        "ref": ref.to_bytes(32, "big"),
                        "usage": LimitUsage(limit=limit, used=r.usage.used),
                    }
                )
    else:
        if length >= MAX_RULES:
            raise InvalidInputError(
                "actions",
                "Failed to add payment policy for the supertransaction: the universal action policy on the fee "
                "token's transfer already has 16 rules",
                fix="drop a rule from that policy, use another fee token, or use sponsorship",
            )
        rules[length] = ParamRule(
            condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=_AMOUNT_OFFSET, ref=amount, is_limited=False
        )
        length += 1
    new = UniversalActionConfig(
        value_limit_per_use=config.value_limit_per_use,
        param_rules=ParamRules(length=length, rules=tuple(rules)),
    )
    return built_policy(UNIVERSAL_ACTION_POLICY_ADDRESS, encode_action_config(new))


def add_payment_policy_for_actions(
    session_actions: Sequence[SessionAction | dict[str, object]],
    *,
    fee_token: object,
    fee_token_chain_id: object,
    max_payment_amount: object,
    recipient: object = None,
) -> list[SessionAction]:
    """abstractjs ``addPaymentPolicyForActions``, and with ``recipient`` the fee payment pinned to it (module
    docstring).

    1. Every universal-action policy on ``feeToken.transfer`` on the fee token's chain gets room for the fee: amount
       rules (EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL at offset 32, among the policy's ``length`` rules) have ``ref``
       and ``usage.limit`` raised by ``max_payment_amount`` (the limit even when the rule is not limited, which the
       contract ignores, as the reference writes it); without an amount rule, an uncapped ``amount <= max`` rule is
       added. Unlike the reference, groups of other chains and padding slots past ``length`` are left as they are.
    2. If no ``feeToken.transfer`` action has a universal-action policy, a payment action is appended to the first
       session action of the fee-token chain (even when a Sudo-only ``transfer`` action exists).
    """
    token = to_address(fee_token, field="fee_token.address")
    chain_id = to_uint(fee_token_chain_id, field="fee_token.chain_id", bits=64)
    amount = to_uint(max_payment_amount, field="max_payment_amount")
    if amount == 0:
        # The reference then appends a Sudo policy on the fee token's transfer: unlimited transfers of the fee token,
        # which no one asking for "at most 0" means. Its grant flows never get here (they default 0 to 5 tokens).
        raise InvalidInputError(
            "max_payment_amount",
            "must be above 0 (0 would let the session transfer the fee token without limit)",
            fix="pass the most the session may pay in fees, e.g. 5 * 10**decimals, or use sponsorship",
        )
    parsed = [s if isinstance(s, SessionAction) else SessionAction.model_validate(s) for s in session_actions]
    pinned = None if recipient is None else to_address(recipient, field="fee_recipient")
    if pinned is not None and any(_is_fee_transfer(a, token) for g in parsed for a in g.actions):
        # The fee would then be paid under the owner's own rules on that transfer (step 1): pinning its recipient
        # means narrowing the owner's transfers too, which is not this option's to decide.
        raise InvalidInputError(
            "fee_recipient",
            f"cannot pin the fee's recipient: the session has its own action on {token}.transfer, and the fee is "
            "paid under that action's rules",
            fix="pay the fee in another token, or drop fee_recipient",
        )

    updated: list[SessionAction] = []
    covered = False
    for group in parsed:
        if group.chain_id != chain_id:
            # The fee is paid on its own chain: a transfer of the same address elsewhere is another token (the
            # reference raises its limits too, by an amount in the fee token's units).
            updated.append(group)
            continue
        actions = []
        for action in group.actions:
            if _is_fee_transfer(action, token):
                policies = []
                for p in action.action_policies:
                    if p.policy == UNIVERSAL_ACTION_POLICY_ADDRESS:
                        covered = True
                        p = _raise_limit(p, amount)
                    policies.append(p)
                action = action.model_copy(update={"action_policies": tuple(policies)})
            actions.append(action)
        updated.append(group.model_copy(update={"actions": tuple(actions)}))

    if not covered:
        extra = payment_action(fee_token=token, max_payment_amount=amount, recipient=pinned)
        for k, group in enumerate(updated):
            if group.chain_id == chain_id:
                updated[k] = group.model_copy(update={"actions": (*group.actions, extra)})
                break
    return updated


def pinned_fee_recipients(actions: Sequence[ActionData], *, fee_token: object) -> set[str]:
    """The recipients the session's universal-action policies on ``fee_token.transfer`` pin (``to == X`` rules):
    a fee payment must go to each of them (every policy of the action must pass), so with two different pins none
    can pass. Empty when nothing pins the recipient."""
    token = to_address(fee_token, field="fee_token.address")
    pins: set[str] = set()
    for action in actions:
        if _is_fee_transfer(action, token):
            for policy in action.action_policies:
                if policy.policy == UNIVERSAL_ACTION_POLICY_ADDRESS:
                    pins.update(_pinned_recipients(bytes(policy.init_data)))
    return pins


@functools.lru_cache(maxsize=256)
def _pinned_recipients(init_data: bytes) -> tuple[str, ...]:
    """The ``to == X`` rules of one universal-action config, cached: every quote of a session checks the same bytes
    before it is signed, and decoding all 16 rule slots into models costs more than the rest of that check."""
    rules = decode_action_config(init_data).param_rules
    return tuple(
        to_address(bytes(rule.ref)[12:], field="recipient")
        for rule in rules.rules[: rules.length]
        if rule.offset == 0 and rule.condition is ParamCondition.EQUAL and not any(bytes(rule.ref)[:12])
    )


def _blocking_rule(rule: ParamRule, max_payment_amount: int) -> str | None:
    """Why the fee payment ``transfer(node, fee)``, ``0 < fee <= max``, cannot pass ``rule`` (as the reference will
    have raised it), or None when it can."""
    ref = int.from_bytes(bytes(rule.ref), "big")
    what = f"{CONDITION_SYMBOLS.get(rule.condition, 'in range')} {ref}"
    if rule.offset == 0:
        if rule.condition is ParamCondition.EQUAL:
            return f"the recipient must be {'0x' + bytes(rule.ref)[12:].hex()}, and the fee goes to the MEE node"
        return None
    if rule.offset == _AMOUNT_OFFSET:
        low, high = 1, max_payment_amount
        if rule.condition is ParamCondition.EQUAL:
            return (
                f"the amount must be exactly {ref + max_payment_amount} (the rule, raised by the max payment), "
                "and the fee is whatever the node quotes"
            )
        if rule.condition is ParamCondition.GREATER_THAN and ref >= high:
            return f"the amount must be {what}, above any fee up to the max payment {max_payment_amount}"
        if rule.condition is ParamCondition.GREATER_THAN_OR_EQUAL and ref > high:
            return f"the amount must be {what}, above any fee up to the max payment {max_payment_amount}"
        if rule.condition is ParamCondition.IN_RANGE and ((ref >> 128) > high or (ref & ((1 << 128) - 1)) < low):
            return (
                f"the amount must be in [{ref >> 128}, {ref & ((1 << 128) - 1)}], which no fee up to the max "
                f"payment {max_payment_amount} is"
            )
        return None
    return f"a rule reads offset {rule.offset}, past transfer(address,uint256)'s two arguments (the call reverts)"


def check_fee_payment_allowed(
    actions: Sequence[ActionData], *, fee_token: object, chain_id: int, max_payment_amount: int
) -> None:
    """Refuse, before anything is signed, a session whose own rules on ``fee_token.transfer`` would refuse the MEE
    fee payment.

    The node collects its fee with ``transfer(node, fee)`` on the fee token, validated through this session, and
    SmartSessions runs every policy of that action (the automatic payment policy does not replace them): a fixed
    recipient, a fixed amount, or a rule past the two arguments refuses every fee, so the session could never be
    used. Only rules that refuse every possible fee are refused here; a time frame or a usage limit is the owner's
    intent. ``actions`` are the session's actions on ``chain_id`` as the owner wrote them."""
    token = to_address(fee_token, field="fee_token.address")
    for k, action in enumerate(actions):
        if not _is_fee_transfer(action, token):
            continue
        for policy in action.action_policies:
            if policy.policy != UNIVERSAL_ACTION_POLICY_ADDRESS:
                continue
            config = decode_action_config(policy.init_data)
            for n, rule in enumerate(config.param_rules.rules[: config.param_rules.length]):
                why = _blocking_rule(rule, max_payment_amount)
                if why is None:
                    continue
                raise FeePaymentBlockedError(
                    "actions",
                    f"the session's rules on {token}.transfer on chain {chain_id} would refuse the MEE fee payment: "
                    f"rule {n}: {why}. The fee is paid in the same token through the same session, and every policy "
                    "of the action must pass",
                    chain_id=chain_id,
                    token=token,
                    rule=f"action {k}, rule {n}: {why}",
                    fix="pay the fee in another token (fee_token=), or sponsor the session's super-transactions (grant "
                    "without fee_token, then use_permission(..., sponsorship=True))",
                )


class PaymentCap(Model):
    """What a session's universal-action rules on ``fee_token.transfer`` let it pay (spec §3.3): at most
    ``per_payment`` in one payment and ``in_total`` over the session's life (each None when no rule bounds it).
    ``in_total`` is the grant's budget; what was already spent is on chain."""

    per_payment: int | None = None
    in_total: int | None = None


def _lower(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def payment_cap(actions: Sequence[ActionData], *, fee_token: object) -> PaymentCap | None:
    """The bound a session puts on its fee payments, read from its actions (a grant's, as signed), or None when no
    universal-action policy covers ``fee_token.transfer``.

    Every policy of an action must pass, and the reference appends the payment action next to an existing one
    (same action id), so the tightest amount rule wins: ``<=`` and ``==`` bound one payment at ``ref``, ``<`` at
    ``ref - 1``, and a limited rule bounds the sum of all payments at its ``usage.limit``."""
    token = to_address(fee_token, field="fee_token")
    per_payment: int | None = None
    in_total: int | None = None
    covered = False
    for action in actions:
        if not _is_fee_transfer(action, token):
            continue
        for policy in action.action_policies:
            if policy.policy != UNIVERSAL_ACTION_POLICY_ADDRESS:
                continue
            covered = True
            config = decode_action_config(policy.init_data)
            for rule in config.param_rules.rules[: config.param_rules.length]:
                if rule.offset != _AMOUNT_OFFSET or rule.condition not in _RAISED:
                    continue
                ref = int.from_bytes(bytes(rule.ref), "big")
                per_payment = _lower(per_payment, ref - 1 if rule.condition is ParamCondition.LESS_THAN else ref)
                if rule.is_limited:
                    in_total = _lower(in_total, rule.usage.limit - rule.usage.used)
    return PaymentCap(per_payment=per_payment, in_total=in_total) if covered else None
