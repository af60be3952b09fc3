"""A dry run of a session's use: what the chains would say to ``use_permission`` with these instructions, now, asked
of the chains themselves, with no fee and no MEE node.

:func:`dry_run_use` makes the checks ``use_permission`` makes before it asks for a quote (the session key, the
permission's state, its time frames: :mod:`.use`), then builds each userOp the use would run (the same call data,
nonce lane of SmartSessions, session signature layout and mode), signs it locally with the session key (a
super-transaction of one userOp: its Merkle root is its ``userOpHash``), and runs ``EntryPoint.handleOps`` on it in
one ``eth_simulateV1`` block per chain, on the chain's latest state, at a gas price of 0 (so that nothing has to pay
for it), on a nonce lane started by a state override at a sequence number the real lane can never reach (below). The
userOps of one chain run in order, each on the
state the one before it left: their policies count as they would on chain. That run rides in the JSON-RPC batch of
the early decision's reads: one round trip per chain, the chains at once. The RPC endpoint must serve
``eth_simulateV1`` (anvil, geth, reth and most providers do).

The signed userOps never run for real. They are signed by the session key and sent to the RPC endpoint, so anyone
who sees them (the provider) could pass them to ``handleOps`` on the real chain, at a gas price of 0, and the calls
would run without the bot having decided to. So their nonces are not ones the chain can accept: the state override
starts the lane at sequence ``2**63`` (:data:`DRY_RUN_SEQUENCE`) and the userOps carry that sequence; on the chain
the lane is at 0, each userOp moves it by one, and the EntryPoint refuses any other (``AA25 invalid account nonce``).

The verdict is the EntryPoint's: SmartSessions' validation runs in full (every action policy, the permission-wide
userOp policies, the enable data in ENABLE_AND_USE), and a refusal reverts ``handleOps`` with ``FailedOp`` /
``FailedOpWithRevert``. That revert is read by the same machinery that reads a node's refusal
(:func:`~smartsessions.mee._refusals.explain_refusal`), so a refused dry run holds the error a real use raises: a
:class:`~smartsessions.errors.PolicyViolationError` naming the policy and the rule, a
:class:`~smartsessions.errors.PolicyLimitError`, :class:`~smartsessions.errors.ActionNotPermittedError`,
:class:`~smartsessions.errors.OutsideTimeFrameError`, :class:`~smartsessions.errors.SessionNotEnabledError`, ...

The fee payment. A use paid in a fee token runs one more userOp first, on the fee chain: the session's
``feeToken.transfer`` of the fee to the node. It is a userOp of the session, so it counts toward the permission-wide
userOp policies (a usage limit among ``user_op_policies`` counts it as a use, a time frame among them meets it) and
toward the fee token's own action policies (the payment action's cap, a spending limit on ``transfer``). Without
``fee_token`` the dry run judges a sponsored use, which runs exactly the instructions' userOps. With ``fee_token`` it
judges a paid one: the payment userOp runs first, as ``feeToken.transfer(node, fee_amount)`` to the client's node
(:attr:`~smartsessions.mee.client.MeeClient.node_address`, known from ``/info``, no request). The fee itself is the
node's price, which only a quote gives: ``fee_amount`` is the caller's estimate (a recent quote's, or 0, which still
counts the payment as a use and meets its time frames, but spends nothing of a spending limit). A ``fee_amount``
beyond what the payment action still allows is refused as the chain refuses it: a
:class:`~smartsessions.errors.PolicyViolationError` naming the fee payment and its rule (a real use is refused
earlier, by the node, with :class:`~smartsessions.errors.FeeAboveCapError` when the quoted fee is beyond it).

A call that the session allows but that reverts with the chain's state now (a transfer beyond the balance) is
``allowed`` with ``call_reverted`` set: the session is not what refuses it, and a real use's quote would be refused
by the node's simulation (:class:`~smartsessions.errors.UserOpRefusedError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_abi.abi import decode as abi_decode

from .._coerce import keccak, to_uint
from ..account.calls import Call
from ..account.instructions import Instruction, to_instruction
from ..account.multichain import QuoteReads
from ..encoding.abi import abi_encode, selector
from ..encoding.session import SmartSessionMode
from ..encoding.signature import encode_mee_short_signature, encode_smart_session_signature
from ..encoding.userop import PackedUserOperation, get_nonce_key, get_user_op_hash, to_nonce
from ..errors import (
    InvalidInputError,
    PolicyViolationError,
    RpcError,
    SessionStateError,
    SmartSessionsError,
    UserOpRefusedError,
)
from ..mee._refusal_model import OpContext
from ..mee._refusals import explain_refusal
from ..mee.client import MeeClient
from ..mee.request import (
    NONCE_LANES,
    SmartSessionModeName,
    first_mode_per_chain,
    session_details_by_chain,
    to_fee_token,
    to_session_mode,
)
from ..policies.payment import TRANSFER_SELECTOR
from ..signer import apersonal_sign
from ..versions import ENTRY_POINT_V07_ADDRESS, SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo
from ..wire.session import SessionDetails
from .use import (
    _check_redeemer,
    _early_decision,
    _session_ops,
    _SessionOp,
    check_enable_mode,
    details_list,
    plain_instructions,
)

__all__ = ["DryRunResult", "DryRunUserOp", "dry_run_use"]

_PACKED = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"
_HANDLE_OPS = selector(f"handleOps({_PACKED}[],address)")
_FAILED_OP = selector("FailedOp(uint256,string)")
_FAILED_OP_WITH_REVERT = selector("FailedOpWithRevert(uint256,string,bytes)")
_REVERT_REASON_TOPIC = keccak(b"UserOperationRevertReason(bytes32,address,uint256,bytes)")
#: Limits of the userOps run: generous, so that the verdict is never a gas limit's.
_GAS_LIMIT = 5_000_000
_CALL_GAS = 30_000_000
_NONCE_SLOT = 1  # EntryPoint v0.7: nonceSequenceNumber, mapping(address => mapping(uint192 => uint256))
#: The sequence number the dry run's nonce lane starts at (by a state override) and its userOps carry: one no lane on
#: chain can reach (each userOp moves it by one), so a dry run's signed userOp can never be executed for real.
DRY_RUN_SEQUENCE = 2**63
#: Refusals a real use raises as the session's verdict (anything else, e.g. a malformed input, is raised as it is).
_VERDICTS = (PolicyViolationError, SessionStateError)


@dataclass(frozen=True)
class DryRunUserOp:
    """One userOp of the dry run: its chain and calls, and what the EntryPoint did with it. ``error`` is the typed
    refusal (None when validation passed, or when it did not run because an earlier check refused); ``call_reverted``
    is set when validation passed but the call itself reverts (``revert_data``, raw)."""

    chain_id: int
    calls: tuple[Call, ...]
    error: SmartSessionsError | None = None
    call_reverted: bool = False
    revert_data: bytes | None = None


@dataclass(frozen=True)
class DryRunResult:
    """The verdict of :func:`dry_run_use`. ``allowed``: the session lets these calls run now (as a sponsored use:
    see the module's note on the fee payment); otherwise ``error`` is the typed error the real use would raise, and
    :meth:`raise_for_refusal` raises it. ``user_ops``: per userOp, in the order a use runs them (empty when a check
    before the chains' run refused)."""

    error: SmartSessionsError | None
    user_ops: tuple[DryRunUserOp, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.error is None

    @property
    def call_reverted(self) -> bool:
        """The session allows the calls, but one of them reverts with the chains' state now."""
        return any(op.call_reverted for op in self.user_ops)

    def raise_for_refusal(self) -> None:
        """Raise :attr:`error` (the refusal), if there is one."""
        if self.error is not None:
            raise self.error


def _wheres(ops: Sequence[_SessionOp]) -> list[str]:
    """Each userOp as a quote names it (``paymentInfo``, then ``userOps[0]``, ...)."""
    out, k = [], 0
    for op in ops:
        out.append("paymentInfo" if op.payment else f"userOps[{k}]")
        k += 0 if op.payment else 1
    return out


def _failure(data: bytes) -> tuple[int, str] | None:
    """``(userOp index, reason with the inner revert data in hex)`` of a ``FailedOp`` / ``FailedOpWithRevert``."""
    try:
        if data[:4] == _FAILED_OP:
            index, reason = abi_decode(["uint256", "string"], data[4:])
            return int(index), str(reason)
        if data[:4] == _FAILED_OP_WITH_REVERT:
            index, reason, inner = abi_decode(["uint256", "string", "bytes"], data[4:])
            return int(index), f"{reason} 0x{bytes(inner).hex()}"
    except Exception:  # revert data that does not decode: not a refusal the EntryPoint names
        return None
    return None


def _revert_reason(logs: Sequence[Mapping[str, Any]]) -> bytes | None:
    """The ``UserOperationRevertReason`` of the EntryPoint's logs (its call reverted), or None."""
    for log in logs:
        topics = log.get("topics") or []
        if str(log.get("address", "")).lower() != ENTRY_POINT_V07_ADDRESS.lower() or not topics:
            continue
        if bytes.fromhex(str(topics[0])[2:]) == _REVERT_REASON_TOPIC:
            data = bytes.fromhex(str(log.get("data", "0x"))[2:])
            return bytes(abi_decode(["uint256", "bytes"], data)[1])
    return None


def _unexplained(message: str, chain_id: int, where: str) -> SmartSessionsError:
    """A validation failure no refusal of the session explains (a signature or nonce the EntryPoint refused)."""
    return UserOpRefusedError(
        f"{where} (chain {chain_id}): refused by the EntryPoint in the dry run: {message}",
        status=0,
        body=None,
        code="USER_OP_VALIDATION_FAILED",
        facts={"chainId": chain_id, "reason": message},
    )


_Op = tuple[str, _SessionOp, SessionDetails, SmartSessionMode]  # (where, as a quote names it; userOp; session; mode)


def _nonce_override(sender: str, key: int) -> dict[str, str]:
    """``stateDiff`` of the EntryPoint that starts the nonce lane ``key`` of ``sender`` at
    :data:`DRY_RUN_SEQUENCE` (``nonceSequenceNumber``, slot 1 of EntryPoint v0.7): the userOps carry nonces known
    before anything is read, so that their run goes in the same batch as the early decision's reads, and nonces the
    real chain refuses."""
    outer = keccak(abi_encode(["address", "uint256"], [sender, _NONCE_SLOT], what="slot"))
    slot = keccak(abi_encode(["uint256", "bytes32"], [key, outer], what="slot"))
    return {"0x" + slot.hex(): "0x" + DRY_RUN_SEQUENCE.to_bytes(32, "big").hex()}


async def _simulation(client: MeeClient, chain_id: int, ops: Sequence[_Op]) -> tuple[str, list[Any]]:
    """The ``eth_simulateV1`` request that runs the userOps of one chain, signed by the session key, each through
    ``handleOps`` in order, in one simulated block on the latest state."""
    deployment = client.account.deployment_on(chain_id)
    signer = client.account.signer
    lane = NONCE_LANES.next(deployment.address, chain_id)
    key = get_nonce_key(validator=SMART_SESSIONS_ADDRESS, now_ms=lane)
    calls = []
    for k, (_where, op, details, mode) in enumerate(ops):
        unsigned = PackedUserOperation(
            sender=deployment.address,
            nonce=to_nonce(key, DRY_RUN_SEQUENCE + k),
            call_data=bytes(Instruction(chain_id=chain_id, calls=op.calls).call_data),
            call_gas_limit=_GAS_LIMIT,
            verification_gas_limit=_GAS_LIMIT,
            pre_verification_gas=0,
            max_fee_per_gas=0,
            max_priority_fee_per_gas=0,
        )
        user_op_hash = bytes(get_user_op_hash(unsigned, chain_id=chain_id))
        short = encode_mee_short_signature(
            super_tx_hash=user_op_hash, proof=[], signature=await apersonal_sign(signer, user_op_hash)
        )
        signature = encode_smart_session_signature(
            mode=mode,
            permission_id=details.permission_id,
            signature=short,
            enable_session_data=None if mode is SmartSessionMode.USE else details.enable_session_data,
        )
        signed = unsigned.model_copy(update={"signature": bytes(signature)})
        data = _HANDLE_OPS + abi_encode([f"{_PACKED}[]", "address"], [[signed.to_abi()], signer.address], what="op")
        calls.append(
            {"from": signer.address, "to": ENTRY_POINT_V07_ADDRESS, "gas": hex(_CALL_GAS), "data": "0x" + data.hex()}
        )
    overrides = {ENTRY_POINT_V07_ADDRESS: {"stateDiff": _nonce_override(deployment.address, key)}}
    params = {"blockStateCalls": [{"stateOverrides": overrides, "calls": calls}], "validation": False}
    return "eth_simulateV1", [params, "latest"]


def _verdicts(
    client: MeeClient, chain_id: int, ops: Sequence[_Op], answer: Any, fee: FeeTokenInfo | None = None
) -> list[DryRunUserOp]:
    """What the EntryPoint did with each userOp of one chain (``answer``: its ``eth_simulateV1`` result)."""
    sender = client.account.deployment_on(chain_id).address
    fee_token = fee.address if fee is not None else None
    results = list(answer[0]["calls"]) if isinstance(answer, list) and answer else []
    if len(results) != len(ops):
        raise RpcError(f"eth_simulateV1 on chain {chain_id} answered {len(results)} results for {len(ops)} calls")
    out: list[DryRunUserOp] = []
    for (where, op, details, mode), result in zip(ops, results, strict=True):
        if result.get("status") == "0x1":
            reverted = _revert_reason(result.get("logs") or [])
            out.append(DryRunUserOp(chain_id, op.calls, call_reverted=reverted is not None, revert_data=reverted))
            continue
        data = bytes.fromhex(str(result.get("returnData") or "0x")[2:])
        failure = _failure(data)
        if failure is None:
            message = str((result.get("error") or {}).get("message") or f"reverted with 0x{data.hex()}")
            out.append(DryRunUserOp(chain_id, op.calls, error=_unexplained(message, chain_id, where)))
            break
        _op_index, reason = failure
        if reason.startswith("AA22"):  # a time frame not open yet: the early check found it opens in the window
            out.append(DryRunUserOp(chain_id, op.calls))
            continue
        message = f"{where} (chain {chain_id}): refused in simulation: {reason}"
        paid = fee_token if op.payment else None
        context = OpContext(where, chain_id, op.calls, details.model_copy(update={"mode": mode}), paid, sender)
        error = explain_refusal(message, {where: context})
        out.append(DryRunUserOp(chain_id, op.calls, error=error or _unexplained(reason, chain_id, where)))
        break  # the userOps after it would run on a state this one never left
    return out


async def dry_run_use(
    client: MeeClient,
    *,
    session_details: Sequence[SessionDetails] | SessionDetails,
    instructions: Sequence[Instruction | dict[str, Any]],
    mode: SmartSessionModeName | SmartSessionMode = "USE",
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
    fee_amount: int = 0,
    batch: bool = True,
) -> DryRunResult:
    """Would ``use_permission(session_details=..., mode=..., instructions=...)`` be allowed now? Asked of the chains
    (``EntryPoint.handleOps`` of the session's userOps, signed by this client's session key, in ``eth_simulateV1``),
    with no fee and no node; nothing is sent. Returns the verdict: ``allowed``, or ``error``, the typed refusal the
    real use would raise (``result.raise_for_refusal()`` raises it). Without ``fee_token``, as a sponsored use; with
    it, as a use paid in that token, its payment of ``fee_amount`` (an estimate: only a quote knows the fee) run
    first, where it counts toward the permission-wide limits and the fee token's limits (see the module's note).

    Malformed input (composable calls, an unknown mode) raises :class:`~smartsessions.errors.InvalidInputError`."""
    session_mode = to_session_mode(mode, field="mode")
    details = details_list(session_details)
    check_enable_mode(session_mode, details, mode)
    plain = plain_instructions([to_instruction(i) for i in instructions])
    if not plain:
        raise InvalidInputError("instructions", "is empty", fix="pass the calls the session would make")
    fee = None if fee_token is None else to_fee_token(fee_token)
    ops = _session_ops(plain, fee, batch)
    if fee is not None:  # the payment as the node asks for it: the fee, to the node
        amount = to_uint(fee_amount, field="fee_amount")
        transfer = TRANSFER_SELECTOR + abi_encode(["address", "uint256"], [client.node_address, amount], what="fee")
        ops[0] = replace(ops[0], calls=(Call(to=fee.address, data=transfer),))
    wheres = _wheres(ops)
    try:
        _check_redeemer(client, details)
        preflight = _early_decision(client, details, session_mode, ops)
    except _VERDICTS as exc:
        return DryRunResult(error=exc)
    by_chain = session_details_by_chain(details)
    modes = first_mode_per_chain([op.chain_id for op in ops], session_mode)
    per_chain: dict[int, list[_Op]] = {}
    for where, op, op_mode in zip(wheres, ops, modes, strict=True):
        per_chain.setdefault(op.chain_id, []).append((where, op, by_chain[op.chain_id], op_mode))

    async def ask(chain_id: int) -> QuoteReads:
        """The early decision's reads and the run of the chain's userOps, in one batch (one round trip)."""
        simulation = await _simulation(client, chain_id, per_chain[chain_id])
        extra = [*preflight.calls[chain_id], simulation]
        return await client.account.deployment_on(chain_id).quote_reads([], extra)

    answers = dict(zip(per_chain, await asyncio.gather(*(ask(c) for c in per_chain)), strict=True))
    try:
        preflight.check({c: replace(a, extra=a.extra[:-1]) for c, a in answers.items()})
    except _VERDICTS as exc:
        return DryRunResult(error=exc)
    runs = [_verdicts(client, c, per_chain[c], answers[c].extra[-1], fee) for c in per_chain]
    user_ops = tuple(op for run in runs for op in run)
    error = next((op.error for op in user_ops if op.error is not None), None)
    return DryRunResult(error=error, user_ops=user_ops)
