"""Every error smartsessions raises, under one root.

Errors carry a short message, meta lines that say what to do about it, a docs anchor, and the cause (kept as
``__cause__`` so tracebacks still show the third-party exception that triggered it). Catch ``SmartSessionsError`` to
catch everything; catch a subclass to handle one domain::

    SmartSessionsError
    ├── InvalidInputError               a value passed in is malformed (bad hex, wrong length, out of range, ...)
    │   ├── ConfigurationError          a setting does not fit the rest (unknown MEE version, ...)
    │   │   ├── ChainNotConfiguredError     the account has no deployment on that chain
    │   │   ├── ChainNotSupportedError      the MEE node does not serve that chain
    │   │   └── FeeTokenNotSupportedError   the MEE node takes no fee in that token on that chain
    │   └── FeePaymentBlockedError      a grant's own rules on the fee token's transfer would refuse the fee payment
    ├── EncodingError                   bytes from outside cannot be decoded (corrupt FastLZ, truncated signature)
    ├── AccountError                    the smart account cannot do what was asked
    │   └── InsufficientBalanceError    the payer holds less of the fee token than the fee (and trigger) need
    ├── RpcError                        a JSON-RPC endpoint failed or answered an error
    ├── MeeApiError                     the MEE node answered non-2xx (keeps the HTTP status and body)
    │   └── UserOpRefusedError          the node's simulation refused a userOp for a cause no other error names
    ├── MeeUnreachableError             the MEE node could not be reached, or did not answer in time
    ├── QuoteCommitmentError            a quote's commitment is not its node's signature over its hash
    ├── QuoteMismatchError              a quote is not the super-transaction asked for (refused before signing)
    ├── PolicyViolationError            a policy refused the call (names the permission, action, policy and rule)
    │   ├── ActionNotPermittedError     the session has no action for the call at all (names what it allows)
    │   ├── OutsideTimeFrameError       the session's time frame is not open yet, or is over (names the window)
    │   └── PolicyLimitError            a limit of the session is used up (uses, value, spending, a cumulative rule)
    │       └── FeeAboveCapError        the fee is more than the session may pay (its maxPaymentAmount)
    ├── SessionStateError               the permission is not in the state the call needs
    │   ├── SessionNotEnabledError
    │   ├── EnableSignatureUsedError
    │   ├── GrantAccountMismatchError   the grant was signed for another account than the client's
    │   └── SessionSignerMismatchError  the client signs with another key than the session's redeemer
    ├── SupertransactionFailedError     a submitted super-transaction failed (names the failing userOp)
    ├── SupertransactionTimeoutError    a super-transaction was not final in time
    ├── DevnetError                     the local chains or node could not be started or used
    ├── SyncReentryError                a blocking call (``smartsessions.sync``) on the thread of its own event loop
    └── ExtraNotInstalledError          a module of an extra was imported without it (also an ``ImportError``)

Errors that explain a refusal (policy, session state, balance) raised from a node's answer or a receipt keep the
:class:`MeeApiError` or :class:`SupertransactionFailedError` they were read from as ``__cause__``.

Modelled on viem's ``BaseError``: ``str(err)`` is the message followed by the meta lines, the details and the docs
link, so that a log line alone tells the reader what went wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._repr import bounded_repr
from .permission_id import PermissionId

__all__ = [
    "AccountError",
    "ActionNotPermittedError",
    "ChainNotConfiguredError",
    "ChainNotSupportedError",
    "ConfigurationError",
    "DevnetError",
    "EnableSignatureUsedError",
    "EncodingError",
    "ExtraNotInstalledError",
    "FailedUserOp",
    "FeeAboveCapError",
    "FeePaymentBlockedError",
    "FeeTokenNotSupportedError",
    "GrantAccountMismatchError",
    "InsufficientBalanceError",
    "InvalidInputError",
    "MeeApiError",
    "MeeUnreachableError",
    "OutsideTimeFrameError",
    "PolicyLimitError",
    "PolicyViolationError",
    "QuoteCommitmentError",
    "QuoteMismatchError",
    "RpcError",
    "SessionNotEnabledError",
    "SessionSignerMismatchError",
    "SessionStateError",
    "SmartSessionsError",
    "SupertransactionFailedError",
    "SupertransactionTimeoutError",
    "SyncReentryError",
    "UserOpRefusedError",
]

DOCS_PATH = "docs/errors.md"  # in the repository; one section per error class


def _permission_id(value: object) -> PermissionId | str | None:
    """An error's ``permission_id`` as the one id type of the API (:class:`~smartsessions.permission_id.PermissionId`,
    equal to any spelling of the id); a value that is no id (a node's malformed answer) is kept as it came."""
    if value is None:
        return None
    try:
        return PermissionId(value)
    except (TypeError, ValueError):
        return str(value)


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
            meta.append(f"Got: {bounded_repr(value, 120)}")
        super().__init__(f"Invalid `{field}`: {problem}", meta_messages=meta, cause=cause)


class ConfigurationError(InvalidInputError):
    """A setting does not fit the rest of the configuration."""

    docs_anchor = "configurationerror"


class ChainNotConfiguredError(ConfigurationError):
    """The multichain account has no deployment on the chain an instruction, action or fee token names."""

    docs_anchor = "chainnotconfigurederror"


class ChainNotSupportedError(ConfigurationError):
    """The MEE node does not serve some of the account's chains. ``chain_ids`` are the missing ones."""

    docs_anchor = "chainnotsupportederror"

    def __init__(self, field: str, problem: str, *, chain_ids: Sequence[int] = (), **kwargs: Any) -> None:
        self.chain_ids = tuple(chain_ids)
        super().__init__(field, problem, **kwargs)


class FeeTokenNotSupportedError(ConfigurationError):
    """The MEE node takes no fee in that token on that chain (per its ``/info``)."""

    docs_anchor = "feetokennotsupportederror"


class FeePaymentBlockedError(InvalidInputError):
    """A grant's own rules on the fee token's ``transfer`` would refuse the MEE fee payment.

    The node takes its fee with a ``transfer`` of the fee token from the account, validated through the same session:
    SmartSessions runs every policy of that action, so a rule the fee payment cannot meet (a fixed recipient: the fee
    goes to the node) would make every super-transaction fail. Refused before anything is signed. ``chain_id``,
    ``token`` and ``rule`` say where."""

    docs_anchor = "feepaymentblockederror"

    def __init__(self, field: str, problem: str, *, chain_id: int, token: str, rule: str, **kwargs: Any) -> None:
        self.chain_id = chain_id
        self.token = token
        self.rule = rule
        super().__init__(field, problem, **kwargs)


class EncodingError(SmartSessionsError):
    """Bytes that came from outside (a signature, a compressed payload) cannot be decoded."""

    docs_anchor = "encodingerror"


class AccountError(SmartSessionsError):
    docs_anchor = "accounterror"


class InsufficientBalanceError(AccountError):
    """The payer holds less of the fee token than needed. Amounts are in the token's base units (None if unknown)."""

    docs_anchor = "insufficientbalanceerror"

    def __init__(
        self,
        short_message: str,
        *,
        holder: str | None = None,
        token: str | None = None,
        chain_id: int | None = None,
        balance: int | None = None,
        needed: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.holder = holder
        self.token = token
        self.chain_id = chain_id
        self.balance = balance
        self.needed = needed
        super().__init__(short_message, **kwargs)


class RpcError(SmartSessionsError):
    """A JSON-RPC endpoint failed or answered an error; ``code`` and ``data`` keep what it said."""

    docs_anchor = "rpcerror"

    def __init__(self, short_message: str, *, code: int | None = None, data: object = None, **kwargs: Any) -> None:
        self.code = code
        self.data = data
        super().__init__(short_message, **kwargs)


class MeeApiError(SmartSessionsError):
    """The MEE node answered with a non-2xx status. ``status`` and ``body`` keep what it said; ``code`` and ``facts``
    are the machine-readable cause and what the node knows of it, from a node that sends them (the local node does:
    ``docs/errors.md`` lists its codes), else None and ``{}``."""

    docs_anchor = "meeapierror"

    def __init__(
        self,
        short_message: str,
        *,
        status: int,
        body: object,
        code: str | None = None,
        facts: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.status = status
        self.body = body
        self.code = code
        self.facts: dict[str, Any] = dict(facts or {})
        super().__init__(short_message, **kwargs)


class UserOpRefusedError(MeeApiError):
    """The node's simulation refused a userOp for a cause that no more specific error names: its validation failed
    (``aa_code`` and ``reason`` are the EntryPoint's, e.g. ``AA25`` for a nonce, ``AA24`` for the owner's signature),
    or its call reverts (``revert_error`` and ``revert_data``). ``chain_id``, ``user_op_index`` (in the quote, 0
    being the payment userOp) and ``where`` (``paymentInfo``, ``userOps[i]`` of the request) say which userOp; each
    is None when the node did not say. A :class:`MeeApiError` still (``code``, ``facts``, ``status``, ``body``)."""

    docs_anchor = "useroprefusederror"

    def __init__(self, short_message: str, **kwargs: Any) -> None:
        super().__init__(short_message, **kwargs)
        facts = self.facts

        def known(key: str, kind: type) -> Any:
            value = facts.get(key)
            return value if isinstance(value, kind) and not isinstance(value, bool) else None

        self.chain_id: int | None = known("chainId", int)
        self.user_op_index: int | None = known("userOpIndex", int)
        self.where: str | None = known("field", str)
        self.aa_code: str | None = known("aaCode", str)
        self.reason: str | None = known("reason", str)
        self.revert_error: str | None = known("revertError", str)
        self.revert_data: str | None = known("revertData", str)


class MeeUnreachableError(SmartSessionsError):
    """No answer from the MEE node at ``url``: the connection failed or timed out (the transport's exception is the
    ``__cause__``). Not a refusal: nothing reached the node, or its answer never came, so asking again later may
    succeed (a request that timed out may have arrived, though: ``/exec`` of the same quote is refused as already
    scheduled if it did)."""

    docs_anchor = "meeunreachableerror"

    def __init__(self, short_message: str, *, url: str, **kwargs: Any) -> None:
        self.url = url
        super().__init__(short_message, **kwargs)


class QuoteCommitmentError(SmartSessionsError):
    """A quote's ``commitment`` is not the EIP-191 signature of the node it names (``quote.node``) over its hash: the
    quote was changed on its way, or the node signs with another key. ``quote_hash`` and ``node`` are the quote's;
    ``signer`` is who the commitment recovers to (None if it is no signature at all)."""

    docs_anchor = "quotecommitmenterror"

    def __init__(
        self, short_message: str, *, quote_hash: str, node: str, signer: str | None = None, **kwargs: Any
    ) -> None:
        self.quote_hash = quote_hash
        self.node = node
        self.signer = signer
        super().__init__(short_message, **kwargs)


class QuoteMismatchError(SmartSessionsError):
    """A quote is not the super-transaction the client asked for, or its hashes are not its own: refused before
    anything signed it. ``field`` names the first difference (``userOps[1].callData``, ``hash``, ...)."""

    docs_anchor = "quotemismatcherror"

    def __init__(self, short_message: str, *, field: str, quote_hash: str, **kwargs: Any) -> None:
        self.field = field
        self.quote_hash = quote_hash
        super().__init__(short_message, **kwargs)


class PolicyViolationError(SmartSessionsError):
    """A policy of the session refused a call. Each attribute is None when the refusal did not say it:
    ``permission_id`` and ``chain_id``; the action (``action_target``, ``action_selector``); the policy (its
    ``policy`` address and ``policy_name``); the ``rule`` it applied, as a sentence, when it can be worked out.
    ``permission_wide`` is True when the policy is one of the session's userOp policies, which every userOp of the
    permission on that chain meets (the fee payment included), rather than a policy of the action called."""

    docs_anchor = "policyviolationerror"

    def __init__(
        self,
        short_message: str,
        *,
        permission_id: str | None = None,
        chain_id: int | None = None,
        action_target: str | None = None,
        action_selector: str | None = None,
        policy: str | None = None,
        policy_name: str | None = None,
        rule: str | None = None,
        permission_wide: bool = False,
        **kwargs: Any,
    ) -> None:
        self.permission_wide = permission_wide
        self.permission_id = _permission_id(permission_id)
        self.chain_id = chain_id
        self.action_target = action_target
        self.action_selector = action_selector
        self.policy = policy
        self.policy_name = policy_name
        self.rule = rule
        super().__init__(short_message, **kwargs)


class ActionNotPermittedError(PolicyViolationError):
    """The session grants nothing for this call: no action for its target and selector (SmartSessions'
    ``NoPoliciesSet``), so no policy was even asked. ``allowed`` lists what the permission does allow on that chain
    (``target.selector`` with the function's name when known), from the session details the client used; empty when
    it did not have them."""

    docs_anchor = "actionnotpermittederror"

    def __init__(self, short_message: str, *, allowed: Sequence[str] = (), **kwargs: Any) -> None:
        self.allowed = tuple(allowed)
        super().__init__(short_message, **kwargs)


class OutsideTimeFrameError(PolicyViolationError):
    """A TimeFramePolicy of the session does not let the userOp through at any time it could execute: its window
    opens only after the userOp's execution window ends (``not_yet_open``), or it closed before the chain's time
    (``valid_until``). ``valid_after`` and ``valid_until`` are the window in unix seconds, both inclusive as the
    EntryPoint checks them (``valid_until`` 0: no end); ``chain_time`` is the chain's time it was judged against. The
    policy's address and name, the permission, the chain and, for a window set on an action, the action's target and
    selector are the :class:`PolicyViolationError` attributes (no action for a userOp policy's window). Found before
    anything is signed, by the SDK's own reads or the node's quote; a value the node did not say is None."""

    docs_anchor = "outsidetimeframeerror"

    def __init__(
        self,
        short_message: str,
        *,
        not_yet_open: bool,
        valid_after: int | None = None,
        valid_until: int | None = None,
        chain_time: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.not_yet_open = not_yet_open
        self.valid_after = valid_after
        self.valid_until = valid_until
        self.chain_time = chain_time
        super().__init__(short_message, **kwargs)


class PolicyLimitError(PolicyViolationError):
    """A limit of the session refused the call: its uses are used up (``UsageLimitPolicy``), or the call would take
    it past a cumulative limit on native value (``ValueLimitPolicy``), on a token's spending
    (``ERC20SpendingLimitPolicy``, ``token``) or on an argument (a universal action rule's usage limit). ``limit`` is
    the grant's, ``requested`` what this userOp asks of it (uses, wei, token units, the argument's sum), ``used`` what
    is used already; each None when unknown. A limit does not grow back: the owner grants a new permission."""

    docs_anchor = "policylimiterror"

    def __init__(
        self,
        short_message: str,
        *,
        limit: int | None = None,
        requested: int | None = None,
        used: int | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.limit = limit
        self.requested = requested
        self.used = used
        self.token = token
        super().__init__(short_message, **kwargs)


class FeeAboveCapError(PolicyLimitError):
    """The node's fee (``fee``, ``requested``, in ``token`` base units) is more than the session may pay under its
    payment policy: ``cap_per_payment`` per payment and ``cap_in_total`` (the grant's ``maxPaymentAmount``; what the
    session already paid counts against it); ``limit`` is the tighter of the two. None where the node did not say."""

    docs_anchor = "feeabovecaperror"

    def __init__(
        self,
        short_message: str,
        *,
        fee: int | None = None,
        cap_per_payment: int | None = None,
        cap_in_total: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.fee = fee
        self.cap_per_payment = cap_per_payment
        self.cap_in_total = cap_in_total
        caps = [c for c in (cap_per_payment, cap_in_total) if c is not None]
        kwargs.setdefault("limit", min(caps) if caps else None)
        kwargs.setdefault("requested", fee)
        super().__init__(short_message, **kwargs)


class SessionStateError(SmartSessionsError):
    """The permission is not in the state the call needs (``permission_id`` on ``chain_id``, when known)."""

    docs_anchor = "sessionstateerror"

    def __init__(
        self, short_message: str, *, permission_id: str | None = None, chain_id: int | None = None, **kwargs: Any
    ) -> None:
        self.permission_id = _permission_id(permission_id)
        self.chain_id = chain_id
        super().__init__(short_message, **kwargs)


class SessionNotEnabledError(SessionStateError):
    docs_anchor = "sessionnotenablederror"


class EnableSignatureUsedError(SessionStateError):
    docs_anchor = "enablesignatureusederror"


class GrantAccountMismatchError(SessionStateError):
    """The session details were granted for another account than ``account`` (the client's, on ``chain_id``): the
    owner's enable signature covers the account it was made for, and no other."""

    docs_anchor = "grantaccountmismatcherror"

    def __init__(self, short_message: str, *, account: str | None = None, **kwargs: Any) -> None:
        self.account = account
        super().__init__(short_message, **kwargs)


class SessionSignerMismatchError(SessionStateError):
    """The permission is granted to ``redeemer`` (the session key its validator checks), and the quote is, or would
    be, signed by ``signer``: SmartSessions refuses every userOp of it. Found before signing from the session
    details, or from the node's refusal of a signed quote."""

    docs_anchor = "sessionsignermismatcherror"

    def __init__(
        self, short_message: str, *, redeemer: str | None = None, signer: str | None = None, **kwargs: Any
    ) -> None:
        self.redeemer = redeemer
        self.signer = signer
        super().__init__(short_message, **kwargs)


@dataclass(frozen=True)
class FailedUserOp:
    """One failed userOp of a super-transaction: its ``index`` in the quote (0 is the payment userOp), its chain and
    hash, the node's ``executionStatus`` and ``executionError``."""

    index: int
    chain_id: int
    user_op_hash: str
    status: str
    error: str


class SupertransactionFailedError(SmartSessionsError):
    """A submitted super-transaction failed: ``status`` is ``FAILED`` (refused before or at submission) or
    ``MINED_FAIL`` (reverted on chain); ``failures`` name each failed userOp; ``receipt`` is the explorer payload."""

    docs_anchor = "supertransactionfailederror"

    def __init__(
        self,
        short_message: str,
        *,
        hash: str,
        status: str,
        failures: Sequence[FailedUserOp] = (),
        receipt: object = None,
        **kwargs: Any,
    ) -> None:
        self.hash = hash
        self.status = status
        self.failures = tuple(failures)
        self.receipt = receipt
        super().__init__(short_message, **kwargs)


class SupertransactionTimeoutError(SmartSessionsError):
    """A super-transaction was not final within the timeout; ``hash`` and the last ``status`` seen are kept."""

    docs_anchor = "supertransactiontimeouterror"

    def __init__(self, short_message: str, *, hash: str, status: str | None = None, **kwargs: Any) -> None:
        self.hash = hash
        self.status = status
        super().__init__(short_message, **kwargs)


class DevnetError(SmartSessionsError):
    docs_anchor = "devneterror"


class SyncReentryError(SmartSessionsError):
    """A blocking call of :mod:`smartsessions.sync` (``call`` names it) was made on the thread that runs the facade's
    own event loop: from a coroutine or callback the facade is running (an async ``HashSigner``'s ``sign_hash``, say).
    The call would wait for that loop, which waits for the call: refused instead of hanging forever. There, await the
    async API."""

    docs_anchor = "syncreentryerror"

    def __init__(self, call: str) -> None:
        self.call = call
        super().__init__(
            f"smartsessions.sync: {call} was called on the facade's own event loop thread, where it would wait for "
            "itself forever.",
            meta_messages=[
                "Fix: code that runs there (a coroutine or callback of a smartsessions call) is async code: await the "
                "async API of smartsessions there instead of calling smartsessions.sync.",
            ],
        )


class ExtraNotInstalledError(SmartSessionsError, ImportError):
    """A module that needs an extra (``smartsessions.devnet``, its node and the CLI need ``devnet``) was imported
    without it. ``module`` is what was imported, ``extra`` the extra that provides it, ``missing`` the packages of the
    extra that are not installed. An ``ImportError`` too, so ``except ImportError`` around an optional import works."""

    docs_anchor = "extranotinstallederror"

    def __init__(self, module: str, *, extra: str, missing: Sequence[str]) -> None:
        self.module = module
        self.extra = extra
        self.missing = tuple(missing)
        verb = "is" if len(self.missing) == 1 else "are"
        super().__init__(
            f"{module} needs the {extra} extra ({', '.join(self.missing)} {verb} not installed): "
            f"pip install 'smartsessions[{extra}]'"
        )
