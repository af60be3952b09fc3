"""What a grant allows, in words: :func:`describe_handoff` reads each chain's session of a handoff and says, per
action, which contract and function it may call and each rule that limits it, as sentences, with windows as dates.

Why: a handoff is a few kilobytes of hex. The owner who is asked to sign it, and the bot developer who is handed it,
both need to see what it grants, without decoding policy init data by hand: ``smartsessions session show FILE``
prints this. Everything here is read from the details themselves (the session to enable is in them): no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._coerce import to_address
from ..encoding.session import PolicyData, Session
from ..errors import SmartSessionsError
from ..permission_id import PermissionId
from ..policies.spending_limits import SPENDING_LIMITS_POLICY_ADDRESS, decode_spending_limits
from ..policies.sudo import SUDO_POLICY_ADDRESS
from ..policies.time_frame import TIME_FRAME_POLICY_ADDRESS, decode_time_frame, utc_date
from ..policies.universal_action import (
    CONDITION_SYMBOLS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    ParamCondition,
    decode_action_config,
)
from ..policies.usage_limit import USAGE_LIMIT_POLICY_ADDRESS, decode_usage_limit
from ..policies.value_limit import VALUE_LIMIT_POLICY_ADDRESS, decode_value_limit
from ._function_names import KNOWN_FUNCTIONS, function_name
from .handoff import SessionHandoff

__all__ = [
    "KNOWN_FUNCTIONS",
    "ActionDescription",
    "ChainDescription",
    "describe_handoff",
    "describe_policy",
    "function_name",
]


@dataclass(frozen=True)
class ActionDescription:
    target: str
    selector: str
    function: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class ChainDescription:
    chain_id: int
    account_address: str
    permission_id: PermissionId
    session_key: str
    permission_wide: tuple[str, ...]
    actions: tuple[ActionDescription, ...]
    paymaster_allowed: bool


def _argument(offset: int) -> str:
    return f"argument {offset // 32 + 1}" + ("" if offset % 32 == 0 else f" (offset {offset})")


def _number(value: int) -> str:
    if 2**140 <= value < 2**160:
        return to_address(value.to_bytes(20, "big"), field="value")
    return str(value) if value < 10**24 else hex(value)


def describe_policy(policy: PolicyData, *, permission_wide: bool = False) -> list[str]:
    """``policy`` as sentences (one per rule); a policy the SDK does not know is named by its address."""
    address = policy.policy.lower()
    data = bytes(policy.init_data)
    scope = "of the permission's userOps on this chain" if permission_wide else "of this action"
    try:
        if address == SUDO_POLICY_ADDRESS.lower():
            return ["no limit (sudo)"] if not permission_wide else []
        if address == USAGE_LIMIT_POLICY_ADDRESS.lower() and (limit := decode_usage_limit(data)) is not None:
            what = "userOp" if permission_wide else "call"
            return [f"at most {limit} {what}{'s' if limit != 1 else ''} in all ({scope})"]
        if address == VALUE_LIMIT_POLICY_ADDRESS.lower() and (limit := decode_value_limit(data)) is not None:
            return [f"at most {limit} wei of native value in all ({scope})"]
        if address == TIME_FRAME_POLICY_ADDRESS.lower():
            frame = decode_time_frame(data)
            end = "with no end" if frame.valid_until == 0 else f"until {utc_date(frame.valid_until)}"
            return [f"only from {utc_date(frame.valid_after)} {end} ({scope})"]
        if address == SPENDING_LIMITS_POLICY_ADDRESS.lower():
            return [
                f"at most {limit} base units of {token} in all (transfers and approvals)"
                for token, limit in decode_spending_limits(data)
            ]
        if address == UNIVERSAL_ACTION_POLICY_ADDRESS.lower():
            return _universal(data)
    except SmartSessionsError:
        return [f"policy {policy.policy} with init data it does not decode (0x{data.hex()[:80]}…)"]
    return [f"policy {policy.policy} (init data 0x{data.hex()[:80]}{'…' if len(data) > 40 else ''})"]


def _universal(data: bytes) -> list[str]:
    config = decode_action_config(data)
    out = [f"sends at most {config.value_limit_per_use} wei of native value per call"]
    for k, rule in enumerate(config.param_rules.rules[: config.param_rules.length]):
        ref = int.from_bytes(bytes(rule.ref), "big")
        argument = _argument(rule.offset)
        if rule.condition is ParamCondition.IN_RANGE:
            sentence = f"rule {k}: {argument} must be from {_number(ref >> 128)} to {_number(ref & (2**128 - 1))}"
        else:
            sentence = f"rule {k}: {argument} must be {CONDITION_SYMBOLS[rule.condition]} {_number(ref)}"
        if rule.is_limited:
            sentence += f", and at most {_number(rule.usage.limit)} in total over all calls"
        out.append(sentence)
    return out


def _describe_chain(handoff: SessionHandoff, session: Session, chain_id: int, pid: PermissionId) -> ChainDescription:
    user_op = tuple(s for p in session.user_op_policies for s in describe_policy(p, permission_wide=True))
    actions = tuple(
        ActionDescription(
            target=a.action_target,
            selector=str(a.action_target_selector.to_0x_hex()),
            function=function_name(a.action_target_selector.to_0x_hex()),
            rules=tuple(s for p in a.action_policies for s in describe_policy(p)),
        )
        for a in session.actions
    )
    return ChainDescription(
        chain_id=chain_id,
        account_address=handoff.chain(chain_id).account_address,
        permission_id=pid,
        session_key=handoff.session_key,
        permission_wide=user_op,
        actions=actions,
        paymaster_allowed=session.permit_erc4337_paymaster,
    )


def describe_handoff(handoff: SessionHandoff) -> list[ChainDescription]:
    """Each chain's session of ``handoff``, in words."""
    out = []
    for d in handoff.session_details:
        session = d.enable_session_data.enable_session.session_to_enable
        assert d.chain_id is not None  # SessionHandoff checks it
        out.append(_describe_chain(handoff, session, d.chain_id, d.permission_id))
    return out
