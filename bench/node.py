"""The local MEE node under load: latency of a USE super-transaction and throughput with concurrent session signers.

    .venv/bin/python bench/node.py          # or: make bench-node
    .venv/bin/python bench/node.py --runs 100 --seconds 20 --levels 1,4,16

A fresh devnet (chain 8453, anvil automining) and the node in its own process (``python -m smartsessions.devnet.node``,
as ``smartsessions devnet up`` serves it), so the client's threads do not share a GIL with the node. Each session
signer has its own owner, Nexus account (deployed with SmartSessions), 1,000 test USDC and a Counter.increment grant
(sudo) with a 1,000 USDC max payment; its ENABLE_AND_USE runs before any timing. The requests are the ones the
reference SDK sends, built by the node tests' helpers (``tests/node/helpers.py``).

(a) latency: one signer, ``--runs`` USE super-transactions back to back, each from building the quote request to the
    receipt in which every userOp is final; (b) throughput: 1, 4, 16 signers on threads, each sending USE
    super-transactions back to back for ``--seconds``; (c) where the time goes, from client timestamps and, on the
    node's side, the timestamps in its SQLite store (super-transaction accepted, bundle signed, its receipt recorded).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_account import Account as EthAccount
from tests.contracts.flows import COUNTER, INCREMENT, counter_value, deployed_with_sessions_module, increment_call
from tests.contracts.harness import Chain
from tests.node.helpers import API_KEY, FINAL, Lanes, NodeClient, NodeProcess, session_quote, signed

from smartsessions import ActionConfig, SessionDetails, get_permission_id, get_sudo_policy
from smartsessions.devnet.deploy import TestKey, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import devnet_node_config
from smartsessions.encoding.abi import encode_function_call
from smartsessions.sessions import grant_permission_offline
from smartsessions.versions import MEE_VERSIONS, SMART_SESSIONS_ADDRESS

CHAIN_ID = 8453
USDC = 10**6
PHASES = ("build", "quote", "sign", "exec", "final")


def random_key(role: str) -> TestKey:
    acct = EthAccount.create()
    return TestKey(role=role, address=acct.address, private_key="0x" + bytes(acct.key).hex())


@dataclass
class Signer:
    """One session signer: its own account, grant, nonce lanes, node client and chain connection."""

    chain: Chain
    node: NodeClient
    account: str
    redeemer: TestKey
    details: list[SessionDetails]
    lanes: Lanes = field(default_factory=Lanes)


@dataclass
class Run:
    """Client timestamps (time.time()) of one super-transaction, and its quote hash."""

    start: float
    marks: dict[str, float]
    quote_hash: str
    ok: bool

    @property
    def total(self) -> float:
        return self.marks["final"] - self.start

    def phase(self, name: str) -> float:
        previous = PHASES[PHASES.index(name) - 1] if name != PHASES[0] else None
        return self.marks[name] - (self.marks[previous] if previous else self.start)


def new_chain(net: Devnet) -> Chain:
    return Chain(CHAIN_ID, net.rpc(CHAIN_ID), net.chains[CHAIN_ID].contracts, {k.role: k for k in net.keys})


def make_signer(net: Devnet, url: str, index: int) -> Signer:
    chain = new_chain(net)
    owner, redeemer = random_key(f"owner-{index}"), random_key(f"signer-{index}")
    account = deployed_with_sessions_module(chain, owner).address
    mint = encode_function_call("mint(address,uint256)", [account, 1_000 * USDC])  # the devnet USDC's open mint
    chain.transact(chain.keys["owner"].address, usdc_address(CHAIN_ID), mint)
    salt = os.urandom(32)
    pid = get_permission_id(
        {
            "session_validator": MEE_VERSIONS["2.0.0"].validator_address,
            "session_validator_init_data": redeemer.address,
            "salt": salt,
        }
    )
    nonce = chain.call(SMART_SESSIONS_ADDRESS, "getNonce(bytes32,address)", [bytes(pid), account], ["uint256"])
    action = ActionConfig(
        chain_id=CHAIN_ID, action_target=COUNTER, action_target_selector=INCREMENT, action_policies=[get_sudo_policy()]
    )
    details = grant_permission_offline(
        signer=EthAccount.from_key(owner.private_key),
        redeemer=redeemer.address,
        actions=[action],
        accounts={CHAIN_ID: account},
        nonces={CHAIN_ID: nonce},
        versions="2.0.0",
        fee_token={"address": usdc_address(CHAIN_ID), "chain_id": CHAIN_ID},
        max_payment_amount=1_000 * USDC,
        salts=[salt],
    )
    signer = Signer(chain, NodeClient(url), account, redeemer, details)
    run = super_tx(signer, enable=True, poll=0.02)  # ENABLE_AND_USE, untimed
    assert run.ok, f"signer {index}: the enabling super-transaction failed"
    return signer


def super_tx(s: Signer, *, enable: bool = False, poll: float) -> Run:
    start = time.time()
    marks: dict[str, float] = {}
    request = session_quote([s.chain], s.account, s.details, [(s.chain, increment_call())], s.lanes, enable=enable)
    marks["build"] = time.time()
    quote = s.node.quote(request)
    marks["quote"] = time.time()
    body = signed(quote, s.redeemer, request)
    marks["sign"] = time.time()
    quote_hash = s.node.execute(body)
    marks["exec"] = time.time()
    while True:
        status, answer = s.node.get(f"/explorer/{quote_hash}")
        if status == 200 and all(op["executionStatus"] in FINAL for op in answer["userOps"]):
            break
        time.sleep(poll)
    marks["final"] = time.time()
    ok = all(op["executionStatus"] == "MINED_SUCCESS" for op in answer["userOps"])
    return Run(start, marks, quote_hash, ok)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]  # nearest rank


def ms(x: float) -> str:
    return f"{x * 1000:8.1f}"


def server_marks(database: Path, hashes: list[str]) -> dict[str, tuple[float, float, float, float]]:
    """(quote stored, accepted, bundle signed, receipt recorded) per quote hash, from the node's store (read-only)."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    out = {}
    for h in hashes:
        created = db.execute("SELECT created_at FROM quotes WHERE hash = ?", (h,)).fetchone()
        accepted = db.execute("SELECT accepted_at FROM super_txs WHERE hash = ?", (h,)).fetchone()
        bundle = db.execute("SELECT MIN(created_at), MAX(settled_at) FROM bundles WHERE hash = ?", (h,)).fetchone()
        if created and accepted and bundle and bundle[0] is not None and bundle[1] is not None:
            out[h] = (created[0], accepted[0], bundle[0], bundle[1])
    db.close()
    return out


