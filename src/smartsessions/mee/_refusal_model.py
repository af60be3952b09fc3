"""What a node's refusal says once read, and what the client knows of the userOp it is about: the shapes
:mod:`._refusals` reads refusals into and :mod:`._coded_refusals` builds typed errors from (apart, so that neither
imports the other)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..account.calls import Call
from ..wire.session import SessionDetails

__all__ = ["OpContext", "Refusal", "RefusalKind"]


@dataclass(frozen=True)
class OpContext:
    """What the client knows about one userOp of a quote: its chain, its calls (None if not plain ``execute``), its
    session, and, for the payment userOp, the fee token (its action is ``feeToken.transfer``)."""

    where: str
    chain_id: int | None = None
    calls: Sequence[Call] | None = None
    session_details: SessionDetails | None = None
    fee_token: str | None = None
    sender: str | None = None


RefusalKind = Literal[
    "policy",
    "not_permitted",
    "not_enabled",
    "enable_used",
    "enable_invalid",
    "balance",
    "payer_balance",
    "time_frame_not_open",
    "time_frame_over",
    "fee_cap",
    "signer",
    "chain_not_served",
    "fee_token",
    "transfer_balance",
]


@dataclass(frozen=True)
class Refusal:
    """What a refusal says, however the node said it: by a code and its facts (:func:`refusal_from_code`), or in
    text only (:func:`refusal_from_text`, for nodes without codes). ``where`` names the userOp as the request does
    (``paymentInfo``, ``userOps[0]``)."""

    kind: RefusalKind
    where: str | None = None
    chain_id: int | None = None
    permission_id: str | None = None
    policy: str | None = None
    holder: str | None = None
    token: str | None = None
    balance: int | None = None
    needed: int | None = None
    target: str | None = None
    selector: str | None = None
    valid_after: int | None = None
    valid_until: int | None = None
    chain_time: int | None = None
    #: A coded refusal's facts, for the kinds that read more than the fields above.
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)
