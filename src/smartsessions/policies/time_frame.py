"""TimeFramePolicy: the permission is valid only between ``valid_after`` and ``valid_until`` (unix seconds).

The policy answers with ERC-4337 validation data, so the EntryPoint itself refuses the userOp outside the window
(``AA22 expired or not due``), after validation, and so after the node has taken the userOp and the session key has
signed it. The EntryPoint (v0.7, ``_getValidationData``) lets a userOp through when ``validAfter <= block.timestamp
<= validUntil``, both bounds inclusive, a ``validUntil`` of 0 meaning no end; the policy (contracts/policies/
TimeFramePolicy.sol) only hands the window on, and SmartSessions intersects the windows of all the policies that ran
(the latest ``validAfter``, the earliest ``validUntil``). Its ERC-1271 check is the one place where the end is
exclusive; userOps never go through it.

So that a window which cannot hold is told before anything is signed, this module also reads the windows back out of
a session (:func:`session_time_frames`: those of the userOp policies, which apply to every userOp of the session, and
those of the actions a userOp's calls run) and judges them against the times a userOp can still execute
(:meth:`TimeFrame.judge`). The SDK (``use_permission``) and the devnet node (at ``/quote``) both judge with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from .._coerce import to_address, to_uint
from ..account.calls import Call
from ..encoding.session import (
    FALLBACK_ACTIONID,
    FALLBACK_ACTIONID_SMARTSESSION_CALL,
    PolicyData,
    Session,
    get_action_id,
)
from ..errors import EncodingError, InvalidInputError
from ..versions import SMART_SESSIONS_ADDRESS
from ._built import built_policy

__all__ = [
    "TIME_FRAME_POLICY_ADDRESS",
    "AppliedTimeFrame",
    "TimeFrame",
    "TimeFrameState",
    "decode_time_frame",
    "get_time_frame_policy",
    "session_time_frames",
    "utc_date",
]

TIME_FRAME_POLICY_ADDRESS = "0x0000000000D30f611fA3bf652ac6879428586930"
_VALUE_SELECTOR = bytes.fromhex("ffffffff")  # SmartSessions' action selector of a call with under 4 bytes of data

#: Why a window does not let a userOp through: it opens after the userOp's last chance, or closed before its first.
TimeFrameState = Literal["not_open", "over"]


def get_time_frame_policy(*, valid_until: object, valid_after: object = 0) -> PolicyData:
    """``initData = abi.encodePacked(uint48 validUntil, uint48 validAfter)``; ``valid_until = 0`` means no end."""
    until = to_uint(valid_until, field="valid_until", bits=48)
    after = to_uint(valid_after, field="valid_after", bits=48)
    if until != 0 and after > until:
        raise InvalidInputError(
            "valid_after",
            f"is after valid_until ({after} > {until}); the policy contract refuses such a window",
            fix="swap the two values, or pass valid_until=0 for a window without an end",
        )
    return built_policy(TIME_FRAME_POLICY_ADDRESS, until.to_bytes(6, "big") + after.to_bytes(6, "big"))


@dataclass(frozen=True)
class TimeFrame:
    """A TimeFramePolicy's window, in unix seconds: ``valid_after`` and ``valid_until`` are both inclusive, as the
    EntryPoint checks them; ``valid_until`` 0 is no end."""

    valid_after: int
    valid_until: int

    def contains(self, time: int) -> bool:
        """Whether a userOp in a block of timestamp ``time`` passes the EntryPoint's check of this window."""
        return self.valid_after <= time and (self.valid_until == 0 or time <= self.valid_until)

    def judge(self, *, earliest: int, latest: int) -> TimeFrameState | None:
        """Whether a userOp that can execute at any time from ``earliest`` to ``latest`` (both inclusive: the chain's
        time or the userOp's ``lowerBoundTimestamp``, whichever is later, to its ``upperBoundTimestamp``) can pass
        this window: ``"not_open"`` when it opens only after ``latest``, ``"over"`` when it closed before
        ``earliest``, None when some time of the two is inside it (the node then waits for it, as it waits for the
        userOp's own window)."""
        if self.valid_after > latest:
            return "not_open"
        if self.valid_until != 0 and self.valid_until < earliest:
            return "over"
        return None


