"""The node's SQLite store on its own: what survives a reopen, replays, bundles before broadcast, nonce floors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from smartsessions.devnet.node import SqliteStore
from smartsessions.devnet.node.store import Outcome, QuoteRecord, UserOpRecord

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
H = "0x" + "ab" * 32
H2 = "0x" + "cd" * 32


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    store = SqliteStore(path, sender=NODE)
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, {"quoteType": "simple"})
    ops = [UserOpRecord(0, 8453, "0x" + "01" * 32, "0xaa"), UserOpRecord(1, 10, "0x" + "02" * 32, "0xbb")]
    assert store.get_quote(H) is None
    assert store.accept(H, {"hash": H, "signature": "0x00"}, ops, quote=quote) is True
    replayed = QuoteRecord(H, 3.0, 4.0, {"hash": H, "userOps": []}, {})
    assert store.accept(H, {"hash": H}, ops, quote=replayed) is False  # a replay writes nothing
    assert store.get_quote(H) == quote
    [bundle] = store.record_bundle(8453, [(H, [0])], 7, "0x" + "cc" * 32, "0x02f8")
    assert bundle.state == "SIGNED"
    store.close()

    again = SqliteStore(path, sender=NODE)
    assert again.get_quote(H.upper().replace("0X", "0x")) == QuoteRecord(
        H, 1.0, 2.0, {"hash": H, "userOps": []}, {"quoteType": "simple"}
    )
    record = again.get_super_tx(H)
    assert record is not None and not record.finished and record.body["signature"] == "0x00"
    assert [(op.status, op.tx_hash) for op in record.user_ops] == [("MINING", "0x" + "cc" * 32), ("PENDING", None)]
    assert again.unfinished() == [H]
    assert [(b.chain_id, b.indices, b.nonce, b.raw_tx, b.state) for b in again.bundles(H)] == [
        (8453, (0,), 7, "0x02f8", "SIGNED")
    ]
    assert again.next_nonce_floor(8453, NODE) == 8 and again.next_nonce_floor(10, NODE) == 0

    again.settle_bundle([bundle.id], {H: [Outcome(0, "MINED_SUCCESS", None)]})
    assert [b.state for b in again.bundles(H)] == ["MINED"]
    again.update_user_ops(H, [1], status="FAILED", error="not submitted: the window ended")
    again.finish(H)
    record = again.get_super_tx(H)
    assert record is not None and record.finished and again.unfinished() == []
    assert [(op.status, op.error, op.confirmed) for op in record.user_ops] == [
        ("MINED_SUCCESS", None, True),
        ("FAILED", "not submitted: the window ended", False),
    ]
    again.close()


def test_a_failed_accept_writes_no_quote(tmp_path: Path) -> None:
    """The quote is written in the super-transaction's own transaction: when that fails, there is no quote row."""
    store = SqliteStore(tmp_path / "node.sqlite", sender=NODE)
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, {})
    twice = [UserOpRecord(0, 8453, "0x" + "01" * 32, "0xaa")] * 2  # the same (hash, idx) twice: the insert fails
    with pytest.raises(sqlite3.IntegrityError):
        store.accept(H, {"hash": H}, twice, quote=quote)
    assert store.get_quote(H) is None and store.get_super_tx(H) is None
    store.close()


