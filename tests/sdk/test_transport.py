"""The SDK's own HTTP/1.1 (``smartsessions/_transport.py``), which :class:`~smartsessions.rpc.RpcClient` and the MEE
client's :class:`~smartsessions.mee.http.NodeConnection` use for plain ``http://`` endpoints, against small real
HTTP servers on loopback: what it must read (Content-Length, chunked, an answer ended by the connection's close, a
kept-alive connection the server closed), what it must bound (an answer larger than the caller's limit is never read),
what it must never do (send a POST twice, send a header with a line break), what it must report as the SDK's typed
errors (refused, hung, reset, not HTTP, an HTTP error status), and which URLs it leaves to httpx (a proxy from the
environment, ``https://``)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from smartsessions.errors import InvalidInputError, MeeApiError, MeeUnreachableError, RpcError
from smartsessions.mee.http import MAX_ANSWER_BYTES, NodeConnection
from smartsessions.rpc import MAX_RESPONSE_BYTES, RpcClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy set where the tests run would send every request through httpx; the test that wants one sets it."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head[:-4].split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _read_request(reader: asyncio.StreamReader) -> Any:
    _, headers = await _read_head(reader)
    return json.loads(await reader.readexactly(int(headers["content-length"])))


def _answer(request: dict[str, Any], result: object) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()


def _response(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status.encode(), len(body), extra) + body


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
        writer.write(_response(body))
        await writer.drain()


# -- JSON-RPC ------------------------------------------------------------------------------------------------------


async def test_requests_share_one_kept_alive_connection() -> None:
    async with _server(_keep_alive) as (url, connections):
        client = RpcClient(url)
        assert [await client.request(f"m{i}") for i in range(5)] == ["m0", "m1", "m2", "m3", "m4"]
        assert await client.batch([("a", []), ("b", [])]) == ["a", "b"]
        await client.aclose()
        assert client.is_closed
    assert len(connections) == 1


async def test_concurrent_requests_get_their_own_answers() -> None:
    async with _server(_keep_alive) as (url, _):
        client = RpcClient(url)
        results = await asyncio.gather(*(client.request(f"m{i}") for i in range(20)))
        await client.aclose()
    assert results == [f"m{i}" for i in range(20)]


async def test_the_request_is_what_a_json_rpc_server_expects() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, headers = await _read_head(reader)
        body = await reader.readexactly(int(headers["content-length"]))
        seen.append((line, headers, body))
        writer.write(_response(_answer(json.loads(body), "0x1")))
        await writer.drain()

    async with _server(record) as (url, _):
        client = RpcClient(url + "/rpc/v1?key=abc")
        assert await client.request("eth_chainId", []) == "0x1"
        await client.aclose()
    [(line, headers, body)] = seen
    assert line == "POST /rpc/v1?key=abc HTTP/1.1"
    assert headers["host"] == url.removeprefix("http://")
    assert headers["content-type"] == "application/json"
    assert body == b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'


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
        client = RpcClient(url)
        assert await client.request("eth_chainId") == "0x2a"
        assert await client.request("eth_chainId") == "0x2a"  # a new connection: the server closed the first
        await client.aclose()
    assert len(connections) == 2


async def test_an_answer_ended_by_the_connections_close_is_read() -> None:
    """HTTP/1.1 lets a server end a body without a length by closing the connection; httpx reads it so too."""

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + _answer(request, "0x7"))
        await writer.drain()

    async with _server(until_close) as (url, connections):
        client = RpcClient(url)
        assert await client.request("eth_chainId") == "0x7"
        assert await client.request("eth_chainId") == "0x7"
        await client.aclose()
    assert len(connections) == 2


async def test_a_connection_the_server_closed_is_replaced() -> None:
    """A restarted chain: the kept-alive connection is dead, the request goes out again on a new one."""

    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        writer.write(_response(_answer(request, "ok")))
        await writer.drain()  # no "Connection: close": the client keeps it, and finds it closed next time

    async with _server(one_answer_then_close) as (url, connections):
        client = RpcClient(url)
        assert await client.request("a") == "ok"
        await asyncio.sleep(0.05)  # the server's close reaches the client's socket
        assert await client.request("b") == "ok"
        await client.aclose()
    assert len(connections) == 2


def _closes_the_second_request_unanswered() -> tuple[Handler, list[bytes]]:
    """A server that answers a connection's first request, keeps it alive, then reads the next request and closes
    the connection without a word: what a request racing the server's idle timeout meets."""
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers = await _read_head(reader)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        received.append(body)
        writer.write(_response(body if body.startswith(b"[") else b'{"jsonrpc":"2.0","id":1,"result":"ok"}'))
        await writer.drain()
        _, headers = await _read_head(reader)
        received.append(await reader.readexactly(int(headers.get("content-length", "0"))))

    return handler, received


