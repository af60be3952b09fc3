"""The node's SQLite store on its own: what survives a reopen, replays, bundles before broadcast, nonce floors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from smartsessions.devnet.node import SqliteStore
from smartsessions.devnet.node.store import Outcome, QuoteMeta, QuoteRecord, UserOpRecord
from smartsessions.versions import MEE_VERSIONS
from smartsessions.wire.mee import MeeVersionEntry, Trigger

NODE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
H = "0x" + "ab" * 32
H2 = "0x" + "cd" * 32
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
META = QuoteMeta(
    quote_type="simple",
    trigger=None,
    sponsored=False,
    fusion_payment=False,
    permit_tx_index=None,
    trigger_op_index=None,
    token_wei_amount=1234,
    wei_cost=5678,
)


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    store = SqliteStore(path, sender=NODE)
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, META)
    ops = [UserOpRecord(0, 8453, "0x" + "01" * 32, "0xaa"), UserOpRecord(1, 10, "0x" + "02" * 32, "0xbb")]
    assert store.get_quote(H) is None
    assert store.accept(H, {"hash": H, "signature": "0x00"}, ops, quote=quote) is True
    replayed = QuoteRecord(H, 3.0, 4.0, {"hash": H, "userOps": []}, META.model_copy(update={"wei_cost": 1}))
    assert store.accept(H, {"hash": H}, ops, quote=replayed) is False  # a replay writes nothing
    assert store.get_quote(H) == quote
    [bundle] = store.record_bundle(8453, [(H, [0])], 7, "0x" + "cc" * 32, "0x02f8")
    assert bundle.state == "SIGNED"
    store.close()

    again = SqliteStore(path, sender=NODE)
    assert again.get_quote(H.upper().replace("0X", "0x")) == QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, META)
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
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, META)
    twice = [UserOpRecord(0, 8453, "0x" + "01" * 32, "0xaa")] * 2  # the same (hash, idx) twice: the insert fails
    with pytest.raises(sqlite3.IntegrityError):
        store.accept(H, {"hash": H}, twice, quote=quote)
    assert store.get_quote(H) is None and store.get_super_tx(H) is None
    store.close()


# What a node that stored every quote it issued wrote as a quote's notes (the simulation's gas by userOp index).
OLDER_META = (
    '{"quoteType":"simple","trigger":null,"sponsored":false,"fusionPayment":false,"permitTxIndex":null,'
    '"triggerOpIndex":null,"tokenWeiAmount":7,"weiCost":9,"meeVersions":[],"simulatedGas":{"0":41}}'
)


def test_quote_notes_are_stored_as_older_nodes_wrote_them(tmp_path: Path) -> None:
    """:class:`QuoteMeta` is written with the keys, order and JSON types the node has always written (amounts as
    numbers, ``trigger`` and ``meeVersions`` in their wire form without absent keys), and read back typed."""
    path = tmp_path / "node.sqlite"
    store = SqliteStore(path, sender=NODE)
    version = MEE_VERSIONS["2.0.0"].to_wire()
    meta = META.model_copy(
        update={
            "quote_type": "permit",
            "trigger": Trigger(token_address=USDC, chain_id=8453, amount=5),
            "fusion_payment": True,
            "permit_tx_index": 1,
            "trigger_op_index": 1,
            "mee_versions": (MeeVersionEntry(version=version, chain_id=8453),),
        }
    )
    store.accept(H, {"hash": H}, [UserOpRecord(0, 8453, "0x01", "0xaa")], quote=QuoteRecord(H, 1.0, 2.0, {}, meta))
    with sqlite3.connect(path) as db:
        [(raw,)] = db.execute("SELECT meta FROM quotes WHERE hash = ?", (H,)).fetchall()
    assert json.loads(raw) == {
        "quoteType": "permit",
        "trigger": {"tokenAddress": USDC, "chainId": 8453, "amount": "5"},
        "sponsored": False,
        "fusionPayment": True,
        "permitTxIndex": 1,
        "triggerOpIndex": 1,
        "tokenWeiAmount": 1234,
        "weiCost": 5678,
        "meeVersions": [{"version": version, "chainId": 8453}],
        "simulatedGas": {},
    }
    assert list(json.loads(raw)) == list(json.loads(OLDER_META))  # the key order too
    stored = store.get_quote(H)
    assert stored is not None and stored.meta == meta
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
        f"INSERT INTO quotes VALUES ('{H}', 1, 2, '{{}}', '{OLDER_META}');"
        f"INSERT INTO quotes VALUES ('{H2}', 1, 2, '{{\"issued\":true}}', '{OLDER_META}');"
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
    older = store.get_quote(H2)
    assert older is not None and older.quote == {"issued": True}
    assert (older.meta.quote_type, older.meta.token_wei_amount, older.meta.simulated_gas) == ("simple", 7, {"0": 41})
    accepted = QuoteRecord(H2, 3.0, 4.0, {"hash": H2, "userOps": []}, META)
    assert store.accept(H2, {"hash": H2}, [UserOpRecord(0, 8453, "0x02", "0xaa")], quote=accepted) is True
    assert store.get_quote(H2) == accepted and store.get_super_tx(H2) is not None
    store.close()


def test_busy_on_and_stats(tmp_path: Path) -> None:
    """``busy_on(chain)``: an unfinished super-transaction still has a userOp to finish there (the /exec payment check
    waits for it); ``stats()``: what ``/v1/health`` shows."""
    store = SqliteStore(tmp_path / "node.sqlite", sender=NODE)
    assert not store.busy_on(8453) and store.stats()["superTransactions"] == 0
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, META)
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
    quote = QuoteRecord(H, 1.0, 2.0, {"hash": H, "userOps": []}, META)
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
