"""What one HTTP request costs our client on an ``http://`` endpoint: the SDK's own HTTP/1.1
(``src/smartsessions/_transport.py``, the default there) against httpx (the same clients given
``transport=httpx.AsyncHTTPTransport()``, which is how every request went before), in one run.

    .venv/bin/python bench/transport.py
    .venv/bin/python bench/transport.py --requests 1000

A one-chain devnet (8453) and the local MEE node in its own process. The same ``NodeConnection`` (``GET /info``, which
the node answers from memory) and ``RpcClient`` (``eth_blockNumber``, and a JSON-RPC batch of five) are asked
``--requests`` times each way, by turns (either order, alternately), after 20 untimed warm-ups, straight to the node
and the anvil: no proxy in between. Per request: the p50 of the wall time, and the mean of this process's CPU time
(``time.process_time``), which is the client's own cost (the node and anvil are other processes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WARMUP = 20


async def measure(node_url: str, rpc_url: str, requests: int) -> None:
    from smartsessions.mee.http import NodeConnection
    from smartsessions.rpc import RpcClient

    clients = {
        "ours": (NodeConnection(node_url, api_key="bench"), RpcClient(rpc_url)),
        "httpx": (
            NodeConnection(node_url, api_key="bench", transport=httpx.AsyncHTTPTransport()),
            RpcClient(rpc_url, transport=httpx.AsyncHTTPTransport()),
        ),
    }
    ops: dict[str, Callable[[NodeConnection, RpcClient], Awaitable[Any]]] = {
        "node GET /info": lambda node, rpc: node.request("info", method="GET"),
        "rpc eth_blockNumber": lambda node, rpc: rpc.request("eth_blockNumber"),
        "rpc batch of 5": lambda node, rpc: rpc.batch([("eth_blockNumber", [])] * 5),
    }
    header = f"{'request':<22}{'ours p50':>10}{'httpx p50':>11}{'ratio':>8}{'ours CPU':>10}{'httpx CPU':>11}"
    print(f"ms per request, {requests} each way, by turns; CPU = this process's mean per request")
    print(header)
    print("-" * len(header))
    try:
        for name, op in ops.items():
            wall: dict[str, list[float]] = {way: [] for way in clients}
            cpu: dict[str, list[float]] = {way: [] for way in clients}
            for i in range(WARMUP + requests):
                for way in ("ours", "httpx") if i % 2 else ("httpx", "ours"):
                    node, rpc = clients[way]
                    start, start_cpu = time.perf_counter(), time.process_time()
                    await op(node, rpc)
                    if i >= WARMUP:
                        wall[way].append((time.perf_counter() - start) * 1000)
                        cpu[way].append((time.process_time() - start_cpu) * 1000)
            ours, theirs = statistics.median(wall["ours"]), statistics.median(wall["httpx"])
            print(
                f"{name:<22}{ours:>10.3f}{theirs:>11.3f}{theirs / ours:>7.2f}x"
                f"{statistics.mean(cpu['ours']):>10.3f}{statistics.mean(cpu['httpx']):>11.3f}"
            )
    finally:
        for node, rpc in clients.values():
            await node.aclose()
            await rpc.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="timed requests per row and way")
    args = parser.parse_args()

    from tests.node.helpers import NodeProcess

    from smartsessions.devnet.network import Devnet
    from smartsessions.devnet.node import devnet_node_config

    folder = Path(tempfile.mkdtemp(prefix="smartsessions-bench-transport-"))
    net = Devnet.start([8453], log_dir=folder)
    try:
        node = NodeProcess(devnet_node_config(net, database=folder / "node.sqlite", api_key="bench"), folder, "node")
        try:
            asyncio.run(measure(node.url, net.url(8453), args.requests))
        finally:
            node.kill()
    finally:
        net.stop()


if __name__ == "__main__":
    main()
