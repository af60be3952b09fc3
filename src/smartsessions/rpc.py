"""A thin JSON-RPC client: batching, timeouts, typed errors.

Building and parsing are apart from sending (as httpx does it): :func:`encode_request` and :func:`decode_response`
are pure, :class:`RpcClient` sends them asynchronously (the SDK and the node) through
:class:`~smartsessions._transport.HttpTransport` (its own HTTP/1.1 on a plain ``http://`` endpoint, httpx on
``https://``), :class:`SyncRpcClient` synchronously through httpx (devnet set-up, the CLI, contract tests). Both take
an httpx transport, so tests can answer without sockets.

Errors: a JSON-RPC error becomes :class:`~smartsessions.errors.RpcError` with ``code``, ``data`` and, for reverts,
the raw revert bytes in ``revert_data``; transport failures (no answer, or an HTTP error status) become ``RpcError``
with the underlying exception as cause.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import httpx

from ._httpio import read_at_most
from ._json import json_value_problem, loads_bounded
from ._repr import bounded_repr
from ._transport import HttpTransport, TransportError
from .errors import InvalidInputError, RpcError

__all__ = [
    "RpcClient",
    "RpcRevertError",
    "SyncRpcClient",
    "call_word",
    "decode_response",
    "encode_request",
    "quantity",
    "return_data",
]

DEFAULT_TIMEOUT = 30.0
#: Bounds on a JSON-RPC answer (see :func:`smartsessions._json.loads_bounded`): logs and traces can be large, and a
#: ``debug_traceTransaction`` call tree nests two levels per call frame; stock Python's json refuses 1,000 levels.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
MAX_RESPONSE_DEPTH = 1000
# An int json.dumps can write (Python refuses decimal strings of more than 4,300 digits).
_MAX_DIGITS_WRITTEN = 4000


class RpcRevertError(RpcError):
    """An ``eth_call`` / ``eth_estimateGas`` that reverted. ``revert_data`` holds the raw revert bytes."""

    docs_anchor = "rpcerror"

    def __init__(self, message: str, *, revert_data: bytes, code: int | None, method: str, url: str) -> None:
        self.revert_data = revert_data
        self.method = method
        self.url = url
        super().__init__(
            f"{method} reverted: {message}",
            code=code,
            meta_messages=[f"Revert data: 0x{revert_data.hex()}" if revert_data else "No revert data."],
            details=f"endpoint {url}",
        )


# What int(_, 16) and bytes.fromhex take besides hex digits (``_``, whitespace, non-ASCII digits) is refused.
_QUANTITY = re.compile(r"0[xX][0-9a-fA-F]{1,64}")
_HEX_DATA = re.compile(r"0[xX](?:[0-9a-fA-F]{2})*")


def quantity(value: Any, *, what: str) -> int:
    """A JSON-RPC quantity (``"0x1a"``) read from an endpoint's answer; anything else (a faulty or hostile endpoint)
    is an :class:`RpcError` naming ``what`` was read (``"eth_blockNumber"``, ``"the block's timestamp"``)."""
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return int(value, 16)
    raise RpcError(f"The endpoint answered {what} with {bounded_repr(value)}, not a hex quantity.")


def return_data(value: Any, *, what: str) -> bytes:
    """The bytes of hex data (``"0x"`` and an even number of hex digits: ``eth_call`` return data, code) read from an
    endpoint's answer; anything else is an :class:`RpcError` naming ``what`` was read."""
    if isinstance(value, str) and _HEX_DATA.fullmatch(value):
        return bytes.fromhex(value[2:])
    raise RpcError(f"The endpoint answered {what} with {bounded_repr(value)}, not 0x hex data.")


def call_word(value: Any, *, what: str, bits: int = 256, empty: int | None = None) -> int:
    """The first 32-byte word of ``eth_call`` return data as a ``uint<bits>`` (a bool is a uint8 of 0 or 1): what a
    function returning one value answers. Empty return data (no code at the address, a function that returns
    nothing) gives ``empty``; with ``empty`` None, it is an :class:`RpcError` naming ``what`` was read, as are data
    that are not hex, shorter than a word, or a word above the type's range (``decimals()`` answering 2**255)."""
    data = return_data(value, what=what)
    if not data and empty is not None:
        return empty
    word = int.from_bytes(data[:32], "big")
    if len(data) < 32 or word >> bits:
        got = "no data" if not data else bounded_repr(value)
        raise RpcError(
            f"The endpoint answered {what} with {got}, not a 32-byte ABI word holding a uint{bits}.",
            meta_messages=["Check that the address is the contract meant and that the endpoint serves its chain."],
        )
    return word


