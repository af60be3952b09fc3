"""What a session may still do: :func:`session_status` (issue 15).

For each chain of a permission: whether it is enabled, and per action and per policy what is left, read from the
policy contracts' own state: calls left under a usage limit, amount left per token under a spending limit, each
limited universal-action rule's cumulative budget left, native value left, the time window and the seconds left in
it (as of the chain's latest block, never the wall clock), the fee allowance left under the payment policy, and the
same for the permission-wide (userOp) policies, which every userOp of the session meets.

All of a chain's reads go in one JSON-RPC batch (the latest block, SmartSessions' ``isPermissionEnabled`` and
``getNonce``, each policy's getter: :mod:`._policy_reads`), the chains at once. The figures are what the contracts
enforce:

* usage limit: a call passes while ``used + 1 <= limit``, so ``left = limit - used`` calls of the action (a
  permission-wide one: userOps, a fee payment included);
* spending limit: a transfer or approval of ``amount`` passes while ``spent + approved + amount <= limit``;
* universal-action rule with a usage limit: the call's argument adds to ``used``, which must stay ``<= limit``;
* value limit: the calls' native value adds to ``used``, which must stay ``<= limit``;
* time frame: a userOp passes in a block whose timestamp is within ``[valid_after, valid_until]`` (0: no end).

Without the session's details (only its id, or the account's list of permissions) the policies are unknown: only
whether the permission is enabled is reported. A permission not enabled whose details carry a grant that can still
enable it (ENABLE_AND_USE) reports the grant's limits, nothing used; one that cannot be used reports why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from .._coerce import to_address, to_bytes, to_permission_id
from .._model import Address, Bytes4, Model, PermissionIdField
from ..encoding.abi import abi_decode, encode_function_call
from ..encoding.session import ActionData, PolicyData, SmartSessionMode
from ..errors import InvalidInputError, RpcError, SmartSessionsError
from ..mee.permission_state import permission_state_calls, permission_state_refusal
from ..permission_id import PermissionId
from ..policies import (
    POLICY_NAMES,
    SPENDING_LIMITS_POLICY_ADDRESS,
    SUDO_POLICY_ADDRESS,
    TIME_FRAME_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
    ParamCondition,
    decode_action_config,
)
from ..policies.payment import TRANSFER_SELECTOR, payment_cap
from ..policies.spending_limits import decode_spending_limits
from ..policies.time_frame import decode_time_frame, utc_date
from ..policies.usage_limit import decode_usage_limit
from ..policies.value_limit import decode_value_limit
from ..rpc import RpcRevertError, call_word, quantity, return_data
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo
from ..wire.session import SessionDetails
from ._function_names import function_name
from ._policy_reads import action_config_id, policy_read, spending_read, user_op_config_id
from .actions import HasAccount
from .use import details_list

__all__ = [
    "ActionStatus",
    "ChainStatus",
    "FeeStatus",
    "OtherPolicyStatus",
    "PolicyStatus",
    "SessionStatus",
    "SpendingLimitStatus",
    "SudoStatus",
    "TimeFrameStatus",
    "TokenSpending",
    "UniversalActionStatus",
    "UniversalRuleStatus",
    "UsageLimitStatus",
    "ValueLimitStatus",
    "session_status",
]

_AMOUNT_OFFSET = 32  # transfer(address to, uint256 amount): the amount


# -- the result ------------------------------------------------------------------------------------------------------


class UsageLimitStatus(Model):
    """UsageLimitPolicy: ``left`` more calls of the action (userOps of the session, for a permission-wide one)."""

    kind: Literal["usage_limit"] = "usage_limit"
    policy: Address
    limit: int
    used: int
    left: int

    def describe(self) -> str:
        return f"usage limit: {self.left} of {self.limit} left ({self.used} used)"


class ValueLimitStatus(Model):
    """ValueLimitPolicy: ``left`` more wei of native value, in all."""

    kind: Literal["value_limit"] = "value_limit"
    policy: Address
    limit: int
    used: int
    left: int

    def describe(self) -> str:
        return f"value limit: {self.left} of {self.limit} wei left ({self.used} sent)"


class TokenSpending(Model):
    """One token of a spending limit: ``left = limit - spent - approved`` base units. ``spent``, ``approved`` and
    ``left`` are None when the policy did not answer ``getPolicyData`` for the token of an enabled session (a policy
    contract without that getter); ``limit`` is then the grant's."""

    token: Address
    limit: int
    spent: int | None
    approved: int | None
    left: int | None


