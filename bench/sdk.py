"""Our SDK against the reference SDK (@biconomy/abstractjs 1.2.3) on the same devnet and node, in one run: the grant
(typed data, on 1 and on 4 chains) and use_permission up to the submitted hash, timed, with the HTTP round trips
each call makes to the chains' RPC endpoints and to the MEE node.

    .venv/bin/python bench/sdk.py           # or: make bench-sdk
    .venv/bin/python bench/sdk.py --runs 40 --warmup 5

A fresh devnet (chains 8453, 10, 137, 42161; anvil automining) and the local MEE node in its own process (``python -m
smartsessions.devnet.node``). Both SDKs reach the chains and the node through a counting proxy, a third process: one
port per anvil and one for the node, bytes passed through unchanged, each HTTP request counted (a JSON-RPC batch is
one request, i.e. one round trip) with the JSON-RPC methods or node paths it carried. The node itself talks to the
anvils directly, so only the SDKs' own traffic is counted.

The owner's account (index 0) is prepared once on the four chains with our SDK (a permit-funded
prepare_for_permissions) and gets 10,000 test USDC on 8453. Then each SDK, ours here and the reference in
``bench/sdk_ref.mjs`` (run by this script with the same URLs, keys and counts; it prints JSON):

* grants Counter.increment (sudo) with USDC on 8453 as the fee token (so the payment policy and the token's decimals
  read are part of it), as EIP-712 typed data, on 8453 alone and on all four chains: ``--warmup`` untimed, then
  ``--runs`` timed calls each;
* grants Counter.increment on 8453 to the session signer, runs one ENABLE_AND_USE from the session signer's client,
  then ``--warmup`` + ``--runs`` USE calls (one increment()), each timed from the call to the super-transaction hash
  (``/exec`` answered), and waits untimed for the super-transaction to be mined (both SDKs' ``fast-block`` mode, no
  confirmations: 3 blocks 2 s apart would make the run minutes long) before the next one; the reference is given
  ``simulation={"simulate": True}``, as in the session-quote rows below;
* ``get_session_quote`` PREPARE from the owner's client on a fresh account each call (a new key whose Nexus account
  is deployed nowhere and holds 100 test USDC on 8453, both minted before the timing): deploy and install
  SmartSessions on the four chains and enable a session of Counter.increment (sudo) on 8453 for the session signer,
  the fee in USDC on 8453 with the default fee budget (5 USDC: the token's ``decimals()`` read); ``--warmup`` +
  ``--runs`` quotes alone, then as many quoted, signed and executed up to the hash (``execute_session_quote``),
  each waited for untimed. The client is made (untimed) before each call, on the same proxy;
* ``get_session_quote`` USE (one increment() on 8453) from the session signer's client with the details of the last
  PREPARE executed: quotes alone, then quoted, signed and executed up to the hash, each waited for untimed;
* ``session_status`` (ours only: the reference has no such call) of the 2-chain session of the second grant below,
  with its fee allowance: ``--warmup`` + ``--runs`` calls, one JSON-RPC batch per chain, the chains at once;
* the same two quotes asked without the node's simulation (``simulation={"simulate": False}``, the reference's
  default), on both sides. The rows above ask both SDKs' quotes with the node's simulation (ours asks it by default;
  the reference is given ``simulation={"simulate": True}``), so that the node does the same work for both.

The proxy's counters are read (on a separate control port) just before and just after each timed call.

Ours only, in the same table (the reference has no dry run): ``dry_run_use`` (issue 15's ``check_call``) of the USE
quote's call, with the same details, ``--warmup`` + ``--runs`` times: the verdict, asked of the chain, no node.

Then, ours only (the reference checks none of this), what our SDK's own checks cost inside ``use_permission``:

* a second grant, Counter.increment on 8453 and on 10, one ENABLE_AND_USE, then ``--warmup`` + ``--runs`` USE calls
  with one increment() on each chain (the 2-chain ``use_permission`` the 2-chain checks are compared with);
* ``verify_quote`` (``mee/verify.py``) and ``check_commitment`` (``mee/results.py``) on the quotes the node issued
  in this run: the session quotes of the last USE calls above (1 chain and 2 chains) and owner quotes (the owner's
  ``get_quote`` of one increment() on 8453, and on 8453 and 10), the same objects ``get_quote`` checked;
* the early decision (``sessions.use._early_decision``), which has no round trip of its own: it returns a
  ``Preflight``, calls that ride in the quote's own JSON-RPC batch on each chain and a ``check`` of their answers run
  before the node is asked. Its two CPU parts: building it (``_early_decision`` itself) and its ``check``, on the
  arguments and answers of the last USE call (1 chain and 2 chains) and of the ENABLE_AND_USE call before them (whose
  check also works out the session digest);
* each of these CPU checks timed alone in ``--runs`` samples, a sample being the mean of as many calls as take at
  least 20 ms;
* the early decision's share of the round trip: the last USE call's quote batch (all its chains at once, as
  ``get_quote`` reads them) sent with the early decision's calls and without them, by turns, ``--warmup`` untimed
  then ``--runs`` timed pairs, through the proxy.

The same CPU checks are also timed where they run, inside each timed ``use_permission`` and each ENABLE_AND_USE
(column "in use": patches around ``verify_quote``, ``check_commitment`` and ``_early_decision``, the last returning
the same calls and a ``check`` that calls the original's, timed, and around ``NexusDeployment.quote_reads``, which
notes each chain's batch; what each returns or raises is unchanged). Each row's share is its p50 over the p50 of the
``use_permission`` USE with as many chains (quote + sign + exec, up to the hash; the checks are part of it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

CHAINS = (8453, 10, 137, 42161)
HOME = 8453
OTHER = 10  # the second chain of the 2-chain session and owner quotes
USDC = 10**6
API_KEY = "bench-sdk-key"
MEE_VERSION = "2.1.0"
USE_MAX_PAYMENT = 1_000 * USDC  # the USE session's payment allowance (many super-transactions)
ROWS = (
    ("grant1", "grant typed data, 1 chain"),
    ("grant4", "grant typed data, 4 chains"),
    ("use", "use_permission USE -> hash"),
    ("prepare_quote", "get_session_quote PREPARE"),
    ("prepare_exec", "PREPARE + execute -> hash"),
    ("use_quote", "get_session_quote USE"),
    ("use_exec", "USE + execute -> hash"),
    ("prepare_quote_nosim", "PREPARE, simulate off"),
    ("use_quote_nosim", "USE, simulate off"),
)
# Rows only our SDK has (the reference has no such call): printed with the others, the reference's columns empty:
# session_status on 2 chains, and the dry run of the USE row's call (no node, no fee).
OURS_ONLY = (("status", "session_status, 2 chains"), ("dry_run", "dry_run_use (check_call)"))
# The use_permission and session-quote rows ask the node to simulate on both sides (our SDK's default; the reference
# is given simulation={"simulate": True}), so that the node does the same work for both; the `_nosim` rows ask it not
# to (the reference's default).
NO_SIMULATION = {"simulate": False}
# the fresh (undeployed, USDC-funded) accounts' keys each side needs: one per PREPARE call (warm-ups included)
FRESH = ("ours_quote", "ours_exec", "ours_quote_nosim", "ref_quote", "ref_exec")
FRESH_USDC = 100 * USDC
# the quotes verify_quote and check_commitment are timed on: (shape, name, chains)
SHAPES = (
    ("session1", "session quote, 1 chain", 1),
    ("session2", "session quote, 2 chains", 2),
    ("owner1", "owner quote, 1 chain", 1),
    ("owner2", "owner quote, 2 chains", 2),
)
# the use_permission calls the early decision is timed on: (shape, name, chains); "enable": the one ENABLE_AND_USE
EARLY = (
    ("session1", "USE, 1 chain", 1),
    ("session2", "USE, 2 chains", 2),
    ("enable1", "ENABLE_AND_USE, 1 chain", 1),
    ("enable2", "ENABLE_AND_USE, 2 chains", 2),
)


# -- the counting proxy (its own process: python bench/sdk.py --proxy '{"name": "http://host:port", ...}') ----------


_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


class _Counts:
    def __init__(self, names: list[str]) -> None:
        self.requests = dict.fromkeys(names, 0)
        self.calls: dict[str, Counter[str]] = {n: Counter() for n in names}

    def record(self, name: str, first_line: str, body: bytes) -> None:
        self.requests[name] += 1
        verb, path = [*first_line.split(" "), "", ""][:2]
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "method" in payload and "jsonrpc" in payload:
            self.calls[name][str(payload["method"])] += 1
        elif isinstance(payload, list):  # a JSON-RPC batch: one round trip, several calls
            for item in payload:
                self.calls[name][str(item.get("method") if isinstance(item, dict) else "?")] += 1
            self.calls[name][f"(batch of {len(payload)})"] += 1
        else:
            self.calls[name][f"{verb} {_HASH.sub('{hash}', path)}"] += 1

    def snapshot(self) -> dict[str, Any]:
        return {"requests": self.requests, "calls": self.calls}


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, str, bytes] | None:
    """One HTTP/1.1 request off a keep-alive connection: (its raw bytes, its request line, its body)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)}
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raw, data = bytearray(head), bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            raw += size_line + chunk
            data += chunk[:-2]
            if size == 0:
                return bytes(raw), lines[0], bytes(data)
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return head + body, lines[0], body


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve_proxy(upstreams: dict[str, str]) -> None:
    counts = _Counts(list(upstreams))

    def forwarder(name: str, host: str, port: int) -> Callable[[Any, Any], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            _nodelay(writer)
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            _nodelay(up_writer)
            answers = asyncio.create_task(_pipe(up_reader, writer))  # responses pass through untouched
            try:
                while (request := await _read_request(reader)) is not None:
                    raw, first_line, body = request
                    counts.record(name, first_line, body)
                    up_writer.write(raw)
                    await up_writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                pass
            finally:
                up_writer.close()
                await asyncio.gather(answers, return_exceptions=True)

        return handle

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            body = json.dumps(counts.snapshot()).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    ports: dict[str, int] = {}
    servers = []
    for name, url in upstreams.items():
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None, url
        server = await asyncio.start_server(forwarder(name, parts.hostname, parts.port), "127.0.0.1", 0)
        ports[name] = server.sockets[0].getsockname()[1]
        servers.append(server)
    control_server = await asyncio.start_server(control, "127.0.0.1", 0)
    print(json.dumps({"control": control_server.sockets[0].getsockname()[1], "ports": ports}), flush=True)
    await asyncio.Event().wait()  # until killed


class Proxy:
    """The counting proxy in its own process, in front of ``upstreams`` (name -> URL)."""

    def __init__(self, upstreams: dict[str, str], folder: Path) -> None:
        self.upstreams = upstreams
        self.log = (folder / "proxy.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--proxy", json.dumps(upstreams)],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the proxy exited: {(folder / 'proxy.log').read_text()}")
        started = json.loads(line)
        self.control_url = f"http://127.0.0.1:{started['control']}/"
        self.ports: dict[str, int] = started["ports"]

    def url(self, name: str) -> str:
        """The upstream's URL with the proxy's port: same path (the node's ``/v1``)."""
        parts = urlsplit(self.upstreams[name])
        return parts._replace(netloc=f"127.0.0.1:{self.ports[name]}").geturl()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.control_url, timeout=10) as response:
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.log.close()


