"""Executing accepted super-transactions: one ``handleOps`` bundle per chain from the node's EOA, and the receipts.

Per super-transaction (one asyncio task each):

1. the fee chain first (the payment userOp and that chain's userOps in one bundle); if the payment fails, the other
   chains' userOps are FAILED without being submitted (the node is not paid for them). Then the other chains, in
   parallel;
2. per chain: wait until every userOp's ``lowerBoundTimestamp`` has passed on the chain's clock (the timestamp of its
   next block; PENDING meanwhile); past the earliest ``upperBoundTimestamp`` the userOps are FAILED without being
   submitted;
3. ``eth_call`` the bundle first: a ``FailedOp`` there fails the chain's userOps with the decoded reason (FAILED,
   nothing is sent);
4. under the chain's lock: take the next nonce (the chain's pending count, or past the highest nonce this node ever
   signed, whichever is larger), sign the EIP-1559 transaction locally, **store the raw transaction**, mark the
   userOps MINING with its hash, and only then broadcast;
5. poll the receipt; each userOp's ``UserOperationEvent`` says MINED_SUCCESS or MINED_FAIL (with the decoded
   ``UserOperationRevertReason``), and is recorded with its ``actualGasCost``, the block's number and timestamp
   (the chain's time at broadcast was recorded with the bundle). A mined outcome is final here; how many blocks
   confirm it (``confirmations``, ``isConfirmed``) the explorer counts against the chain's head when asked.

Restart: :meth:`Executor.recover` picks up every unfinished super-transaction. A chain with a stored bundle is never
signed again: the stored bytes are re-broadcast (a node rejecting them as known, or as an already used nonce, is
fine) and the receipt is awaited under the same hash. So a userOp is submitted at most once, and an accepted
super-transaction is finished (or failed) whatever the moment the node died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ...encoding.userop import PackedUserOperation
from ...errors import RpcError
from ...mee.wire import GetQuotePayload, MeeFilledUserOpDetails, from_wire
from ...rpc import RpcRevertError
from ...versions import ENTRY_POINT_V07_ADDRESS
from ..entrypoint import encode_handle_ops, max_gas_limit, parse_user_op_results
from ._chain import ChainClient
from .config import NodeConfig
from .simulation import describe_failed_op, failed_op_index
from .store import BundleRecord, Outcome, Store, SuperTxRecord

__all__ = ["FINAL_STATUSES", "Executor"]

log = logging.getLogger("smartsessions.node")

FINAL_STATUSES = frozenset({"MINED_SUCCESS", "MINED_FAIL", "FAILED"})
_BUNDLE_OVERHEAD_GAS = 150_000
_MAX_BUNDLE_GAS = 29_000_000
_ALREADY_SENT = ("already known", "nonce too low", "already imported", "known transaction", "replacement")


class Executor:
    def __init__(self, config: NodeConfig, chains: dict[int, ChainClient], store: Store) -> None:
        self.config = config
        self.chains = chains
        self.store = store
        self.account: LocalAccount = Account.from_key(config.private_key)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._next_nonce: dict[int, int] = {}

    # -- scheduling ---------------------------------------------------------------------------------------------------

    def schedule(self, quote_hash: str) -> None:
        if quote_hash in self._tasks and not self._tasks[quote_hash].done():
            return
        task = asyncio.get_running_loop().create_task(self._run_logged(quote_hash), name=f"supertx {quote_hash}")
        self._tasks[quote_hash] = task

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
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run_logged(self, quote_hash: str) -> None:
        try:
            await self._run(quote_hash)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("super-transaction %s: the executor failed; it resumes on the next start", quote_hash)

    # -- one super-transaction ----------------------------------------------------------------------------------------

    async def _run(self, quote_hash: str) -> None:
        record = self.store.get_super_tx(quote_hash)
        quote_record = self.store.get_quote(quote_hash)
        if record is None or quote_record is None or record.finished:
            return
        quote = from_wire(GetQuotePayload, quote_record.quote)
        meta = quote_record.meta
        by_chain: dict[int, list[int]] = {}
        for op in record.user_ops:
            if op.signature is not None:
                by_chain.setdefault(op.chain_id, []).append(op.index)
        first_chain = None if meta.get("sponsored") else quote.user_ops[0].chain_id
        if first_chain is not None and first_chain in by_chain:
            await self._run_chain(record, quote, first_chain, by_chain.pop(first_chain))
            payment = self._status(quote_hash, 0)
            if payment is not None and payment[0] != "MINED_SUCCESS":
                reason = f"not submitted: the payment userOp is {payment[0]}" + (
                    f" ({payment[1]})" if payment[1] else ""
                )
                for indices in by_chain.values():
                    self._fail(quote_hash, indices, reason)
                by_chain = {}
        await asyncio.gather(*(self._run_chain(record, quote, c, ix) for c, ix in by_chain.items()))
        self.store.finish(quote_hash)

    def _status(self, quote_hash: str, index: int) -> tuple[str, str | None] | None:
        record = self.store.get_super_tx(quote_hash)
        if record is None:
            return None
        op = next((o for o in record.user_ops if o.index == index), None)
        return None if op is None else (op.status, op.error)

    def _fail(self, quote_hash: str, indices: Sequence[int], reason: str, revert_data: bytes | None = None) -> None:
        revert = None if revert_data is None else "0x" + bytes(revert_data).hex()
        self.store.set_user_op_results(quote_hash, [Outcome(k, "FAILED", reason, revert_error=revert) for k in indices])

    async def _run_chain(
        self, record: SuperTxRecord, quote: GetQuotePayload, chain_id: int, indices: list[int]
    ) -> None:
        quote_hash = record.hash
        chain = self.chains[chain_id]
        existing = [b for b in self.store.bundles(quote_hash) if b.chain_id == chain_id]
        if existing:  # signed before a restart: never sign again, finish the stored transaction
            bundle = existing[-1]
            if bundle.state == "MINED":
                return
            await self._broadcast(chain, bundle, resend=True)
            await self._settle(chain, bundle, quote)
            return
        ops_by_index = {op.index: op for op in record.user_ops}
        pending = [k for k in indices if ops_by_index[k].status not in FINAL_STATUSES]
        if not pending:
            return
        details = [quote.user_ops[k] for k in pending]
        lower = max(d.lower_bound_timestamp for d in details)
        upper = min(d.upper_bound_timestamp for d in details)
        # The chain's time, not this machine's: the EntryPoint checks the window against the block's timestamp.
        while (now := await chain.clock()) < lower:
            await asyncio.sleep(min(1.0, lower - now))
        if now > upper:
            self._fail(quote_hash, pending, f"not submitted: the execution window ended at {upper}")
            return
        packed = [_packed(quote.user_ops[k], ops_by_index[k].signature or "0x") for k in pending]
        data = encode_handle_ops(packed, self.account.address)
        gas = min(
            _MAX_BUNDLE_GAS,
            _BUNDLE_OVERHEAD_GAS + sum(max_gas_limit(op) for op in packed),
        )
        try:
            await chain.call(
                ENTRY_POINT_V07_ADDRESS,
                data,
                sender=self.account.address,
                gas=gas,
                at_time=now,
            )
        except RpcRevertError as exc:
            reason = describe_failed_op(exc.revert_data) if exc.revert_data else str(exc.short_message)
            culprit = failed_op_index(exc.revert_data)
            if culprit is not None and culprit < len(pending):
                bad = pending[culprit]
                self._fail(quote_hash, [bad], f"not submitted: validation fails: {reason}", exc.revert_data)
                others = [k for k in pending if k != bad]
                self._fail(
                    quote_hash, others, f"not submitted: userOp {bad} of the same bundle fails validation: {reason}"
                )
            else:
                self._fail(quote_hash, pending, f"not submitted: handleOps would revert: {reason}", exc.revert_data)
            return
        lock = self._locks.setdefault(chain_id, asyncio.Lock())
        async with lock:
            nonce = await self._nonce(chain)
            fees = await chain.fees(self.config.max_priority_fee_per_gas)
            tx: dict[str, Any] = {
                "type": 2,
                "chainId": chain_id,
                "nonce": nonce,
                "to": ENTRY_POINT_V07_ADDRESS,
                "value": 0,
                "data": data,
                "gas": gas,
                "maxFeePerGas": fees.max_fee_per_gas,
                "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            }
            signed = self.account.sign_transaction(tx)
            bundle = self.store.record_bundle(
                quote_hash,
                chain_id,
                pending,
                nonce,
                "0x" + bytes(signed.hash).hex(),
                "0x" + bytes(signed.raw_transaction).hex(),
                mining_timestamp=await chain.clock(),
            )
            self._next_nonce[chain_id] = nonce + 1
            self._fault("exit-before-broadcast")
            await self._broadcast(chain, bundle, resend=False)
            self._fault("exit-after-broadcast")
        await self._settle(chain, bundle, quote)

    async def _nonce(self, chain: ChainClient) -> int:
        floor = self.store.next_nonce_floor(chain.chain_id, self.account.address)
        pending = await chain.transaction_count(self.account.address)
        return max(floor, pending, self._next_nonce.get(chain.chain_id, 0))

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

    async def _settle(self, chain: ChainClient, bundle: BundleRecord, quote: GetQuotePayload) -> None:
        """Wait for the bundle's receipt and record every userOp's outcome."""
        resent_at = time.monotonic()
        while True:
            receipt = await chain.receipt(bundle.tx_hash)
            if receipt is not None:
                break
            if time.monotonic() - resent_at > 10:  # dropped from the pool? the same bytes again
                await self._broadcast(chain, bundle, resend=True)
                resent_at = time.monotonic()
            await asyncio.sleep(self.config.poll_interval)
        block_number = int(receipt["blockNumber"], 16)
        block = await chain.rpc.request("eth_getBlockByNumber", [receipt["blockNumber"], False])
        mined_at = int(block["timestamp"], 16) if block else None
        if receipt.get("status") != "0x1":
            reason, data = await self._revert_reason(chain, bundle, receipt)
            revert = None if data is None else "0x" + data.hex()
            results = [
                Outcome(k, "MINED_FAIL", f"the handleOps transaction reverted: {reason}", revert_error=revert)
                for k in bundle.indices
            ]
        else:
            results = _results(receipt, bundle, quote)
        mined = [replace(o, block_number=block_number, mined_timestamp=mined_at) for o in results]
        self.store.set_user_op_results(bundle.hash, mined)
        self.store.set_bundle_state(bundle.id, "MINED")

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


def _results(receipt: dict[str, Any], bundle: BundleRecord, quote: GetQuotePayload) -> list[Outcome]:
    events = {r.user_op_hash: r for r in parse_user_op_results(receipt)}
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
