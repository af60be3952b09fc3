"""Which limit of a session a refused userOp ran into, worked out from the policy's init data and the userOp's calls.

A limit policy refuses without saying why (SmartSessions' ``PolicyViolation`` names the policy only). Its init data
in the session details says the limit, and the userOp's calls say what it asked of it: enough for the error to tell a
bot "1 use allowed, this needs 1 more" or "at most 1 USDC, this transfer is 2", whichever node refused and whether
at the quote or in a receipt. What was used already is on chain, and not read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._coerce import to_address
from ..account.calls import Call
from ..errors import SmartSessionsError
from ..policies import (
    SPENDING_LIMITS_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
    decode_action_config,
)
from ..policies.spending_limits import decode_spending_limits
from ..policies.usage_limit import decode_usage_limit
from ..policies.value_limit import decode_value_limit

__all__ = ["Limit", "limit_of"]

_APPROVE, _INCREASE = bytes.fromhex("095ea7b3"), bytes.fromhex("39509351")
_TRANSFER, _TRANSFER_FROM = bytes.fromhex("a9059cbb"), bytes.fromhex("23b872dd")


@dataclass(frozen=True)
class Limit:
    """A limit a userOp ran into: ``limit`` (None: the policy grants nothing for it, e.g. an unlisted token),
    ``requested`` by the userOp, the ``token`` of a spending limit, and the sentence that says it."""

    limit: int | None
    requested: int
    rule: str
    token: str | None = None


def _word(data: bytes, index: int) -> int | None:
    start = 4 + 32 * index
    return int.from_bytes(data[start : start + 32], "big") if len(data) >= start + 32 else None


def _times(n: int) -> str:
    return "1 use" if n == 1 else f"{n} uses"


def _usage(init_data: bytes, calls: Sequence[Call], user_op: bool) -> Limit | None:
    limit = decode_usage_limit(init_data)
    if limit is None:
        return None
    if user_op:  # a userOp policy counts the userOp once, whatever it calls
        rule = (
            f"at most {limit} userOp{'s' if limit != 1 else ''} of the permission on this chain, whatever they call "
            "(a fee payment the session signs is one too); this userOp is 1 more, beyond what is left"
        )
        return Limit(limit, 1, rule)
    n = max(len(calls), 1)
    rule = f"at most {_times(limit)} in all; this userOp needs {n} more, beyond what is left"
    return Limit(limit, n, rule)


def _value(init_data: bytes, calls: Sequence[Call], user_op: bool) -> Limit | None:
    limit = decode_value_limit(init_data)
    if limit is None:
        return None
    sent = sum(c.value for c in calls)
    scope = "over all the permission's userOps on this chain" if user_op else "in all"
    return Limit(
        limit, sent, f"at most {limit} wei of native value {scope}; this userOp sends {sent} more, beyond what is left"
    )


def _spending(init_data: bytes, calls: Sequence[Call], user_op: bool = False) -> Limit | None:
    try:
        by_token = {token.lower(): limit for token, limit in decode_spending_limits(init_data)}
    except SmartSessionsError:
        return None
    if not calls:
        return None
    token = to_address(calls[0].to, field="token")
    asked = 0
    for call in calls:
        data, amount = bytes(call.data), None
        if call.to.lower() != token.lower():
            continue
        if data[:4] in (_APPROVE, _INCREASE, _TRANSFER):
            amount = _word(data, 1)
        elif data[:4] == _TRANSFER_FROM:
            amount = _word(data, 2)
        asked += amount or 0
    limit = by_token.get(token.lower())
    if limit is None:
        return Limit(None, asked, f"it sets no spending limit for {token}, so it allows none of it", token)
    rule = f"at most {limit} base units of {token} in all; this userOp spends {asked} more, beyond what is left"
    return Limit(limit, asked, rule, token)


def _cumulative(init_data: bytes, calls: Sequence[Call], user_op: bool = False) -> Limit | None:
    """The first usage-limited rule of a universal action policy, when every rule holds call by call (then the
    refusal can only be its cumulative limit)."""
    try:
        config = decode_action_config(init_data)
    except SmartSessionsError:
        return None
    for k, rule in enumerate(config.param_rules.rules[: config.param_rules.length]):
        if not rule.is_limited:
            continue
        asked = sum(_word(bytes(c.data), rule.offset // 32) or 0 for c in calls)
        argument = f"argument {rule.offset // 32 + 1} (offset {rule.offset})"
        return Limit(
            rule.usage.limit,
            asked,
            f"rule {k}: at most {rule.usage.limit} in total on {argument}; this userOp asks {asked} more, beyond what "
            "is left",
        )
    return None


_READERS = {
    USAGE_LIMIT_POLICY_ADDRESS.lower(): _usage,
    VALUE_LIMIT_POLICY_ADDRESS.lower(): _value,
    SPENDING_LIMITS_POLICY_ADDRESS.lower(): _spending,
    UNIVERSAL_ACTION_POLICY_ADDRESS.lower(): _cumulative,
}


def limit_of(policy: str, init_data: bytes, calls: Sequence[Call], *, user_op: bool = False) -> Limit | None:
    """The limit of ``policy`` (its ``init_data``) that ``calls`` (those of the userOp it checks: the action's calls,
    or all of them for a userOp policy, ``user_op=True``: a usage limit then counts the userOp once) ran into; None
    for a policy that is no limit, or init data it cannot read. For the universal action policy, call only once no
    rule is broken call by call."""
    reader = _READERS.get(policy.lower())
    return None if reader is None else reader(bytes(init_data), calls, user_op)
