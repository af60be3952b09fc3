"""One chain, one bundle, several super-transactions (issue 11, speed): the node's bundler puts every userOp that is
ready when a bundle starts into it, whichever super-transaction it belongs to, as Biconomy's node batches completed
simulations into one block. Real chain, real node over HTTP; the chain sits behind a proxy that holds each request
for a moment, so that the super-transactions are ready while the first bundle is still being checked."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest
from eth_account import Account as EthAccount

from smartsessions.devnet.deploy import TestKey
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer, devnet_node_config

from ..contracts.flows import counter_value, deployed_with_sessions_module, increment_call
from ..contracts.harness import Chain
from .helpers import Lanes, NodeClient, fund_usdc, mee_versions, payment_info, signed, statuses, user_op
from .proxy import FlakyProxy

pytestmark = pytest.mark.slow  # a node of its own, a slowed chain

ZERO = "0x" + "00" * 20
COUNT = 4


def _owner(index: int) -> TestKey:
    account = EthAccount.create()
    return TestKey(role=f"owner-{index}", address=account.address, private_key="0x" + bytes(account.key).hex())


def test_userops_of_several_super_transactions_share_one_bundle(
    chains: tuple[Chain, Chain], devnet: Devnet, tmp_path: Path
) -> None:
    chain = chains[0]  # reverted after the test, as every test's chain state
    owners = [_owner(i) for i in range(COUNT)]
    accounts = [deployed_with_sessions_module(chain, owner).address for owner in owners]
    for account in accounts:
        fund_usdc(chain, account, 5_000_000, chain.keys["owner"])
    proxy = FlakyProxy(devnet.url(8453))
    config = devnet_node_config({8453: proxy.url}, database=tmp_path / "node.sqlite")
    server = NodeServer(config).start()
    client = NodeClient(server.url, api_key=None)
    try:
        bodies = []
        for owner, account in zip(owners, accounts, strict=True):
            lanes = Lanes()
            request = {
                "quoteType": "simple",
                "userOps": [user_op(chain, account, increment_call(), lanes.nonce(chain, account, ZERO))],
                "paymentInfo": payment_info(chain, account, lanes.nonce(chain, account, ZERO)),
                "meeVersions": mee_versions([8453]),
            }
            bodies.append(signed(client.quote(request), owner, request))
        before = counter_value(chain)
        proxy.delay = 0.3  # each request to the chain waits: all four are ready while the first bundle is checked
        hashes: list[str] = [""] * COUNT

        def execute(k: int) -> None:
            own = NodeClient(server.url, api_key=None)
            try:
                hashes[k] = own.execute(bodies[k])
            finally:
                own.close()

        threads = [threading.Thread(target=execute, args=(k,)) for k in range(COUNT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        answers = [client.wait(h, timeout=120) for h in hashes]
        proxy.delay = 0.0
        assert [statuses(a) for a in answers] == [["MINED_SUCCESS", "MINED_SUCCESS"]] * COUNT
        assert counter_value(chain) == before + COUNT  # each call ran once

        with sqlite3.connect(config.database_path) as db:
            rows = db.execute("SELECT hash, tx_hash, indices FROM bundles").fetchall()
        per_tx = Counter(tx for _, tx, _ in rows)
        assert sorted(h for h, _, _ in rows) == sorted(hashes)  # one bundle record per super-transaction
        assert len(per_tx) < COUNT and max(per_tx.values()) >= 2, per_tx  # and some bundles carry several
        for answer in answers:  # the explorer names the shared transaction for each
            assert {op["executionData"] for op in answer["userOps"]} <= set(per_tx)
    finally:
        client.close()
        server.stop()
        proxy.close()
