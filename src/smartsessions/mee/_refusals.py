"""Turning a node's refusal into an error the user can act on.

The node says why it refused a quote (``userOps[0] (chain 8453): refused in simulation: AA23 reverted:
PolicyViolation(permissionId=0x…, policy=0x…)``) or why a userOp failed (``executionError``). This module reads that
text, together with what the client knows about the userOp (its calls, its session), and names the permission, the
action, the policy and, for the universal action policy, the rule that failed:

* ``PolicyViolation`` / ``PolicyCheckReverted`` → :class:`~smartsessions.errors.PolicyViolationError`, or
  :class:`~smartsessions.errors.PolicyLimitError` when the policy is a limit the call ran into (:mod:`._limits`);
* ``InvalidPermissionId`` → :class:`~smartsessions.errors.SessionNotEnabledError` (nothing enabled it on that chain);
* the node's ``SESSION_TIME_FRAME_NOT_OPEN`` / ``SESSION_TIME_FRAME_OVER`` →
  :class:`~smartsessions.errors.OutsideTimeFrameError` (:mod:`._time_frames`, as the SDK's own early check words it);
* ``HashMismatch`` while enabling → :class:`~smartsessions.errors.EnableSignatureUsedError` (the SmartSessions nonce
  the owner signed over has moved on: the enable signature was used);
* ``InvalidEnableSignature`` → :class:`~smartsessions.errors.SessionStateError` (SmartSessions is not a safe sender,
  or the grant was signed for another account);
* a payer without the fee → :class:`~smartsessions.errors.InsufficientBalanceError`;
* the causes only a node's code tells (a fee above the cap, another signer than the session's, a chain or fee token
  not served, a transfer beyond the balance) → :mod:`._coded_refusals`.

Anything else is left to the caller (the original :class:`~smartsessions.errors.MeeApiError` or
:class:`~smartsessions.errors.SupertransactionFailedError` is raised unchanged).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .._coerce import to_address
from ..account.calls import Call
from ..encoding.abi import selector
from ..encoding.session import SmartSessionMode
from ..errors import (
    ActionNotPermittedError,
    EnableSignatureUsedError,
    InsufficientBalanceError,
    InvalidInputError,
    PolicyLimitError,
    PolicyViolationError,
    SessionNotEnabledError,
    SessionStateError,
    SmartSessionsError,
)
from ..policies import (
    POLICY_NAMES,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    ParamCondition,
    decode_action_config,
)
from ..policies.universal_action import CONDITION_SYMBOLS
from ._coded_refusals import CODED
from ._limits import limit_of
from ._refusal_model import OpContext, Refusal, RefusalKind
from ._time_frames import outside_time_frame_error
from .permission_state import STATE_KINDS, PermissionStateRefusal, session_state_error

__all__ = [
    "OpContext",
    "Refusal",
    "explain_refusal",
    "refusal_from_code",
    "refusal_from_text",
    "where_of",
]

_TRANSFER = bytes.fromhex("a9059cbb")
_CUMULATIVE = "a cumulative limit is used up: "

_WHERE = re.compile(r"^(paymentInfo|userOps\[\d+\])(?: \(chain (\d+)\))?:")
_POLICY_VIOLATION = re.compile(r"PolicyViolation\(permissionId=(0x[0-9a-fA-F]{64}), policy=(0x[0-9a-fA-F]{40})\)")
_POLICY_REVERTED = re.compile(r"PolicyCheckReverted\(reason=(0x[0-9a-fA-F]*)\)")
_NO_POLICIES = re.compile(r"NoPoliciesSet\(permissionId=(0x[0-9a-fA-F]{64})\)")
_NOT_ENABLED = re.compile(r"InvalidPermissionId\(permissionId=(0x[0-9a-fA-F]{64})\)")
_HASH_MISMATCH = re.compile(r"HashMismatch\(")
_BAD_ENABLE_SIG = re.compile(r"InvalidEnableSignature\(")
_NODE_BALANCE = re.compile(
    r"(0x[0-9a-fA-F]{40}) holds (\d+) base units of the fee token (0x[0-9a-fA-F]{40}) on chain (\d+), "
    r"but (\d+) are needed"
)
_PERMISSION_ID = re.compile(r"0x[0-9a-fA-F]{64}")
_SELECTOR = re.compile(r"0x[0-9a-fA-F]{8}")
_GENERIC_BALANCE = re.compile(r"insufficient (?:funds|balance)|exceeds balance|not enough (?:funds|balance)", re.I)


def _number(digits: str | None, bits: int) -> int | None:
    """A number of a node message, or None when there is none or it cannot be a ``uint<bits>`` (a longer run of
    digits than that is not a chain id or an amount: int() of more than 4,300 digits even raises)."""
    if digits is None or len(digits) > len(str(1 << bits)):
        return None
    value = int(digits)
    return value if value >> bits == 0 else None


def _message(message: object, field: str = "message") -> str:
    if not isinstance(message, str):
        raise InvalidInputError(
            field,
            f"expected the node's message as a string, got {type(message).__name__}",
            fix="pass the error text (MeeApiError.short_message, or a userOp's executionError)",
            value=message,
        )
    return message


def where_of(message: str) -> tuple[str | None, int | None]:
    """``("userOps[0]", 8453)`` from a node message that starts with the userOp it is about."""
    match = _WHERE.match(_message(message))
    if match is None:
        return None, None
    return match.group(1), _number(match.group(2), 64)


def _policy_name(policy: str) -> str:
    name = POLICY_NAMES.get(policy.lower(), "policy")
    return f"{name} (universal action policy)" if name == "UniActionPolicy" else name


def _word(value: int) -> str:
    if value < 10**24:
        return str(value)
    if value < 2**160 and value >= 2**140:
        return to_address(value.to_bytes(20, "big"), field="value")
    return hex(value)


def _word_and_hex(value: int) -> str:
    """Equality rules often pin an address or an id: both readings, unless the word already reads as one."""
    word = _word(value)
    return f"{word} ({value:#x})" if word.isdigit() and value >= 256 else word


def _failed_rule(init_data: bytes, call: Call) -> str | None:
    """Which rule of a universal action policy ``call`` breaks (a cumulative limit when every rule holds as such)."""
    try:
        config = decode_action_config(init_data)
    except SmartSessionsError:
        return None
    data = bytes(call.data)
    if call.value and call.value > config.value_limit_per_use:
        return f"the call sends {call.value} wei, above the limit per use of {config.value_limit_per_use}"
    limited = []
    for k, rule in enumerate(config.param_rules.rules[: config.param_rules.length]):
        start = 4 + rule.offset
        if len(data) < start + 32:
            return f"rule {k}: the call data has no 32-byte argument at offset {rule.offset}"
        param = int.from_bytes(data[start : start + 32], "big")
        ref = int.from_bytes(bytes(rule.ref), "big")
        argument = f"argument {rule.offset // 32 + 1} (offset {rule.offset})"
        if rule.condition is ParamCondition.IN_RANGE:
            low, high = ref >> 128, ref & ((1 << 128) - 1)
            if not low <= param <= high:
                return f"rule {k}: {argument} must be in [{_word(low)}, {_word(high)}], got {_word(param)}"
        else:
            ok = {
                ParamCondition.EQUAL: param == ref,
                ParamCondition.GREATER_THAN: param > ref,
                ParamCondition.LESS_THAN: param < ref,
                ParamCondition.GREATER_THAN_OR_EQUAL: param >= ref,
                ParamCondition.LESS_THAN_OR_EQUAL: param <= ref,
                ParamCondition.NOT_EQUAL: param != ref,
            }[rule.condition]
            if not ok:
                show = _word_and_hex if rule.condition in (ParamCondition.EQUAL, ParamCondition.NOT_EQUAL) else _word
                return (
                    f"rule {k}: {argument} must be {CONDITION_SYMBOLS[rule.condition]} {show(ref)}, got {show(param)}"
                )
        if rule.is_limited:
            limited.append(f"rule {k} (at most {_word(rule.usage.limit)} in total on {argument})")
    if limited:
        return _CUMULATIVE + ", ".join(limited)
    return None


def _policy_violation(
    message: str, op: OpContext | None, pid: str | None, policy: str | None, chain_id: int | None
) -> PolicyViolationError:
    session = None if op is None or op.session_details is None else op.session_details
    calls = [] if op is None or op.calls is None else list(op.calls)
    target = selector = rule = None
    if op is not None and op.fee_token is not None and not calls:  # a quote's payment userOp: no call data yet
        target, selector = to_address(op.fee_token, field="fee_token"), "0x" + _TRANSFER.hex()
    candidates: list[tuple[Call, bytes]] = []  # (call, the policy's init data on the call's action)
    user_op_policy = False
    if session is not None and policy is not None:
        enabled = session.enable_session_data.enable_session.session_to_enable
        for action in enabled.actions:
            for p in action.action_policies:
                if p.policy.lower() != policy.lower():
                    continue
                for call in calls:
                    if call.to == action.action_target and bytes(call.data[:4]) == bytes(action.action_target_selector):
                        candidates.append((call, bytes(p.init_data)))
        user_op_policy = any(p.policy.lower() == policy.lower() for p in enabled.user_op_policies)
    limit = None
    if candidates:
        chosen = candidates[0]
        if policy is not None and policy.lower() == UNIVERSAL_ACTION_POLICY_ADDRESS.lower():
            for call, init_data in candidates:
                found = _failed_rule(init_data, call)
                if found is not None:
                    chosen, rule = (call, init_data), found
                    break
        target, selector = chosen[0].to, "0x" + bytes(chosen[0].data[:4]).hex()
        if policy is not None and (rule is None or rule.startswith(_CUMULATIVE)):
            same_action = [c for c, init in candidates if init == chosen[1] and _same_action(c, chosen[0])]
            limit = limit_of(policy, chosen[1], same_action)
    elif len(calls) == 1 and target is None:
        target, selector = calls[0].to, "0x" + bytes(calls[0].data[:4]).hex()
    # A policy of the session's userOps and of none of the actions called: the permission-wide limit refused.
    permission_wide = user_op_policy and not candidates
    if limit is None and permission_wide and session is not None and policy is not None:
        enabled = session.enable_session_data.enable_session.session_to_enable
        init = next(bytes(p.init_data) for p in enabled.user_op_policies if p.policy.lower() == policy.lower())
        limit = limit_of(policy, init, calls, user_op=True)
    if limit is not None:
        rule = limit.rule
    name = _policy_name(policy) if policy else "a policy"
    action_text = f"{target}.{selector}" if target else "the userOp"
    if op is not None and op.fee_token is not None:
        action_text += " (the fee payment)"
    where = f" on chain {chain_id}" if chain_id is not None else ""
    meta = [f"Permission: {pid}" if pid else "Permission: unknown"]
    meta.append(f"Action: {action_text}")
    meta.append(
        f"Policy: {name}"
        + (f" at {policy}" if policy else "")
        + (" (permission-wide: a userOp policy, which every userOp of the session meets)" if permission_wide else "")
    )
    if rule:
        meta.append(f"Rule: {rule}")
    if user_op_policy and candidates:
        meta.append(
            f"Note: {name} is also one of the permission-wide policies (the session's userOp policies); the refusal "
            "names only the policy, so it may have been that one (told here as the action's)"
        )
    if not rule and permission_wide:
        meta.append("Rule: the session's userOp policy refused the userOp as a whole")
    if permission_wide:
        meta.append(
            "Fix: the permission-wide limit counts every userOp of the session on this chain, the fee payment "
            "included (a super-transaction that pays its fee and calls something on the fee chain uses 2 there, "
            "a sponsored one 1); what is used does not grow back: have the owner grant a new permission"
        )
    elif op is not None and op.fee_token is not None:
        meta.append(
            "Fix: the session must allow the fee payment (feeToken.transfer up to max_payment_amount): grant with "
            "a larger max_payment_amount or another fee token, or use sponsorship"
        )
    elif limit is not None:
        meta.append(
            "Fix: ask less of the limit in one userOp if some is left; a used-up limit does not grow back: have "
            "the owner grant a new permission"
        )
    else:
        meta.append("Fix: keep the call within the session's policies, or grant a permission that allows it")
    fields: dict[str, Any] = {
        "permission_id": pid,
        "chain_id": chain_id,
        "action_target": target,
        "action_selector": selector,
        "policy": None if policy is None else to_address(policy, field="policy"),
        "policy_name": None if policy is None else _policy_name(policy),
        "rule": rule,
        "permission_wide": permission_wide,
        "meta_messages": meta,
        "details": message,
    }
    if limit is not None and permission_wide:
        return PolicyLimitError(
            f"{name}, the permission-wide limit, refused {action_text}{where}: it counts every userOp of the "
            "permission, and what is left does not cover this one.",
            limit=limit.limit,
            requested=limit.requested,
            token=limit.token,
            **fields,
        )
    if limit is not None:
        return PolicyLimitError(
            f"{name} refused {action_text}{where}: the session's limit does not cover it.",
            limit=limit.limit,
            requested=limit.requested,
            token=limit.token,
            **fields,
        )
    scope = ", a permission-wide policy," if permission_wide else ""
    return PolicyViolationError(f"{name}{scope} refused {action_text}{where}.", **fields)


def _same_action(a: Call, b: Call) -> bool:
    return a.to.lower() == b.to.lower() and bytes(a.data[:4]) == bytes(b.data[:4])


#: Names of well-known selectors, for a refusal to say which function a call was.
KNOWN_SELECTORS = {
    "0xa9059cbb": "transfer(address,uint256)",
    "0x095ea7b3": "approve(address,uint256)",
    "0x23b872dd": "transferFrom(address,address,uint256)",
    "0xd505accf": "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
    "0x39509351": "increaseAllowance(address,uint256)",
    "0xa457c2d7": "decreaseAllowance(address,uint256)",
    "0x42842e0e": "safeTransferFrom(address,address,uint256)",
    "0xa22cb465": "setApprovalForAll(address,bool)",
}


def _action_text(target: str | None, selector_hex: str | None) -> str:
    if target is None:
        return "the call"
    name = KNOWN_SELECTORS.get((selector_hex or "").lower())
    return f"{target}.{selector_hex}" + (f" ({name})" if name else "")


def _not_permitted(
    message: str, op: OpContext | None, pid: str | None, refusal: Refusal, chain_id: int | None
) -> ActionNotPermittedError:
    """The session has no action for the call: which call (the node's facts, else the userOp's only call, else the
    first whose target and selector no action of the session names), and what the session does allow."""
    calls = [] if op is None or op.calls is None else list(op.calls)
    actions = []
    if op is not None and op.session_details is not None:
        actions = list(op.session_details.enable_session_data.enable_session.session_to_enable.actions)
    granted = {(a.action_target.lower(), bytes(a.action_target_selector)) for a in actions}
    target, selector_hex = refusal.target, refusal.selector
    if target is None and calls:
        missing = [c for c in calls if (c.to.lower(), bytes(c.data[:4])) not in granted]
        call = (missing or calls)[0]
        target, selector_hex = call.to, "0x" + bytes(call.data[:4]).hex()
    allowed = [_action_text(a.action_target, "0x" + bytes(a.action_target_selector).hex()) for a in actions]
    where = f" on chain {chain_id}" if chain_id is not None else ""
    what = _action_text(target, selector_hex)
    meta = [f"Permission: {pid}" if pid else "Permission: unknown"]
    meta.append("It allows: " + ("; ".join(allowed) if allowed else "(the client did not have the session's actions)"))
    meta.append("Fix: call one of those, or have the owner grant a permission with an action for this call")
    return ActionNotPermittedError(
        f"Permission {pid or '(unknown)'} grants nothing for {what}{where}: the session has no action for it.",
        allowed=allowed,
        permission_id=pid,
        chain_id=chain_id,
        action_target=target,
        action_selector=selector_hex,
        meta_messages=meta,
        details=message,
    )


_HEX_BLOB = re.compile(r"0x[0-9a-fA-F]{8,}")
_CUSTOM_ERRORS = {
    selector("PolicyViolation(bytes32,address)"): ("PolicyViolation", ("permissionId", "policy")),
    selector("InvalidPermissionId(bytes32)"): ("InvalidPermissionId", ("permissionId",)),
    selector("NoPoliciesSet(bytes32)"): ("NoPoliciesSet", ("permissionId",)),
    selector("HashMismatch(bytes32,bytes32)"): ("HashMismatch", ("providedHash", "computedHash")),
    selector("InvalidEnableSignature(address,bytes32)"): ("InvalidEnableSignature", ("account", "hash")),
    selector("PolicyCheckReverted(bytes32)"): ("PolicyCheckReverted", ("reason",)),
}


def _named_errors(message: str) -> str:
    """``message`` with the SmartSessions errors found in raw revert data spelled out as the devnet node writes them
    (``PolicyViolation(permissionId=0x…, policy=0x…)``): another node may pass the bundler's hex on as it is."""
    found = []
    for blob in _HEX_BLOB.findall(message):
        raw = bytes.fromhex(blob[2:] if len(blob) % 2 == 0 else blob[2:-1])
        for start in range(0, max(len(raw) - 3, 0)):
            known = _CUSTOM_ERRORS.get(raw[start : start + 4])
            if known is None:
                continue
            name, fields = known
            words = raw[start + 4 : start + 4 + 32 * len(fields)]
            if len(words) < 32 * len(fields):
                continue
            values = []
            for k, field in enumerate(fields):
                word = words[32 * k : 32 * (k + 1)]
                values.append(f"{field}=0x{word[12:].hex() if field in ('policy', 'account') else word.hex()}")
            found.append(f"{name}({', '.join(values)})")
            break
    return message if not found else message + " [" + "; ".join(found) + "]"