def test_a_file_of_an_older_node_gets_the_receipt_columns(tmp_path: Path) -> None:
    """A database written before the receipt details were recorded opens, and its userOps read with them unset; a
    quote it stored when it issued it (older nodes stored every quote) is rewritten when it is accepted now."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE quotes (hash TEXT PRIMARY KEY, created_at REAL NOT NULL, expires_at REAL NOT NULL, "
        "quote TEXT NOT NULL, meta TEXT NOT NULL);"
        "CREATE TABLE super_txs (hash TEXT PRIMARY KEY, accepted_at REAL NOT NULL, body TEXT NOT NULL, "
        "finished INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE user_ops (hash TEXT NOT NULL, idx INTEGER NOT NULL, chain_id INTEGER NOT NULL, "
        "user_op_hash TEXT NOT NULL, signature TEXT, status TEXT NOT NULL, tx_hash TEXT, error TEXT, "
        "confirmed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (hash, idx));"
        f"INSERT INTO quotes VALUES ('{H}', 1, 2, '{{}}', '{{}}');"
        f"INSERT INTO quotes VALUES ('{H2}', 1, 2, '{{\"issued\":true}}', '{{}}');"
        f"INSERT INTO super_txs VALUES ('{H}', 1, '{{}}', 1);"
        f"INSERT INTO user_ops VALUES ('{H}', 0, 8453, '0x01', NULL, 'MINED_SUCCESS', '0xcc', NULL, 1);"
    )
    db.commit()
    db.close()
    store = SqliteStore(path, sender=NODE)
    record = store.get_super_tx(H)
    assert record is not None
    [op] = record.user_ops
    assert (op.status, op.confirmed, op.block_number, op.actual_gas_cost, op.mined_timestamp) == (
        "MINED_SUCCESS",
        True,
        None,
        None,
        None,
    )
    store.set_user_op_results(H, [Outcome(0, "MINED_SUCCESS", block_number=7, mined_timestamp=9, actual_gas_cost=5)])
    record = store.get_super_tx(H)
    assert record is not None and (record.user_ops[0].block_number, record.user_ops[0].actual_gas_cost) == (7, 5)
    assert store.get_quote(H2) == QuoteRecord(H2, 1, 2, {"issued": True}, {})
    accepted = QuoteRecord(H2, 3.0, 4.0, {"hash": H2, "userOps": []}, {"quoteType": "simple"})
    assert store.accept(H2, {"hash": H2}, [UserOpRecord(0, 8453, "0x02", "0xaa")], quote=accepted) is True
    assert store.get_quote(H2) == accepted and store.get_super_tx(H2) is not None
    store.close()


def test_busy_on_and_stats(tmp_path: Path) -> None:
    """``busy_on(chain)``: an unfinished super-transaction still has a userOp to finish there (the /exec payment check
    waits for it); ``stats()``: what ``/v1/health`` shows."""
    store = SqliteStore(tmp_path / "node.sqlite", sender=NODE)
    assert not store.busy_on(8453) and store.stats()["superTransactions"] == 0
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, {})
    ops = [UserOpRecord(0, 8453, "0x" + "01" * 32, "0xaa"), UserOpRecord(1, 10, "0x" + "02" * 32, "0xbb")]
    store.accept(H, {"hash": H}, ops, quote=quote)
    assert store.busy_on(8453) and store.busy_on(10) and not store.busy_on(1)
    store.set_user_op_results(H, [Outcome(0, "MINED_SUCCESS", None)])
    assert not store.busy_on(8453) and store.busy_on(10)
    assert {k: v for k, v in store.stats().items() if k != "bytes"} == {"superTransactions": 1, "unfinished": 1}
    store.set_user_op_results(H, [Outcome(1, "FAILED", "window ended")])
    assert not store.busy_on(10)
    store.finish(H)
    assert store.stats()["unfinished"] == 0 and store.stats()["bytes"] > 0
    store.close()


def test_records_read_again_after_every_write(tmp_path: Path) -> None:
    """The store keeps the records it read; each write drops the ones it changed, so a read never sees an older
    state than the file's (the explorer answers from these records)."""
    store = SqliteStore(tmp_path / "node.sqlite", sender=NODE)
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, {})
    ops = [UserOpRecord(0, 8453, "0x" + "01" * 32, "0xaa"), UserOpRecord(1, 10, "0x" + "02" * 32, "0xbb")]
    assert store.get_super_tx(H) is None
    store.accept(H, {"hash": H}, ops, quote=quote)

    def states() -> list[tuple[str, str | None]]:
        record = store.get_super_tx(H.upper().replace("0X", "0x"))
        assert record is not None
        return [(op.status, op.tx_hash) for op in record.user_ops]

    assert states() == [("PENDING", None), ("PENDING", None)]
    assert store.get_super_tx(H) is store.get_super_tx(H)  # kept between writes
    [bundle] = store.record_bundle(8453, [(H, [0])], 1, "0x" + "cc" * 32, "0x02f8")
    assert states() == [("MINING", "0x" + "cc" * 32), ("PENDING", None)]
    store.settle_bundle([bundle.id], {H: [Outcome(0, "MINED_SUCCESS")]})
    assert states() == [("MINED_SUCCESS", "0x" + "cc" * 32), ("PENDING", None)]
    record = store.get_super_tx(H)
    assert record is not None and not record.finished
    store.set_user_op_results(H, [Outcome(1, "FAILED", "window ended")])
    record = store.get_super_tx(H)
    assert record is not None and record.finished  # the last outcome finishes it, in the same transaction
    assert store.stats()["unfinished"] == 0 and store.unfinished() == []
    store.close()