def decode_time_frame(init_data: object) -> TimeFrame:
    """The window of a TimeFramePolicy's ``initData``: the contract reads ``uint96(bytes12(initData[0:12]))``,
    ``validUntil`` in its high 48 bits, ``validAfter`` in its low 48; bytes after the 12th are ignored, fewer than 12
    make ``initializeWithMultiplexer`` revert (:class:`~smartsessions.errors.EncodingError` here)."""
    if not isinstance(init_data, (bytes, bytearray, memoryview)):
        raise InvalidInputError("init_data", "expected bytes", value=init_data)
    raw = bytes(init_data)
    if len(raw) < 12:
        raise EncodingError(
            f"TimeFramePolicy init data is {len(raw)} bytes; it needs 12 (uint48 validUntil, uint48 validAfter)."
        )
    return TimeFrame(valid_after=int.from_bytes(raw[6:12], "big"), valid_until=int.from_bytes(raw[:6], "big"))


def utc_date(unix: int) -> str:
    """A window's bound as messages show it: ``2026-12-05 10:23:24 UTC``; a time no date can say (a uint48 reaches
    past the year 9999) as ``unix N``."""
    try:
        return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):
        return f"unix {unix}"


@dataclass(frozen=True)
class AppliedTimeFrame:
    """A TimeFramePolicy of a session that a userOp meets: its ``window`` and ``policy`` address, and where the
    session sets it: on the action a call runs (``target``, ``selector`` as ``0x`` hex), or as a userOp policy (both
    None), which every userOp of the session meets."""

    window: TimeFrame
    policy: str
    target: str | None = None
    selector: str | None = None


def _is_time_frame(p: PolicyData) -> bool:
    return p.policy.lower() == TIME_FRAME_POLICY_ADDRESS.lower()


def _frames(policies: Iterable[PolicyData], target: str | None, selector: str | None) -> list[AppliedTimeFrame]:
    out = []
    for p in policies:
        if not _is_time_frame(p):
            continue
        try:
            window = decode_time_frame(bytes(p.init_data))
        except EncodingError:
            continue  # SmartSessions cannot enable it (the policy's initialisation reverts): the chain says so
        if window.valid_after == 0 and window.valid_until == 0:
            continue  # not a window: the policy refuses it as not initialised, which simulation reports
        out.append(AppliedTimeFrame(window, to_address(p.policy, field="policy"), target, selector))
    return out


def _action_policies(session: Session, call: Call) -> list[PolicyData]:
    """The policies SmartSessions runs for one call of an ERC-7579 ``execute``: those of the call's own action id
    (target, selector; the selector of a call with under 4 bytes of data is ``0xffffffff``), or, when the session
    sets none, those of the fallback action; a call to SmartSessions itself runs its dedicated fallback action."""
    data = bytes(call.data)
    sel = data[:4] if len(data) >= 4 else _VALUE_SELECTOR
    by_id: dict[bytes, list[PolicyData]] = {}
    for action in session.actions:
        key = bytes(get_action_id(target=action.action_target, selector=action.action_target_selector))
        by_id.setdefault(key, []).extend(action.action_policies)
    if call.to.lower() == SMART_SESSIONS_ADDRESS.lower():
        return by_id.get(bytes(FALLBACK_ACTIONID_SMARTSESSION_CALL), [])
    own = by_id.get(bytes(get_action_id(target=call.to, selector=sel)), [])
    return own or by_id.get(bytes(FALLBACK_ACTIONID), [])


def session_time_frames(session: Session, calls: Sequence[Call]) -> list[AppliedTimeFrame]:
    """The TimeFramePolicy windows a userOp of ``session`` meets when it makes ``calls`` (an ``execute``'s calls):
    the session's userOp policies first, then each call's action, in call order (one entry per call and policy). A
    TimeFramePolicy whose init data is no window (shorter than 12 bytes, or both bounds 0) is left out: the chain
    refuses it when enabling the session or running the policy, and the simulation reports that."""
    out = _frames(session.user_op_policies, None, None)
    for call in calls:
        data = bytes(call.data)
        selector = "0x" + (data[:4] if len(data) >= 4 else _VALUE_SELECTOR).hex()
        out.extend(_frames(_action_policies(session, call), to_address(call.to, field="target"), selector))
    return out