def refusal_from_text(message: str, where: str | None = None) -> Refusal | None:
    """The refusal a node's message spells out (the SmartSessions errors its revert names, the balance it names);
    the path for nodes that send no code (Biconomy's hosted node). ``where``: the userOp, if the message does not
    start with it (receipts)."""
    message = _named_errors(message)
    found_where, chain_id = where_of(message)
    where = where or found_where
    if match := _POLICY_VIOLATION.search(message):
        return Refusal("policy", where, chain_id, permission_id=match.group(1), policy=match.group(2))
    if _POLICY_REVERTED.search(message):
        return Refusal("policy", where, chain_id)
    if match := _NO_POLICIES.search(message):
        return Refusal("not_permitted", where, chain_id, permission_id=match.group(1))
    if match := _NOT_ENABLED.search(message):
        return Refusal("not_enabled", where, chain_id, permission_id=match.group(1))
    if _HASH_MISMATCH.search(message):
        return Refusal("enable_used", where, chain_id)
    if _BAD_ENABLE_SIG.search(message):
        return Refusal("enable_invalid", where, chain_id)
    if match := _NODE_BALANCE.search(message):
        holder, balance, token, chain_text, needed = match.groups()
        return Refusal(
            "balance",
            where,
            _number(chain_text, 64),
            holder=to_address(holder, field="holder"),
            token=to_address(token, field="token"),
            balance=_number(balance, 256),
            needed=_number(needed, 256),
        )
    if _GENERIC_BALANCE.search(message) and (where in (None, "paymentInfo")):
        return Refusal("payer_balance", where, chain_id)
    return None


