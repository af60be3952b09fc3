"""Executing accepted super-transactions: one ``handleOps`` bundle per chain and round, from the node's EOA.

Per super-transaction (one asyncio task each), every chain at once (Biconomy's node checks the payment userOp at
``/exec``, then schedules every chain without waiting for the payment to be mined; so does this one). Per chain, the
userOps wait for their conditions, as on Biconomy's node, in rounds:

1. the chain's clock (the timestamp of its next block) decides what is due: a userOp past its ``upperBoundTimestamp``
   is FAILED (``Execution deadline limit exceeded``, with the reason its last simulation gave); the userOps whose
   ``lowerBoundTimestamp`` has come, taken in quote order up to the first one still waiting for its window, are due;
2. the due userOps, signed, are simulated in order on the chain's current state (``simulateHandleOp`` in one
   ``eth_simulateV1`` block, :func:`.simulation.simulate_user_ops`), each on top of the ones before it. The longest
   run from the first that passes (validation and call) is submitted; the first one that does not pass, and the ones
   after it, wait and are simulated again after the userOp's ``executionSimulationRetryDelay`` (or the node's
   ``simulation_retry_delay``), until they pass or their window ends. So a userOp that needs an effect from
   elsewhere (funds bridged from another chain, an earlier userOp of another super-transaction) runs once the effect
   has landed. A signature the account refuses (``AA24``, or the validator's SIG_VALIDATION_FAILED) or an account
   that cannot be created (``AA1x``) does not mend with time: that userOp is FAILED at once;
3. **clean-up**: on a chain that carries a clean-up userOp (``isCleanUpUserOp``), the other userOps are forced
   through in the last :data:`FORCE_WINDOW` seconds of their window even while their call still reverts (they are
   MINED_FAIL then, and the nonce they use lets the clean-up run), as Biconomy's node does. A userOp whose validation
   fails is never forced: it would revert the whole bundle;
4. **bundles**: the userOps that passed go to the chain's bundler (:class:`_Bundler`, one per chain, as Biconomy's
   node batches completed simulations into blocks), which puts everything waiting, from any super-transaction, into
   one ``handleOps`` (up to a gas cap): one ``eth_call`` of the bundle first, in one round trip with the nonce and
   the fees (a ``FailedOp`` there takes the culprit's userOps out: a lasting one fails it, any other waits for the
   next round, and the rest is checked again); then sign the EIP-1559 transaction locally (the nonce: the chain's
   pending count, or past the highest nonce this node ever signed, whichever is larger), **store the raw
   transaction** (one record per super-transaction it carries), mark the userOps MINING with its hash, and only then
   broadcast. While one bundle is prepared, the next fills up; bundles already sent settle on their own;
5. poll the receipt (at once, then after 2 ms, twice as long each time up to ``poll_interval``); each userOp's
   ``UserOperationEvent`` says MINED_SUCCESS or MINED_FAIL (with the decoded ``UserOperationRevertReason``), and is
   recorded with its ``actualGasCost``, the block's number and timestamp (the chain's time at broadcast was recorded
   with the bundle), for every super-transaction of the bundle in one store transaction. A mined outcome is final
   here; how many blocks confirm it (``confirmations``, ``isConfirmed``) the explorer counts against the chain's head
   when asked.

The store's writes run on a worker thread (each commit waits for the disk), so the event loop goes on serving;
only a store read it makes meanwhile waits for that commit.

A chain that does not answer (refused, hung, restarting) does not end anything: its rounds pause 0.5 s, doubling to
10 s, until it answers; then what was broadcast is settled, and a userOp whose window ended meanwhile is FAILED with
the outage as its reason. The other chains go on meanwhile.

Restart: :meth:`Executor.recover` picks up every unfinished super-transaction. A stored bundle is never signed
again: the stored bytes are re-broadcast (a node rejecting them as known, or as an already used nonce, is fine) and
the receipt is awaited under the same hash; the userOps it did not carry go on waiting. So a userOp is submitted at
most once, and an accepted super-transaction is finished (or failed) whatever the moment the node died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ...encoding.userop import PackedUserOperation
from ...errors import RpcError
from ...rpc import RpcRevertError, quantity
from ...versions import ENTRY_POINT_V07_ADDRESS
from ...wire.mee import GetQuotePayload, MeeFilledUserOpDetails, from_wire
from ..entrypoint import UserOpResult, encode_handle_ops, max_gas_limit, parse_user_op_results
from ._chain import ChainClient
from .config import NodeConfig
from .simulation import SimulatedOp, describe_failed_op, failed_op_index, simulate_user_ops
from .store import BundleRecord, Outcome, Store, SuperTxRecord

__all__ = ["FINAL_STATUSES", "FORCE_WINDOW", "Executor"]

log = logging.getLogger("smartsessions.node")

FINAL_STATUSES = frozenset({"MINED_SUCCESS", "MINED_FAIL", "FAILED"})
#: Seconds before the end of its window when a userOp on a chain with a clean-up userOp is forced through (Biconomy's
#: node: ``USEROP_SAFE_WINDOW_BEFORE_EXEC_END``, 45 s by default).
FORCE_WINDOW = 45
_BUNDLE_OVERHEAD_GAS = 150_000
_MAX_BUNDLE_GAS = 29_000_000
_ALREADY_SENT = ("already known", "nonce too low", "already imported", "known transaction", "replacement")
_SIG_FAILED = 1  # the aggregator field of validationData: the validator refused the signature
_ADDRESS_MASK = (1 << 160) - 1
_FIRST_RECEIPT_POLL = 0.002  # seconds after the first look (at once); doubled up to the configured poll interval
_MIN_OUTAGE_PAUSE = 0.5  # seconds between tries of a chain that does not answer, doubled up to the maximum
_MAX_OUTAGE_PAUSE = 10.0


def _lasting(reason: str) -> bool:
    """True for a failure that waiting cannot mend: a refused signature, an account that cannot be created."""
    return reason.startswith(("AA24", "AA1", "signature: "))


def _failure(result: SimulatedOp) -> str | None:
    """Why a simulated userOp would not succeed now (None if it would)."""
    if result.error is not None:
        return result.error
    if result.account_validation_data & _ADDRESS_MASK == _SIG_FAILED:
        return "signature: the account's validator refuses the signature (SIG_VALIDATION_FAILED)"
    if result.paymaster_validation_data & _ADDRESS_MASK:
        return "AA34 the node paymaster refuses the userOp"
    if result.reverted:
        return f"execution reverted: {result.revert_reason or 'the call reverts'}"
    return None


@dataclass
class _ChainRun:
    """One chain of one super-transaction: its userOps (quote order), their signatures, and why each last failed."""

    record: SuperTxRecord
    quote: GetQuotePayload
    chain: ChainClient
    indices: list[int]
    last_reason: dict[int, str] = field(default_factory=dict)
    #: The raw revert data of each one's last failed simulation (the explorer gives its code and facts from it).
    last_failure: dict[int, bytes] = field(default_factory=dict)

    @property
    def ops(self) -> dict[int, MeeFilledUserOpDetails]:
        return {k: self.quote.user_ops[k] for k in self.indices}

    @property
    def signatures(self) -> dict[int, str]:
        return {op.index: op.signature or "0x" for op in self.record.user_ops}

    @property
    def with_clean_up(self) -> bool:
        return any(self.quote.user_ops[k].is_clean_up_user_op for k in self.indices)


@dataclass
class _Part:
    """The userOps of one super-transaction that passed their simulation in a round, for the chain's next bundle.
    ``done`` is True once they were bundled and settled (or one failed for good), False if they were not sent and
    wait for their next round."""

    run: _ChainRun
    indices: list[int]
    packed: list[PackedUserOperation]
    now: int
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def gas(self) -> int:
        return sum(max_gas_limit(op) for op in self.packed)


class _Bundler:
    """One chain's bundles, from the node's one EOA: the parts waiting when a bundle is started all go into it, so
    a busy chain gets few, full bundles (Biconomy's node batches the same way: what finished its simulation while
    the previous block was built goes into the next). Bundles go out one at a time, in nonce order; each settles in
    a task of its own while the next one is prepared."""

    def __init__(self, executor: Executor, chain: ChainClient) -> None:
        self._executor = executor
        self._chain = chain
        self._queue: list[_Part] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()

    async def submit(self, part: _Part) -> bool:
        self._queue.append(part)
        self._wake.set()
        if self._task is None or self._task.done():
            name = f"bundler {self._chain.chain_id}"
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=name)
        return await asyncio.shield(part.done)

    async def aclose(self) -> None:
        tasks = [t for t in (self._task, *self._settling) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                parts = self._take()
                try:
                    await self._send(parts)
                except Exception as exc:  # an outage (RpcError) or a fault: the parts' runs decide what next
                    _resolve(parts, exc)

    def _take(self) -> list[_Part]:
        """The waiting parts, in arrival order, up to the bundle's gas cap (a part too big alone still goes)."""
        taken: list[_Part] = []
        gas = _BUNDLE_OVERHEAD_GAS
        while self._queue and (not taken or gas + self._queue[0].gas <= _MAX_BUNDLE_GAS):
            part = self._queue.pop(0)
            gas += part.gas
            taken.append(part)
        return taken

    async def _send(self, parts: list[_Part]) -> None:
        ex, chain = self._executor, self._chain
        sender = ex.account.address
        while True:
            packed = [op for part in parts for op in part.packed]
            data = encode_handle_ops(packed, sender)
            gas = min(_MAX_BUNDLE_GAS, _BUNDLE_OVERHEAD_GAS + sum(part.gas for part in parts))
            now = max(part.now for part in parts)
            check, pending, fees = await chain.bundle_check(
                ENTRY_POINT_V07_ADDRESS,
                data,
                sender=sender,
                gas=gas,
                at_time=now,
                priority_fee=ex.config.max_priority_fee_per_gas,
            )
            if check is None:
                break
            parts = await self._take_out_culprit(parts, check)
            if not parts:
                return
        nonce = max(ex.store.next_nonce_floor(chain.chain_id, sender), pending, ex._next_nonce.get(chain.chain_id, 0))
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": chain.chain_id,
            "nonce": nonce,
            "to": ENTRY_POINT_V07_ADDRESS,
            "value": 0,
            "data": data,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        signed = ex.account.sign_transaction(tx)
        records = await asyncio.to_thread(
            ex.store.record_bundle,
            chain.chain_id,
            [(part.run.record.hash, part.indices) for part in parts],
            nonce,
            "0x" + bytes(signed.hash).hex(),
            "0x" + bytes(signed.raw_transaction).hex(),
            mining_timestamp=now,
        )
        ex._next_nonce[chain.chain_id] = nonce + 1
        ex._fault("exit-before-broadcast")
        await ex._broadcast(chain, records[0], resend=False)
        ex._fault("exit-after-broadcast")
        task = asyncio.get_running_loop().create_task(self._settle(parts, records))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle(self, parts: list[_Part], records: list[BundleRecord]) -> None:
        try:
            await self._executor._settle(
                self._chain, [(r, part.run.quote) for r, part in zip(records, parts, strict=True)]
            )
        except Exception as exc:
            _resolve(parts, exc)
        else:
            _resolve(parts, True)

    async def _take_out_culprit(self, parts: list[_Part], error: RpcError) -> list[_Part]:
        """The bundle's ``eth_call`` failed: the part of the userOp it names leaves the bundle (failed for good if
        the reason lasts, else back to its run's next round); the others are checked again."""
        ex = self._executor
        data = error.revert_data if isinstance(error, RpcRevertError) else b""
        reason = describe_failed_op(data) if data else str(error.short_message)
        culprit = failed_op_index(data) if data else None
        if culprit is None:  # nothing names a userOp: every part waits for its next round
            log.info("chain %d: a bundle of %d part(s) does not pass: %s", self._chain.chain_id, len(parts), reason)
            _resolve(parts, False)
            return []
        offset = 0
        for part in parts:
            if culprit < offset + len(part.indices):
                bad = part.indices[culprit - offset]
                quote_hash = part.run.record.hash
                if _lasting(reason):
                    await ex._fail(quote_hash, [bad], f"not submitted: validation fails: {reason}", data or None)
                    _resolve([part], True)
                else:  # the chain moved between the simulation and this call: the next round simulates again
                    log.info("super-transaction %s: userOp %d not submitted yet: %s", quote_hash, bad, reason)
                    part.run.last_reason[bad] = reason
                    part.run.last_failure[bad] = data
                    _resolve([part], False)
                return [p for p in parts if p is not part]
            offset += len(part.indices)
        _resolve(parts, False)  # an index past the bundle: nothing to blame
        return []


