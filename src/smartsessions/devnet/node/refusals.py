"""Why a simulated userOp is refused: a :class:`~.errors.Code` and the facts its revert data gives.

The node refuses a quote whose simulation fails (:mod:`.quote_checks`) and an ``/exec`` whose signed payment or
session userOp would not pass (:mod:`.payment_check`). The message says why in English; the code and the facts come
from the bytes, never from that text:

* validation failed: the EntryPoint's ``FailedOp(index, reason)``, or ``FailedOpWithRevert(index, "AA23 reverted",
  inner)`` when the account's validation reverted. ``aaCode`` and ``reason`` are the EntryPoint's; ``AA24`` (a
  signature the validator refuses) is ``SIGNATURE_INVALID``, ``AA25`` ``NONCE_INVALID``. For ``AA23`` the inner
  revert data is decoded with the custom errors of the devnet's contracts (``revertError``, ``revertData``), and
  SmartSessions' errors name their cause:

  * ``PolicyViolation(permissionId, policy)``: ``POLICY_VIOLATION``, with ``permissionId``, ``policy``,
    ``policyName`` and, found from the userOp's calls and session, ``target``, ``selector`` and ``rule``;
  * ``PolicyCheckReverted(reason)``: ``POLICY_VIOLATION``, with ``policyReason`` and the session's ``permissionId``;
  * ``NoPoliciesSet(permissionId)``: ``ACTION_NOT_PERMITTED``, with ``permissionId``, ``target``, ``selector``;
  * ``InvalidPermissionId(permissionId)``: ``SESSION_NOT_ENABLED``, with ``permissionId``;
  * ``HashMismatch(providedHash, computedHash)``: ``ENABLE_SIGNATURE_USED``, with both hashes and the session's
    ``permissionId``;
  * ``InvalidEnableSignature(account, hash)``: ``ENABLE_SIGNATURE_INVALID``, with ``account`` and ``hash``;
  * ``InvalidSessionKeySignature(permissionId, ...)``: ``SIGNATURE_INVALID``, with ``permissionId``.

  Anything else is ``USER_OP_VALIDATION_FAILED``;
* the call reverted (a ``UserOperationRevertReason``): ``USER_OP_CALL_REVERTED``, with the revert data;
* the validator returned SIG_VALIDATION_FAILED instead of reverting: ``SIGNATURE_INVALID``.

Every one carries ``chainId``, ``userOpIndex`` (the position in the quote's ``userOps``, 0 being the payment userOp or
the gas-tank entry) and ``field`` (``paymentInfo`` or ``userOps[i]`` of the request, as the message starts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..._coerce import to_address
from ...account.calls import Call, decode_execute
from ...errors import SmartSessionsError
from ...mee._refusals import KNOWN_SELECTORS
from ...policies import (
    POLICY_NAMES,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
)
from ...policies.universal_action import CONDITION_SYMBOLS, ParamCondition, decode_action_config
from ...wire.session import SessionDetails
from ..artifacts import decode_error
from .errors import Code, Fact
from .simulation import SimulatedOp

__all__ = [
    "RefusedOp",
    "broken_rule",
    "call_reverted",
    "in_words",
    "policy_facts",
    "signature_refused",
    "validation_failed",
]

_UINT128 = (1 << 128) - 1


@dataclass(frozen=True)
class RefusedOp:
    """The userOp a refusal is about, as the facts name it."""

    index: int  # in the quote's userOps: 0 is the payment userOp (or the gas-tank entry)
    field: str  # "paymentInfo" or "userOps[i]" of the request
    chain_id: int
    nonce: int
    call_data: bytes
    session_details: SessionDetails | None = None

    def facts(self) -> dict[str, Fact]:
        return {"chainId": self.chain_id, "userOpIndex": self.index, "field": self.field}


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _calls(call_data: bytes) -> list[Call]:
    """The calls of an ERC-7579 ``execute`` (none for other call data: ``executeComposable``, the gas tank's)."""
    try:
        return decode_execute(call_data)
    except SmartSessionsError:
        return []


def _failure(data: bytes) -> tuple[str | None, bytes]:
    """``(the EntryPoint's reason, the inner revert data)`` of a ``FailedOp`` or ``FailedOpWithRevert``; other revert
    data as ``(None, data)``."""
    decoded = decode_error(data)
    if decoded is not None and decoded[0] in ("FailedOp", "FailedOpWithRevert"):
        args = dict(decoded[1])
        return str(args["reason"]), bytes(args.get("inner", b""))
    return None, data


def validation_failed(op: RefusedOp, result: SimulatedOp) -> tuple[Code, dict[str, Fact]]:
    """The code and facts of a userOp whose validation failed in simulation (``result.error`` is set)."""
    code, facts = _validation_failed(op, result)
    return code, _known(facts)


def _known(facts: dict[str, Fact]) -> dict[str, Fact]:
    """The facts without those the revert data did not give (None)."""
    return {k: v for k, v in facts.items() if v is not None}


def _validation_failed(op: RefusedOp, result: SimulatedOp) -> tuple[Code, dict[str, Fact]]:
    facts = op.facts()
    if not result.failure:  # the chain reverted without data: only its message is known
        facts["reason"] = result.error
        return Code.USER_OP_VALIDATION_FAILED, facts
    reason, inner = _failure(result.failure)
    aa_code = reason[:4] if reason is not None and reason[:2] == "AA" and reason[2:4].isdigit() else None
    facts.update(aaCode=aa_code, reason=reason)
    if inner:
        facts["revertData"] = _hex(inner)
    if aa_code == "AA24":
        return Code.SIGNATURE_INVALID, facts
    if aa_code == "AA25":
        facts["nonce"] = str(op.nonce)
        return Code.NONCE_INVALID, facts
    decoded = decode_error(inner) if inner else None
    if decoded is None:
        return Code.USER_OP_VALIDATION_FAILED, facts
    name, args = decoded
    values = dict(args)
    facts["revertError"] = name
    session_permission = None if op.session_details is None else str(op.session_details.permission_id)
    if name == "PolicyViolation":
        facts.update(policy_facts(op, permission_id=_hex(values["permissionId"]), policy=str(values["policy"])))
        return Code.POLICY_VIOLATION, facts
    if name == "PolicyCheckReverted":
        facts.update(permissionId=session_permission, policyReason=_hex(values["reason"]))
        return Code.POLICY_VIOLATION, facts
    if name == "NoPoliciesSet":
        facts["permissionId"] = _hex(values["permissionId"])
        facts.update(_unpermitted_call(op))
        return Code.ACTION_NOT_PERMITTED, facts
    if name == "InvalidPermissionId":
        facts["permissionId"] = _hex(values["permissionId"])
        return Code.SESSION_NOT_ENABLED, facts
    if name == "HashMismatch":
        facts.update(
            permissionId=session_permission,
            providedHash=_hex(values["providedHash"]),
            computedHash=_hex(values["computedHash"]),
        )
        return Code.ENABLE_SIGNATURE_USED, facts
    if name == "InvalidEnableSignature":
        facts.update(account=to_address(values["account"], field="account"), hash=_hex(values["hash"]))
        return Code.ENABLE_SIGNATURE_INVALID, facts
    if name == "InvalidSessionKeySignature":
        facts["permissionId"] = _hex(values["permissionId"])
        return Code.SIGNATURE_INVALID, facts
    return Code.USER_OP_VALIDATION_FAILED, facts


def call_reverted(op: RefusedOp, result: SimulatedOp) -> tuple[Code, dict[str, Fact]]:
    """The code and facts of a userOp whose call reverted in simulation (``result.reverted``)."""
    facts = op.facts()
    data = result.revert_data or b""
    decoded = decode_error(data) if data else None
    facts.update(revertData=_hex(data), revertError=None if decoded is None else decoded[0])
    return Code.USER_OP_CALL_REVERTED, _known(facts)


def signature_refused(op: RefusedOp) -> tuple[Code, dict[str, Fact]]:
    """A userOp whose validator returned SIG_VALIDATION_FAILED instead of reverting."""
    facts = op.facts()
    if op.session_details is not None:
        facts["permissionId"] = str(op.session_details.permission_id)
    return Code.SIGNATURE_INVALID, facts


def _session_actions(op: RefusedOp) -> Sequence[Any]:
    if op.session_details is None:
        return ()
    return op.session_details.enable_session_data.enable_session.session_to_enable.actions


def _call_facts(call: Call) -> dict[str, Fact]:
    return {"target": call.to, "selector": _hex(bytes(call.data[:4]))}


def policy_facts(op: RefusedOp, *, permission_id: str, policy: str) -> dict[str, Fact]:
    """``permissionId``, ``policy`` and ``policyName``, and when the userOp's calls and session say it, the call the
    policy refused (``target``, ``selector``) and, for the universal action policy, the ``rule`` it breaks
    (:func:`broken_rule`)."""
    policy = to_address(policy, field="policy")
    facts: dict[str, Fact] = {
        "permissionId": permission_id,
        "policy": policy,
        "policyName": POLICY_NAMES.get(policy.lower()),
    }
    calls = _calls(op.call_data)
    matches: list[tuple[Call, bytes]] = []  # (a call, the policy's init data on the call's action)
    for call in calls:
        for action in _session_actions(op):
            if action.action_target != call.to or bytes(action.action_target_selector) != bytes(call.data[:4]):
                continue
            matches += [
                (call, bytes(p.init_data)) for p in action.action_policies if p.policy.lower() == policy.lower()
            ]
    if policy.lower() == UNIVERSAL_ACTION_POLICY_ADDRESS.lower():
        for call, init_data in matches:
            rule = broken_rule(init_data, call)
            if rule is not None:
                return facts | _call_facts(call) | {"rule": rule}
    if matches:
        return facts | _call_facts(matches[0][0])
    if len(calls) == 1:
        return facts | _call_facts(calls[0])
    return facts


def _unpermitted_call(op: RefusedOp) -> dict[str, Fact]:
    """``target`` and ``selector`` of the first call the session has no action for."""
    permitted = {(a.action_target, bytes(a.action_target_selector)) for a in _session_actions(op)}
    for call in _calls(op.call_data):
        if (call.to, bytes(call.data[:4])) not in permitted:
            return _call_facts(call)
    return {}


def _holds(condition: ParamCondition, value: int, ref: int) -> bool:
    if condition is ParamCondition.IN_RANGE:
        return ref >> 128 <= value <= ref & _UINT128
    return {
        ParamCondition.EQUAL: value == ref,
        ParamCondition.GREATER_THAN: value > ref,
        ParamCondition.LESS_THAN: value < ref,
        ParamCondition.GREATER_THAN_OR_EQUAL: value >= ref,
        ParamCondition.LESS_THAN_OR_EQUAL: value <= ref,
        ParamCondition.NOT_EQUAL: value != ref,
    }[condition]


def broken_rule(init_data: bytes, call: Call) -> dict[str, Fact] | None:
    """Which part of a universal action policy (its init data) ``call`` breaks, as the ``rule`` fact says it:

    * the value: ``{"valueLimitPerUse": limit, "value": sent}``;
    * a parameter rule: ``{"index": k, "condition": "LESS_THAN_OR_EQUAL", "offset": 32, "ref": ..., "value": ...}``
      (``IN_RANGE`` gives ``"min"`` and ``"max"`` instead of ``"ref"``; ``"value"`` is absent when the call data has
      no 32-byte word at the offset);
    * every rule holds as such: a cumulative limit is used up, the first limited rule with ``"limit"`` and
      ``"cumulative": true``.

    Words and amounts are decimal strings. None when the init data is no universal action policy's or nothing of
    the call explains the refusal."""
    try:
        config = decode_action_config(init_data)
    except SmartSessionsError:
        return None
    if call.value > config.value_limit_per_use:
        return {"valueLimitPerUse": str(config.value_limit_per_use), "value": str(call.value)}
    data = bytes(call.data)
    limited = None
    for k, rule in enumerate(config.param_rules.rules[: config.param_rules.length]):
        found: dict[str, Fact] = {"index": k, "condition": rule.condition.name, "offset": rule.offset}
        ref = int.from_bytes(bytes(rule.ref), "big")
        if rule.condition is ParamCondition.IN_RANGE:
            found.update(min=str(ref >> 128), max=str(ref & _UINT128))
        else:
            found["ref"] = str(ref)
        start = 4 + rule.offset
        if len(data) < start + 32:
            return found
        value = int.from_bytes(data[start : start + 32], "big")
        found["value"] = str(value)
        if not _holds(rule.condition, value, ref):
            return found
        if rule.is_limited and limited is None:
            limited = found | {"limit": str(rule.usage.limit), "cumulative": True}
    return limited


def _call_words(facts: dict[str, Fact]) -> str:
    target, selector = facts.get("target"), facts.get("selector")
    if not isinstance(target, str) or not isinstance(selector, str):
        return "the call"
    name = KNOWN_SELECTORS.get(selector.lower())
    return f"{target}.{selector}" + (f" ({name})" if name else "")


def _rule_words(rule: Fact) -> str:
    if not isinstance(rule, dict):
        return ""
    if "valueLimitPerUse" in rule:
        return f": the call sends {rule.get('value')} wei, above its limit per call of {rule['valueLimitPerUse']}"
    where = f"rule {rule.get('index')}: the argument at offset {rule.get('offset')}"
    if rule.get("cumulative"):
        return f": {where} has used up its cumulative limit of {rule.get('limit')}"
    condition = rule.get("condition")
    known = ParamCondition.__members__.get(condition) if isinstance(condition, str) else None
    symbol = None if known is None else CONDITION_SYMBOLS.get(known)
    bound = f"in [{rule.get('min')}, {rule.get('max')}]" if symbol is None else f"{symbol} {rule.get('ref')}"
    got = f", got {rule['value']}" if "value" in rule else " is missing from the call data"
    return f": {where} must be {bound}{got}"


def in_words(code: Code, facts: dict[str, Fact]) -> str | None:
    """A session refusal's cause as a sentence from its facts, for the node's message (a client without codes, such
    as the reference SDK, reads only the words): the call the session grants nothing for, or the policy that refuses
    it and the rule. None for other refusals."""
    pid = facts.get("permissionId", "(unknown)")
    if code is Code.ACTION_NOT_PERMITTED:
        return f"permission {pid} grants nothing for {_call_words(facts)}: the session has no action for it"
    if code is Code.POLICY_VIOLATION and "policy" in facts:
        policy = facts.get("policyName") or "policy"
        return (
            f"the {policy} {facts['policy']} of permission {pid} refuses {_call_words(facts)}"
            f"{_rule_words(facts.get('rule'))}"
        )
    return None