def traffic(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int, dict[str, int]]:
    """(RPC round trips to the chains, requests to the node, what they carried) between two proxy snapshots."""
    rpc = sum(after["requests"][str(c)] - before["requests"][str(c)] for c in CHAINS)
    node = after["requests"]["node"] - before["requests"]["node"]
    calls: Counter[str] = Counter()
    for name in after["calls"]:
        where = "node" if name == "node" else "rpc"
        for call, n in after["calls"][name].items():
            moved = n - before["calls"][name].get(call, 0)
            if moved:
                calls[f"{where} {call}"] += moved
    return rpc, node, dict(calls)


# -- results ----------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    ms: list[float] = field(default_factory=list)
    rpc: list[int] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # the last timed call's

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(ms=data["ms"], rpc=data["rpc"], node=data["node"], calls=data["calls"])


def p50(values: list[float] | list[int]) -> float:
    return float(statistics.median(values))


def counted(values: list[int]) -> str:
    """The round trips per call: one number when every call made the same, else the median and the range."""
    low, high = min(values), max(values)
    return str(low) if low == high else f"{p50(values):g} ({low}-{high})"


def micro(call: Callable[[], object], samples: int, sample_seconds: float = 0.02) -> list[float]:
    """ms per call of a CPU-only ``call``: ``samples`` samples, each the mean over as many calls as take at least
    ``sample_seconds`` (one untimed call first)."""
    call()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        if time.perf_counter() - start >= sample_seconds:
            break
        number *= 2
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(number):
            call()
        out.append((time.perf_counter() - start) * 1000 / number)
    return out


