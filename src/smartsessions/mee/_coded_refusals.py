"""The typed errors of refusals that only a node's code and facts tell (the local node's): a fee above the session's
cap, a quote signed by another key than the session's, a chain or fee token the node does not serve, a transfer of
more than the sender holds. Nodes without codes (Biconomy's) say these in text only; their error stays a
:class:`~smartsessions.errors.MeeApiError`.

Each builder takes the refusal, what the client knows of its userOp, the node's message (kept as the details) and
the chain; :mod:`._refusals` picks the builder by the refusal's kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._coerce import to_address
from ..errors import (
    ChainNotSupportedError,
    FeeAboveCapError,
    FeeTokenNotSupportedError,
    InsufficientBalanceError,
    InvalidInputError,
    SessionSignerMismatchError,
    SmartSessionsError,
)
from ..policies import POLICY_NAMES
from ._refusal_model import OpContext, Refusal

__all__ = ["CODED"]


def _number(facts: Mapping[str, Any], key: str) -> int | None:
    value = facts.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 78 else None


def _address(facts: Mapping[str, Any], key: str) -> str | None:
    value = facts.get(key)
    try:
        return to_address(value, field=key) if isinstance(value, str) else None
    except InvalidInputError:
        return None


def _pid(refusal: Refusal, op: OpContext | None) -> str | None:
    if refusal.permission_id is not None:
        return refusal.permission_id
    if op is None or op.session_details is None:
        return None
    return op.session_details.permission_id


def _on(chain: int | None) -> str:
    return "" if chain is None else f" on chain {chain}"


def fee_above_cap(refusal: Refusal, op: OpContext | None, message: str, chain: int | None) -> SmartSessionsError:
    facts = refusal.facts
    pid, token = _pid(refusal, op), refusal.token
    fee, per, total = _number(facts, "fee"), _number(facts, "capPerPayment"), _number(facts, "capInTotal")
    caps = [f"{per} per payment" if per is not None else None, f"{total} in all" if total is not None else None]
    said = " and ".join(c for c in caps if c) or "less"
    policy = refusal.policy
    name = None if policy is None else POLICY_NAMES.get(policy.lower())
    return FeeAboveCapError(
        f"The fee of {fee if fee is not None else '(unknown)'} base units of {token or 'the fee token'} is more than "
        f"permission {pid or '(unknown)'} may pay{_on(chain)}: at most {said} (its max_payment_amount).",
        fee=fee,
        cap_per_payment=per,
        cap_in_total=total,
        token=token,
        permission_id=pid,
        chain_id=chain,
        action_target=refusal.target or token,
        action_selector=refusal.selector,
        policy=policy,
        policy_name=name,
        rule=None if fee is None else f"the fee payment of {fee} must fit the session's payment cap ({said})",
        meta_messages=[
            "The session pays the node's fee under its own payment policy; what it already paid counts against the "
            "total.",
            "Fix: have the owner grant a larger max_payment_amount, use sponsorship, or use a fresh session.",
        ],
        details=message,
    )


def signer_mismatch(refusal: Refusal, op: OpContext | None, message: str, chain: int | None) -> SmartSessionsError:
    facts = refusal.facts
    pid = _pid(refusal, op)
    redeemer, signer = _address(facts, "expected"), _address(facts, "signer")
    who = f"by {signer}" if signer else "by another key"
    return SessionSignerMismatchError(
        f"The session userOp{_on(chain)} was signed {who}, but permission {pid or '(unknown)'} is granted to "
        f"{redeemer or 'another session key'}.",
        permission_id=pid,
        chain_id=chain,
        redeemer=redeemer,
        signer=signer,
        meta_messages=["Fix: sign with the session's key: a client whose account signer is the redeemer."],
        details=message,
    )


def chain_not_served(refusal: Refusal, op: OpContext | None, message: str, chain: int | None) -> SmartSessionsError:
    served = refusal.facts.get("supported")
    listed = ", ".join(str(c) for c in served) if isinstance(served, list) else "see its /info"
    return ChainNotSupportedError(
        str(refusal.facts.get("field") or "chain_id"),
        f"the MEE node does not serve chain {chain} (it serves {listed})",
        chain_ids=() if chain is None else (chain,),
        fix="use a chain the node serves, or a node that serves this one (the node's chains may have changed since "
        "the client read its /info: create the client again)",
    )


def fee_token_unsupported(
    refusal: Refusal, op: OpContext | None, message: str, chain: int | None
) -> SmartSessionsError:
    return FeeTokenNotSupportedError(
        str(refusal.facts.get("field") or "fee_token"),
        f"the MEE node takes no fee in {refusal.token or 'this token'}{_on(chain)}",
        fix="pick one of the node's fee tokens (its /info, read again: it may have changed), or use sponsorship",
    )


def transfer_balance(refusal: Refusal, op: OpContext | None, message: str, chain: int | None) -> SmartSessionsError:
    return InsufficientBalanceError(
        f"{refusal.holder} holds {refusal.balance} base units of {refusal.token}{_on(chain)}, but "
        f"{refusal.where or 'the userOp'} transfers {refusal.needed}.",
        holder=refusal.holder,
        token=refusal.token,
        chain_id=chain,
        balance=refusal.balance,
        needed=refusal.needed,
        meta_messages=["Fix: transfer at most the balance, or fund the account first."],
        details=message,
    )


CODED: dict[str, Callable[[Refusal, OpContext | None, str, int | None], SmartSessionsError]] = {
    "fee_cap": fee_above_cap,
    "signer": signer_mismatch,
    "chain_not_served": chain_not_served,
    "fee_token": fee_token_unsupported,
    "transfer_balance": transfer_balance,
}
