"""A lean JSON-RPC transport for the node's own chains: HTTP/1.1 over kept-alive asyncio streams.

Why not httpx here: the node sends about 18 JSON-RPC requests per super-transaction to chains on loopback, and
under load httpx's client machinery (request building, hooks, httpcore's pool and its per-request async-library
probe) was about 60% of the node's CPU, more than the node's own work. This transport does one thing: POST a JSON
body, read a ``Content-Length`` (or chunked) answer, keep the connection for the next request. It is used for
``http://`` endpoints only; anything else (``https://``, a proxy the node does not control) goes through the SDK's
httpx-based :class:`~smartsessions.rpc.RpcClient`, which this class extends, so JSON-RPC semantics (batches, errors,
bounds on the answer) are the same code either way.

Failures are the ones :class:`~smartsessions.rpc.RpcClient` reports: :class:`~smartsessions.errors.RpcError` for a
refused, reset or hung connection and for an answer that is not HTTP/1.1 with a body. A request on a kept-alive
connection that the server closed meanwhile (a restarted chain) is sent once more on a new connection, as httpx
does: resending a JSON-RPC request is harmless for everything the node sends (reads, and raw transactions, which a
chain takes once).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

from ...rpc import DEFAULT_TIMEOUT, MAX_RESPONSE_BYTES, RpcClient, _parse_body, _transport_error

__all__ = ["LoopbackRpcClient", "rpc_client"]

_MAX_HEAD = 64 * 1024  # bytes of status line and headers
_IDLE_CONNECTIONS = 32


class _HttpError(Exception):
    """An answer that is not what this transport reads (reported as the RpcError of a transport failure)."""


class LoopbackRpcClient(RpcClient):
    """:class:`~smartsessions.rpc.RpcClient` over plain asyncio streams, for an ``http://`` URL."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(url, timeout=timeout)
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"LoopbackRpcClient needs an http:// URL, not {url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host_header = parts.netloc.rsplit("@", 1)[-1]
        self._head = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nContent-Type: application/json\r\n"
        self._timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        await super().aclose()

    async def _post(self, payload: Any) -> Any:
        body = json.dumps(payload, separators=(",", ":")).encode()
        request = (self._head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        try:
            async with asyncio.timeout(self._timeout):
                content = await self._exchange(request)
        except (OSError, EOFError, TimeoutError, _HttpError, ValueError) as exc:
            raise _transport_error(exc, self.url) from exc
        return _parse_body(content, self.url)

    async def _exchange(self, request: bytes) -> bytes:
        while True:
            fresh = not self._idle  # a kept-alive connection first; one the server closed fails before any answer
            reader, writer = self._idle.pop() if self._idle else await asyncio.open_connection(self._host, self._port)
            try:
                writer.write(request)
                return await self._answer(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, _StaleConnectionError) as exc:
                writer.close()
                if not fresh:
                    continue  # the next kept-alive connection, or a new one
                if isinstance(exc, _StaleConnectionError):
                    raise _HttpError("the server closed the connection without an answer") from exc
                raise
            except BaseException:
                writer.close()
                raise

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        """Read one response; the connection goes back to the idle list unless the server closes it."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _StaleConnectionError from exc
            raise
        except asyncio.LimitOverrunError as exc:
            raise _HttpError("the response head is too long") from exc
        if len(head) > _MAX_HEAD:
            raise _HttpError("the response head is too long")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or not status[0].startswith("HTTP/1.") or not status[1].isdigit():
            raise _HttpError(f"not an HTTP/1.1 answer: {lines[0][:100]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            content = await _chunked(reader)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if not 0 <= length <= MAX_RESPONSE_BYTES:
                raise _HttpError(f"a response of {length} bytes")
            content = await reader.readexactly(length)
        else:
            raise _HttpError("a response without Content-Length")
        code = int(status[1])
        if headers.get("connection", "").lower() == "close" or status[0] == "HTTP/1.0":
            writer.close()
        elif len(self._idle) < _IDLE_CONNECTIONS:
            self._idle.append((reader, writer))
        else:
            writer.close()
        if code >= 400:
            raise _HttpError(f"HTTP {code}: {content[:200]!r}")
        return content


class _StaleConnectionError(Exception):
    """A kept-alive connection closed by the server before any byte of the answer."""


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from a JSON-RPC server; the empty line ends the body
            return b"".join(parts)
        total += size
        if total > MAX_RESPONSE_BYTES:
            raise _HttpError(f"a response over {MAX_RESPONSE_BYTES} bytes")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def rpc_client(url: str) -> RpcClient:
    """The client the node uses for one chain: the lean transport on ``http://``, httpx on anything else."""
    return LoopbackRpcClient(url) if url.startswith("http://") else RpcClient(url)