class SpendingLimitStatus(Model):
    """ERC20SpendingLimitPolicy: per token, what is left to transfer or approve."""

    kind: Literal["spending_limits"] = "spending_limits"
    policy: Address
    tokens: tuple[TokenSpending, ...]

    def describe(self) -> str:
        parts = [
            f"{t.left} of {t.limit} of {t.token} left ({t.spent} spent, {t.approved} approved)"
            if t.left is not None
            else f"at most {t.limit} of {t.token} in all (what is spent could not be read)"
            for t in self.tokens
        ]
        return "spending limit: " + "; ".join(parts)


class UniversalRuleStatus(Model):
    """A universal-action rule with a cumulative limit: the argument at ``offset`` adds up to at most ``limit``."""

    index: int
    offset: int
    condition: ParamCondition
    ref: int
    limit: int
    used: int
    left: int


class UniversalActionStatus(Model):
    """UniActionPolicy: its per-call value limit, and each rule with a cumulative limit (``rules``; rules that only
    compare call by call have nothing to run out of and are not listed)."""

    kind: Literal["universal_action"] = "universal_action"
    policy: Address
    value_limit_per_use: int
    rules: tuple[UniversalRuleStatus, ...]

    def describe(self) -> str:
        if not self.rules:
            return "universal action rules: checked call by call, no cumulative limit"
        parts = [
            f"rule {r.index} (argument {r.offset // 32 + 1}): {r.left} of {r.limit} left ({r.used} used)"
            for r in self.rules
        ]
        return "universal action rules: " + "; ".join(parts)


class TimeFrameStatus(Model):
    """TimeFramePolicy, as of the chain's latest block (``now``): ``open`` when a block at ``now`` is inside the
    window; ``seconds_left`` until it closes (None: no end; 0 once over), ``opens_in`` seconds until it opens."""

    kind: Literal["time_frame"] = "time_frame"
    policy: Address
    valid_after: int
    valid_until: int
    now: int
    open: bool
    seconds_left: int | None
    opens_in: int

    def describe(self) -> str:
        until = "no end" if self.valid_until == 0 else utc_date(self.valid_until)
        window = f"time frame {utc_date(self.valid_after)} to {until}"
        if self.opens_in:
            return f"{window}: opens in {self.opens_in} s"
        if not self.open:
            return f"{window}: over"
        return f"{window}: open" + ("" if self.seconds_left is None else f", {self.seconds_left} s left")


class SudoStatus(Model):
    """SudoPolicy: no limit."""

    kind: Literal["sudo"] = "sudo"
    policy: Address

    def describe(self) -> str:
        return "sudo: unlimited"


class OtherPolicyStatus(Model):
    """A policy the SDK does not read."""

    kind: Literal["other"] = "other"
    policy: Address

    def describe(self) -> str:
        return f"policy {self.policy}: not read by the SDK"


PolicyStatus = Annotated[
    UsageLimitStatus
    | ValueLimitStatus
    | SpendingLimitStatus
    | UniversalActionStatus
    | TimeFrameStatus
    | SudoStatus
    | OtherPolicyStatus,
    Field(discriminator="kind"),
]