async def test_a_json_rpc_request_cut_off_by_the_server_goes_out_once_more() -> None:
    handler, received = _closes_the_second_request_unanswered()
    async with _server(handler) as (url, connections):
        client = RpcClient(url)
        assert await client.request("a") == "ok"
        assert await client.request("b") == "ok"  # answered on a second connection
        await client.aclose()
    assert len(connections) == 2
    assert [json.loads(r)["method"] for r in received] == ["a", "b", "b"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1.1 answer"),
        (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad", "HTTP 502 Bad Gateway: b'bad'"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "Content-Length of '-1'"),
        (b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n{}", "a header line without a colon"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size of b'zz"),
        (b"HTTP/1.1 100 Continue\r\n\r\n", "an interim answer (100)"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n\x1f\x8b", "'gzip' encoding"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{"jsonrpc"', "IncompleteReadError"),
        (b"HTTP/1.1 200 OK\r\nContent-", "an answer cut off in its head"),
    ],
)
async def test_a_bad_answer_is_an_rpc_error(answer: bytes, problem: str) -> None:
    async def bad(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with _server(bad) as (url, _):
        client = RpcClient(url)
        with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint") as info:
            await client.request("eth_chainId")
        await client.aclose()
    assert problem in str(info.value.details)


async def test_an_answer_over_the_bound_is_not_read() -> None:
    """A Content-Length past the bound is refused before a byte of the body is read; a chunked body as soon as it
    passes it."""

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n[" % (MAX_RESPONSE_BYTES + 1))
        await writer.drain()
        await asyncio.Event().wait()  # the body never comes: reading it would hang the client

    async with _server(huge) as (url, _):
        client = RpcClient(url, timeout=10)
        with pytest.raises(RpcError, match=f"answered more than {MAX_RESPONSE_BYTES} bytes"):
            await client.request("eth_chainId")
        await client.aclose()


async def test_a_body_that_is_not_json_is_an_rpc_error() -> None:
    async def html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(b"<html>"))
        await writer.drain()

    async with _server(html) as (url, _):
        client = RpcClient(url)
        with pytest.raises(RpcError, match="answered something that is not JSON"):
            await client.request("eth_chainId")
        await client.aclose()


async def test_a_hung_endpoint_times_out() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.Event().wait()

    async with _server(hang) as (url, _):
        client = RpcClient(url, timeout=0.2)
        with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint") as info:
            await client.request("eth_chainId")
        await client.aclose()
    assert "no answer within 0.2 s" in str(info.value.details)
    assert isinstance(info.value.__cause__, TimeoutError)


def _free_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_an_rpc_error() -> None:
    client = RpcClient(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint") as info:
        await client.request("eth_chainId")
    await client.aclose()
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


async def test_a_closed_client_sends_nothing() -> None:
    async with _server(_keep_alive) as (url, connections):
        client = RpcClient(url)
        await client.aclose()
        with pytest.raises(RpcError, match="Cannot reach") as info:
            await client.request("eth_chainId")
    assert "the client is closed" in str(info.value.details)
    assert connections == []


async def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set, requests go through httpx, which sends them to the proxy (the absolute URL as target)."""
    lines: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, headers = await _read_head(reader)
        lines.append(line)
        request = json.loads(await reader.readexactly(int(headers["content-length"])))
        writer.write(_response(_answer(request, "via proxy")))
        await writer.drain()

    async with _server(proxy) as (proxy_url, _):
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = RpcClient("http://chain.example:8545/")
        assert await client.request("eth_chainId") == "via proxy"
        await client.aclose()
    assert lines == ["POST http://chain.example:8545/ HTTP/1.1"]


# -- the MEE node --------------------------------------------------------------------------------------------------


async def test_node_requests_carry_the_api_key_and_share_a_connection() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def node(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, headers = await _read_head(reader)
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            seen.append((line, headers, body))
            writer.write(_response(b'{"ok":true}'))
            await writer.drain()

    async with _server(node) as (url, connections):
        client = NodeConnection(url + "/v3/", api_key="mee_key-1")
        assert await client.request("info", method="GET") == {"ok": True}
        assert await client.request("quote", body={"a": [1, "x"]}, headers={"x-extra": "1"}) == {"ok": True}
        await client.aclose()
    assert len(connections) == 1
    (get_line, get_headers, get_body), (post_line, post_headers, post_body) = seen
    assert get_line == "GET /v3/info HTTP/1.1" and get_body == b"" and "content-length" not in get_headers
    assert post_line == "POST /v3/quote HTTP/1.1" and post_body == b'{"a":[1,"x"]}'
    assert get_headers["x-api-key"] == post_headers["x-api-key"] == "mee_key-1"
    assert post_headers["content-type"] == "application/json" and post_headers["x-extra"] == "1"


async def test_a_post_to_the_node_is_never_sent_twice() -> None:
    """An /exec cut off by the server is reported, not repeated: the node may have taken it."""
    handler, received = _closes_the_second_request_unanswered()
    async with _server(handler) as (url, connections):
        client = NodeConnection(url)
        assert await client.request("quote", body={"n": 1}) == {"jsonrpc": "2.0", "id": 1, "result": "ok"}
        with pytest.raises(MeeUnreachableError, match="Cannot reach the MEE node") as info:
            await client.request("exec", body={"n": 2})
        await client.aclose()
    assert received == [b'{"n":1}', b'{"n":2}'] and len(connections) == 1
    assert "closed the connection without an answer" in str(info.value.details)


async def test_a_busy_node_is_asked_again_after_retry_after() -> None:
    answers = [_response(b'{"error":"busy"}', "503 Service Unavailable", b"Retry-After: 0\r\n"), _response(b"[1]")]

    async def busy_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            await _read_request(reader)
            writer.write(answers.pop(0))
            await writer.drain()

    async with _server(busy_once) as (url, _):
        client = NodeConnection(url)
        assert await client.request("quote", body={}) == [1]
        await client.aclose()
    assert answers == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_response(b'{"code":"X","error":"the quote expired"}', "400 Bad Request"), "the quote expired"),
        (_response(b"", "404 Not Found"), "Not Found"),
        (_response(b"", "418"), "I'm a Teapot"),  # no reason phrase: the status's standard one
    ],
)
async def test_a_refusal_is_a_mee_api_error(answer: bytes, message: str) -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()

    async with _server(refuse) as (url, _):
        client = NodeConnection(url)
        with pytest.raises(MeeApiError, match=message):
            await client.request("quote", body={})
        await client.aclose()


async def test_a_node_answer_over_the_bound_is_not_read() -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"[" * 65536
        for _ in range(MAX_ANSWER_BYTES // len(chunk) + 2):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        await asyncio.Event().wait()

    async with _server(huge) as (url, _):
        client = NodeConnection(url, timeout=20)
        with pytest.raises(MeeApiError, match=f"with more than {MAX_ANSWER_BYTES} bytes"):
            await client.request("quote", body={})
        await client.aclose()


async def test_an_unreachable_node_is_mee_unreachable() -> None:
    client = NodeConnection(f"http://127.0.0.1:{_free_port()}/v3")
    with pytest.raises(MeeUnreachableError, match="Cannot reach the MEE node") as info:
        await client.request("info", method="GET")
    await client.aclose()
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


async def test_https_is_left_to_httpx() -> None:
    """No plain-text request is written to an https:// URL (httpx opens TLS, which a plain server cannot answer)."""
    first_bytes: list[bytes] = []

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first_bytes.append(await reader.read(5))

    async with _server(plain) as (url, _):
        client = NodeConnection(url.replace("http://", "https://"), timeout=5)
        with pytest.raises(MeeUnreachableError):
            await client.request("info", method="GET")
        await client.aclose()
    assert first_bytes and first_bytes[0][:1] == b"\x16"  # a TLS handshake record, not "GET /"


@pytest.mark.parametrize("key", ["abc\r\nx-admin: 1", "k\x00", "clé"])
def test_an_api_key_a_header_cannot_carry_is_refused(key: str) -> None:
    with pytest.raises(InvalidInputError, match="api_key"):
        NodeConnection("http://127.0.0.1:1", api_key=key)


async def test_a_header_with_a_line_break_is_refused_before_sending() -> None:
    async with _server(_keep_alive) as (url, connections):
        client = NodeConnection(url)
        with pytest.raises(InvalidInputError, match=r"headers\['x-sponsor'\]"):
            await client.request("quote", body={}, headers={"x-sponsor": "a\nb"})
        await client.aclose()
    assert connections == []


# The first loop closes with the client's connection open: Python's ResourceWarning for that is the point.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_client_used_from_a_second_event_loop_opens_its_own_connection() -> None:
    """``asyncio.run`` twice with one client (a script, a test per loop): the first loop's kept-alive connection died
    with it; the second loop gets a connection of its own instead of an error."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = _answer(request, request["method"])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = RpcClient(f"http://127.0.0.1:{server.server_address[1]}")
        assert asyncio.run(client.request("first")) == "first"
        assert asyncio.run(client.request("second")) == "second"
        asyncio.run(client.aclose())
    finally:
        server.shutdown()
        server.server_close()


async def test_a_header_of_the_callers_replaces_the_clients_own() -> None:
    """A sponsorship backend's custom headers may set Content-Type: it is sent once, the caller's value (as httpx
    merges them)."""
    heads: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head.lower())
        length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-l"))
        await reader.readexactly(length)
        writer.write(_response(b"{}"))
        await writer.drain()

    async with _server(record) as (url, _):
        client = NodeConnection(url)
        assert await client.request("sign", body={}, headers={"Content-Type": "application/json; v=2"}) == {}
        await client.aclose()
    [head] = heads
    assert head.count(b"content-type:") == 1 and b"content-type: application/json; v=2\r\n" in head


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999", "https://127.0.0.1:99999", "http://[::1:8545", "http://h:x/"]
)
async def test_a_malformed_url_is_reported_not_raised_from_inside(url: str) -> None:
    """httpx lets a port of 99999 through, to fail in the connect with an ExceptionGroup of anyio's; ours is the
    SDK's error, naming the URL."""
    rpc = RpcClient(url)
    with pytest.raises(RpcError, match="Cannot reach the JSON-RPC endpoint") as info:
        await rpc.request("eth_chainId")
    await rpc.aclose()
    assert "is malformed" in str(info.value.details)
    node = NodeConnection(url)
    with pytest.raises(MeeUnreachableError, match="Cannot reach the MEE node"):
        await node.request("info", method="GET")
    await node.aclose()