# -- our SDK ----------------------------------------------------------------------------------------------------------


@dataclass
class Bench:
    proxy: Proxy
    owner_key: str
    signer_key: str
    runs: int
    warmup: int
    folder: Path
    fresh: dict[str, list[str]] = field(default_factory=dict)  # FRESH -> private keys


async def timed(
    bench: Bench,
    call: Callable[..., Awaitable[Any]],
    after: Callable[[Any], Awaitable[None]] | None = None,
    setup: Callable[[], Awaitable[Any]] | None = None,
) -> Result:
    """``--warmup`` untimed calls, then ``--runs`` timed ones with the proxy's counters read around each;
    ``after`` runs untimed after each call (waiting for a super-transaction); ``setup``, untimed before each, gives
    the call its argument (a fresh account's client). Each call's result and argument are dropped untimed."""
    for _ in range(bench.warmup):
        out = await call(*([await setup()] if setup is not None else []))
        if after is not None:
            await after(out)
        del out
    result = Result()
    for _ in range(bench.runs):
        args = [await setup()] if setup is not None else []
        before = bench.proxy.stats()
        start = time.perf_counter()
        out = await call(*args)
        elapsed = time.perf_counter() - start
        rpc, node, calls = traffic(before, bench.proxy.stats())
        result.ms.append(elapsed * 1000)
        result.rpc.append(rpc)
        result.node.append(node)
        result.calls = calls
        if after is not None:
            await after(out)
        # The previous call's result is let go here, untimed: dropping the last reference to a used client (a
        # PREPARE row's fresh owner client) takes 4-7 ms, which was counted in the next call when `out` was
        # simply overwritten by it.
        del out, args
    return result


