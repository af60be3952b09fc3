"""The node's refusals: an HTTP status, the message a person reads, a stable code and the facts behind it.

Every non-2xx answer of the node is ``{"error": "<message>", "code": "<CODE>", "facts": {...}}``:

* ``error`` is the English message, unchanged from before codes existed: the reference SDK shows it, and clients
  that predate the codes read nothing else;
* ``code`` (:class:`Code`) names the cause, one per cause a client can act on differently; a code, once published,
  keeps its meaning and its HTTP status;
* ``facts`` are what the node knows about that cause, as a JSON object with camelCase keys (``chainId``,
  ``userOpIndex``, ``field``, ``permissionId``, ``policy``, ``fee``, ...): token amounts, nonces and other uint256
  values are decimal strings (they exceed what a JSON number holds exactly), chain ids, indices and timestamps are
  numbers, addresses are checksummed and byte strings ``0x`` hex. A fact the node does not know is left out.

A client acts on ``code`` and reads ``facts``, and never parses ``error``. The codes, their statuses, their facts and
what a client should do are listed in ``docs/errors.md`` ("The local node's error codes"); a test keeps that table and
the codes raised here in step. A refusal that comes from a simulation carries the facts decoded from its revert data
(:mod:`.refusals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from ...errors import DevnetError
from ...wire.mee import ErrorResponse

__all__ = ["Code", "ErrorAnswer", "Fact", "NodeError"]

#: A fact's value: JSON.
Fact = str | int | bool | None | Sequence["Fact"] | Mapping[str, "Fact"]


class Code(StrEnum):
    """Why the node refused a request (``docs/errors.md`` says what each means and what a client does)."""

    # the HTTP edge
    API_KEY_INVALID = "API_KEY_INVALID"
    ROUTE_NOT_FOUND = "ROUTE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    INVALID_FIELD = "INVALID_FIELD"
    BUSY = "BUSY"
    # what the node serves
    TOO_MANY_USER_OPS = "TOO_MANY_USER_OPS"
    CHAIN_NOT_SERVED = "CHAIN_NOT_SERVED"
    QUOTE_TYPE_NOT_SUPPORTED = "QUOTE_TYPE_NOT_SUPPORTED"
    EIP7702_NOT_SUPPORTED = "EIP7702_NOT_SUPPORTED"
    FEE_TOKEN_NOT_SUPPORTED = "FEE_TOKEN_NOT_SUPPORTED"
    # execution windows
    EXECUTION_WINDOW_INVALID = "EXECUTION_WINDOW_INVALID"
    EXECUTION_WINDOW_ENDED = "EXECUTION_WINDOW_ENDED"
    EXECUTION_WINDOW_NOT_OPEN = "EXECUTION_WINDOW_NOT_OPEN"
    # the fee
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    SESSION_FEE_ABOVE_CAP = "SESSION_FEE_ABOVE_CAP"
    # a session's time frame
    SESSION_TIME_FRAME_NOT_OPEN = "SESSION_TIME_FRAME_NOT_OPEN"
    SESSION_TIME_FRAME_OVER = "SESSION_TIME_FRAME_OVER"
    # a userOp's simulation
    POLICY_VIOLATION = "POLICY_VIOLATION"
    ACTION_NOT_PERMITTED = "ACTION_NOT_PERMITTED"
    SESSION_NOT_ENABLED = "SESSION_NOT_ENABLED"
    ENABLE_SIGNATURE_USED = "ENABLE_SIGNATURE_USED"
    GRANT_ACCOUNT_MISMATCH = "GRANT_ACCOUNT_MISMATCH"
    ENABLE_SIGNATURE_INVALID = "ENABLE_SIGNATURE_INVALID"
    NONCE_INVALID = "NONCE_INVALID"
    USER_OP_VALIDATION_FAILED = "USER_OP_VALIDATION_FAILED"
    USER_OP_CALL_REVERTED = "USER_OP_CALL_REVERTED"
    # /exec: the quote and its signature
    ALREADY_SCHEDULED = "ALREADY_SCHEDULED"
    QUOTE_CHANGED = "QUOTE_CHANGED"
    QUOTE_NOT_FROM_THIS_NODE = "QUOTE_NOT_FROM_THIS_NODE"
    SIGNATURE_MALFORMED = "SIGNATURE_MALFORMED"
    SIGNATURE_TYPE_MISMATCH = "SIGNATURE_TYPE_MISMATCH"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    ACCOUNT_OWNER_UNKNOWN = "ACCOUNT_OWNER_UNKNOWN"
    TRIGGER_TX_NOT_FOUND = "TRIGGER_TX_NOT_FOUND"
    TRIGGER_TX_PENDING = "TRIGGER_TX_PENDING"
    TRIGGER_INVALID = "TRIGGER_INVALID"
    TRIGGER_AMOUNT_TOO_LOW = "TRIGGER_AMOUNT_TOO_LOW"
    # the explorer
    UNKNOWN_SUPER_TRANSACTION = "UNKNOWN_SUPER_TRANSACTION"
    # the node's own trouble
    CHAIN_UNAVAILABLE = "CHAIN_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ErrorAnswer(ErrorResponse):
    """The body of every non-2xx answer: the SDK's :class:`~smartsessions.wire.mee.ErrorResponse`, whose ``code``
    and ``facts`` (optional there: other nodes send none) this node always sends."""

    code: Code
    facts: dict[str, Any]


class NodeError(DevnetError):
    """A request the node refuses (4xx) or cannot serve (5xx). ``message`` is what a person reads, ``code`` what a
    client acts on, ``facts`` what the node knows about it (facts that are None are left out)."""

    docs_anchor = "devneterror"

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: Code,
        facts: Mapping[str, Fact] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.facts: dict[str, Fact] = {k: v for k, v in (facts or {}).items() if v is not None}
        #: Seconds the client should wait before it asks again (the ``Retry-After`` header of a 429 or 503).
        self.retry_after = retry_after
        super().__init__(message)

    def answer(self) -> ErrorAnswer:
        """The body the client gets."""
        return ErrorAnswer(error=self.message, code=self.code, facts=self.facts)
