"""Crash safety at random points (issue 11, "Prove it"): a node process runs real super-transactions (owner and
session USE, on one chain and on two) and is killed with SIGKILL at moments drawn from a seeded random schedule, then
started again on the same SQLite file. Some kills come while chain 10's RPC is down (behind
:class:`~.proxy.FlakyProxy`), which comes back before or after the restart; some hit the restarted node again while
it recovers. At the end the chains themselves are asked: every accepted super-transaction ran exactly once (each of
its userOps has exactly one ``UserOperationEvent``, a successful one; the counters moved once per accepted
increment), its fee was paid exactly once (USDC of the account and of the node), nothing that was not accepted ran,
the node sent exactly one transaction per bundle it stored (its transaction count on each chain, every bundle mined
and successful, none pending), every accepted super-transaction is final, and ``GET /v1/health`` reports nothing
unfinished.

Where the kill lands is random, so nothing here depends on it: a super-transaction whose ``/exec`` was in flight
when the node died may or may not have been accepted (and an owner's userOp on chain 10 cannot be accepted while
that chain is down: a 502). The client sends it again (as a client would) in a later round, or not; an answer 200,
or 400 "already been scheduled", says it was accepted; otherwise whether it was is read from the node at the end (the
explorer: 200 or 404), and only accepted ones are counted.

The schedule is drawn from ``random.Random(seed)``: the seed is fixed by default, so the same rounds, kinds, trigger
points and delays run every time; ``SMARTSESSIONS_CRASH_SEED`` picks another and ``SMARTSESSIONS_CRASH_KILLS`` the
number of kills (``SMARTSESSIONS_CRASH_SEED=7 SMARTSESSIONS_CRASH_KILLS=40 pytest tests/node/test_crash_random.py``
for a long run). The seed and the journal of what each round did are in every assertion message, so a failure can
be replayed. Kill points are events where that matters (a bundle row stored, a bundle's receipt on chain, the /exec
answers) and short random delays otherwise; timing only decides where a kill lands, never what is asserted.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartsessions.devnet.deploy import TestKey
from smartsessions.devnet.entrypoint import USER_OPERATION_EVENT_TOPIC
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeConfig, devnet_node_config
from smartsessions.sessions import SessionDetails
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS

from ..contracts.flows import counter_value, increment_call
from ..contracts.harness import ZERO, Chain
from .helpers import (
    API_KEY,
    Lanes,
    NodeClient,
    NodeProcess,
    mee_versions,
    payment_info,
    session_quote,
    signed,
    statuses,
    two_chain_session,
    usdc_balance,
    user_op,
)
from .proxy import FlakyProxy

pytestmark = pytest.mark.slow  # node processes started and killed again and again, a chain taken down and back

SEED = int(os.environ.get("SMARTSESSIONS_CRASH_SEED", "11"))
KILLS = int(os.environ.get("SMARTSESSIONS_CRASH_KILLS", "10"))

#: The kinds of super-transaction: who signs (the session's redeemer, USE mode; or the account owner) and which
#: chains get a Counter.increment. The fee is always paid in USDC on 8453.
KINDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "session:8453": ("session", (8453,)),
    "session:10": ("session", (10,)),
    "session:8453+10": ("session", (8453, 10)),
    "owner:8453": ("owner", (8453,)),
    "owner:10": ("owner", (10,)),
}
TRIGGERS = ("in-flight", "answered", "bundle-stored", "receipt-on-chain", "delay")
OUTAGES = ("none", "none", "exec-during-outage", "kill-during-outage")
#: Generous bounds: how long a trigger point is awaited before the kill happens anyway (not a failure), and how long an
#: accepted super-transaction may take to become final once every chain is back before it counts as stuck.
TRIGGER_WAIT = 10.0
FINAL_WAIT = 120.0
#: Seconds after its quote during which a super-transaction of unknown fate may be sent again.
RETRY_WITHIN = 300.0


# -- the schedule ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """One kill: what is sent, where the node dies, and what chain 10 does meanwhile."""

    new: tuple[str, ...]  # kinds quoted (chains up) and sent in this round
    retry: bool  # whether the super-transactions of unknown fate are sent again in this round (as a client would)
    outage: str  # none | exec-during-outage (down before the /exec) | kill-during-outage (down after the answers)
    outage_delay: float  # kill-during-outage: seconds between taking chain 10 down and the trigger
    trigger: str  # TRIGGERS
    delay: float  # seconds between the trigger point and the kill
    up_before_restart: bool  # chain 10 back before the node is started again, else after up_delay
    up_delay: float
    rekill: float | None  # kill the restarted node again this many seconds after it serves (while it recovers)

    def describe(self) -> str:
        outage = self.outage
        if outage != "none":
            up = "before restart" if self.up_before_restart else f"{self.up_delay:.2f} s after restart"
            outage += f" (+{self.outage_delay:.2f} s)" if outage == "kill-during-outage" else ""
            outage += f", up {up}"
        rekill = "" if self.rekill is None else f" rekill+{self.rekill:.2f}s"
        return f"new={list(self.new)} outage={outage} trigger={self.trigger}+{self.delay:.3f}s{rekill}"


def schedule(seed: int, kills: int) -> list[Round]:
    rng = random.Random(seed)
    rounds = []
    for _ in range(kills):
        trigger = rng.choice(TRIGGERS)
        delay = {
            "in-flight": rng.uniform(0.0, 0.12),  # the /exec requests still running, or just answered
            "answered": rng.uniform(0.0, 0.1),
            "bundle-stored": rng.choice([0.0, 0.0, rng.uniform(0.0, 0.05)]),
            "receipt-on-chain": rng.choice([0.0, rng.uniform(0.0, 0.02)]),
            "delay": rng.uniform(0.0, 1.5),
        }[trigger]
        rounds.append(
            Round(
                new=tuple(rng.choice(list(KINDS)) for _ in range(rng.choice([1, 1, 2, 2, 3]))),
                retry=rng.random() < 0.7,
                outage=rng.choice(OUTAGES),
                outage_delay=rng.uniform(0.0, 1.0),
                trigger=trigger,
                delay=delay,
                up_before_restart=rng.random() < 0.3,
                up_delay=rng.uniform(0.0, 1.5),
                rekill=rng.uniform(0.0, 0.5) if rng.random() < 0.25 else None,
            )
        )
    return rounds


# -- super-transactions -------------------------------------------------------------------------------------------


@dataclass
class SuperTx:
    name: str
    kind: str
    body: dict[str, Any]  # the signed /exec body
    fee: int
    increments: tuple[int, ...]  # chain ids with a Counter.increment
    user_ops: list[tuple[int, str]]  # (chainId, userOpHash), the payment userOp first
    fate: str = "unsent"  # unsent | unknown (sent, the node died or failed before a clear answer) | accepted
    answers: list[str] = field(default_factory=list)
    quoted_at: float = field(default_factory=time.monotonic)

    @property
    def hash(self) -> str:
        return str(self.body["hash"])

    @property
    def young(self) -> bool:
        """Sent again only well inside its userOps' 10-minute windows (a long run's old quote would be refused)."""
        return time.monotonic() - self.quoted_at < RETRY_WITHIN


@dataclass
class Scene:
    """The two chains, the account with its session enabled on both, and the keys that sign."""

    c8453: Chain
    c10: Chain
    account: str
    details: list[SessionDetails]
    lanes: Lanes
    owner: TestKey
    redeemer: TestKey
    count: int = 0

    def request(self, kind: str) -> tuple[dict[str, Any], TestKey]:
        who, chain_ids = KINDS[kind]
        chains = {8453: self.c8453, 10: self.c10}
        calls = [(chains[c], increment_call()) for c in chain_ids]
        if who == "session":
            request = session_quote([self.c8453, self.c10], self.account, self.details, calls, self.lanes, enable=False)
            return request, self.redeemer
        request = {
            "quoteType": "simple",
            "userOps": [user_op(c, self.account, call, self.lanes.nonce(c, self.account, ZERO)) for c, call in calls],
            "paymentInfo": payment_info(self.c8453, self.account, self.lanes.nonce(self.c8453, self.account, ZERO)),
            "meeVersions": mee_versions([8453, *[c for c in chain_ids if c != 8453]]),
            "simulation": {"simulate": True},
        }
        return request, self.owner

    def quote(self, client: NodeClient, kind: str) -> SuperTx:
        request, signer = self.request(kind)
        quote = client.quote(request)
        self.count += 1
        return SuperTx(
            name=f"#{self.count}:{kind}",
            kind=kind,
            body=signed(quote, signer, request),
            fee=int(quote["paymentInfo"]["tokenWeiAmount"]),
            increments=KINDS[kind][1],
            user_ops=[(int(op["chainId"]), str(op["userOpHash"])) for op in quote["userOps"]],
        )


def _exec(url: str, body: dict[str, Any]) -> tuple[int, Any] | BaseException:
    """One /exec over a connection of its own (it may be cut by the kill)."""
    try:
        with httpx.Client(base_url=url, headers={"x-api-key": API_KEY}, timeout=30) as http:
            r = http.post("/exec", json=body)
            return r.status_code, r.json()
    except (httpx.HTTPError, ValueError) as exc:
        return exc


def _judge(stx: SuperTx, outcome: tuple[int, Any] | BaseException, fail: Callable[[str], str]) -> None:
    """What an /exec answer says about the super-transaction's fate."""
    if isinstance(outcome, BaseException):
        stx.answers.append(type(outcome).__name__)
        if stx.fate != "accepted":
            stx.fate = "unknown"
        return
    status, answer = outcome
    stx.answers.append(str(status))
    if status == 200:
        assert answer == {"hash": stx.hash}, fail(f"{stx.name}: /exec answered {answer}")
        stx.fate = "accepted"
    elif status == 400 and "has already been scheduled" in str(answer.get("error")):
        stx.fate = "accepted"  # a retry of one the node had stored before it died
    elif status >= 500:  # the node could not ask a chain that is down (an owner's userOp on 10): not accepted now
        if stx.fate != "accepted":
            stx.fate = "unknown"
    else:
        raise AssertionError(fail(f"{stx.name}: /exec answered {status} {answer}"))