def encode_request(method: str, params: Sequence[Any] | None, request_id: int) -> dict[str, Any]:
    """One JSON-RPC request; ``params`` that json.dumps cannot write (or would overflow the C stack on, nested
    deeply enough) are an :class:`InvalidInputError` naming the part."""
    values = list(params or [])
    found = json_value_problem(values, max_depth=MAX_RESPONSE_DEPTH, max_number_digits=_MAX_DIGITS_WRITTEN)
    if found is not None:
        where, problem = found
        raise InvalidInputError(f"{method} params{where}", problem, fix="pass JSON values (0x hex for quantities)")
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": values}


def _revert_bytes(data: Any) -> bytes | None:
    for _ in range(4):  # some nodes nest it: {"data": "0x..."}, and a few a level deeper
        if isinstance(data, dict):
            data = data.get("data")
            continue
        if isinstance(data, str) and data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return None
    return None


def _code(value: Any) -> int | None:
    """A JSON-RPC error code: an int of the size JSON-RPC uses (None for anything else)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def decode_response(body: Any, *, method: str, url: str) -> Any:
    """The ``result`` of one JSON-RPC response, or a typed error (never another exception, whatever ``body`` is)."""
    if not isinstance(body, dict):
        raise RpcError(f"{method}: the endpoint answered something that is not a JSON-RPC response.", details=url)
    error = body.get("error")
    if error is not None:
        raw_message = error.get("message", error) if isinstance(error, dict) else error
        message = raw_message if isinstance(raw_message, str) else bounded_repr(raw_message, 500)
        raw_code = error.get("code") if isinstance(error, dict) else None
        code = _code(raw_code)
        data = error.get("data") if isinstance(error, dict) else None
        revert = _revert_bytes(data)
        if revert is not None or "revert" in message.lower():
            raise RpcRevertError(message, revert_data=revert or b"", code=code, method=method, url=url)
        raise RpcError(
            f"{method} failed: {message}",
            code=code,
            data=data,
            details=f"code {bounded_repr(raw_code, 40)}, endpoint {url}",
        )
    if "result" not in body:
        raise RpcError(f"{method}: the response has neither result nor error.", details=url)
    return body["result"]


def _within_bound(content: bytes | None, url: str) -> bytes:
    """The answer read by :func:`~smartsessions._httpio.aread_at_most`; None (it ran past the bound) is an error."""
    if content is None:
        raise RpcError(
            f"The JSON-RPC endpoint {url} answered more than {MAX_RESPONSE_BYTES} bytes.",
            meta_messages=["Check that the URL is a JSON-RPC endpoint; ask for less at once (a shorter log range)."],
        )
    return content


def _parse_body(content: bytes, url: str) -> Any:
    try:
        return loads_bounded(
            content,
            field="body",
            max_bytes=MAX_RESPONSE_BYTES,
            max_depth=MAX_RESPONSE_DEPTH,
            refuse_lone_surrogates=True,
        )
    except InvalidInputError as exc:
        raise RpcError(
            f"The JSON-RPC endpoint {url} answered something that is not JSON.",
            meta_messages=["Check that the URL is a JSON-RPC endpoint."],
            details=f"`{exc.field}` {exc.problem}; the answer starts with {content[:200]!r}",
            cause=exc,
        ) from exc


def _hex_result(result: Any, method: str, url: str) -> bytes:
    """The bytes of a hex ``result`` (``eth_call``, ``eth_getCode``)."""
    try:
        return return_data(result, what=method)
    except RpcError as exc:
        raise RpcError(
            f"{method}: the endpoint answered a result that is not 0x hex.",
            details=f"result {bounded_repr(result, 200)}, endpoint {url}",
        ) from exc


def _transport_error(exc: Exception, url: str) -> RpcError:
    if isinstance(exc, TransportError):
        details, cause = exc.details, exc.cause
    else:
        details, cause = f"{type(exc).__name__}: {exc}", exc
    return RpcError(
        f"Cannot reach the JSON-RPC endpoint {url}.",
        meta_messages=["Check the URL and that the node (or `smartsessions devnet up`) is running."],
        details=details,
        cause=cause,
    )


class RpcClient:
    """Async JSON-RPC client. Use as ``async with RpcClient(url) as rpc: await rpc.request(...)``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._ids = itertools.count(1)
        self._http = HttpTransport(
            timeout=timeout, headers={"Content-Type": "application/json"}, httpx_transport=transport
        )

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def _post(self, payload: Any) -> Any:
        # Compact JSON (httpx's json= wrote it so too); the params were checked by encode_request.
        content = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        try:
            # Repeating a JSON-RPC request is harmless: reads, and raw transactions, which a chain takes once.
            answer = await self._http.request("POST", self.url, body=content, limit=MAX_RESPONSE_BYTES, idempotent=True)
        except TransportError as exc:
            raise _transport_error(exc, self.url) from exc.cause
        if answer.status >= 400:
            failure = TransportError(f"HTTP {answer.status} {answer.reason}: {(answer.body or b'')[:200]!r}")
            raise _transport_error(failure, self.url) from failure
        return _parse_body(_within_bound(answer.body, self.url), self.url)

    async def request(self, method: str, params: Sequence[Any] | None = None) -> Any:
        body = await self._post(encode_request(method, params, next(self._ids)))
        return decode_response(body, method=method, url=self.url)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], *, return_errors: bool = False) -> list[Any]:
        """Several requests in one HTTP round trip; results in call order. The first error raises, unless
        ``return_errors``: then each failed request's :class:`RpcError` takes its place in the list."""
        if not calls:
            return []
        payload = [encode_request(m, p, next(self._ids)) for m, p in calls]
        body = await self._post(payload)
        return _batch_results(body, payload, self.url, return_errors=return_errors)

    async def call(self, to: str, data: bytes, *, block: str = "latest", sender: str | None = None) -> bytes:
        result = await self.request("eth_call", [_call_object(to, data, sender), block])
        return _hex_result(result, "eth_call", self.url)


