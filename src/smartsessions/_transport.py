"""The SDK's HTTP: one small interface with two ways to send, chosen per URL.

Why two. On a plain ``http://`` endpoint (a devnet, a node on loopback or on a LAN) the network costs tens of
microseconds, and httpx's client machinery (request and response models, hooks, httpcore's pool) costs about 0.5 ms
of CPU per request (``bench/transport.py``): more than anvil's or the node's own work for most calls, so a PREPARE
quote, which makes nine requests, spent nearly half its time in the HTTP client. :class:`HttpTransport` sends those
requests itself, HTTP/1.1 over kept-alive asyncio streams, doing only what a JSON API needs: a request with a
``Content-Length`` body, an answer delimited by ``Content-Length``, ``chunked`` or the connection's end, and the
connection kept for the next request. Everything else goes through httpx as before:

* ``https://`` (TLS and certificates are httpx's business, and there the network's latency dwarfs the client's
  cost);
* any URL when the environment configures an HTTP proxy (``HTTP_PROXY``, ``ALL_PROXY``, or the system's settings:
  httpx honours them, so the choice stays with httpx), or when the URL carries credentials;
* every URL when the caller passes an httpx transport (tests answering without sockets, a proxy of one's own).

Both ways report the same things: an :class:`Answer` (status, reason, headers, and the body, or None when it is
longer than the caller's bound, which is never read into memory), or a :class:`TransportError` when no answer came
(refused, reset, timed out, or an answer that is not HTTP/1.x). Header names and values are checked the same way
for both (:class:`~smartsessions.errors.InvalidInputError` naming the header).

A kept-alive connection the server has closed meanwhile (its idle timeout, a restart) is noticed before reuse and
dropped. If the server closes it while the request is on its way, before any byte of an answer, the request goes
out once more on a new connection only when the caller says it is safe to repeat (``idempotent``: JSON-RPC, GET),
as RFC 9110 allows; otherwise it is a :class:`TransportError`, as httpx reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from ._httpio import aread_at_most
from .errors import InvalidInputError

__all__ = ["Answer", "HttpTransport", "TransportError"]

_MAX_HEAD = 64 * 1024  # bytes of status line and headers
_IDLE_PER_ORIGIN = 32
_ROUTE_CACHE = 64
# Printable ASCII without space: what a request target may hold as written (anything else goes to httpx, which
# percent-encodes it).
_TARGET = re.compile(r"[!-~]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t -~]*")
# Headers this client writes itself for the framing of a request.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer. ``headers`` has lower-case names; ``body`` is None when it was longer than the bound."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes | None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


class TransportError(Exception):
    """No answer: the connection was refused, reset or timed out, or what came back is not HTTP/1.x. ``original`` is
    the exception underneath (an ``OSError``, ``TimeoutError``, an httpx error), or None for a malformed answer."""

    def __init__(self, message: str, *, original: BaseException | None = None) -> None:
        super().__init__(message)
        self.original = original

    @property
    def cause(self) -> BaseException:
        """What the SDK's error keeps as its cause: the exception underneath, or this one."""
        return self.original or self

    @property
    def details(self) -> str:
        """The error's details line: the message (which names the exception underneath), or ``TransportError: …``."""
        return str(self) if self.original is not None else f"{type(self).__name__}: {self}"


_PoolKey = tuple[asyncio.AbstractEventLoop, str, int]


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(RuntimeError):  # its event loop is closed, and the socket with it
        writer.close()


class _Route(NamedTuple):
    origin: tuple[str, int]
    head: str  # request line and Host, for one method


