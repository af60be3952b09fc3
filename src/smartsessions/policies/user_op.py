"""A session's userOp policies: the limits of a permission as a whole, on one chain.

SmartSessions runs a session's ``userOpPolicies`` on **every userOp** the session signs, whatever it calls, before the
policies of the actions it calls. So a ``UsageLimitPolicy`` there counts the session's userOps, one per userOp
whatever it calls (``increment`` and ``setNumber`` alike), a ``TimeFramePolicy`` there is one window for all of them,
and a ``ValueLimitPolicy`` there adds up the native value of all of them (a batch's values summed). Action policies,
by contrast, count per action: a usage limit of 1 on ``increment`` says nothing about ``setNumber``.

Two things the names do not say:

* **Per chain.** A grant is one session per chain, each with its own policy state: a usage limit of 10 on a grant
  over two chains is 10 userOps on each chain.
* **The fee payment is a userOp of the session.** When the session pays the MEE fee in a fee token (a grant with
  ``fee_token``, a super-transaction that is not sponsored), the payment is a userOp of its own on the fee token's
  chain, signed with the same session: it counts against a userOp-level usage limit like any other. A paid
  super-transaction that calls something on the fee chain therefore uses 2 there (the payment and the call's userOp);
  on another chain it uses 1. The SDK does not scale the limit up to hide this: a sponsored use, or a use that only
  pays on the fee chain, would then get more than the grant says. The payment sends no native value, so it leaves a
  userOp-level value limit as it is; a userOp-level time frame applies to it as to every other userOp.

Which policies can be userOp policies is the contracts' word (ERC-165 ``IUserOpPolicy``), as in SmartSessions 1.0.0's
production set: Sudo, TimeFrame, UsageLimit and ValueLimit are; the universal action policy and the ERC-20 spending
limits are action policies only, and SmartSessions refuses to enable them as userOp policies (``UnsupportedPolicy``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..encoding.session import PolicyData
from ..errors import InvalidInputError, SmartSessionsError
from .spending_limits import SPENDING_LIMITS_POLICY_ADDRESS
from .sudo import SUDO_POLICY_ADDRESS, get_sudo_policy
from .time_frame import TIME_FRAME_POLICY_ADDRESS, decode_time_frame
from .universal_action import UNIVERSAL_ACTION_POLICY_ADDRESS
from .usage_limit import USAGE_LIMIT_POLICY_ADDRESS, decode_usage_limit
from .value_limit import VALUE_LIMIT_POLICY_ADDRESS, decode_value_limit

__all__ = [
    "USER_OP_POLICY_ADDRESSES",
    "UserOpPolicies",
    "check_user_op_policies",
    "default_user_op_policies",
    "user_op_policies_by_chain",
]

#: What the grant functions take as ``user_op_policies``: the policy builders' outputs (or their dicts) for every
#: chain's session, or a mapping from chain id to them, one entry per chain of the grant; None for the default.
UserOpPolicies = (
    Sequence[PolicyData | Mapping[str, Any]] | Mapping[int, Sequence[PolicyData | Mapping[str, Any]]] | None
)

#: The policies whose contracts are userOp policies (``IUserOpPolicy``), by lowercase address, with their names.
USER_OP_POLICY_ADDRESSES: dict[str, str] = {
    SUDO_POLICY_ADDRESS.lower(): "SudoPolicy",
    TIME_FRAME_POLICY_ADDRESS.lower(): "TimeFramePolicy",
    USAGE_LIMIT_POLICY_ADDRESS.lower(): "UsageLimitPolicy",
    VALUE_LIMIT_POLICY_ADDRESS.lower(): "ValueLimitPolicy",
}

_ACTION_ONLY: dict[str, str] = {
    UNIVERSAL_ACTION_POLICY_ADDRESS.lower(): "the universal action policy (UniActionPolicy)",
    SPENDING_LIMITS_POLICY_ADDRESS.lower(): "the ERC-20 spending limits policy (ERC20SpendingLimitPolicy)",
}

_FIX = (
    "pass userOp policies from get_usage_limit_policy, get_time_frame_policy or get_value_limit_policy "
    "(or leave user_op_policies out for the default, SudoPolicy)"
)


def default_user_op_policies() -> tuple[PolicyData, ...]:
    """The reference's userOp policies: Sudo alone (a userOp with a paymaster needs at least one; the actions carry
    the limits)."""
    return (get_sudo_policy(),)


def _init_problem(address: str, init_data: bytes) -> str | None:
    """Why the policy contract would refuse ``init_data`` when the session is enabled, or None."""
    if address == USAGE_LIMIT_POLICY_ADDRESS.lower():
        if not decode_usage_limit(init_data):  # shorter than 16 bytes (None) or 0
            return "is a UsageLimitPolicy without a limit (16 bytes, at least 1); the contract refuses it"
    elif address == VALUE_LIMIT_POLICY_ADDRESS.lower():
        if not decode_value_limit(init_data):
            return "is a ValueLimitPolicy without a limit (32 bytes, at least 1 wei); the contract refuses it"
    elif address == TIME_FRAME_POLICY_ADDRESS.lower():
        try:
            window = decode_time_frame(init_data)
        except SmartSessionsError as exc:
            return f"is a TimeFramePolicy whose init data is no window: {exc.short_message}"
        if window.valid_after == 0 and window.valid_until == 0:
            return "is a TimeFramePolicy without bounds; the contract refuses it when checking (PolicyNotInitialized)"
        if window.valid_until != 0 and window.valid_after > window.valid_until:
            return "is a TimeFramePolicy that closes before it opens; the contract refuses it"
    return None


def check_user_op_policies(value: object, *, field: str = "user_op_policies") -> tuple[PolicyData, ...]:
    """The userOp policies of a session, checked: None gives :func:`default_user_op_policies` (the reference's
    bytes); otherwise a non-empty list of :class:`~smartsessions.PolicyData` (or their dicts) from the policy
    builders, each a policy whose contract is a userOp policy, each policy once, with init data its contract
    accepts. Anything else is an :class:`~smartsessions.errors.InvalidInputError` naming ``field``: the chain would
    refuse the session when enabling it, or a duplicate's second init data would silently replace the first's."""
    if value is None:
        return default_user_op_policies()
    if isinstance(value, (str, bytes, bytearray, Mapping, PolicyData)) or not isinstance(value, Sequence):
        raise InvalidInputError(field, "expected a list of policies", fix=_FIX, value=value)
    if not value:
        raise InvalidInputError(
            field,
            "is empty: a session's userOps carry the node's paymaster, and SmartSessions then needs at least one "
            "userOp policy (NoPoliciesSet)",
            fix="leave it out for the default (SudoPolicy), or pass the permission-wide limits",
        )
    out: list[PolicyData] = []
    seen: set[str] = set()
    for k, item in enumerate(value):
        here = f"{field}[{k}]"
        if isinstance(item, Mapping):
            try:
                item = PolicyData.model_validate(item)
            except InvalidInputError as exc:
                raise InvalidInputError(here, exc.problem, fix=_FIX, value=item) from exc
        if not isinstance(item, PolicyData):
            raise InvalidInputError(here, f"expected a PolicyData, got {type(item).__name__}", fix=_FIX, value=item)
        address = item.policy.lower()
        if address in _ACTION_ONLY:
            raise InvalidInputError(
                here,
                f"is {_ACTION_ONLY[address]}, an action policy only: its contract is no userOp policy, and "
                "SmartSessions refuses to enable it as one (UnsupportedPolicy)",
                fix="put it on the actions it limits (action_policies), or " + _FIX,
            )
        if address not in USER_OP_POLICY_ADDRESSES:
            raise InvalidInputError(
                here,
                f"{item.policy} is not a userOp policy the SDK knows (SudoPolicy, TimeFramePolicy, UsageLimitPolicy, "
                "ValueLimitPolicy)",
                fix=_FIX,
            )
        if address in seen:
            raise InvalidInputError(
                here,
                f"repeats {USER_OP_POLICY_ADDRESSES[address]}: SmartSessions keeps one configuration per policy, so "
                "the second would silently replace the first",
                fix="pass each policy once, with the one limit you mean",
            )
        problem = _init_problem(address, bytes(item.init_data))
        if problem is not None:
            raise InvalidInputError(here, problem, fix=_FIX)
        seen.add(address)
        out.append(item)
    return tuple(out)


def user_op_policies_by_chain(
    value: object, chain_ids: Sequence[int], *, field: str = "user_op_policies"
) -> dict[int, tuple[PolicyData, ...]]:
    """Each chain's checked userOp policies (:func:`check_user_op_policies`): one list for every chain, or a mapping
    from chain id to a list, with exactly the grant's chains (a chain left out, or one the grant has no action on, is
    refused naming it: a limit meant for one chain must not silently go missing). A mapping is how a fee chain gets
    another usage limit than the rest (a paid use there counts 2)."""
    if not isinstance(value, Mapping):
        checked = check_user_op_policies(value, field=field)
        return dict.fromkeys(chain_ids, checked)
    extra = [c for c in value if c not in chain_ids]
    if extra:
        raise InvalidInputError(
            field,
            f"has an entry for chain {extra[0]}, where the grant has no action",
            fix=f"key it by the grant's chains ({', '.join(map(str, chain_ids))})",
        )
    out = {}
    for chain_id in chain_ids:
        if chain_id not in value:
            raise InvalidInputError(
                field,
                f"has no entry for chain {chain_id}",
                fix=f"add {field}[{chain_id}] (e.g. [get_sudo_policy()] for no permission-wide limit there), or pass "
                "one list for every chain",
            )
        out[chain_id] = check_user_op_policies(value[chain_id], field=f"{field}[{chain_id}]")
    return out