def latency(signer: Signer, runs: int, poll: float, database: Path) -> None:
    for _ in range(3):  # warm-up
        super_tx(signer, poll=poll)
    results = [super_tx(signer, poll=poll) for _ in range(runs)]
    assert all(r.ok for r in results), "a USE super-transaction failed"
    totals = [r.total for r in results]
    print(f"\n(a) quote -> final receipt, one signer, {runs} USE super-transactions back to back (ms)")
    p50, p95, mean = pct(totals, 50) * 1000, pct(totals, 95) * 1000, statistics.mean(totals) * 1000
    print(
        f"    p50 {p50:.1f}  p95 {p95:.1f}  mean {mean:.1f}  min {min(totals) * 1000:.1f}  max {max(totals) * 1000:.1f}"
    )

    server = server_marks(database, [r.quote_hash for r in results])
    rows: list[tuple[str, list[float]]] = [
        ("build request (client: 2 getNonce + 1 block eth_call)", [r.phase("build") for r in results]),
        ("POST /quote (node: simulate, price, hash)", [r.phase("quote") for r in results]),
        ("sign the quote hash (client)", [r.phase("sign") for r in results]),
        ("POST /exec (node: accept, verify, store)", [r.phase("exec") for r in results]),
        ("exec answered -> client sees final", [r.phase("final") for r in results]),
    ]
    both = [(r, server[r.quote_hash]) for r in results if r.quote_hash in server]
    # The node starts executing while /exec's answer is on its way, so the node's side is a timeline of its own:
    # the three rows below add up to "sign -> final" and overlap the last two client rows.
    sub: list[tuple[str, list[float]]] = [
        ("  /exec sent -> node has accepted (check, verify, store)", [a - r.marks["sign"] for r, (_, a, _, _) in both]),
        ("  node: accepted -> bundle signed (simulate, check bundle, sign, store)",
         [b - a for _, (_, a, b, _) in both]),
        ("  node: bundle signed -> receipt recorded (send, mine, receipt, store)", [m - b for _, (_, _, b, m) in both]),
        ("  node: receipt recorded -> client sees final (its explorer poll)",
         [r.marks["final"] - m for r, (_, _, _, m) in both]),
    ]  # fmt: skip
    print(f"\n(c) where the time goes (ms; client explorer poll every {poll * 1000:.0f} ms)")
    print(f"    {'phase':<80}{'p50':>8}{'mean':>9}{'share':>8}")
    total_mean = statistics.mean(totals)
    for name, values in rows + sub:
        mean = statistics.mean(values)
        print(f"    {name:<80}{ms(pct(values, 50))}{ms(mean)} {mean / total_mean * 100:6.1f}%")


