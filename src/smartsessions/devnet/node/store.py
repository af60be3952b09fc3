"""The node's state: accepted super-transactions, their quotes, their userOps and the bundle transactions that carry
them.

:class:`Store` is the interface the node uses; :class:`SqliteStore` keeps it in one SQLite file (WAL journal,
``synchronous=FULL``), so a node killed at any point and started again on the same file finds every super-transaction
it accepted and every bundle transaction it signed.

Nothing is written at ``/quote``: as on Biconomy's node, a quote is the node's by its commitment, and ``/exec`` checks
it from the body (:mod:`.acceptance`). :meth:`Store.accept` writes the quote (the quote part of the body and the facts
the node derived from it, :mod:`.quote_facts`) with the super-transaction and its userOps, in one transaction. A file
an older node wrote, which stored every quote when it issued it, opens as it is; a quote of it executed now has its
row rewritten by that transaction.

The order of writes is what makes a restart safe (see :mod:`.executor`): a super-transaction is stored with all its
userOp signatures before ``/exec`` answers; a bundle's raw signed transaction is stored before it is broadcast, so a
restarted node re-broadcasts the same bytes (the same hash) instead of signing a second transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, field_serializer

from ..._model import Model
from ...errors import InvalidInputError
from ...wire.mee import MeeVersionEntry, Trigger, to_wire
from .errors import Code, NodeError

__all__ = [
    "BundleRecord",
    "Outcome",
    "QuoteMeta",
    "QuoteRecord",
    "SqliteStore",
    "Store",
    "SuperTxRecord",
    "UserOpRecord",
]


class QuoteMeta(Model):
    """The node's notes on an accepted quote (:meth:`.quote_facts.QuoteFacts.meta` writes them), kept with it as JSON
    (camelCase keys, amounts as JSON numbers; ``trigger`` and ``meeVersions`` in their wire form, as the client sent
    them at ``/exec``). ``token_wei_amount`` is the fee in the fee token's base units, ``wei_cost`` the quote's
    maximum gas cost in wei. ``simulated_gas`` is empty: the simulation's figures are not part of the quote, and the
    node keeps nothing at quote time (an older node, which stored every quote it issued, wrote them there by userOp
    index)."""

    quote_type: str
    trigger: Trigger | None
    sponsored: bool
    fusion_payment: bool
    permit_tx_index: int | None
    trigger_op_index: int | None
    token_wei_amount: int
    wei_cost: int
    mee_versions: tuple[MeeVersionEntry, ...] = ()
    simulated_gas: dict[str, int] = Field(default_factory=dict)

    @field_serializer("trigger")
    def _trigger(self, trigger: Trigger | None) -> dict[str, Any] | None:
        return None if trigger is None else to_wire(trigger)

    @field_serializer("mee_versions")
    def _mee_versions(self, entries: tuple[MeeVersionEntry, ...]) -> list[dict[str, Any]]:
        return [to_wire(v) for v in entries]


@dataclass(frozen=True)
class QuoteRecord:
    """The quote of an accepted super-transaction: its wire JSON (the ``/exec`` body without the client's own
    fields: ``signature``, ``meeVersions``, ``trigger``, ``isEIP712TrustedSponsorshipSupported``) and the node's notes
    about it (:class:`QuoteMeta`). ``created_at`` is when it was accepted; ``expires_at`` the end of its last
    execution window (chain time): quotes themselves do not expire."""

    hash: str
    created_at: float
    expires_at: float
    quote: dict[str, Any]
    meta: QuoteMeta


@dataclass(frozen=True)
class UserOpRecord:
    """One userOp of an accepted super-transaction. ``signature`` is the final ``userOp.signature`` (hex), None for
    an entry the node does not submit (the devnet gas tank's); ``status`` is a §9.9 execution status."""

    index: int
    chain_id: int
    user_op_hash: str
    signature: str | None
    status: str = "PENDING"
    tx_hash: str | None = None
    error: str | None = None
    confirmed: bool = False
    #: The chain's time (seconds) when its bundle was signed and broadcast.
    mining_timestamp: int | None = None
    #: The block that included its bundle, and that block's timestamp.
    block_number: int | None = None
    mined_timestamp: int | None = None
    #: ``actualGasCost`` of its ``UserOperationEvent`` (wei).
    actual_gas_cost: int | None = None
    #: The raw revert data (hex) of a userOp that failed: its ``UserOperationRevertReason``, the reverted bundle's
    #: output, or the ``FailedOp`` of the simulation that kept it from being submitted.
    revert_error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one userOp: a final status, and what the chain said about it."""

    index: int
    status: str
    error: str | None = None
    block_number: int | None = None
    mined_timestamp: int | None = None
    actual_gas_cost: int | None = None
    revert_error: str | None = None


@dataclass(frozen=True)
class SuperTxRecord:
    """An accepted super-transaction; ``body_json`` is its ``/exec`` body as stored (:attr:`body` reads it: the
    executor and the explorer's polls read records many times and seldom need it)."""

    hash: str
    accepted_at: float
    body_json: str
    finished: bool
    user_ops: tuple[UserOpRecord, ...]

    @property
    def body(self) -> dict[str, Any]:
        return dict(json.loads(self.body_json))


@dataclass(frozen=True)
class BundleRecord:
    """A signed ``handleOps`` transaction: ``state`` is SIGNED (stored, maybe broadcast) or MINED."""

    id: int
    hash: str
    chain_id: int
    indices: tuple[int, ...]
    nonce: int
    tx_hash: str
    raw_tx: str
    state: str
    created_at: float


class Store(Protocol):
    def get_quote(self, quote_hash: str) -> QuoteRecord | None: ...

    def accept(
        self, quote_hash: str, body: dict[str, Any], user_ops: Sequence[UserOpRecord], *, quote: QuoteRecord
    ) -> bool:
        """Store an accepted super-transaction with its quote, in one transaction; False if one with this hash
        exists already (a replay), and then nothing is written."""
        ...

    def get_super_tx(self, quote_hash: str) -> SuperTxRecord | None: ...

    def unfinished(self) -> list[str]: ...

    def update_user_ops(
        self,
        quote_hash: str,
        indices: Sequence[int],
        *,
        status: str,
        tx_hash: str | None = None,
        error: str | None = None,
        confirmed: bool | None = None,
    ) -> None: ...

    def set_user_op_results(self, quote_hash: str, results: Sequence[Outcome]) -> None:
        """The final outcome of each userOp, confirmed."""
        ...

    def finish(self, quote_hash: str) -> None: ...

    def record_bundle(
        self,
        chain_id: int,
        parts: Sequence[tuple[str, Sequence[int]]],
        nonce: int,
        tx_hash: str,
        raw_tx: str,
        *,
        mining_timestamp: int | None = None,
    ) -> list[BundleRecord]:
        """Store a signed bundle and mark its userOps MINING with its transaction hash (and the chain's time), in one
        transaction. ``parts`` are ``(super-transaction hash, userOp indices)`` in bundle order: one bundle can carry
        userOps of several super-transactions, and each gets its own record of it (the same transaction)."""
        ...

    def bundles(self, quote_hash: str) -> list[BundleRecord]: ...

    def settle_bundle(self, bundle_ids: Sequence[int], results: Mapping[str, Sequence[Outcome]]) -> None:
        """A mined bundle: every userOp's outcome (by super-transaction hash) and its records MINED, in one
        transaction."""
        ...

    def next_nonce_floor(self, chain_id: int, sender: str) -> int:
        """One past the highest nonce of any bundle this node signed on the chain (0 if none)."""
        ...

    def busy_on(self, chain_id: int) -> bool:
        """True while an accepted, unfinished super-transaction has a userOp on ``chain_id`` that is not final."""
        ...

    def stats(self) -> dict[str, int]:
        """What the store holds: ``superTransactions``, ``unfinished`` and ``bytes`` on disk."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS quotes (
    hash TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    quote TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS super_txs (
    hash TEXT PRIMARY KEY REFERENCES quotes(hash),
    accepted_at REAL NOT NULL,
    body TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS user_ops (
    hash TEXT NOT NULL REFERENCES super_txs(hash),
    idx INTEGER NOT NULL,
    chain_id INTEGER NOT NULL,
    user_op_hash TEXT NOT NULL,
    signature TEXT,
    status TEXT NOT NULL,
    tx_hash TEXT,
    error TEXT,
    confirmed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hash, idx)
);
CREATE TABLE IF NOT EXISTS bundles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL REFERENCES super_txs(hash),
    chain_id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    indices TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    raw_tx TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bundles_by_hash ON bundles(hash);
CREATE INDEX IF NOT EXISTS bundles_by_sender ON bundles(chain_id, sender, nonce);
CREATE INDEX IF NOT EXISTS super_txs_open ON super_txs(finished);
"""

#: Columns added after the first schema, on open: to a new file as to one an older node wrote.
_ADDED_COLUMNS = {
    "user_ops": {
        "mining_timestamp": "INTEGER",
        "block_number": "INTEGER",
        "mined_timestamp": "INTEGER",
        "actual_gas_cost": "TEXT",
        "revert_error": "TEXT",
    },
    # when the node recorded the bundle's receipt (its clock, like created_at): for the benchmarks' timelines
    "bundles": {"settled_at": "REAL"},
}

#: Super-transaction records the store keeps in memory (the oldest read leaves first).
_RECORDS_KEPT = 4096

_USER_OP_COLUMNS = (
    "idx, chain_id, user_op_hash, signature, status, tx_hash, error, confirmed, mining_timestamp, block_number, "
    "mined_timestamp, actual_gas_cost, revert_error"
)


class SqliteStore:
    """:class:`Store` in one SQLite file. Safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path, *, sender: str = "") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._sender = sender
        self._lock = threading.Lock()
        #: Super-transaction records as last read, by hash: the explorer's polls and the executor's rounds read the
        #: same records many times between two changes. This store is the file's only writer (one node process),
        #: and every write drops the records it changes (:meth:`_tx`).
        self._records: dict[str, SuperTxRecord] = {}
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self._db.executescript(_SCHEMA)  # its own transaction (executescript commits first)
            for table, columns in _ADDED_COLUMNS.items():
                present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})").fetchall()}
                for column, kind in columns.items():
                    if column not in present:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @contextmanager
    def _tx(self, *changed: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; the records of the super-transactions it ``changed`` leave the cache once it is
        committed, before the lock is released, so no read can cache what it wrote over."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            for quote_hash in changed:
                self._records.pop(quote_hash.lower(), None)

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, tuple(args)).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- quotes -------------------------------------------------------------------------------------------------------

    @staticmethod
    def _put_quote(db: sqlite3.Connection, record: QuoteRecord) -> None:
        """Insert the quote, or replace the row an older node wrote when it issued it (it stored every quote)."""
        db.execute(
            "INSERT INTO quotes (hash, created_at, expires_at, quote, meta) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(hash) DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at, "
            "quote = excluded.quote, meta = excluded.meta",
            (
                record.hash.lower(),
                record.created_at,
                record.expires_at,
                json.dumps(record.quote, separators=(",", ":")),
                json.dumps(record.meta.model_dump(mode="json"), separators=(",", ":")),
            ),
        )

    def get_quote(self, quote_hash: str) -> QuoteRecord | None:
        rows = self._read(
            "SELECT hash, created_at, expires_at, quote, meta FROM quotes WHERE hash = ?", (quote_hash.lower(),)
        )
        if not rows:
            return None
        h, created, expires, quote, meta = rows[0]
        try:
            notes = QuoteMeta.model_validate(json.loads(meta))
        except InvalidInputError as exc:
            raise NodeError(
                500, f"the store's notes on quote {h} do not read: {exc.short_message}", code=Code.INTERNAL_ERROR
            ) from exc
        return QuoteRecord(h, created, expires, json.loads(quote), notes)

    # -- super-transactions -------------------------------------------------------------------------------------------

    def accept(
        self, quote_hash: str, body: dict[str, Any], user_ops: Sequence[UserOpRecord], *, quote: QuoteRecord
    ) -> bool:
        quote_hash = quote_hash.lower()
        if quote.hash.lower() != quote_hash:
            raise NodeError(
                500,
                f"the quote {quote.hash} is not the one of super-transaction {quote_hash}",
                code=Code.INTERNAL_ERROR,
            )
        with self._tx(quote_hash) as db:  # BEGIN IMMEDIATE: two /exec of one quote cannot both pass the check below
            if db.execute("SELECT 1 FROM super_txs WHERE hash = ?", (quote_hash,)).fetchone() is not None:
                return False  # a replay: nothing is written, the quote row stays the one accepted first
            self._put_quote(db, quote)
            db.execute(
                "INSERT INTO super_txs (hash, accepted_at, body) VALUES (?, ?, ?)",
                (quote_hash, time.time(), json.dumps(body, separators=(",", ":"))),
            )
            db.executemany(
                "INSERT INTO user_ops (hash, idx, chain_id, user_op_hash, signature, status, tx_hash, error, "
                "confirmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        quote_hash,
                        op.index,
                        op.chain_id,
                        op.user_op_hash,
                        op.signature,
                        op.status,
                        op.tx_hash,
                        op.error,
                        int(op.confirmed),
                    )
                    for op in user_ops
                ],
            )
        return True

    def get_super_tx(self, quote_hash: str) -> SuperTxRecord | None:
        key = quote_hash.lower()
        with self._lock:  # the cache is read and filled under the lock the writes drop records under
            record = self._records.get(key)
            if record is None:
                record = self._read_super_tx(key)
                if record is not None:
                    if len(self._records) >= _RECORDS_KEPT:
                        del self._records[next(iter(self._records))]
                    self._records[key] = record
        return record

    def _read_super_tx(self, key: str) -> SuperTxRecord | None:
        db = self._db
        rows = db.execute("SELECT hash, accepted_at, body, finished FROM super_txs WHERE hash = ?", (key,)).fetchall()
        if not rows:
            return None
        h, accepted, body, finished = rows[0]
        ops = db.execute(f"SELECT {_USER_OP_COLUMNS} FROM user_ops WHERE hash = ? ORDER BY idx", (h,)).fetchall()
        return SuperTxRecord(
            hash=h,
            accepted_at=accepted,
            body_json=body,
            finished=bool(finished),
            user_ops=tuple(
                UserOpRecord(
                    index=i,
                    chain_id=c,
                    user_op_hash=u,
                    signature=s,
                    status=st,
                    tx_hash=t,
                    error=e,
                    confirmed=bool(k),
                    mining_timestamp=mt,
                    block_number=bn,
                    mined_timestamp=bt,
                    actual_gas_cost=None if gc is None else int(gc),
                    revert_error=re,
                )
                for i, c, u, s, st, t, e, k, mt, bn, bt, gc, re in ops
            ),
        )

    def busy_on(self, chain_id: int) -> bool:
        rows = self._read(
            "SELECT 1 FROM user_ops JOIN super_txs ON super_txs.hash = user_ops.hash WHERE super_txs.finished = 0 "
            "AND user_ops.chain_id = ? AND user_ops.status NOT IN ('MINED_SUCCESS', 'MINED_FAIL', 'FAILED') LIMIT 1",
            (chain_id,),
        )
        return bool(rows)

    def stats(self) -> dict[str, int]:
        [(total, unfinished)] = self._read("SELECT COUNT(*), COALESCE(SUM(finished = 0), 0) FROM super_txs")
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        size = sum(f.stat().st_size for f in files if f.exists())
        return {"superTransactions": int(total), "unfinished": int(unfinished), "bytes": size}

    def unfinished(self) -> list[str]:
        return [r[0] for r in self._read("SELECT hash FROM super_txs WHERE finished = 0 ORDER BY accepted_at")]

    def update_user_ops(
        self,
        quote_hash: str,
        indices: Sequence[int],
        *,
        status: str,
        tx_hash: str | None = None,
        error: str | None = None,
        confirmed: bool | None = None,
    ) -> None:
        with self._tx(quote_hash) as db:
            for index in indices:
                db.execute(
                    "UPDATE user_ops SET status = ?, tx_hash = COALESCE(?, tx_hash), error = COALESCE(?, error), "
                    "confirmed = COALESCE(?, confirmed) WHERE hash = ? AND idx = ?",
                    (status, tx_hash, error, None if confirmed is None else int(confirmed), quote_hash, index),
                )

    def set_user_op_results(self, quote_hash: str, results: Sequence[Outcome]) -> None:
        with self._tx(quote_hash) as db:
            self._write_results(db, quote_hash, results)

    @staticmethod
    def _write_results(db: sqlite3.Connection, quote_hash: str, results: Sequence[Outcome]) -> None:
        db.executemany(
            "UPDATE user_ops SET status = ?, error = ?, confirmed = 1, block_number = ?, mined_timestamp = ?, "
            "actual_gas_cost = ?, revert_error = ? WHERE hash = ? AND idx = ?",
            [
                (
                    o.status,
                    o.error,
                    o.block_number,
                    o.mined_timestamp,
                    None if o.actual_gas_cost is None else str(o.actual_gas_cost),
                    o.revert_error,
                    quote_hash,
                    o.index,
                )
                for o in results
            ],
        )
        # the last outcome finishes the super-transaction in the same transaction, so that a client that sees every
        # userOp final also sees it finished (/health, the backlog)
        db.execute(
            "UPDATE super_txs SET finished = 1 WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM user_ops WHERE hash = ? "
            "AND status NOT IN ('MINED_SUCCESS', 'MINED_FAIL', 'FAILED'))",
            (quote_hash, quote_hash),
        )

    def finish(self, quote_hash: str) -> None:
        with self._tx(quote_hash) as db:
            db.execute("UPDATE super_txs SET finished = 1 WHERE hash = ?", (quote_hash,))

    # -- bundles ------------------------------------------------------------------------------------------------------

    def record_bundle(
        self,
        chain_id: int,
        parts: Sequence[tuple[str, Sequence[int]]],
        nonce: int,
        tx_hash: str,
        raw_tx: str,
        *,
        mining_timestamp: int | None = None,
    ) -> list[BundleRecord]:
        created = time.time()
        records = []
        with self._tx(*(quote_hash for quote_hash, _ in parts)) as db:
            for quote_hash, indices in parts:
                cursor = db.execute(
                    "INSERT INTO bundles (hash, chain_id, sender, indices, nonce, tx_hash, raw_tx, state, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'SIGNED', ?)",
                    (quote_hash, chain_id, self._sender, json.dumps(list(indices)), nonce, tx_hash, raw_tx, created),
                )
                db.executemany(
                    "UPDATE user_ops SET status = 'MINING', tx_hash = ?, mining_timestamp = ? "
                    "WHERE hash = ? AND idx = ?",
                    [(tx_hash, mining_timestamp, quote_hash, index) for index in indices],
                )
                records.append(
                    BundleRecord(
                        int(cursor.lastrowid or 0),
                        quote_hash,
                        chain_id,
                        tuple(indices),
                        nonce,
                        tx_hash,
                        raw_tx,
                        "SIGNED",
                        created,
                    )
                )
        return records

    def bundles(self, quote_hash: str) -> list[BundleRecord]:
        rows = self._read(
            "SELECT id, hash, chain_id, indices, nonce, tx_hash, raw_tx, state, created_at FROM bundles "
            "WHERE hash = ? ORDER BY id",
            (quote_hash,),
        )
        return [BundleRecord(i, h, c, tuple(json.loads(ix)), n, t, r, s, ts) for i, h, c, ix, n, t, r, s, ts in rows]

    def settle_bundle(self, bundle_ids: Sequence[int], results: Mapping[str, Sequence[Outcome]]) -> None:
        with self._tx(*results) as db:
            for quote_hash, outcomes in results.items():
                self._write_results(db, quote_hash, outcomes)
            settled = time.time()
            db.executemany(
                "UPDATE bundles SET state = 'MINED', settled_at = ? WHERE id = ?", [(settled, i) for i in bundle_ids]
            )

    def next_nonce_floor(self, chain_id: int, sender: str) -> int:
        rows = self._read(
            "SELECT MAX(nonce) FROM bundles WHERE chain_id = ? AND sender = ?", (chain_id, sender or self._sender)
        )
        top = rows[0][0] if rows else None
        return 0 if top is None else int(top) + 1