def _resolve(parts: Sequence[_Part], outcome: bool | BaseException) -> None:
    for part in parts:
        if part.done.done():
            continue
        if isinstance(outcome, BaseException):
            part.done.set_exception(outcome)
        else:
            part.done.set_result(outcome)


class Executor:
    def __init__(self, config: NodeConfig, chains: dict[int, ChainClient], store: Store) -> None:
        self.config = config
        self.chains = chains
        self.store = store
        self.account: LocalAccount = Account.from_key(config.private_key)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._bundlers: dict[int, _Bundler] = {}
        self._next_nonce: dict[int, int] = {}

    # -- scheduling ---------------------------------------------------------------------------------------------------

    def schedule(self, quote_hash: str, quote: GetQuotePayload | None = None) -> None:
        """Run an accepted super-transaction; ``quote`` is its quote when the caller has it parsed already (``/exec``),
        else it is read from the store."""
        if quote_hash in self._tasks and not self._tasks[quote_hash].done():
            return
        run = self._run_logged(quote_hash, quote)
        task = asyncio.get_running_loop().create_task(run, name=f"supertx {quote_hash}")
        self._tasks[quote_hash] = task
        task.add_done_callback(lambda done: self._forget(quote_hash, done))

    def _forget(self, quote_hash: str, task: asyncio.Task[None]) -> None:
        """A finished run leaves the table (a node that runs for days would otherwise keep every task)."""
        if self._tasks.get(quote_hash) is task:
            del self._tasks[quote_hash]

    async def recover(self) -> list[str]:
        """Resume every super-transaction that was accepted but not finished (after a restart)."""
        hashes = self.store.unfinished()
        for quote_hash in hashes:
            self.schedule(quote_hash)
        return hashes

    async def wait(self, quote_hash: str) -> None:
        task = self._tasks.get(quote_hash)
        if task is not None:
            await asyncio.shield(task)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for bundler in self._bundlers.values():
            await bundler.aclose()

    def _bundler(self, chain: ChainClient) -> _Bundler:
        if chain.chain_id not in self._bundlers:
            self._bundlers[chain.chain_id] = _Bundler(self, chain)
        return self._bundlers[chain.chain_id]

    async def _run_logged(self, quote_hash: str, quote: GetQuotePayload | None) -> None:
        try:
            await self._run(quote_hash, quote)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("super-transaction %s: the executor failed; it resumes on the next start", quote_hash)

    # -- one super-transaction ----------------------------------------------------------------------------------------

    async def _run(self, quote_hash: str, quote: GetQuotePayload | None) -> None:
        record = self.store.get_super_tx(quote_hash)
        if record is None or record.finished:
            return
        if quote is None:
            quote_record = self.store.get_quote(quote_hash)
            if quote_record is None:
                return
            quote = from_wire(GetQuotePayload, quote_record.quote)
        by_chain: dict[int, list[int]] = {}
        for op in record.user_ops:
            if op.signature is not None:
                by_chain.setdefault(op.chain_id, []).append(op.index)
        await asyncio.gather(*(self._run_chain(record, quote, c, ix) for c, ix in by_chain.items()))
        done = self.store.get_super_tx(quote_hash)
        if done is not None and not done.finished:  # the last outcome written finishes it; this covers a run with none
            await asyncio.to_thread(self.store.finish, quote_hash)

    def _statuses(self, quote_hash: str) -> dict[int, str]:
        record = self.store.get_super_tx(quote_hash)
        return {} if record is None else {op.index: op.status for op in record.user_ops}

    async def _fail(
        self, quote_hash: str, indices: Sequence[int], reason: str, revert_data: bytes | None = None
    ) -> None:
        revert = None if revert_data is None else "0x" + bytes(revert_data).hex()
        outcomes = [Outcome(k, "FAILED", reason, revert_error=revert) for k in indices]
        await asyncio.to_thread(self.store.set_user_op_results, quote_hash, outcomes)

    async def _run_chain(
        self, record: SuperTxRecord, quote: GetQuotePayload, chain_id: int, indices: list[int]
    ) -> None:
        """Rounds (:meth:`_round`) until every userOp of the chain is final. A chain that does not answer (refused,
        hung, restarting) is tried again with a growing pause (0.5 s doubling to 10 s), for as long as it takes:
        once it answers again, what was broadcast is settled and a userOp whose window ended meanwhile is failed
        with the outage as its reason. The other chains go on meanwhile."""
        state = _ChainRun(record, quote, self.chains[chain_id], indices)
        pause = 0.0
        while True:
            try:
                if await self._round(state):
                    return
                pause = 0.0
            except RpcError as exc:
                pause = min(_MAX_OUTAGE_PAUSE, max(_MIN_OUTAGE_PAUSE, pause * 2))
                reason = f"chain {chain_id} did not answer: {exc.short_message}"
                for k in state.indices:
                    state.last_reason[k] = reason
                log.warning("super-transaction %s: %s; trying again in %.1f s", record.hash, reason, pause)
                await asyncio.sleep(pause)

    async def _round(self, run: _ChainRun) -> bool:
        """One round on one chain; True once all its userOps are final."""
        quote_hash, chain, ops = run.record.hash, run.chain, run.ops
        for bundle in self.store.bundles(quote_hash):  # broadcast but not mined (before a restart, an outage)
            if bundle.chain_id == chain.chain_id and bundle.state != "MINED":
                await self._broadcast(chain, bundle, resend=True)
                await self._settle(chain, [(bundle, run.quote)])
        statuses = self._statuses(quote_hash)
        # (a MINING userOp without an unmined bundle cannot be: it was settled above; it is never submitted again)
        pending = [k for k in run.indices if statuses.get(k) not in FINAL_STATUSES and statuses.get(k) != "MINING"]
        if not pending:
            return True
        now = await chain.clock()
        expired = [k for k in pending if now > ops[k].upper_bound_timestamp]
        for k in expired:
            why = f"; its last simulation: {run.last_reason[k]}" if k in run.last_reason else ""
            await self._fail(
                quote_hash,
                [k],
                f"Execution deadline limit exceeded: the window ended at {ops[k].upper_bound_timestamp} "
                f"(chain time {now}){why}",
                run.last_failure.get(k),
            )
        pending = [k for k in pending if k not in expired]
        due: list[int] = []
        for k in pending:
            if ops[k].lower_bound_timestamp > now:
                break
            due.append(k)
        if not due:
            if pending:
                await asyncio.sleep(min(1.0, max(0.05, ops[pending[0]].lower_bound_timestamp - now)))
            return False
        signatures = run.signatures
        packed = {k: _packed(ops[k], signatures[k]) for k in due}
        results = await simulate_user_ops(chain, list(packed.values()), sender=self.account.address)
        chosen: list[int] = []
        blocked: int | None = None
        for k, result in zip(due, results, strict=True):
            reason = _failure(result)
            if reason is None:
                chosen.append(k)
                continue
            forced = (
                run.with_clean_up
                and not ops[k].is_clean_up_user_op
                and result.error is None
                and result.reverted
                and ops[k].upper_bound_timestamp - now <= FORCE_WINDOW
            )
            if forced:
                log.info("super-transaction %s: userOp %d forced through before its deadline", quote_hash, k)
                chosen.append(k)
                continue
            data = result.failure or result.revert_data or None
            if _lasting(reason):
                await self._fail(quote_hash, [k], f"not submitted: validation fails: {reason}", data)
            else:
                run.last_reason[k] = reason
                if data is not None:
                    run.last_failure[k] = data
                blocked = k
            break
        if chosen:
            part = _Part(run, chosen, [packed[k] for k in chosen], now)
            if not await self._bundler(chain).submit(part):
                await asyncio.sleep(self.config.simulation_retry_delay)
        elif blocked is not None:
            delay_ms = ops[blocked].execution_simulation_retry_delay
            await asyncio.sleep(delay_ms / 1000 if delay_ms else self.config.simulation_retry_delay)
        return False

    def _fault(self, point: str) -> None:
        """Test hook (restart safety): die at ``point`` as a killed process would, without any clean-up."""
        if self.config.fault == point:
            log.warning("fault injection: exiting at %s", point)
            os._exit(70)

    async def _broadcast(self, chain: ChainClient, bundle: BundleRecord, *, resend: bool) -> None:
        try:
            await chain.send_raw(bytes.fromhex(bundle.raw_tx[2:]))
        except RpcError as exc:
            text = str(exc).lower()
            if any(marker in text for marker in _ALREADY_SENT):
                return  # the same bytes were broadcast before: the receipt will tell
            if resend and await chain.receipt(bundle.tx_hash) is not None:
                return
            raise

    async def _settle(self, chain: ChainClient, records: Sequence[tuple[BundleRecord, GetQuotePayload]]) -> None:
        """Wait for the receipt of a bundle (``records``: its record for each super-transaction it carries, with that
        super-transaction's quote) and record every userOp's outcome, in one store transaction."""
        bundle = records[0][0]
        resent_at = time.monotonic()
        pause = 0.0  # a chain that mines on arrival has the receipt at once: look at once, then less and less often
        while True:
            receipt = await chain.receipt(bundle.tx_hash)
            if receipt is not None:
                break
            if time.monotonic() - resent_at > 10:  # dropped from the pool? the same bytes again
                await self._broadcast(chain, bundle, resend=True)
                resent_at = time.monotonic()
            await asyncio.sleep(pause)
            pause = min(self.config.poll_interval, max(_FIRST_RECEIPT_POLL, pause * 2))
        block_number = quantity(receipt.get("blockNumber"), what="the receipt's blockNumber")
        mined_at = await self._block_time(chain, receipt)
        reverted: tuple[str, bytes | None] | None = None
        if receipt.get("status") != "0x1":
            reverted = await self._revert_reason(chain, bundle, receipt)
        events = {} if reverted is not None else {r.user_op_hash: r for r in parse_user_op_results(receipt)}
        results: dict[str, list[Outcome]] = {}
        for record, quote in records:
            if reverted is not None:
                reason, data = reverted
                revert = None if data is None else "0x" + data.hex()
                outcomes = [
                    Outcome(k, "MINED_FAIL", f"the handleOps transaction reverted: {reason}", revert_error=revert)
                    for k in record.indices
                ]
            else:
                outcomes = _results(events, record, quote)
            results[record.hash] = [replace(o, block_number=block_number, mined_timestamp=mined_at) for o in outcomes]
        await asyncio.to_thread(self.store.settle_bundle, [record.id for record, _ in records], results)

    @staticmethod
    async def _block_time(chain: ChainClient, receipt: dict[str, Any]) -> int | None:
        """The mined block's timestamp: from the receipt where the chain puts it there (anvil, reth:
        ``blockTimestamp``), else from the block."""
        stamp = receipt.get("blockTimestamp")
        if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp >= 0:
            return stamp
        if isinstance(stamp, str):
            return quantity(stamp, what="the receipt's blockTimestamp")
        block = await chain.rpc.request("eth_getBlockByNumber", [receipt["blockNumber"], False])
        return quantity(block.get("timestamp"), what="the block's timestamp") if isinstance(block, dict) else None

    async def _revert_reason(
        self, chain: ChainClient, bundle: BundleRecord, receipt: dict[str, Any]
    ) -> tuple[str, bytes | None]:
        """Why a mined bundle reverted, and its revert data when known: from a call trace (``debug_traceTransaction``,
        anvil has it), else the call replayed on the state before its block."""
        try:
            trace = await chain.rpc.request("debug_traceTransaction", [bundle.tx_hash, {"tracer": "callTracer"}])
            output = str(trace.get("output") or "0x")
            if len(output) > 2:
                data = bytes.fromhex(output[2:])
                return describe_failed_op(data), data
        except (RpcError, AttributeError, ValueError):
            pass
        tx = await chain.transaction(bundle.tx_hash)
        if tx is None:
            return "reason unknown", None
        parent = hex(int(receipt["blockNumber"], 16) - 1)
        try:
            await chain.rpc.request(
                "eth_call",
                [{"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}, parent],
            )
        except RpcRevertError as exc:
            if exc.revert_data:
                return describe_failed_op(exc.revert_data), bytes(exc.revert_data)
            return exc.short_message, None
        except RpcError as exc:
            return f"reason unknown ({exc.short_message})", None
        return f"reason unknown (it used {int(receipt['gasUsed'], 16)} of {int(tx['gas'], 16)} gas)", None


def _packed(details: MeeFilledUserOpDetails, signature: str) -> PackedUserOperation:
    return details.user_op.to_packed(signature)


def _results(events: Mapping[bytes, UserOpResult], bundle: BundleRecord, quote: GetQuotePayload) -> list[Outcome]:
    """The outcome of each userOp of ``bundle`` from the bundle receipt's events (by userOpHash)."""
    out: list[Outcome] = []
    for k in bundle.indices:
        event = events.get(bytes(quote.user_ops[k].user_op_hash))
        if event is None:
            out.append(Outcome(k, "MINED_FAIL", "the bundle was mined without this userOp's UserOperationEvent"))
        elif event.success:
            out.append(Outcome(k, "MINED_SUCCESS", None, actual_gas_cost=event.actual_gas_cost))
        else:
            reason = event.revert_message or "the userOp's call reverted"
            revert = None if event.revert_reason is None else "0x" + bytes(event.revert_reason).hex()
            out.append(
                Outcome(
                    k,
                    "MINED_FAIL",
                    f"execution reverted: {reason}",
                    actual_gas_cost=event.actual_gas_cost,
                    revert_error=revert,
                )
            )
    return out