@dataclass
class Checks:
    """Our SDK's own checks, caught where ``use_permission`` and ``get_quote`` run them: the last quote (and the
    request it answered) of each shape, the early decision's last arguments, answers and batch of each shape, and
    how long each check took there (ms, in call order) under ``label``."""

    label: str = "setup"
    # shape -> (GetQuotePayload, QuoteRequest, verify_quote's keyword arguments, e.g. node=)
    quotes: dict[str, tuple[Any, Any, dict[str, Any]]] = field(default_factory=dict)
    # shape -> _early_decision's arguments; the Preflight's check and the answers it was given
    early_args: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    early_checks: dict[str, tuple[Callable[[Any], None], Any]] = field(default_factory=dict)
    # shape -> the quote's batch on each chain: (NexusDeployment, nonce keys, the preflight's calls)
    batches: dict[str, list[tuple[Any, Any, Any]]] = field(default_factory=dict)
    # shape -> ms of that batch (all its chains at once) with the preflight's calls, and without them
    batch_ms: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    in_use: dict[str, list[float]] = field(default_factory=dict)  # "verify session1" etc. -> ms
    originals: dict[str, Any] = field(default_factory=dict)  # "verify", "commitment", "early", "reads": the SDK's

    def took(self, what: str, start: float, label: str | None = None) -> None:
        key = f"{what} {self.label if label is None else label}"
        self.in_use.setdefault(key, []).append((time.perf_counter() - start) * 1000)

    def spying(self) -> contextlib.ExitStack:
        """Patches that time ``verify_quote``, ``check_commitment``, ``_early_decision`` and the check of the
        ``Preflight`` it returns where the SDK calls them (and keep their inputs), and note each chain's quote
        reads; what each returns or raises is untouched (the Preflight returned has the same calls, and a check
        that calls the original's)."""
        from smartsessions.account.multichain import NexusDeployment
        from smartsessions.mee import client as client_module
        from smartsessions.mee.results import check_commitment as commitment
        from smartsessions.mee.verify import verify_quote as verify
        from smartsessions.sessions import use as use_module

        early, reads = use_module._early_decision, NexusDeployment.quote_reads
        self.originals = {"verify": verify, "commitment": commitment, "early": early, "reads": reads}

        def verify_spy(quote: Any, request: Any, **options: Any) -> None:
            start = time.perf_counter()
            verify(quote, request, **options)
            self.took("verify", start)
            self.quotes[self.label] = (quote, request, options)

        def commitment_spy(quote: Any) -> None:
            start = time.perf_counter()
            commitment(quote)
            self.took("commitment", start)

        def early_spy(*args: Any) -> Any:
            label = self.label
            start = time.perf_counter()
            preflight = early(*args)
            self.took("build", start, label)
            self.early_args[label] = args
            self.batches[label] = []

            def check(answers: Any) -> None:
                start = time.perf_counter()
                try:
                    preflight.check(answers)
                finally:
                    self.took("check", start, label)
                self.early_checks[label] = (preflight.check, answers)

            return replace(preflight, check=check)

        async def reads_spy(deployment: Any, keys: Any, extra: Any = ()) -> Any:
            if extra:  # use_permission's: note the batch (the owner's quotes add nothing)
                self.batches.setdefault(self.label, []).append((deployment, keys, extra))
            return await reads(deployment, keys, extra)

        stack = contextlib.ExitStack()
        stack.enter_context(mock.patch.object(client_module, "verify_quote", verify_spy))
        stack.enter_context(mock.patch.object(client_module, "check_commitment", commitment_spy))
        stack.enter_context(mock.patch.object(use_module, "_early_decision", early_spy))
        stack.enter_context(mock.patch.object(NexusDeployment, "quote_reads", reads_spy))
        return stack