def throughput(signers: list[Signer], seconds: float, poll: float) -> tuple[int, float, float, float, float]:
    runs: list[list[Run]] = [[] for _ in signers]
    barrier = threading.Barrier(len(signers) + 1)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        barrier.wait()
        deadline = time.time() + seconds
        try:
            while time.time() < deadline:
                runs[i].append(super_tx(signers[i], poll=poll))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(signers))]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.time()
    for t in threads:
        t.join()
    end = max(r.marks["final"] for rs in runs for r in rs)
    if errors:
        raise errors[0]
    done = [r for rs in runs for r in rs]
    assert all(r.ok for r in done), "a USE super-transaction failed"
    totals = [r.total for r in done]
    return len(done), len(done) / (end - start), pct(totals, 50), pct(totals, 95), end - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="USE super-transactions for the latency figures")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput level")
    parser.add_argument("--levels", default="1,4,16", help="concurrent session signers")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between the client's explorer polls")
    parser.add_argument("--node-poll", type=float, default=None, help="the node's receipt poll (default: its own)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    folder = Path(tempfile.mkdtemp(prefix="smartsessions-bench-node-"))
    t0 = time.time()
    net = Devnet.start((CHAIN_ID,), log_dir=folder)
    node: NodeProcess | None = None
    signers: list[Signer] = []
    try:
        overrides = {} if args.node_poll is None else {"poll_interval": args.node_poll}
        config = devnet_node_config(net, database=folder / "node.sqlite", api_key=API_KEY, **overrides)
        node = NodeProcess(config, folder, "node")
        signers = [make_signer(net, node.url, i) for i in range(max(levels))]
        print(f"devnet + node + {len(signers)} accounts with enabled sessions ready in {time.time() - t0:.1f} s "
              f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"node receipt poll {config.poll_interval * 1000:g} ms)")  # fmt: skip
        before = counter_value(signers[0].chain)
        latency(signers[0], args.runs, args.poll, config.database_path)

        print(f"\n(b) throughput: each signer sends USE super-transactions back to back for {args.seconds:g} s")
        print(f"    {'signers':>7}{'super-txs':>11}{'super-tx/s':>12}{'p50 ms':>9}{'p95 ms':>9}{'wall s':>8}")
        total = 0
        for n in levels:
            count, rate, p50, p95, wall = throughput(signers[:n], args.seconds, args.poll)
            total += count
            print(f"    {n:>7}{count:>11}{rate:>12.1f}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}{wall:>8.1f}")
        moved = counter_value(signers[0].chain) - before
        assert moved == args.runs + 3 + total, (moved, args.runs + 3 + total)
        print(f"\ncounter moved by {moved} = every timed super-transaction executed once")
    finally:
        for s in signers:
            s.node.close()
            s.chain.rpc.close()
        if node is not None:
            node.kill()
        net.stop()


if __name__ == "__main__":
    main()