class ActionStatus(Model):
    """One action of the session (``target``, ``selector``) and its policies' status; every one must pass."""

    target: Address
    selector: Bytes4
    policies: tuple[PolicyStatus, ...]

    def policy(self, kind: str) -> Any:
        """The first status of ``kind`` (``"usage_limit"``, ``"spending_limits"``, ...), or None."""
        return next((p for p in self.policies if p.kind == kind), None)


class FeeStatus(Model):
    """What the session may still pay in fees in ``token`` on ``chain_id`` (its universal-action rules on
    ``token.transfer``): ``left`` in all, at most ``per_payment`` at once (None: no bound)."""

    token: Address
    chain_id: int
    limit: int | None
    used: int | None
    left: int | None
    per_payment: int | None


class ChainStatus(Model):
    """One permission on one chain. ``enabled`` on chain; ``enable_pending`` when not, but its details carry a grant
    that would enable it here (the figures are then the grant's, nothing used). ``actions`` and ``permission_wide``
    are None when unknown (no session details) or when the permission cannot be used here (``note`` says why)."""

    chain_id: int
    permission_id: PermissionIdField
    account: Address
    enabled: bool
    enable_pending: bool = False
    block_timestamp: int
    actions: tuple[ActionStatus, ...] | None = None
    permission_wide: tuple[PolicyStatus, ...] | None = None
    fee: FeeStatus | None = None
    note: str | None = None

    def action(self, target: str, selector: object) -> ActionStatus | None:
        """The status of the action ``(target, selector)``, or None."""
        sel = bytes(to_bytes(selector, field="selector", length=4))
        return next(
            (a for a in self.actions or () if a.target.lower() == target.lower() and bytes(a.selector) == sel), None
        )

    def permission_wide_policy(self, kind: str) -> Any:
        """The first permission-wide status of ``kind``, or None."""
        return next((p for p in self.permission_wide or () if p.kind == kind), None)

    def describe(self) -> str:
        state = (
            "enabled"
            if self.enabled
            else "not enabled yet (its grant enables it)"
            if self.enable_pending
            else "not enabled"
        )
        lines = [f"chain {self.chain_id}, permission {self.permission_id}: {state}"]
        if self.note:
            lines.append(f"  {self.note}")
        if self.permission_wide is not None:
            lines.append("  every userOp of the session: " + "; ".join(p.describe() for p in self.permission_wide))
        for a in self.actions or ():
            what = ", ".join(p.describe() for p in a.policies)
            lines.append(f"  {function_name(a.selector.to_0x_hex())} on {a.target}: {what}")
        if self.fee is not None:
            left = "no total limit" if self.fee.left is None else f"{self.fee.left} of {self.fee.limit} left"
            lines.append(f"  fees in {self.fee.token}: {left}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


class SessionStatus(Model):
    """Each chain's :class:`ChainStatus`, one per permission and chain."""

    chains: tuple[ChainStatus, ...]

    def on(self, chain_id: int, permission_id: object = None) -> ChainStatus:
        """The status on ``chain_id`` (of ``permission_id``, when several permissions are on that chain)."""
        for c in self.chains:
            if c.chain_id == chain_id and (permission_id is None or c.permission_id == permission_id):
                return c
        raise InvalidInputError("chain_id", f"no status for chain {chain_id}", value=chain_id)

    def describe(self) -> str:
        return "\n".join(c.describe() for c in self.chains)

    def __str__(self) -> str:
        return self.describe()


# -- what is read, and how it is read back ----------------------------------------------------------------------------


def _eth_call(to: str, data: bytes) -> tuple[str, list[Any]]:
    return ("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])


def _words(data: bytes, n: int) -> list[int]:
    return [int.from_bytes(data[32 * k : 32 * k + 32], "big") for k in range(n)]


@dataclass
class _Plan:
    """One policy's reads (``calls``) and how their answers (None: the grant's figures) give its status."""

    policy: PolicyData
    calls: list[tuple[str, list[Any]]]
    tokens: tuple[str, ...] = ()
    answers: list[bytes | None] | None = None


def _spending_tokens(init_data: bytes) -> tuple[list[str], list[int]]:
    try:
        pairs = decode_spending_limits(init_data)
    except SmartSessionsError:
        return [], []
    return [token for token, _ in pairs], [limit for _, limit in pairs]


def _plan(policy: PolicyData, config_id: bytes, account: str) -> _Plan:
    address, mx = policy.policy.lower(), SMART_SESSIONS_ADDRESS
    kind = {
        USAGE_LIMIT_POLICY_ADDRESS.lower(): "usage",
        VALUE_LIMIT_POLICY_ADDRESS.lower(): "value",
        TIME_FRAME_POLICY_ADDRESS.lower(): "time_frame",
        UNIVERSAL_ACTION_POLICY_ADDRESS.lower(): "universal",
    }.get(address)
    if kind is not None:
        return _Plan(policy, [_eth_call(policy.policy, policy_read(kind, config_id, mx, account))])
    if address == SPENDING_LIMITS_POLICY_ADDRESS.lower():
        tokens, _ = _spending_tokens(bytes(policy.init_data))
        calls = [_eth_call(policy.policy, spending_read(config_id, mx, t, account)) for t in tokens]
        return _Plan(policy, calls, tuple(tokens))
    return _Plan(policy, [])


def _answer(value: Any, what: str) -> bytes | None:
    """An ``eth_call`` answer's bytes, None for a revert (the policy holds no state there)."""
    if isinstance(value, RpcRevertError):
        return None
    if isinstance(value, RpcError):
        raise value
    return return_data(value, what=what)


def _status(plan: _Plan, answers: list[bytes | None] | None, now: int) -> Any:
    """The policy's status from its getters' ``answers``, or from the grant's init data (``answers`` None)."""
    p, init = plan.policy, bytes(plan.policy.init_data)
    address, policy = p.policy.lower(), to_address(p.policy, field="policy")
    first = None if answers is None or not answers else answers[0]
    if address == USAGE_LIMIT_POLICY_ADDRESS.lower():
        if answers is None:
            limit, used = decode_usage_limit(init) or 0, 0  # the grant's (a session enabled it: 16 bytes)
        else:
            limit, used = _words(first or bytes(64), 2)
        return UsageLimitStatus(policy=policy, limit=limit, used=used, left=max(limit - used, 0))
    if address == VALUE_LIMIT_POLICY_ADDRESS.lower():
        limit, used = (decode_value_limit(init) or 0, 0) if answers is None else _words(first or bytes(64), 2)
        return ValueLimitStatus(policy=policy, limit=limit, used=used, left=max(limit - used, 0))
    if address == TIME_FRAME_POLICY_ADDRESS.lower():
        if answers is None:
            window = decode_time_frame(init)
            after, until = window.valid_after, window.valid_until
        elif first is not None and len(first) >= 64:  # an older TimeFramePolicy: the struct (validUntil, validAfter)
            until, after = _words(first, 2)
        else:  # SmartSessions 1.0.0's and the devnet's: uint256 validUntil << 48 | validAfter
            packed = _words(first or bytes(32), 1)[0]
            until, after = (packed >> 48) & ((1 << 48) - 1), packed & ((1 << 48) - 1)
        is_open = after <= now and (until == 0 or now <= until)
        left = None if until == 0 else max(until - now, 0)
        return TimeFrameStatus(
            policy=policy,
            valid_after=after,
            valid_until=until,
            now=now,
            open=is_open,
            seconds_left=left,
            opens_in=max(after - now, 0),
        )
    if address == UNIVERSAL_ACTION_POLICY_ADDRESS.lower():
        config = decode_action_config(init if answers is None else (first or bytes(32 * 98)))
        rules = tuple(
            UniversalRuleStatus(
                index=k,
                offset=r.offset,
                condition=r.condition,
                ref=int.from_bytes(r.ref, "big"),
                limit=r.usage.limit,
                used=r.usage.used,
                left=max(r.usage.limit - r.usage.used, 0),
            )
            for k, r in enumerate(config.param_rules.rules[: config.param_rules.length])
            if r.is_limited
        )
        return UniversalActionStatus(policy=policy, value_limit_per_use=config.value_limit_per_use, rules=rules)
    if address == SPENDING_LIMITS_POLICY_ADDRESS.lower():
        tokens, limits = _spending_tokens(init)
        out = []
        for k, (token, grant_limit) in enumerate(zip(tokens, limits, strict=True)):
            answer = None if answers is None else answers[k]
            if answers is None:  # not enabled yet: the grant's limit, nothing spent
                out.append(TokenSpending(token=token, limit=grant_limit, spent=0, approved=0, left=grant_limit))
            elif answer is None:  # getPolicyData reverted for a token the enabled session configures: unknown
                out.append(TokenSpending(token=token, limit=grant_limit, spent=None, approved=None, left=None))
            else:
                limit, spent, approved = _words(answer, 3)
                left = max(limit - spent - approved, 0)
                out.append(TokenSpending(token=token, limit=limit, spent=spent, approved=approved, left=left))
        return SpendingLimitStatus(policy=policy, tokens=tuple(out))
    if address == SUDO_POLICY_ADDRESS.lower():
        return SudoStatus(policy=policy)
    return OtherPolicyStatus(policy=policy)


def _fee_status(
    actions: Sequence[ActionData], plans: Sequence[Sequence[_Plan]], statuses: Sequence[ActionStatus], fee: FeeTokenInfo
) -> FeeStatus | None:
    """The fee allowance: the universal-action rules on ``fee.address.transfer`` as they stand on chain (the payment
    policy's cumulative amount rule), bounded as :func:`~smartsessions.policies.payment.payment_cap` bounds it."""
    current: list[ActionData] = []
    limit = used = left = None
    for action, action_plans, status in zip(actions, plans, statuses, strict=True):
        if action.action_target != fee.address or bytes(action.action_target_selector) != TRANSFER_SELECTOR:
            continue
        policies = []
        for plan, s in zip(action_plans, status.policies, strict=True):
            p = plan.policy
            if isinstance(s, UniversalActionStatus):
                if plan.answers is not None and plan.answers and plan.answers[0] is not None:
                    p = p.model_copy(update={"init_data": plan.answers[0]})  # the config as it stands on chain
                for r in s.rules:
                    if r.offset == _AMOUNT_OFFSET and (left is None or r.left < left):
                        limit, used, left = r.limit, r.used, r.left
            policies.append(p)
        current.append(action.model_copy(update={"action_policies": tuple(policies)}))
    cap = payment_cap(current, fee_token=fee.address)
    if cap is None:
        return None
    return FeeStatus(
        token=fee.address, chain_id=fee.chain_id, limit=limit, used=used, left=cap.in_total, per_payment=cap.per_payment
    )


# -- the reads ---------------------------------------------------------------------------------------------------------


def _can_enable(d: SessionDetails, chain_id: int) -> bool:
    """Whether the details carry a grant's signed digest for ``chain_id`` (ENABLE_AND_USE can enable them)."""
    enable = d.enable_session_data.enable_session
    return any(x.chain_id == chain_id and len(bytes(x.session_digest)) == 32 for x in enable.hashes_and_chain_ids)


@dataclass
class _Entry:
    """One permission on one chain: its details (None: only its id is known) and its reads."""

    permission_id: PermissionId
    details: SessionDetails | None
    user_op: list[_Plan]
    actions: list[list[_Plan]]


def _entry(permission_id: PermissionId, details: SessionDetails | None, account: str) -> _Entry:
    if details is None:
        return _Entry(permission_id, None, [], [])
    session = details.enable_session_data.enable_session.session_to_enable
    pid = bytes(permission_id)
    user_op = [_plan(p, user_op_config_id(pid, account), account) for p in session.user_op_policies]
    actions = []
    for a in session.actions:
        config_id = action_config_id(pid, account, a.action_target, bytes(a.action_target_selector))
        actions.append([_plan(p, config_id, account) for p in a.action_policies])
    return _Entry(permission_id, details, user_op, actions)


def _chain_status(
    entry: _Entry, *, chain_id: int, account: str, now: int, enabled: bool, nonce: int, fee: FeeTokenInfo | None
) -> ChainStatus:
    base: dict[str, Any] = {
        "chain_id": chain_id,
        "permission_id": entry.permission_id,
        "account": account,
        "enabled": enabled,
        "block_timestamp": now,
    }
    d = entry.details
    if d is None:
        return ChainStatus(**base, note="no session details: its policies, and so what is left, are unknown here")
    pending = False
    if not enabled:
        mode = SmartSessionMode.UNSAFE_ENABLE if _can_enable(d, chain_id) else SmartSessionMode.USE
        refusal = permission_state_refusal(d, chain_id=chain_id, account=account, enabled=False, nonce=nonce, mode=mode)
        if refusal is not None:
            return ChainStatus(**base, note=f"{refusal.message} {refusal.history}")
        pending = True
        for plan in [*entry.user_op, *(p for plans in entry.actions for p in plans)]:
            plan.answers = None  # no state on chain yet: the grant's figures

    def statuses(plans: Sequence[_Plan]) -> tuple[Any, ...]:
        return tuple(_status(p, p.answers, now) for p in plans)

    session = d.enable_session_data.enable_session.session_to_enable
    actions = tuple(
        ActionStatus(target=a.action_target, selector=a.action_target_selector, policies=statuses(plans))
        for a, plans in zip(session.actions, entry.actions, strict=True)
    )
    fee_status = None
    if fee is not None and fee.chain_id == chain_id:
        fee_status = _fee_status(session.actions, entry.actions, actions, fee)
    return ChainStatus(
        **base,
        enable_pending=pending,
        actions=actions,
        permission_wide=statuses(entry.user_op),
        fee=fee_status,
    )


async def _read_chain(
    client: HasAccount, chain_id: int, entries: Sequence[_Entry], fee: FeeTokenInfo | None
) -> list[ChainStatus]:
    """One JSON-RPC batch: the latest block, each permission's state and its policies' getters."""
    deployment = client.account.deployment_on(chain_id)
    account = deployment.address
    calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False])]
    for e in entries:
        calls += [_eth_call(to, data) for to, data in permission_state_calls(bytes(e.permission_id), account)]
        for plan in [*e.user_op, *(p for plans in e.actions for p in plans)]:
            calls += plan.calls
    answers = await deployment.rpc.batch(calls, return_errors=True)
    block = answers[0]
    if isinstance(block, RpcError):
        raise block
    if not isinstance(block, Mapping):
        raise RpcError(f"The endpoint of chain {chain_id} answered eth_getBlockByNumber with no block.")
    now = quantity(block.get("timestamp"), what=f"the latest block's timestamp on chain {chain_id}")
    out, k = [], 1
    for e in entries:
        state = []
        for name in ("isPermissionEnabled", "getNonce"):
            value = answers[k]
            k += 1
            if isinstance(value, RpcError):
                raise value
            state.append(call_word(value, what=f"SmartSessions.{name} on chain {chain_id}", empty=0))
        for plan in [*e.user_op, *(p for plans in e.actions for p in plans)]:
            got = answers[k : k + len(plan.calls)]
            k += len(plan.calls)
            name = POLICY_NAMES.get(plan.policy.policy.lower(), plan.policy.policy)
            plan.answers = [_answer(v, f"{name}'s state on chain {chain_id}") for v in got]
        out.append(
            _chain_status(
                e, chain_id=chain_id, account=account, now=now, enabled=state[0] != 0, nonce=state[1], fee=fee
            )
        )
    return out


