"""Every error smartsessions raises, under one root.

Errors carry a short message, meta lines that say what to do about it, a docs anchor, and the cause (kept as
``__cause__`` so tracebacks still show the third-party exception that triggered it). Catch ``SmartSessionsError`` to
catch everything; catch a subclass to handle one domain::

    SmartSessionsError
    ├── InvalidInputError          a value passed in is malformed (bad hex, wrong length, out of range, ...)
    │   └── ConfigurationError     a setting does not fit the rest (unknown MEE version, chain not configured, ...)
    ├── EncodingError              bytes from outside cannot be decoded (corrupt FastLZ stream, truncated signature)
    ├── AccountError               the smart account cannot do what was asked
    ├── RpcError                   a JSON-RPC endpoint failed or answered an error
    ├── MeeApiError                the MEE node answered non-2xx (keeps the HTTP status and body)
    ├── PolicyViolationError       a policy refused the call (names the policy and the rule)
    ├── SessionStateError          the permission is not in the state the call needs
    │   ├── SessionNotEnabledError
    │   └── EnableSignatureUsedError
    └── DevnetError                the local chains or node could not be started or used

Modelled on viem's ``BaseError``: ``str(err)`` is the message followed by the meta lines, the details and the docs
link, so that a log line alone tells the reader what went wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccountError",
    "ConfigurationError",
    "DevnetError",
    "EnableSignatureUsedError",
    "EncodingError",
    "InvalidInputError",
    "MeeApiError",
    "PolicyViolationError",
    "RpcError",
    "SessionNotEnabledError",
    "SessionStateError",
    "SmartSessionsError",
]

DOCS_PATH = "docs/errors.md"  # in the repository; one section per error class


class SmartSessionsError(Exception):
    """Root of every error raised by smartsessions."""

    docs_anchor: str = "smartsessionserror"

    def __init__(
        self,
        short_message: str,
        *,
        meta_messages: Sequence[str] = (),
        details: str | None = None,
        docs_anchor: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        self.short_message = short_message
        self.meta_messages = tuple(meta_messages)
        self.details = details
        if docs_anchor is not None:
            self.docs_anchor = docs_anchor
        super().__init__(self._render())
        if cause is not None:
            self.__cause__ = cause

    @property
    def docs_url(self) -> str:
        return f"{DOCS_PATH}#{self.docs_anchor}"

    def _render(self) -> str:
        lines = [self.short_message]
        if self.meta_messages:
            lines.append("")
            lines.extend(self.meta_messages)
        if self.details:
            lines.append("")
            lines.append(f"Details: {self.details}")
        lines.append(f"See: {self.docs_url}")
        return "\n".join(lines)


class InvalidInputError(SmartSessionsError):
    """A value passed in is malformed. ``field`` names it, so that the caller knows what to fix."""

    docs_anchor = "invalidinputerror"

    def __init__(
        self,
        field: str,
        problem: str,
        *,
        fix: str | None = None,
        value: object = None,
        cause: BaseException | None = None,
    ) -> None:
        self.field = field
        self.problem = problem
        meta = []
        if fix:
            meta.append(f"Fix: {fix}")
        if value is not None:
            shown = repr(value)
            meta.append(f"Got: {shown if len(shown) <= 120 else shown[:117] + '...'}")
        super().__init__(f"Invalid `{field}`: {problem}", meta_messages=meta, cause=cause)


class ConfigurationError(InvalidInputError):
    """A setting does not fit the rest of the configuration."""

    docs_anchor = "configurationerror"


class EncodingError(SmartSessionsError):
    """Bytes that came from outside (a signature, a compressed payload) cannot be decoded."""

    docs_anchor = "encodingerror"


class AccountError(SmartSessionsError):
    docs_anchor = "accounterror"


class RpcError(SmartSessionsError):
    """A JSON-RPC endpoint failed or answered an error; ``code`` and ``data`` keep what it said."""

    docs_anchor = "rpcerror"

    def __init__(self, short_message: str, *, code: int | None = None, data: object = None, **kwargs: object) -> None:
        self.code = code
        self.data = data
        super().__init__(short_message, **kwargs)  # type: ignore[arg-type]


class MeeApiError(SmartSessionsError):
    """The MEE node answered with a non-2xx status. ``status`` and ``body`` keep what it said."""

    docs_anchor = "meeapierror"

    def __init__(self, short_message: str, *, status: int, body: object, **kwargs: object) -> None:
        self.status = status
        self.body = body
        super().__init__(short_message, **kwargs)  # type: ignore[arg-type]


class PolicyViolationError(SmartSessionsError):
    docs_anchor = "policyviolationerror"


class SessionStateError(SmartSessionsError):
    docs_anchor = "sessionstateerror"


class SessionNotEnabledError(SessionStateError):
    docs_anchor = "sessionnotenablederror"


class EnableSignatureUsedError(SessionStateError):
    docs_anchor = "enablesignatureusederror"


class DevnetError(SmartSessionsError):
    docs_anchor = "devneterror"