async def ours(bench: Bench, checks: Checks) -> dict[str, Result]:
    from eth_account import Account

    from smartsessions import (
        ActionConfig,
        ChainConfiguration,
        FeeTokenInfo,
        create_mee_client,
        get_sudo_policy,
        mee_session_actions,
        to_multichain_nexus_account,
    )
    from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
    from smartsessions.encoding.abi import selector

    owner_signer, session_signer = Account.from_key(bench.owner_key), Account.from_key(bench.signer_key)
    fee = FeeTokenInfo(address=usdc_address(HOME), chain_id=HOME)
    increment = selector("increment()")
    opened: list[Any] = []

    async def client(signer: Any, account_address: str | None = None, keep: bool = True) -> Any:
        configs = [
            ChainConfiguration(
                chain_id=c,
                rpc_url=bench.proxy.url(str(c)),
                version=MEE_VERSION,
                account_address=account_address,
            )
            for c in CHAINS
        ]
        account = await to_multichain_nexus_account(signer=signer, chain_configurations=configs)
        mee = await create_mee_client(account=account, url=bench.proxy.url("node"), api_key=API_KEY,
                                      polling_interval=0.02)  # fmt: skip
        if keep:
            opened.extend([account, mee])
        return mee.extend(mee_session_actions)

    def action(chain_id: int) -> ActionConfig:
        return ActionConfig(chain_id=chain_id, action_target=COUNTER_ADDRESS, action_target_selector=increment,
                            action_policies=[get_sudo_policy()])  # fmt: skip

    def instructions(chains: tuple[int, ...]) -> list[dict[str, Any]]:
        return [{"chain_id": c, "calls": [{"to": COUNTER_ADDRESS, "data": increment}]} for c in chains]

    try:
        owner = await client(owner_signer)
        out: dict[str, Result] = {}

        def granting(actions: list[ActionConfig]) -> Callable[[], Awaitable[Any]]:
            async def grant() -> Any:
                return await owner.grant_permission_typed_data_sign(
                    redeemer=session_signer.address, actions=actions, fee_token=fee
                )

            return grant

        for key, granted in (("grant1", (HOME,)), ("grant4", CHAINS)):
            out[key] = await timed(bench, granting([action(c) for c in granted]))

        redeemer = await client(session_signer, owner.account.address)

        async def final(hash: str) -> None:
            # mined is enough to go on (the next USE reads the nonces from the chain): no 3 confirmations
            receipt = await redeemer.wait_for_supertransaction_receipt(hash, mode="fast-block")
            assert receipt.status == "MINED_SUCCESS", receipt.status

        async def grant(chains: tuple[int, ...]) -> Any:
            return await owner.grant_permission_typed_data_sign(
                redeemer=session_signer.address,
                actions=[action(c) for c in chains],
                fee_token=fee,
                max_payment_amount=USE_MAX_PAYMENT,
            )

        def using(details: Any, chains: tuple[int, ...], mode: str) -> Callable[[], Awaitable[str]]:
            async def use() -> str:
                used = await redeemer.use_permission(
                    session_details=details, mode=mode, fee_token=fee, instructions=instructions(chains)
                )
                return str(used.hash)

            return use

        chains: tuple[int, ...]
        for key, chains in (("use", (HOME,)), ("use2", (HOME, OTHER))):
            details = await grant(chains)
            checks.label = f"enable{len(chains)}"
            await final(await using(details, chains, "ENABLE_AND_USE")())
            checks.label = f"session{len(chains)}"
            out[key] = await timed(bench, using(details, chains, "USE"), final)

        # session_status (ours only: the reference has no such call) of the 2-chain session just used, with its fee
        # allowance: one JSON-RPC batch per chain, the chains at once
        async def status() -> Any:
            return await redeemer.session_status(session_details=details, fee_token=fee)

        out["status"] = await timed(bench, status)

        # the quote's batch on each chain of the last timed USE, with the early decision's calls (as use_permission
        # sent it) and without them, one after the other, chains at once as get_quote reads them
        checks.label = "batches"
        reads = checks.originals["reads"]
        for shape in ("session1", "session2"):
            batch = checks.batches[shape]
            for extra in (True, False) * bench.warmup:
                await asyncio.gather(*(reads(d, keys, calls if extra else ()) for d, keys, calls in batch))
            paired: tuple[list[float], list[float]] = ([], [])
            for i in range(bench.runs):
                for extra in (True, False) if i % 2 else (False, True):  # either order by turns
                    start = time.perf_counter()
                    await asyncio.gather(*(reads(d, keys, calls if extra else ()) for d, keys, calls in batch))
                    paired[0 if extra else 1].append((time.perf_counter() - start) * 1000)
            checks.batch_ms[shape] = paired

        # owner quotes (the owner's own account, no session): asked for, checked, not executed
        for chains in ((HOME,), (HOME, OTHER)):
            checks.label = f"owner{len(chains)}"
            await owner.get_quote(instructions=instructions(chains), fee_token=fee)
        checks.label = "session_quote"
        out.update(await session_quote_rows(bench, client, action, instructions, fee, session_signer.address))
        checks.label = "done"
        return out
    finally:
        for item in reversed(opened):
            await item.aclose()


async def session_quote_rows(
    bench: Bench,
    client: Callable[..., Awaitable[Any]],
    action: Callable[[int], Any],
    instructions: Callable[[tuple[int, ...]], list[dict[str, Any]]],
    fee: Any,
    redeemer_address: str,
) -> dict[str, Result]:
    """get_session_quote PREPARE (owner's client on a fresh, undeployed, USDC-funded account each call: deploy +
    install SmartSessions on the four chains, enableSessions of Counter.increment on 8453), alone and executed up to
    the hash; then USE (one increment() on 8453) with the details of the last PREPARE executed, alone and quoted +
    signed + executed up to the hash."""
    from eth_account import Account

    out: dict[str, Result] = {}
    enable = {"redeemer": redeemer_address, "actions": [action(HOME)]}
    last: dict[str, Any] = {}

    def fresh(keys: list[str]) -> Callable[[], Awaitable[Any]]:
        remaining = iter(keys)

        async def setup() -> Any:
            return await client(Account.from_key(next(remaining)), keep=False)

        return setup

    def prepare_quote(**options: Any) -> Callable[[Any], Awaitable[Any]]:
        async def call(owner: Any) -> Any:
            quote = await owner.get_session_quote(mode="PREPARE", enable_session=enable, fee_token=fee, **options)
            assert quote is not None and quote.session_details is not None
            return owner

        return call

    async def prepare_exec(owner: Any) -> Any:
        quote = await owner.get_session_quote(mode="PREPARE", enable_session=enable, fee_token=fee)
        executed = await owner.execute_session_quote(quote)
        return owner, str(executed.hash), quote.session_details

    async def close(owner: Any) -> None:
        await owner.aclose()  # its account's connections too

    async def prepared(done: tuple[Any, str, Any]) -> None:
        owner, hash, details = done
        receipt = await owner.wait_for_supertransaction_receipt(hash, mode="fast-block")
        assert receipt.status == "MINED_SUCCESS", receipt.status
        last.update(account=owner.account.address, details=details)
        await close(owner)

    out["prepare_quote"] = await timed(bench, prepare_quote(), close, fresh(bench.fresh["ours_quote"]))
    out["prepare_quote_nosim"] = await timed(
        bench, prepare_quote(simulation=NO_SIMULATION), close, fresh(bench.fresh["ours_quote_nosim"])
    )
    out["prepare_exec"] = await timed(bench, prepare_exec, prepared, fresh(bench.fresh["ours_exec"]))

    redeemer = await client(Account.from_key(bench.signer_key), last["account"])
    details, used = last["details"], instructions((HOME,))

    async def use_quote(**options: Any) -> Any:
        return await redeemer.get_session_quote(
            mode="USE", session_details=details, instructions=used, fee_token=fee, **options
        )

    async def use_exec() -> str:
        quote = await use_quote()
        return str((await redeemer.execute_session_quote(quote)).hash)

    async def final(hash: str) -> None:
        receipt = await redeemer.wait_for_supertransaction_receipt(hash, mode="fast-block")
        assert receipt.status == "MINED_SUCCESS", receipt.status

    out["use_quote"] = await timed(bench, use_quote)
    out["use_quote_nosim"] = await timed(bench, functools.partial(use_quote, simulation=NO_SIMULATION))
    out["use_exec"] = await timed(bench, use_exec, final)

    async def dry_run() -> Any:
        verdict = await redeemer.dry_run_use(session_details=details, instructions=used)
        assert verdict.allowed, verdict.error
        return verdict

    out["dry_run"] = await timed(bench, dry_run)
    return out