def _check_headers(headers: Mapping[str, str]) -> None:
    """A header that would break the request (a line break in a value, which would also inject headers) or that HTTP
    cannot carry (non-ASCII) is refused before anything is sent."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidInputError(
                "headers", f"the header name {name!r} is not an HTTP token", fix="use names like x-api-key"
            )
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise InvalidInputError(
                f"headers[{name!r}]",
                "holds a line break, a control character or a non-ASCII character, which an HTTP header cannot carry",
                fix="pass the value as printable ASCII (an API key as issued)",
            )


def _proxied_by_environment() -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get("http") or proxies.get("all"))


class HttpTransport:
    """The HTTP of one client (a JSON-RPC endpoint, an MEE node): see the module's docstring for which way a URL
    goes. ``headers`` go with every request; ``timeout`` bounds each request, from connecting to the answer's end."""

    def __init__(
        self,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        httpx_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._headers = dict(headers or {})
        _check_headers(self._headers)
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in self._headers.items())
        self._own = {k.lower() for k in self._headers}
        self._timeout = timeout
        self._httpx_transport = httpx_transport
        # Read once, as httpx reads its proxies once, when its client is made.
        self._streams_allowed = httpx_transport is None and not _proxied_by_environment()
        self._httpx: httpx.AsyncClient | None = None
        self._routes: dict[tuple[str, str], _Route | None] = {}
        # Kept-alive connections by event loop and origin: a connection belongs to the loop that opened it, so a client
        # used from a second loop (asyncio.run twice, a test per loop) opens its own instead of touching a dead one.
        self._idle: dict[_PoolKey, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _, writer in connections:
                _close(writer)
        if self._httpx is not None:
            await self._httpx.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        limit: int,
        idempotent: bool,
    ) -> Answer:
        """Send one request and read its answer (the body only up to ``limit`` bytes: a longer one is None)."""
        if self._closed:
            raise TransportError("the client is closed")
        extra = dict(headers or {})
        route = self._route(method, url)
        if extra:
            _check_headers(extra)
            if any(k.lower() in _FRAMING or k.lower() in self._own for k in extra):
                route = None  # headers that replace the client's own or the framing: httpx merges them as it does
        if route is None:
            return await self._via_httpx(method, url, body, extra, limit)
        lines = [route.head, self._fixed]
        lines.extend(f"{k}: {v}\r\n" for k, v in extra.items())
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        request = "".join(lines).encode("latin-1") + (body or b"")
        try:
            async with asyncio.timeout(self._timeout):
                return await self._exchange(route.origin, request, limit, idempotent=idempotent)
        except TimeoutError as exc:
            raise TransportError(f"no answer within {self._timeout:g} s", original=exc) from exc
        except (OSError, EOFError, ValueError) as exc:  # refused, reset, cut off (IncompleteReadError)
            raise TransportError(f"{type(exc).__name__}: {exc}", original=exc) from exc
        except asyncio.LimitOverrunError as exc:  # a line of a chunked body longer than the stream's buffer
            raise TransportError("an answer with a line too long to read", original=exc) from exc

    # -- the way through httpx -----------------------------------------------------------------------------------------

    async def _via_httpx(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], limit: int
    ) -> Answer:
        if self._httpx is None:
            self._httpx = httpx.AsyncClient(
                headers=self._headers, timeout=self._timeout, transport=self._httpx_transport
            )
        try:
            request = self._httpx.build_request(method, url, content=body, headers=headers)
            response = await self._httpx.send(request, stream=True)
            content = await aread_at_most(response, limit)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", original=exc) from exc
        return Answer(response.status_code, response.reason_phrase, response.headers, content)

    # -- the way over asyncio streams ----------------------------------------------------------------------------------

    def _route(self, method: str, url: str) -> _Route | None:
        """Where a plain ``http://`` request goes (None: httpx's way), worked out once per method and URL."""
        key = (method, url)
        try:
            return self._routes[key]
        except KeyError:
            pass
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:  # a port above 65535 or not a number, a broken [IPv6] host
            # (httpx lets a port of 99999 through, to fail in the connect with an exception of anyio's)
            raise TransportError(f"the URL {url!r} is malformed: {exc}") from exc
        route = None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname
        if (
            self._streams_allowed
            and parts.scheme == "http"
            and host
            and parts.username is None
            and parts.password is None
            and _TARGET.fullmatch(target)
            and _TARGET.fullmatch(parts.netloc)
            and _TARGET.fullmatch(method)
        ):
            route = _Route((host, port or 80), f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n")
        if len(self._routes) >= _ROUTE_CACHE:
            self._routes.clear()
        self._routes[key] = route
        return route

    async def _exchange(self, origin: tuple[str, int], request: bytes, limit: int, *, idempotent: bool) -> Answer:
        loop = asyncio.get_running_loop()
        key = (loop, *origin)
        if key not in self._idle:
            for gone in [k for k in self._idle if k[0].is_closed()]:
                del self._idle[gone]
            self._idle[key] = []
        idle = self._idle[key]
        while True:
            reused = False
            while idle:
                reader, writer = idle.pop()
                if reader.at_eof() or writer.is_closing():  # the server closed it while it sat idle
                    writer.close()
                    continue
                reused = True
                break
            else:
                reader, writer = await asyncio.open_connection(*origin)
            try:
                writer.write(request)
                return await self._answer(key, reader, writer, limit)
            except _ClosedBeforeAnswerError as exc:
                writer.close()
                if reused and idempotent:
                    continue  # it went out on a connection the server was closing: once more, on another
                raise TransportError("the server closed the connection without an answer") from exc
            except BaseException:
                writer.close()
                raise

    async def _answer(
        self,
        key: _PoolKey,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limit: int,
    ) -> Answer:
        """Read one answer; the connection goes back to the idle list when it can carry the next request."""
        try:
            raw_head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _ClosedBeforeAnswerError from exc
            raise TransportError(f"an answer cut off in its head: {exc.partial[:100]!r}") from exc
        except asyncio.LimitOverrunError as exc:
            raise TransportError("the answer's head is too long") from exc
        if len(raw_head) > _MAX_HEAD:
            raise TransportError("the answer's head is too long")
        lines = raw_head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code_text, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code_text) != 3 or not code_text.isdigit():
            raise TransportError(f"not an HTTP/1.1 answer: {lines[0][:100]!r}")
        status = int(code_text)
        if status < 200:  # 1xx: nothing this client asks for (no Expect, no Upgrade)
            raise TransportError(f"an interim answer ({status}) this client does not read")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise TransportError(f"a header line without a colon: {line[:100]!r}")
            headers[name.strip().lower()] = value.strip()
        encoding = headers.get("content-encoding", "identity").lower()
        if encoding != "identity":  # this client sends no Accept-Encoding: a server that compresses anyway is broken
            raise TransportError(f"an answer in {encoding[:40]!r} encoding, which this client did not ask for")
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        body: bytes | None
        if status in (204, 304):  # no body, whatever the headers say (this client sends no HEAD)
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _chunked(reader, limit)
        elif "content-length" in headers:
            length_text = headers["content-length"]
            if not length_text.isdigit() or len(length_text) > 18:
                raise TransportError(f"a Content-Length of {length_text[:40]!r}")
            length = int(length_text)
            body = None if length > limit else await reader.readexactly(length)
        else:  # delimited by the connection's end (RFC 9112 6.3)
            keep = False
            body = await _until_closed(reader, limit)
        if body is None:
            keep = False  # the rest of a body too long to read is still on the wire
        idle = self._idle.setdefault(key, [])
        if keep and not self._closed and len(idle) < _IDLE_PER_ORIGIN:
            idle.append((reader, writer))
        else:
            writer.close()
        reason = reason.encode("latin-1").decode("ascii", "ignore")
        if not reason:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
        return Answer(status, reason, headers, body)


class _ClosedBeforeAnswerError(Exception):
    """The server closed the connection before any byte of the answer."""


async def _chunked(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            raise TransportError(f"a chunk size of {size_line[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any, then the empty line
                pass
            return b"".join(parts)
        total += size
        if total > limit:
            return None
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise TransportError("a chunk not followed by CRLF")


async def _until_closed(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    parts: list[bytes] = []
    total = 0
    while chunk := await reader.read(65536):
        total += len(chunk)
        if total > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)