_CODE_KINDS: dict[str, RefusalKind] = {
    "POLICY_VIOLATION": "policy",
    "ACTION_NOT_PERMITTED": "not_permitted",
    "SESSION_FEE_ABOVE_CAP": "fee_cap",
    "SIGNATURE_INVALID": "signer",
    "CHAIN_NOT_SERVED": "chain_not_served",
    "FEE_TOKEN_NOT_SUPPORTED": "fee_token",
    "USER_OP_CALL_REVERTED": "transfer_balance",
    "SESSION_NOT_ENABLED": "not_enabled",
    "ENABLE_SIGNATURE_USED": "enable_used",
    "GRANT_ACCOUNT_MISMATCH": "enable_used",  # with its permissionState fact, told as the SDK's own reads tell it
    "ENABLE_SIGNATURE_INVALID": "enable_invalid",
    "INSUFFICIENT_BALANCE": "balance",
    "SESSION_TIME_FRAME_NOT_OPEN": "time_frame_not_open",
    "SESSION_TIME_FRAME_OVER": "time_frame_over",
}
_FACT_WHERE = re.compile(r"^(paymentInfo|userOps\[\d+\])")


def _fact(facts: Mapping[str, Any], key: str, kind: type) -> Any:
    value = facts.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _fact_address(facts: Mapping[str, Any], key: str) -> str | None:
    value = _fact(facts, key, str)
    try:
        return None if value is None else to_address(value, field=key)
    except InvalidInputError:
        return None