async def fresh_accounts(bench: Bench, count: int) -> dict[str, str]:
    """``count`` new keys -> their Nexus account's address (not deployed anywhere)."""
    from eth_account import Account

    from smartsessions import ChainConfiguration, to_multichain_nexus_account

    config = ChainConfiguration(chain_id=HOME, rpc_url=bench.proxy.url(str(HOME)), version=MEE_VERSION)
    out = {}
    for _ in range(count):
        key = "0x" + os.urandom(32).hex()
        account = await to_multichain_nexus_account(signer=Account.from_key(key), chain_configurations=[config])
        out[key] = str(account.address)
        await account.aclose()
    return out


async def prepare(bench: Bench) -> str:
    """The owner's account on every chain: deployed, SmartSessions installed, safe sender (our SDK, untimed)."""
    from eth_account import Account

    from smartsessions import (
        ChainConfiguration,
        FeeTokenInfo,
        create_mee_client,
        mee_session_actions,
        to_multichain_nexus_account,
        to_smart_sessions_module,
    )
    from smartsessions.devnet.deploy import usdc_address

    configs = [ChainConfiguration(chain_id=c, rpc_url=bench.proxy.url(str(c)), version=MEE_VERSION) for c in CHAINS]
    account = await to_multichain_nexus_account(signer=Account.from_key(bench.owner_key), chain_configurations=configs)
    mee = await create_mee_client(account=account, url=bench.proxy.url("node"), api_key=API_KEY, polling_interval=0.05)
    try:
        owner = mee.extend(mee_session_actions)
        result = await owner.prepare_for_permissions(
            smart_sessions_validator=to_smart_sessions_module(signer=Account.from_key(bench.signer_key)),
            fee_token=FeeTokenInfo(address=usdc_address(HOME), chain_id=HOME),
            trigger={"token_address": usdc_address(HOME), "chain_id": HOME, "amount": 10 * USDC},
        )
        assert result is not None, "the owner's account is already prepared"
        receipt = await owner.wait_for_supertransaction_receipt(result.hash)
        assert receipt.status == "MINED_SUCCESS", receipt.status
        return str(account.address)
    finally:
        await mee.aclose()
        await account.aclose()


# -- the reference ----------------------------------------------------------------------------------------------------