class SyncRpcClient:
    """The blocking twin of :class:`RpcClient`, for set-up code and tests."""

    def __init__(
        self, url: str, *, timeout: float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url
        self._ids = itertools.count(1)
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __enter__(self) -> SyncRpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _post(self, payload: Any) -> Any:
        try:
            request = self._client.build_request("POST", self.url, json=payload)
            response = self._client.send(request, stream=True)
            if response.is_error:
                response.close()
            response.raise_for_status()
            content = read_at_most(response, MAX_RESPONSE_BYTES)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.url) from exc
        return _parse_body(_within_bound(content, self.url), self.url)

    def request(self, method: str, params: Sequence[Any] | None = None) -> Any:
        body = self._post(encode_request(method, params, next(self._ids)))
        return decode_response(body, method=method, url=self.url)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        if not calls:
            return []
        payload = [encode_request(m, p, next(self._ids)) for m, p in calls]
        return _batch_results(self._post(payload), payload, self.url)

    def call(self, to: str, data: bytes, *, block: str = "latest", sender: str | None = None) -> bytes:
        result = self.request("eth_call", [_call_object(to, data, sender), block])
        return _hex_result(result, "eth_call", self.url)


def _call_object(to: str, data: bytes, sender: str | None) -> dict[str, str]:
    obj = {"to": to, "data": "0x" + bytes(data).hex()}
    if sender is not None:
        obj["from"] = sender
    return obj


def _batch_results(body: Any, payload: list[dict[str, Any]], url: str, *, return_errors: bool = False) -> list[Any]:
    if not isinstance(body, list):
        # A single error object for the whole batch.
        decode_response(body, method="batch", url=url)
        raise RpcError("The endpoint answered a batch with a single response.", details=url)
    # Ids are the ints encode_request wrote; an entry with another id (null, a list) answers none of our requests.
    by_id = {item["id"]: item for item in body if isinstance(item, dict) and isinstance(item.get("id"), (int, str))}
    out: list[Any] = []
    for p in payload:
        try:
            out.append(decode_response(by_id.get(p["id"]), method=p["method"], url=url))
        except RpcError as exc:
            if not return_errors:
                raise
            out.append(exc)
    return out
