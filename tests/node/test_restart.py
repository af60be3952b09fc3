"""Restart safety: a node process killed at any point and started again on the same SQLite file finishes every
accepted super-transaction exactly once (spec'd in the node's executor: the raw bundle transaction is stored before
it is broadcast, and a restarted node re-broadcasts those bytes instead of signing again)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeConfig, devnet_node_config

from ..contracts.flows import counter_value, increment_call
from ..contracts.harness import Chain
from .conftest import SessionSetup
from .helpers import (
    Lanes,
    NodeClient,
    NodeProcess,
    paused_mining,
    session_quote,
    signed,
    statuses,
    two_chain_session,
    usdc_balance,
)
from .proxy import FlakyProxy

pytestmark = pytest.mark.slow  # node processes started, killed and restarted


def _rows(database: str, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as db:
        return list(db.execute(sql).fetchall())


def _node_tx_count(chain: Chain) -> int:
    return int(chain.rpc.request("eth_getTransactionCount", [chain.keys["node"].address, "latest"]), 16)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[NodeProcess]]:
    started: list[NodeProcess] = []
    yield started
    for process in started:
        process.kill()


def _start(processes: list[NodeProcess], config: NodeConfig, folder: Path, name: str) -> NodeClient:
    process = NodeProcess(config, folder, name)
    processes.append(process)
    return NodeClient(process.url)


def test_killed_between_quote_and_exec(
    session: SessionSetup, node_config: NodeConfig, processes: list[NodeProcess], tmp_path: Path
) -> None:
    first = _start(processes, node_config, tmp_path, "first")
    request = session.request()
    quote = first.quote(request)
    processes[0].kill()
    before = counter_value(session.chain)

    second = _start(processes, node_config, tmp_path, "second")
    quote_hash = second.execute(signed(quote, session.chain.keys["session_signer"], request))
    assert statuses(second.wait(quote_hash)) == ["MINED_SUCCESS"] * 2
    assert counter_value(session.chain) == before + 1


def _exec_tolerating_a_dying_node(client: NodeClient, body: dict[str, Any]) -> None:
    try:
        status, answer = client.post("/exec", body)
    except httpx.HTTPError:
        return  # the process died before its answer left; the super-transaction was stored before that
    assert status == 200, answer


@pytest.mark.parametrize("fault", ["exit-before-broadcast", "exit-after-broadcast"])
def test_killed_between_signing_the_bundle_and_its_receipt(
    session: SessionSetup, node_config: NodeConfig, processes: list[NodeProcess], tmp_path: Path, fault: str
) -> None:
    chain = session.chain
    dying = _start(processes, node_config.model_copy(update={"fault": fault}), tmp_path, "dying")
    request = session.request()
    quote = dying.quote(request)
    before, sent_before = counter_value(chain), _node_tx_count(chain)
    _exec_tolerating_a_dying_node(dying, signed(quote, chain.keys["session_signer"], request))
    assert processes[0].wait_exit() == 70  # the fault hook: os._exit, no clean-up

    [(tx_hash, state)] = _rows(node_config.database, "SELECT tx_hash, state FROM bundles")
    assert state == "SIGNED"
    assert {s for (s,) in _rows(node_config.database, "SELECT status FROM user_ops")} == {"MINING"}
    mined = chain.rpc.request("eth_getTransactionReceipt", [tx_hash]) is not None
    assert mined is (fault == "exit-after-broadcast")

    restarted = _start(processes, node_config, tmp_path, "restarted")
    receipt = restarted.wait(quote["hash"])
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    assert [op["executionData"] for op in receipt["userOps"]] == [tx_hash, tx_hash]  # the stored bytes, not new ones
    assert counter_value(chain) == before + 1
    assert _node_tx_count(chain) == sent_before + 1
    assert _rows(node_config.database, "SELECT tx_hash, state FROM bundles") == [(tx_hash, "MINED")]


def test_killed_while_the_bundle_waits_in_the_pool(
    on_demand_mining: Devnet,
    session: SessionSetup,
    node_config: NodeConfig,
    processes: list[NodeProcess],
    tmp_path: Path,
) -> None:
    """Mining paused: the bundle is broadcast and pending when the node is killed (SIGKILL); the restarted node
    re-broadcasts the same transaction, and once blocks are mined again it records the receipt."""
    chain = session.chain
    first = _start(processes, node_config, tmp_path, "first")
    request = session.request()
    quote = first.quote(request)
    before, sent_before = counter_value(chain), _node_tx_count(chain)
    with paused_mining(chain):
        first.execute(signed(quote, chain.keys["session_signer"], request))
        deadline = time.monotonic() + 10
        while not _rows(node_config.database, "SELECT tx_hash FROM bundles"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        [(tx_hash,)] = _rows(node_config.database, "SELECT tx_hash FROM bundles")
        while chain.rpc.request("eth_getTransactionByHash", [tx_hash]) is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        processes[0].kill()

        restarted = _start(processes, node_config, tmp_path, "restarted")
        status, receipt = restarted.get(f"/explorer/{quote['hash']}")
        assert status == 200 and statuses(receipt) == ["MINING", "MINING"]
        assert [op["executionData"] for op in receipt["userOps"]] == [tx_hash, tx_hash]
        chain.rpc.request("evm_mine")
    receipt = restarted.wait(quote["hash"])
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    assert counter_value(chain) == before + 1
    assert _node_tx_count(chain) == sent_before + 1


def test_killed_while_a_chain_is_down(
    chains: tuple[Chain, Chain], devnet: Devnet, node_config: NodeConfig, tmp_path: Path, processes: list[NodeProcess]
) -> None:
    """A two-chain session (fee on 8453, a call on 10) is accepted while chain 10's RPC refuses connections; the node
    is killed with SIGKILL during the outage, started again while the chain is still down, and the chain comes back:
    the super-transaction finishes, the call runs once and the fee is paid once (issue 11)."""
    c8453, c10 = chains
    redeemer = c8453.keys["session_signer"]
    account, details = two_chain_session(chains)
    request = session_quote(list(chains), account, details, [(c10, increment_call())], Lanes(), enable=True)
    proxy = FlakyProxy(devnet.url(10))
    try:
        urls = {8453: devnet.url(8453), 10: proxy.url}
        config = devnet_node_config(urls, database=node_config.database, api_key=node_config.api_key)
        client = _start(processes, config, tmp_path, "first")
        before, usdc_before = counter_value(c10), usdc_balance(c8453, account)
        quote = client.quote(request)
        proxy.down()
        quote_hash = client.execute(signed(quote, redeemer, request))
        client.wait(quote_hash, until=lambda a: statuses(a)[0] == "MINED_SUCCESS")
        time.sleep(1)  # refused rounds on 10
        processes[-1].kill()
        client = _start(processes, config, tmp_path, "second")  # chain 10 still down
        time.sleep(1)
        assert statuses(client.get(f"/explorer/{quote_hash}")[1]) == ["MINED_SUCCESS", "PENDING"]
        proxy.up()
        assert statuses(client.wait(quote_hash)) == ["MINED_SUCCESS"] * 2
        assert counter_value(c10) == before + 1
        fee = int(quote["paymentInfo"]["tokenWeiAmount"])
        assert usdc_balance(c8453, account) == usdc_before - fee
    finally:
        proxy.close()