def reference(bench: Bench, contracts: dict[int, dict[str, str]]) -> dict[str, Result]:
    from smartsessions.devnet.deploy import COUNTER_ADDRESS, MULTICALL3_ADDRESS, usdc_address

    spec = {
        "chains": [
            {
                "chainId": c,
                "rpcUrl": bench.proxy.url(str(c)),
                "usdc": usdc_address(c),
                "counter": contracts[c].get("Counter", COUNTER_ADDRESS),
                "multicall3": contracts[c].get("Multicall3", MULTICALL3_ADDRESS),
            }
            for c in CHAINS
        ],
        "home": HOME,
        "nodeUrl": bench.proxy.url("node"),
        "apiKey": API_KEY,
        "ownerKey": bench.owner_key,
        "signerKey": bench.signer_key,
        "meeVersion": MEE_VERSION,
        "useMaxPayment": str(USE_MAX_PAYMENT),
        "statsUrl": bench.proxy.control_url,
        "runs": bench.runs,
        "warmup": bench.warmup,
        "freshQuote": bench.fresh["ref_quote"],
        "freshExec": bench.fresh["ref_exec"],
    }
    path = bench.folder / "reference-input.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run(
        ["node", str(ROOT / "bench" / "sdk_ref.mjs"), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    (bench.folder / "reference.log").write_text(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"bench/sdk_ref.mjs failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return {key: Result.from_json(raw[key]) for key, _ in ROWS}


# -- the run ----------------------------------------------------------------------------------------------------------


def counter(net: Any, chain_id: int) -> int:
    from smartsessions.devnet.deploy import COUNTER_ADDRESS
    from smartsessions.encoding.abi import selector

    with net.rpc(chain_id) as rpc:
        return int.from_bytes(rpc.call(COUNTER_ADDRESS, selector("number()")), "big")


def report(mine: dict[str, Result], theirs: dict[str, Result], runs: int) -> None:
    print(f"\np50 of {runs} timed calls each (ms); ratio = reference p50 / ours p50 (> 1: ours is faster);")
    print("round trips = HTTP requests per call to the chains' RPC endpoints (a JSON-RPC batch is one) and to the node")
    header = (
        f"{'operation':<28}{'ours p50':>10}{'ref p50':>10}{'ratio':>8}{'ours min':>10}{'ref min':>10}"
        f"{'ours RPC':>10}{'ref RPC':>10}{'node (ours/ref)':>17}"
    )
    print(header)
    print("-" * len(header))
    for key, name in ROWS:
        a, b = mine[key], theirs[key]
        ratio = p50(b.ms) / p50(a.ms)
        node = f"{counted(a.node)} / {counted(b.node)}"
        print(
            f"{name:<28}{p50(a.ms):>10.1f}{p50(b.ms):>10.1f}{ratio:>7.2f}x{min(a.ms):>10.1f}{min(b.ms):>10.1f}"
            f"{counted(a.rpc):>10}{counted(b.rpc):>10}{node:>17}"
        )
    for key, name in OURS_ONLY:
        a = mine[key]
        node = f"{counted(a.node)} / -"
        print(
            f"{name:<28}{p50(a.ms):>10.1f}{'-':>10}{'-':>8}{min(a.ms):>10.1f}{'-':>10}"
            f"{counted(a.rpc):>10}{'-':>10}{node:>17}"
        )
    print("the use_permission, get_session_quote and execute rows ask the node to simulate on both sides (our")
    print("default; the reference is given simulation={'simulate': True}); the 'simulate off' rows ask it not to")
    print(f"(simulation={NO_SIMULATION}, the reference's default)")
    print("\nwhat one call sent (the last timed call of each row):")
    for key, name in ROWS + OURS_ONLY:
        sides = [("ours", mine[key])] + ([("reference", theirs[key])] if key in theirs else [])
        for who, result in sides:
            shown = ", ".join(f"{call} x{n}" for call, n in sorted(result.calls.items()))
            print(f"  {name:<28}{who:<11}{shown}")


def report_checks(mine: dict[str, Result], checks: Checks, runs: int) -> None:
    verify, commitment, early = checks.originals["verify"], checks.originals["commitment"], checks.originals["early"]
    rows: list[tuple[str, list[float], list[float], int]] = []  # name, alone, in use, chains
    for what, check in (("verify", verify), ("commitment", commitment)):
        for shape, name, chains in SHAPES:
            if shape not in checks.quotes:
                raise RuntimeError(f"no {name} reached verify_quote: does mee/client.py still call it by that name?")
            quote, request, options = checks.quotes[shape]
            call = (
                functools.partial(check, quote, request, **options)
                if what == "verify"
                else functools.partial(check, quote)
            )
            # 'in use': only the session quotes come from timed use_permission calls
            in_use = checks.in_use.get(f"{what} {shape}", [])[-runs:] if shape.startswith("session") else []
            label = "verify_quote" if what == "verify" else "check_commitment"
            rows.append((f"{label}, {name}", micro(call, runs), in_use, chains))
    for what, label in (("build", "early decision built"), ("check", "early decision check")):
        for shape, name, chains in EARLY:
            if shape not in checks.early_checks:
                raise RuntimeError(f"no preflight of {name} was checked: does use_permission call _early_decision?")
            preflight_check, answers = checks.early_checks[shape]
            call = (
                functools.partial(early, *checks.early_args[shape])
                if what == "build"
                else functools.partial(preflight_check, answers)
            )
            in_use = checks.in_use.get(f"{what} {shape}", [])[-runs:]
            rows.append((f"{label}, {name}", micro(call, runs), in_use, chains))
    whole = {1: p50(mine["use"].ms), 2: p50(mine["use2"].ms)}

    print(f"\nour SDK's own checks (ours only), ms over {runs} samples: a check alone on this run's quotes and answers")
    print("(each sample the mean of repeated calls); 'in use' = p50 of the same function timed inside the timed")
    print("use_permission calls above (ENABLE_AND_USE: its one call); share = p50 / p50 of use_permission USE -> hash")
    print("with as many chains ('in use' share: the 'in use' p50's)")
    header = f"{'operation':<48}{'p50':>8}{'min':>8}{'max':>8}{'in use':>8}{'share':>8}{'in use':>8}"
    print(header)
    print("-" * len(header))
    for name, ms, in_use, chains in rows:
        used = f"{p50(in_use):.3f}" if in_use else "-"
        used_share = f"{100 * p50(in_use) / whole[chains]:.2f}%" if in_use else "-"
        print(
            f"{name:<48}{p50(ms):>8.3f}{min(ms):>8.3f}{max(ms):>8.3f}{used:>8}"
            f"{100 * p50(ms) / whole[chains]:>7.2f}%{used_share:>8}"
        )
    for key, chains in (("use", 1), ("use2", 2)):
        ms = mine[key].ms
        name = f"use_permission USE -> hash, {chains} chain{'s' if chains > 1 else ''}"
        print(f"{name:<48}{p50(ms):>8.2f}{min(ms):>8.2f}{max(ms):>8.2f}{'':>8}{'100%':>8}")

    print("\nthe early decision's calls in the quote's own batch: that batch (all chains at once, through the proxy)")
    print(f"with them and without them, by turns, {runs} times each (ms); calls = the quote's own + the early")
    print("decision's; extra = p50 with - p50 without")
    header = f"{'batch':<48}{'calls':>8}{'with':>8}{'without':>8}{'extra':>8}{'share':>8}"
    print(header)
    print("-" * len(header))
    for shape, name, chains in SHAPES[:2]:
        batch = checks.batches[shape]
        sent = f"{sum(len(keys) + 1 for _, keys, _ in batch)}+{sum(len(calls) for _, _, calls in batch)}"
        with_, without = (p50(ms) for ms in checks.batch_ms[shape])
        print(
            f"{'quote reads, ' + name:<48}{sent:>8}{with_:>8.3f}{without:>8.3f}{with_ - without:>8.3f}"
            f"{100 * (with_ - without) / whole[chains]:>7.2f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed calls per row and SDK")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before them")
    parser.add_argument(
        "--reference-first",
        action="store_true",
        help="run the reference's rows before ours (to see the order's effect)",
    )
    parser.add_argument("--proxy", help=argparse.SUPPRESS)  # internal: serve the counting proxy
    args = parser.parse_args()
    if args.proxy is not None:
        asyncio.run(_serve_proxy(json.loads(args.proxy)))
        return
    if shutil.which("node") is None:
        raise SystemExit("node is not on PATH: the reference side needs it")

    sys.path.insert(0, str(ROOT))
    from tests.node.helpers import NodeProcess

    from smartsessions.devnet.deploy import send_and_wait, usdc_address
    from smartsessions.devnet.network import Devnet
    from smartsessions.devnet.node import devnet_node_config
    from smartsessions.encoding.abi import encode_function_call

    folder = Path(tempfile.mkdtemp(prefix="smartsessions-bench-sdk-"))
    t0 = time.time()
    net = Devnet.start(CHAINS, log_dir=folder)
    node: NodeProcess | None = None  # the node tests' helper, as bench/node.py uses it
    proxy: Proxy | None = None
    try:
        config = devnet_node_config(net, database=folder / "node.sqlite", api_key=API_KEY)
        node = NodeProcess(config, folder, "node")
        proxy = Proxy({**{str(c): net.url(c) for c in CHAINS}, "node": node.url}, folder)
        bench = Bench(proxy, net.key("owner").private_key, net.key("session_signer").private_key, args.runs,
                      args.warmup, folder)  # fmt: skip
        account = asyncio.run(prepare(bench))
        per_side = args.warmup + args.runs
        fresh = asyncio.run(fresh_accounts(bench, len(FRESH) * per_side))
        keys = list(fresh)
        bench.fresh = {name: keys[i * per_side : (i + 1) * per_side] for i, name in enumerate(FRESH)}
        with net.rpc(HOME) as rpc:
            for to, amount in ((account, 10_000 * USDC), *((a, FRESH_USDC) for a in fresh.values())):
                mint = encode_function_call("mint(address,uint256)", [to, amount])  # the devnet USDC's open mint
                send_and_wait(rpc, {"from": net.key("owner").address, "to": usdc_address(HOME),
                                    "data": "0x" + mint.hex()})  # fmt: skip
        print(f"devnet ({', '.join(map(str, CHAINS))}) + node + proxy + prepared account ready in "
              f"{time.time() - t0:.1f} s (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")  # fmt: skip

        start = {c: counter(net, c) for c in (HOME, OTHER)}
        checks = Checks()
        contracts = {c: net.chains[c].contracts for c in CHAINS}
        if args.reference_first:  # each side runs on the node and chains as the other leaves them
            theirs = reference(bench, contracts)
        with checks.spying():
            mine = asyncio.run(ours(bench, checks))
        if not args.reference_first:
            theirs = reference(bench, contracts)
        moved = {c: counter(net, c) - start[c] for c in (HOME, OTHER)}
        uses = 1 + args.warmup + args.runs  # per row: ENABLE_AND_USE, warm-ups, timed USEs
        # use_permission: ours 1 chain + ours 2 chains + the reference; ours 2 chains. Then each side's USE +
        # execute rows (warm-ups and timed calls, no ENABLE_AND_USE)
        expected = {HOME: 3 * uses + 2 * per_side, OTHER: uses}
        assert moved == expected, f"the counters moved by {moved}, expected {expected}"
        report(mine, theirs, args.runs)
        report_checks(mine, checks, args.runs)
        print(f"\ncounters moved by {moved[HOME]} on {HOME} and {moved[OTHER]} on {OTHER} = every use_permission "
              f"executed once (logs in {folder})")  # fmt: skip
    finally:
        if proxy is not None:
            proxy.stop()
        if node is not None:
            node.kill()
        net.stop()


if __name__ == "__main__":
    main()