def _fact_number(facts: Mapping[str, Any], key: str, bits: int) -> int | None:
    value = facts.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 and value >> bits == 0 else None
    return _number(value, bits) if isinstance(value, str) and value.isdigit() else None


def _permission_state(refusal: Refusal, chain: int | None) -> PermissionStateRefusal | None:
    """The permission's state a node read and named (``permissionState``, ``account``), for the session-state
    refusals: the same story the SDK's own reads tell (:mod:`.permission_state`)."""
    kind, account = refusal.facts.get("permissionState"), _fact_address(refusal.facts, "account")
    if kind not in STATE_KINDS or account is None or refusal.permission_id is None or chain is None:
        return None
    return PermissionStateRefusal(kind, refusal.permission_id, chain, account)


def refusal_from_code(code: str, facts: Mapping[str, Any]) -> Refusal | None:
    """The refusal a node's ``code`` names, with its ``facts`` (the local node's codes, ``docs/errors.md``): nothing
    of the message is read. None for a code that no typed error stands for (the node's error is raised as it is)."""
    kind = _CODE_KINDS.get(code)
    if kind == "signer" and _fact(facts, "role", str) != "redeemer" and _fact(facts, "permissionId", str) is None:
        return None  # the owner's signature, or one the node cannot tell: the node's error says it
    if kind == "transfer_balance" and _fact_address(facts, "holder") is None:
        return None  # a call that reverts for another reason than a transfer beyond the balance
    if kind is None:
        return None
    path = _fact(facts, "field", str)
    match = None if path is None else _FACT_WHERE.match(path)
    where = None if match is None else match.group(1)
    index = _fact(facts, "userOpIndex", int)
    if where is None and index is not None and index >= 0:  # e.g. a signature refused at /exec ("field": "signature")
        where = "paymentInfo" if index == 0 else f"userOps[{index - 1}]"
    pid = _fact(facts, "permissionId", str)
    return Refusal(
        kind,
        where,
        _fact_number(facts, "chainId", 64),
        permission_id=pid if pid is not None and _PERMISSION_ID.fullmatch(pid) else None,
        policy=_fact_address(facts, "policy"),
        holder=_fact_address(facts, "holder"),
        token=_fact_address(facts, "token"),
        balance=_fact_number(facts, "balance", 256),
        needed=_fact_number(facts, "required", 256),
        target=_fact_address(facts, "target"),
        selector=sel if (sel := _fact(facts, "selector", str)) is not None and _SELECTOR.fullmatch(sel) else None,
        valid_after=_fact_number(facts, "validAfter", 48),
        valid_until=_fact_number(facts, "validUntil", 48),
        chain_time=_fact_number(facts, "chainTime", 64),
        facts=dict(facts),
    )


