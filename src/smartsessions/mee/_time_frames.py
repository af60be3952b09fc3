"""The :class:`~smartsessions.errors.OutsideTimeFrameError` of a session whose time frame cannot hold, worded once for
both ways the SDK learns of it: its own reads before a quote (``use_permission``), and the node's refusal of a quote
(``SESSION_TIME_FRAME_NOT_OPEN`` / ``SESSION_TIME_FRAME_OVER``, through :mod:`._refusals`). Either way the bot gets
the same error, with the window and the chain's time in dates and unix seconds, and what to do: wait, or have the
owner grant a new permission."""

from __future__ import annotations

from ..errors import OutsideTimeFrameError
from ..policies import POLICY_NAMES
from ..policies.time_frame import TimeFrameState, utc_date
from .request import USEROP_MIN_EXEC_WINDOW_DURATION

__all__ = ["outside_time_frame_error"]


def _when(unix: int | None) -> str:
    if unix is None:
        return "(unknown)"
    date = utc_date(unix)
    return date if date.startswith("unix") else f"{date} (unix {unix})"


def outside_time_frame_error(
    state: TimeFrameState,
    *,
    permission_id: str | None,
    chain_id: int | None,
    policy: str | None,
    valid_after: int | None,
    valid_until: int | None,
    chain_time: int | None,
    target: str | None = None,
    selector: str | None = None,
    details: str | None = None,
) -> OutsideTimeFrameError:
    """The error of a time frame that opens only after the userOp's execution window (``"not_open"``) or closed
    before the chain's time (``"over"``). ``target`` and ``selector`` name the action the window is set on (None
    for a userOp policy's)."""
    pid = permission_id or "(unknown)"
    name = POLICY_NAMES.get((policy or "").lower(), "TimeFramePolicy")
    where = f" on chain {chain_id}" if chain_id is not None else ""
    scope = (
        f" on {target}.{selector}"
        if target is not None
        else " (the permission-wide one, a userOp policy: every userOp of the session)"
    )
    if state == "not_open":
        ahead = (
            f", {valid_after - chain_time} s from now"
            if valid_after is not None and chain_time is not None and valid_after >= chain_time
            else ""
        )
        short = (
            f"Permission {pid} cannot be used yet{where}: its {name}{scope} opens at {_when(valid_after)}{ahead}; "
            f"the chain's time is {_when(chain_time)}."
        )
        fix = (
            f"Fix: wait until {_when(valid_after)} on the chain's clock, then call again (a super-transaction waits "
            f"for a time frame that opens within its own execution window, {USEROP_MIN_EXEC_WINDOW_DURATION} s from "
            "the chain's time by default); or have the owner grant a permission whose time frame is open now."
        )
    else:
        ago = (
            f", {chain_time - valid_until} s ago"
            if valid_until is not None and chain_time is not None and chain_time >= valid_until
            else ""
        )
        short = (
            f"Permission {pid} can no longer be used{where}: its {name}{scope} closed at {_when(valid_until)}{ago}; "
            f"the chain's time is {_when(chain_time)}."
        )
        fix = "Fix: the time frame is over for good: have the owner grant a new permission."
    until = "with no end" if valid_until == 0 else f"to {_when(valid_until)}"
    meta = [
        f"Permission: {pid}",
        f"Policy: {name}" + (f" at {policy}" if policy else "") + scope,
        f"Time frame: from {_when(valid_after)} {until}, both inclusive",
        fix,
    ]
    return OutsideTimeFrameError(
        short,
        not_yet_open=state == "not_open",
        valid_after=valid_after,
        valid_until=valid_until,
        chain_time=chain_time,
        permission_id=permission_id,
        chain_id=chain_id,
        action_target=target,
        action_selector=selector,
        policy=policy,
        policy_name=name,
        rule=f"the time frame {'is not open yet' if state == 'not_open' else 'is over'}",
        meta_messages=meta,
        details=details,
    )