# -- the node's file and the chains ---------------------------------------------------------------------------------


def _rows(database: str, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(database, timeout=30)
    try:
        return list(db.execute(sql).fetchall())
    finally:
        db.close()


def _tx_count(chain: Chain, address: str, block: str = "latest") -> int:
    return int(chain.rpc.request("eth_getTransactionCount", [address, block]), 16)


def _events(chain: Chain, user_op_hash: str, from_block: int) -> list[dict[str, Any]]:
    """The EntryPoint's ``UserOperationEvent`` logs for one userOp since ``from_block``."""
    topic = "0x" + bytes(USER_OPERATION_EVENT_TOPIC).hex()
    logs = chain.rpc.request(
        "eth_getLogs",
        [{"address": ENTRY_POINT_V07_ADDRESS, "fromBlock": hex(from_block), "toBlock": "latest",
          "topics": [topic, user_op_hash]}],
    )  # fmt: skip
    return list(logs)


def _succeeded(log: dict[str, Any]) -> bool:
    data = bytes.fromhex(str(log["data"])[2:])  # nonce, success, actualGasCost, actualGasUsed
    return int.from_bytes(data[32:64], "big") == 1


def _trigger_point(trigger: str, database: str, after: int, chains: dict[int, Chain]) -> bool:
    """Wait for the round's trigger point, if it is an event: a bundle of this round stored (signed, maybe not yet
    broadcast), or its transaction mined (the node may not have recorded the receipt yet). False if it did not come
    within :data:`TRIGGER_WAIT` (the kill happens anyway)."""

    def stored() -> bool:
        return bool(_rows(database, f"SELECT 1 FROM bundles WHERE id > {after} LIMIT 1"))

    def on_chain() -> bool:
        rows = _rows(database, f"SELECT chain_id, tx_hash FROM bundles WHERE id > {after}")
        return any(chains[c].rpc.request("eth_getTransactionReceipt", [h]) is not None for c, h in rows)

    if trigger == "bundle-stored":
        return _await(stored, TRIGGER_WAIT)
    if trigger == "receipt-on-chain":
        return _await(on_chain, TRIGGER_WAIT)
    return True


def _bundle_states(database: str, after: int, chains: dict[int, Chain]) -> str:
    """For the journal: the bundles stored since ``after`` and how far each got (stored, on chain, recorded)."""
    out = []
    for chain_id, tx_hash, state in _rows(database, f"SELECT chain_id, tx_hash, state FROM bundles WHERE id > {after}"):
        mined = chains[chain_id].rpc.request("eth_getTransactionReceipt", [tx_hash]) is not None
        out.append(f"{chain_id}:{'recorded' if state == 'MINED' else 'on chain' if mined else 'stored'}")
    return f"bundles [{', '.join(out)}]"


def _await(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll until the condition holds; False after ``timeout`` (a trigger point not reached: the kill happens)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def processes() -> Iterator[list[NodeProcess]]:
    started: list[NodeProcess] = []
    yield started
    for process in started:
        process.kill()


# -- the test ---------------------------------------------------------------------------------------------------------


def test_killed_at_random_points_nothing_is_lost_duplicated_or_stuck(
    chains: tuple[Chain, Chain], devnet: Devnet, node_config: NodeConfig, tmp_path: Path, processes: list[NodeProcess]
) -> None:
    run_crash_schedule(chains, devnet, node_config, tmp_path, processes, SEED, KILLS)


def run_crash_schedule(
    chains: tuple[Chain, Chain],
    devnet: Devnet,
    node_config: NodeConfig,
    tmp_path: Path,
    processes: list[NodeProcess],
    seed: int,
    kills: int,
) -> None:
    c8453, c10 = chains
    by_id = {8453: c8453, 10: c10}
    rounds = schedule(seed, kills)
    journal: list[str] = [f"seed={seed} kills={kills}"]
    print(f"crash schedule: SMARTSESSIONS_CRASH_SEED={seed} SMARTSESSIONS_CRASH_KILLS={kills}")

    def fail(what: str) -> str:
        return (
            f"{what}\nreplay: SMARTSESSIONS_CRASH_SEED={seed} SMARTSESSIONS_CRASH_KILLS={kills}; node logs in "
            f"{tmp_path}\n" + "\n".join(journal)
        )

    account, details = two_chain_session(chains, usdc=50_000_000)
    owner, redeemer = c8453.keys["owner"], c8453.keys["session_signer"]
    scene = Scene(c8453, c10, account, details, Lanes(), owner, redeemer)
    proxy = FlakyProxy(devnet.url(10))
    proxy_up = True
    try:
        config = devnet_node_config(
            {8453: devnet.url(8453), 10: proxy.url}, database=node_config.database, api_key=node_config.api_key
        )
        database = config.database
        node_address = config.address

        def start(name: str) -> NodeClient:
            process = NodeProcess(config, tmp_path, name)
            processes.append(process)
            return NodeClient(process.url)

        # The session enabled on both chains (ENABLE_AND_USE) before anything is killed: every session
        # super-transaction of the schedule is a USE, whatever became of the others.
        client = start("node-0")
        request = session_quote(
            list(chains), account, details, [(c8453, increment_call()), (c10, increment_call())], scene.lanes,
            enable=True,
        )  # fmt: skip
        quote = client.quote(request)
        setup = client.wait(client.execute(signed(quote, redeemer, request)))
        assert statuses(setup) == ["MINED_SUCCESS"] * 3, setup

        counters = {c: counter_value(by_id[c]) for c in by_id}
        account_usdc, node_usdc = usdc_balance(c8453, account), usdc_balance(c8453, node_address)
        sent = {c: _tx_count(by_id[c], node_address) for c in by_id}
        first_block = {c: int(by_id[c].rpc.request("eth_blockNumber"), 16) + 1 for c in by_id}
        bundles_before = {  # bundle transactions (one may carry several super-transactions, one record each)
            c: n for c, n in _rows(database, "SELECT chain_id, COUNT(DISTINCT tx_hash) FROM bundles GROUP BY chain_id")
        }
        stxs: list[SuperTx] = []

        pool = ThreadPoolExecutor(max_workers=6)
        try:
            for k, plan in enumerate(rounds, start=1):
                # chain 10 is up and a node is running at the start of every round
                new = [scene.quote(client, kind) for kind in plan.new]
                stxs.extend(new)
                retried = [s for s in stxs if plan.retry and s.fate == "unknown" and s.young]
                sending = retried + new
                random.Random(f"{seed}/{k}").shuffle(sending)
                line = f"round {k}: {plan.describe()}; sends {[s.name for s in sending]}"
                bundles_at_start = _rows(database, "SELECT COALESCE(MAX(id), 0) FROM bundles")[0][0]
                if plan.outage == "exec-during-outage":
                    proxy.down()
                    proxy_up = False
                url = processes[-1].url
                futures: list[Future[tuple[int, Any] | BaseException]] = [
                    pool.submit(_exec, url, s.body) for s in sending
                ]
                if plan.trigger != "in-flight":
                    for f in futures:
                        f.result()
                if plan.outage == "kill-during-outage":
                    proxy.down()
                    proxy_up = False
                    time.sleep(plan.outage_delay)
                reached = _trigger_point(plan.trigger, database, bundles_at_start, by_id)
                time.sleep(plan.delay)
                processes[-1].kill()
                client.close()
                line += f"; killed with {_bundle_states(database, bundles_at_start, by_id)}"
                for s, f in zip(sending, futures, strict=True):
                    _judge(s, f.result(), fail)
                if plan.outage != "none" and plan.up_before_restart:
                    proxy.up()
                    proxy_up = True
                client = start(f"node-{k}")
                if plan.rekill is not None:  # the recovery itself interrupted (during the outage, if there is one)
                    time.sleep(plan.rekill)
                    processes[-1].kill()
                    client.close()
                    line += f"; killed again with {_bundle_states(database, bundles_at_start, by_id)}"
                    client = start(f"node-{k}b")
                if not proxy_up:
                    time.sleep(plan.up_delay)
                    proxy.up()
                    proxy_up = True
                line += "; " + ("" if reached else "trigger point not reached, killed anyway; ")
                line += ", ".join(f"{s.name} {s.fate} ({'/'.join(s.answers)})" for s in sending)
                journal.append(line)
        finally:
            pool.shutdown(wait=True)

        # Every chain up, the last node running: which super-transactions were accepted, asked of the node.
        for s in stxs:
            if s.fate == "unknown":
                status, answer = client.get(f"/explorer/{s.hash}")
                assert status in (200, 404), fail(f"{s.name}: explorer answered {status} {answer}")
                s.fate = "accepted" if status == 200 else "not accepted"
        accepted = [s for s in stxs if s.fate == "accepted"]
        journal.append("fates: " + ", ".join(f"{s.name} {s.fate}" for s in stxs if s.fate != "unsent"))
        print("\n".join(journal))

        # Nothing stuck: every accepted super-transaction final, and successful (nothing here may fail: the windows
        # are 10 minutes, the userOps independent, the fees covered).
        for s in accepted:
            try:
                receipt = client.wait(s.hash, timeout=FINAL_WAIT)
            except AssertionError:
                _, answer = client.get(f"/explorer/{s.hash}")
                where = [(op["executionStatus"], op.get("executionError")) for op in answer.get("userOps", [])]
                raise AssertionError(fail(f"{s.name} {s.hash} not final after {FINAL_WAIT} s: {where}")) from None
            assert statuses(receipt) == ["MINED_SUCCESS"] * len(s.user_ops), fail(
                f"{s.name}: {[(op['executionStatus'], op.get('executionError')) for op in receipt['userOps']]}"
            )

        def health() -> dict[str, Any]:
            status, answer = client.get("/health")
            assert status == 200, answer
            return dict(answer["store"])

        _await(lambda: health()["unfinished"] == 0, FINAL_WAIT)
        store = health()
        assert store["unfinished"] == 0, fail(f"health: {store}")
        assert store["superTransactions"] == len(accepted) + 1, fail(
            f"health: {store}; the file: {_rows(database, 'SELECT COUNT(*), SUM(finished = 0) FROM super_txs')}"
        )  # + the setup one

        # Exactly once, on chain: each accepted userOp has one UserOperationEvent, a successful one; a userOp of a
        # super-transaction that was not accepted has none.
        for s in stxs:
            if s.fate == "unsent":
                continue
            for chain_id, user_op_hash in s.user_ops:
                events = _events(by_id[chain_id], user_op_hash, first_block[chain_id])
                if s.fate == "accepted":
                    assert len(events) == 1 and _succeeded(events[0]), fail(
                        f"{s.name}: userOp {user_op_hash} on chain {chain_id}: {len(events)} UserOperationEvents "
                        f"{events}"
                    )
                else:
                    assert events == [], fail(f"{s.name} was not accepted, yet its userOp {user_op_hash} ran")

        for chain_id, chain in by_id.items():
            runs = sum(s.increments.count(chain_id) for s in accepted)
            assert counter_value(chain) == counters[chain_id] + runs, fail(
                f"chain {chain_id}: the counter moved {counter_value(chain) - counters[chain_id]}, "
                f"accepted increments {runs}"
            )
        fees = sum(s.fee for s in accepted)
        assert usdc_balance(c8453, account) == account_usdc - fees, fail("the account did not pay each fee once")
        assert usdc_balance(c8453, node_address) == node_usdc + fees, fail("the node was not paid each fee once")

        # One transaction per stored bundle: the node's transaction count moved by the number of bundle transactions
        # it stored, each of them mined and successful, none left in the pool, and no userOp in two bundles.
        bundles = _rows(database, "SELECT id, hash, chain_id, indices, tx_hash, state FROM bundles ORDER BY id")
        carried = [(h, i) for _, h, _, ix, _, _ in bundles for i in json.loads(ix)]
        assert len(carried) == len(set(carried)), fail(f"a userOp is in two bundles: {bundles}")
        for chain_id, chain in by_id.items():
            mine = [b for b in bundles if b[2] == chain_id]
            new_bundles = len({b[4] for b in mine}) - bundles_before.get(chain_id, 0)
            latest, pending = _tx_count(chain, node_address), _tx_count(chain, node_address, "pending")
            assert latest == pending == sent[chain_id] + new_bundles, fail(
                f"chain {chain_id}: the node sent {latest - sent[chain_id]} transactions ({pending - latest} "
                f"pending) for {new_bundles} bundles"
            )
            for _, quote_hash, _, _, tx_hash, state in mine:
                receipt = chain.rpc.request("eth_getTransactionReceipt", [tx_hash])
                assert state == "MINED" and receipt is not None and receipt["status"] == "0x1", fail(
                    f"bundle {tx_hash} of {quote_hash} on chain {chain_id}: {state}, receipt {receipt}"
                )
    finally:
        proxy.close()
