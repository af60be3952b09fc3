"""The HTTP connection to one MEE node: JSON in, JSON out, with the limits and retries a client needs against a
node it does not control. A non-2xx answer becomes :class:`~smartsessions.errors.MeeApiError` carrying the message
the reference SDK makes of it (:func:`.node_errors.parse_error_message`); what that message means is decided a layer
up (:mod:`.client`). Kept apart from the client as httpx keeps its transport apart: one place that talks HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx

from .._json import DEFAULT_MAX_BYTES, json_value_problem, loads_bounded
from .._transport import Answer, HttpTransport, TransportError
from ..errors import InvalidInputError, MeeApiError, MeeUnreachableError
from .node_errors import parse_error_message

__all__ = ["BUSY_RETRIES", "MAX_ANSWER_BYTES", "MAX_RETRY_AFTER", "NodeConnection"]


#: How often :meth:`NodeConnection.request` asks a busy node again (a 429 or 503 with ``Retry-After``), and the longest
#: wait it accepts from one ``Retry-After`` (longer ones are raised at once, as the node's refusal).
BUSY_RETRIES = 3
MAX_RETRY_AFTER = 30.0
#: The most of an answer the client reads from the node: a quote or a receipt is a few kB, an /info a few hundred.
MAX_ANSWER_BYTES = DEFAULT_MAX_BYTES


def _retry_after(response: Answer) -> float | None:
    """Seconds to wait before asking again, if the node said it is busy and when to come back; else None."""
    if response.status not in (429, 503):
        return None
    raw = response.headers.get("retry-after", "").strip()
    if not raw.isdigit() or len(raw) > 6 or int(raw) > MAX_RETRY_AFTER:
        return None
    return float(raw)


class NodeConnection:
    """Kept-alive HTTP to ``url`` (the API key, if any, in ``x-api-key``), through :class:`~smartsessions._transport.
    HttpTransport`: its own HTTP/1.1 for a plain ``http://`` node, httpx for ``https://``; ``transport`` sends every
    request through httpx with that transport instead (tests, proxies)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        if api_key is not None and not isinstance(api_key, str):
            raise InvalidInputError("api_key", f"is a {type(api_key).__name__}", fix="pass the API key as a str")
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        try:
            self._http = HttpTransport(headers=headers, timeout=timeout, httpx_transport=transport)
        except InvalidInputError as exc:
            raise InvalidInputError(
                "api_key", "holds a character an HTTP header cannot carry", fix="pass the key exactly as issued"
            ) from exc

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def request(
        self,
        path: str,
        *,
        method: str = "POST",
        body: Any = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One call (``base_url/path``, the node's URL by default); a non-2xx answer raises :class:`MeeApiError`."""
        url = f"{(base_url or self.url).rstrip('/')}/{path}"
        found = None if body is None else json_value_problem(body, max_depth=1000, max_number_digits=4000)
        if found is not None:  # json.dumps would raise, or recurse deep enough to overflow the C stack
            where, problem = found
            raise InvalidInputError(f"body{where}", problem, fix="pass JSON values, as the MEE API describes them")
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        try:
            for attempt in range(BUSY_RETRIES + 1):
                response = await self._http.request(
                    method,
                    url,
                    body=content,
                    headers=headers,
                    limit=MAX_ANSWER_BYTES,  # never more than that in memory
                    idempotent=method == "GET",  # a POST (an /exec) is never sent twice behind the caller's back
                )
                wait = _retry_after(response)
                if wait is None or attempt == BUSY_RETRIES:
                    break
                await asyncio.sleep(wait)  # a busy node (429/503 with Retry-After): it asked us to come back
        except TransportError as exc:
            raise MeeUnreachableError(
                f"Cannot reach the MEE node at {url}.",
                url=url,
                meta_messages=["Check the URL, and that the node (or `smartsessions devnet up`) is running."],
                details=exc.details,
                cause=exc.cause,
            ) from exc.cause
        raw = response.body
        if raw is None:
            raise MeeApiError(
                f"The MEE node answered {method} {path} with more than {MAX_ANSWER_BYTES} bytes.",
                status=response.status,
                body=None,
                meta_messages=["Check that the URL is an MEE node's API."],
                details=f"{method} {url} answered {response.status}",
            )
        text = raw.decode("utf-8", "replace")
        try:
            answer: Any = loads_bounded(raw, field="body", max_bytes=MAX_ANSWER_BYTES, refuse_lone_surrogates=True)
        except InvalidInputError as exc:  # not JSON, too deeply nested, or not Unicode text
            if response.is_success:
                raise MeeApiError(
                    f"The MEE node answered {method} {path} with something that is not JSON the SDK reads.",
                    status=response.status,
                    body=text,
                    details=f"`{exc.field}` {exc.problem}; the answer starts with {text[:500]!r}",
                    cause=exc,
                ) from exc
            answer = text or response.reason
        if not response.is_success:
            error = answer.get("error") if isinstance(answer, dict) and answer.get("error") is not None else answer
            message = parse_error_message(error if error not in (None, "", {}) else response.reason)
            code = answer.get("code") if isinstance(answer, dict) else None
            facts = answer.get("facts") if isinstance(answer, dict) else None
            raise MeeApiError(
                message or f"The MEE node answered {response.status}.",
                status=response.status,
                body=answer,
                code=code if isinstance(code, str) else None,
                facts=facts if isinstance(facts, dict) else None,
                details=f"{method} {url} answered {response.status}",
            )
        return answer
