"""The node's loopback JSON-RPC transport (``devnet/node/_http.py``) against small real HTTP servers on loopback:
what it must read (Content-Length, chunked, a closed connection) and what it must report as an RpcError (refused,
hung, reset, not HTTP, an HTTP error status)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from smartsessions.devnet.node._http import LoopbackRpcClient, rpc_client
from smartsessions.errors import RpcError
from smartsessions.rpc import RpcClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> Any:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return json.loads(await reader.readexactly(length))


def _answer(request: dict[str, Any], result: object) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


async def _keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        request = await _read_request(reader)
        if isinstance(request, list):  # a batch: each request answered with its method's name
            body = json.dumps([{"jsonrpc": "2.0", "id": r["id"], "result": r["method"]} for r in request]).encode()
        else:
            body = _answer(request, request["method"])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()


async def test_requests_share_one_kept_alive_connection() -> None:
    async with _server(_keep_alive) as (url, connections):
        client = LoopbackRpcClient(url)
        assert [await client.request(f"m{i}") for i in range(5)] == ["m0", "m1", "m2", "m3", "m4"]
        assert await client.batch([("a", []), ("b", [])]) == ["a", "b"]
        await client.aclose()
    assert len(connections) == 1


async def test_concurrent_requests_get_their_own_answers() -> None:
    async with _server(_keep_alive) as (url, _):
        client = LoopbackRpcClient(url)
        results = await asyncio.gather(*(client.request(f"m{i}") for i in range(20)))
        await client.aclose()
    assert results == [f"m{i}" for i in range(20)]


async def test_chunked_answer_and_connection_close() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        body = _answer(request, "0x2a")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for start in range(0, len(body), 7):
            piece = body[start : start + 7]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with _server(chunked) as (url, connections):
        client = LoopbackRpcClient(url)
        assert await client.request("eth_chainId") == "0x2a"
        assert await client.request("eth_chainId") == "0x2a"  # a new connection: the server closed the first
        await client.aclose()
    assert len(connections) == 2


async def test_a_connection_the_server_closed_is_replaced() -> None:
    """A restarted chain: the kept-alive connection is dead, the request goes out again on a new one."""

    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        body = _answer(request, "ok")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()  # no "Connection: close": the client keeps it, and finds it closed next time

    async with _server(one_answer_then_close) as (url, connections):
        client = LoopbackRpcClient(url)
        assert await client.request("a") == "ok"
        await asyncio.sleep(0.05)  # the server's close reaches the client's socket
        assert await client.request("b") == "ok"
        await client.aclose()
    assert len(connections) == 2


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1.1 answer"),
        (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad", "HTTP 502"),
        (b"HTTP/1.1 200 OK\r\n\r\n{}", "without Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 9999999999999\r\n\r\n", "a response of 9999999999999 bytes"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{"jsonrpc"', "IncompleteReadError"),
    ],
)
async def test_a_bad_answer_is_an_rpc_error(answer: bytes, problem: str) -> None:
    async def bad(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with _server(bad) as (url, _):
        client = LoopbackRpcClient(url)
        with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint") as info:
            await client.request("eth_chainId")
        await client.aclose()
    assert problem in str(info.value.details)


async def test_a_body_that_is_not_json_is_an_rpc_error() -> None:
    async def html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n<html>")
        await writer.drain()

    async with _server(html) as (url, _):
        client = LoopbackRpcClient(url)
        with pytest.raises(RpcError, match="answered something that is not JSON"):
            await client.request("eth_chainId")
        await client.aclose()


async def test_a_hung_endpoint_times_out() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.Event().wait()

    async with _server(hang) as (url, _):
        client = LoopbackRpcClient(url, timeout=0.2)
        with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint") as info:
            await client.request("eth_chainId")
        await client.aclose()
    assert "TimeoutError" in str(info.value.details)


async def test_a_refused_connection_is_an_rpc_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LoopbackRpcClient(f"http://127.0.0.1:{port}")
    with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint"):
        await client.request("eth_chainId")
    await client.aclose()


def test_only_plain_http_takes_the_loopback_transport() -> None:
    assert type(rpc_client("http://127.0.0.1:8545")) is LoopbackRpcClient
    assert type(rpc_client("https://mainnet.base.org")) is RpcClient
    with pytest.raises(ValueError, match="needs an http:// URL"):
        LoopbackRpcClient("https://mainnet.base.org")
