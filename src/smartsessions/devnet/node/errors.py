"""The node's own error: an HTTP status and the message the client gets as ``{"error": ...}``."""

from __future__ import annotations

from ...errors import DevnetError

__all__ = ["NodeError"]


class NodeError(DevnetError):
    """A request the node refuses (4xx) or cannot serve (5xx). ``message`` is what the client reads."""

    docs_anchor = "devneterror"

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        self.status = status
        self.message = message
        #: Seconds the client should wait before it asks again (the ``Retry-After`` header of a 429 or 503).
        self.retry_after = retry_after
        super().__init__(message)