async def _listed(client: HasAccount, chain_id: int) -> list[ChainStatus]:
    """Without details or ids: the account's enabled permissions (``getPermissionIDs``) and the latest block, one
    batch."""
    deployment = client.account.deployment_on(chain_id)
    account = deployment.address
    data = encode_function_call("getPermissionIDs(address)", [account])
    block, ids = await deployment.rpc.batch(
        [("eth_getBlockByNumber", ["latest", False]), _eth_call(SMART_SESSIONS_ADDRESS, data)]
    )
    if not isinstance(block, Mapping):
        raise RpcError(f"The endpoint of chain {chain_id} answered eth_getBlockByNumber with no block.")
    now = quantity(block.get("timestamp"), what=f"the latest block's timestamp on chain {chain_id}")
    what = f"SmartSessions.getPermissionIDs on chain {chain_id}"
    [listed] = abi_decode(["bytes32[]"], return_data(ids, what=what), what=what)
    return [
        ChainStatus(
            chain_id=chain_id,
            permission_id=PermissionId(bytes(pid)),
            account=account,
            enabled=True,
            block_timestamp=now,
            note="no session details: its policies, and so what is left, are unknown here",
        )
        for pid in listed
    ]


async def session_status(
    client: HasAccount,
    *,
    session_details: Sequence[SessionDetails] | SessionDetails | None = None,
    permission_ids: Sequence[object] | None = None,
    chain_ids: Sequence[int] | None = None,
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
) -> SessionStatus:
    """What the session may still do, per chain: ``session_details`` (a grant's or a prepare's, each chain's entry)
    give every figure; ``permission_ids`` alone (on each of ``chain_ids``, default the account's chains) only whether
    each is enabled; neither lists the account's enabled permissions on each chain (``getPermissionIDs``), again
    without figures. ``fee_token`` (the token and chain the session pays fees in) adds the fee allowance left under
    the payment policy. ``chain_ids`` limits the chains read.

    One JSON-RPC batch per chain, the chains at once; every figure is as of each chain's latest block."""
    fee = None
    if fee_token is not None:
        fee = fee_token if isinstance(fee_token, FeeTokenInfo) else FeeTokenInfo.model_validate(fee_token)
    wanted = None if chain_ids is None else set(chain_ids)
    configured = [d.chain_id for d in client.account.deployments]
    if session_details is None and permission_ids is None:
        chains = [c for c in configured if wanted is None or c in wanted]
        listed = await asyncio.gather(*(_listed(client, c) for c in chains))
        return SessionStatus(chains=tuple(s for per_chain in listed for s in per_chain))
    by_chain: dict[int, list[tuple[PermissionId, SessionDetails | None]]] = {}
    if session_details is not None:
        for d in details_list(session_details):
            chain_id = d.chain_id
            if chain_id is None:
                raise InvalidInputError(
                    "session_details.enable_session_data.enable_session.session_to_enable.chain_id",
                    "is missing, so the chain to read is unknown",
                    fix="use session details from a grant or from prepare_for_permissions",
                )
            if wanted is None or chain_id in wanted:
                by_chain.setdefault(chain_id, []).append((d.permission_id, d))
    for k, pid in enumerate(permission_ids or ()):
        parsed = to_permission_id(pid, field=f"permission_ids[{k}]")
        for chain_id in configured:
            if wanted is None or chain_id in wanted:
                by_chain.setdefault(chain_id, []).append((parsed, None))

    async def read(chain_id: int) -> list[ChainStatus]:
        account = client.account.deployment_on(chain_id).address
        entries = [_entry(pid, d, account) for pid, d in by_chain[chain_id]]
        return await _read_chain(client, chain_id, entries, fee)

    results = await asyncio.gather(*(read(c) for c in by_chain))
    return SessionStatus(chains=tuple(s for per_chain in results for s in per_chain))