def explain_refusal(
    message: str,
    ops: Mapping[str, OpContext] | None = None,
    *,
    where: str | None = None,
    code: str | None = None,
    facts: Mapping[str, Any] | None = None,
) -> SmartSessionsError | None:
    """The specific error behind a node's refusal, or None. With ``code`` (a node that sends codes), the code and
    its ``facts`` decide and the message is only carried along as the error's details; without, the message is read
    (:func:`refusal_from_text`). ``where`` names the userOp the message is about when the message itself does not
    start with it (receipts). A number too long for what it stands for (a chain id, an amount) is left unread (None
    in the error). ``message`` and ``where`` must be strings (:class:`~smartsessions.errors.InvalidInputError`
    otherwise)."""
    message = _message(message)
    if where is not None:
        where = _message(where, "where")
    if code is not None:
        refusal = refusal_from_code(code, facts or {})
        if refusal is not None and refusal.where is None:
            refusal = replace(refusal, where=where)
    else:
        refusal = refusal_from_text(message, where)
    if refusal is None:
        return None
    return _error_of(refusal, ops, _named_errors(message))


def _error_of(refusal: Refusal, ops: Mapping[str, OpContext] | None, message: str) -> SmartSessionsError:
    """The typed error of ``refusal``, told with what the client knows of its userOp (``ops``)."""
    where, chain_id = refusal.where, refusal.chain_id
    op = None if ops is None or where is None else ops.get(where)
    if op is not None and chain_id is not None and op.chain_id is None:
        op = OpContext(op.where, chain_id, op.calls, op.session_details, op.fee_token, op.sender)
    chain = chain_id if chain_id is not None else (op.chain_id if op is not None else None)
    on_chain = f" on chain {chain}" if chain is not None else ""

    if refusal.kind in CODED:
        return CODED[refusal.kind](refusal, op, message, chain)
    if refusal.kind == "policy":
        return _policy_violation(message, op, refusal.permission_id or _pid_of(op), refusal.policy, chain)
    if refusal.kind == "not_permitted":
        return _not_permitted(message, op, refusal.permission_id or _pid_of(op), refusal, chain)
    if refusal.kind in ("time_frame_not_open", "time_frame_over"):
        return outside_time_frame_error(
            "not_open" if refusal.kind == "time_frame_not_open" else "over",
            permission_id=refusal.permission_id or _pid_of(op),
            chain_id=chain,
            policy=refusal.policy,
            valid_after=refusal.valid_after,
            valid_until=refusal.valid_until,
            chain_time=refusal.chain_time,
            target=refusal.target,
            selector=refusal.selector,
            details=message,
        )
    state = _permission_state(refusal, chain)
    if state is not None:
        return session_state_error(state, details=message)
    if refusal.kind == "not_enabled":
        pid = refusal.permission_id or _pid_of(op)
        return SessionNotEnabledError(
            f"Permission {pid} is not enabled{on_chain}.",
            permission_id=pid,
            chain_id=chain,
            meta_messages=[
                "Use it once with mode='ENABLE_AND_USE' (session details from a grant), or enable it with "
                "prepare_for_permissions(redeemer=..., actions=...); check is_permission_enabled on that chain.",
                "A revoked permission stays disabled: grant a new one.",
            ],
            details=message,
        )
    if refusal.kind == "enable_used":
        pid = refusal.permission_id or _pid_of(op)
        if op is not None and op.session_details is not None and op.session_details.mode is SmartSessionMode.USE:
            # Asked to USE a permission that is not enabled: the node tried to enable it from the details' enable
            # data, which does not pass here. A node without the permission's state cannot say why.
            return SessionNotEnabledError(
                f"Permission {pid} is not enabled{on_chain}, and the grant's enable signature does not pass here.",
                permission_id=pid,
                chain_id=chain,
                meta_messages=[
                    "Either it was used already (the permission was enabled here and has since been removed: grant a "
                    "new one), or the grant was made for another account (use the granter's account).",
                ],
                details=message,
            )
        return EnableSignatureUsedError(
            f"The enable signature of permission {pid or '(unknown)'} was already used{on_chain}.",
            permission_id=pid,
            chain_id=chain,
            meta_messages=[
                "An enable signature is bound to the SmartSessions nonce and works once per chain.",
                "Fix: use mode='USE' (the permission is enabled), or grant again if it was revoked.",
            ],
            details=message,
        )
    if refusal.kind == "enable_invalid":
        pid = refusal.permission_id or _pid_of(op)
        return SessionStateError(
            f"The owner's enable signature for permission {pid or '(unknown)'} was refused{on_chain}.",
            permission_id=pid,
            chain_id=chain,
            meta_messages=[
                "SmartSessions must be a safe sender of the account's K1MeeValidator: run prepare_for_permissions "
                "first; and the grant must have been made by this account's owner for this account.",
            ],
            details=message,
        )
    if refusal.kind == "balance" and refusal.holder is not None and refusal.token is not None:
        short = "" if refusal.needed is None else f", but {refusal.needed} are needed"
        return InsufficientBalanceError(
            f"{refusal.holder} holds {refusal.balance} base units of the fee token {refusal.token} on chain "
            f"{refusal.chain_id}{short or ': not enough for the fee'}.",
            holder=refusal.holder,
            token=refusal.token,
            chain_id=refusal.chain_id,
            balance=refusal.balance,
            needed=refusal.needed,
            meta_messages=["Fix: fund the account with the fee token, pick another fee token, or use sponsorship."],
            details=message,
        )
    holder = None if op is None else op.sender
    token = None if op is None else op.fee_token
    return InsufficientBalanceError(
        f"{holder or 'The payer'} cannot pay the fee" + (f" in {token}" if token else "") + f"{on_chain}.",
        holder=holder,
        token=token,
        chain_id=chain,
        meta_messages=["Fix: fund the account with the fee token, pick another fee token, or use sponsorship."],
        details=message,
    )


def _pid_of(op: OpContext | None) -> str | None:
    if op is None or op.session_details is None:
        return None
    return op.session_details.permission_id
