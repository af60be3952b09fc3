"""A session's time frame, judged at ``/quote`` (step 2 of :mod:`.quoting`, simulation or not).

A session with a TimeFramePolicy whose window is not open was quoted, signed and accepted, and failed only at its
deadline with ``AA22 expired or not due``. The simulation could not see it, for two reasons:

* the EntryPoint checks a userOp's window in ``handleOps`` (``_validateAccountAndPaymasterValidationData``), after
  validation; ``EntryPointSimulations.simulateHandleOp`` does not: it returns the account's validation data, window
  included, and runs the call all the same;
* and that validation data carries no window anyway: the simulation signs with placeholders, SmartSessions runs every
  policy (the time frame's window is intersected into its answer) and then, the session key's signature failing,
  returns plain ``SIG_VALIDATION_FAILED`` (1), dropping the window. The node does not judge that answer (placeholder
  signatures always fail).

So the node reads the windows from the session itself, as the session details carry it (the session the permission
id is made from): the session's userOp policies, which every userOp of the session meets, and the policies of the
actions the userOp's calls run (:func:`~smartsessions.policies.time_frame.session_time_frames`). A userOp can execute
from its chain's time or its ``lowerBoundTimestamp``, whichever is later, to its ``upperBoundTimestamp`` (the
executor never submits it outside its own window), and the EntryPoint lets it through when ``validAfter <=
block.timestamp <= validUntil`` (0: no end). A time frame that opens within that span is fine: the executor waits for
it, as for the userOp's own window (``AA22`` is not a lasting failure there). One that opens only after the span ends
is refused as ``SESSION_TIME_FRAME_NOT_OPEN``; one that closed before the span starts as ``SESSION_TIME_FRAME_OVER``.

The chain's time is the node's clock of the chain (:meth:`.ChainClient.clock`: the timestamp its next block would
get), as for the quote's own windows. A permission enabled on chain with other policies than the details carry is
judged by the details (the policies are not part of the permission id); the chain still decides at execution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...account.calls import decode_execute
from ...errors import SmartSessionsError
from ...policies import POLICY_NAMES
from ...policies.time_frame import AppliedTimeFrame, TimeFrameState, session_time_frames, utc_date
from .errors import Code, Fact, NodeError
from .quote_checks import refused_op
from .quote_request import Draft

__all__ = ["check_time_frames"]


def check_time_frames(drafts: Sequence[Draft], clocks: Mapping[int, int]) -> None:
    """Raise a 400 for the first session userOp of the quote (in quote order) that a time frame of its session
    refuses at every time the userOp can execute (the module's docstring)."""
    for d in drafts:
        if not d.executed or d.session_details is None or d.chain_id not in clocks:
            continue
        try:
            calls = decode_execute(d.call_data)
        except SmartSessionsError:
            calls = []  # not an execute (no plain session userOp): only the userOp policies apply
        now = clocks[d.chain_id]
        session = d.session_details.enable_session_data.enable_session.session_to_enable
        for applied in session_time_frames(session, calls):
            state = applied.window.judge(earliest=max(now, d.lower), latest=d.upper)
            if state is not None:
                raise _refusal(d, applied, state, now)


def _refusal(d: Draft, applied: AppliedTimeFrame, state: TimeFrameState, now: int) -> NodeError:
    assert d.session_details is not None
    pid = "0x" + bytes(d.session_details.permission_id).hex()
    name = POLICY_NAMES.get(applied.policy.lower(), "TimeFramePolicy")
    after, until = applied.window.valid_after, applied.window.valid_until
    scope = (
        f"on {applied.target}.{applied.selector}"
        if applied.target is not None
        else "as a userOp policy (every userOp of the session)"
    )
    facts: dict[str, Fact] = refused_op(d).facts() | {
        "permissionId": pid,
        "policy": applied.policy,
        "policyName": name,
        "target": applied.target,
        "selector": applied.selector,
        "validAfter": after,
        "validUntil": until,
        "chainTime": now,
        "lowerBoundTimestamp": d.lower,
        "upperBoundTimestamp": d.upper,
    }
    head = f"{d.where} (chain {d.chain_id}): permission {pid}"
    policy = f"its {name} {applied.policy} {scope}"
    if state == "not_open":
        return NodeError(
            400,
            f"{head} cannot be used yet: {policy} opens at {after} ({utc_date(after)}), after this userOp's "
            f"execution window ends at {d.upper}; the chain's time is {now} ({utc_date(now)}), {after - now} s "
            "before it opens. The EntryPoint would refuse the userOp (AA22 expired or not due). Ask for a quote again "
            "once the time frame is about to open, with an execution window that reaches it",
            code=Code.SESSION_TIME_FRAME_NOT_OPEN,
            facts=facts,
        )
    start = max(now, d.lower)
    since = f"the chain's time is {now} ({utc_date(now)})" + (
        f" and this userOp's execution window opens at {d.lower}" if d.lower > now else ""
    )
    return NodeError(
        400,
        f"{head} can no longer be used: {policy} closed at {until} ({utc_date(until)}), {start - until} s before "
        f"this userOp could execute; {since}. The EntryPoint would refuse the userOp (AA22 expired or not due). "
        "Have the account's owner grant a new permission",
        code=Code.SESSION_TIME_FRAME_OVER,
        facts=facts,
    )
