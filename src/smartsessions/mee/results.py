"""What the MEE client hands back: a quote as the node issued it (checked against its commitment on arrival), the
signed ``/exec`` body, the super-transaction hash, and the explorer's receipt. Plain frozen values; the I/O that
makes them is :mod:`.client`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..encoding.quote import recover_commitment_signer
from ..errors import QuoteCommitmentError
from ..rpc import quantity
from ..wire.mee import ExplorerResponse, ExplorerUserOp, GetQuotePayload, Trigger, to_wire
from .permit import PermitToken

__all__ = [
    "MEESCAN_URL",
    "ExecuteResult",
    "FusionQuote",
    "MeeQuote",
    "SignedMeeQuote",
    "SupertransactionReceipt",
    "check_commitment",
    "signed_body",
]

MEESCAN_URL = "https://meescan.biconomy.io/details/"


def check_commitment(quote: GetQuotePayload) -> None:
    """The quote's ``commitment`` must be the node's own signature over ``quote.hash``: what the node commits to,
    and what it checks again at ``/exec``. A quote changed on its way is refused here, before anything is signed."""
    signer = recover_commitment_signer(quote_hash=quote.hash, commitment=quote.commitment)
    if signer == quote.node:
        return
    quote_hash = "0x" + bytes(quote.hash).hex()
    got = f"recovers to {signer}" if signer is not None else f"is no signature ({len(quote.commitment)} bytes)"
    raise QuoteCommitmentError(
        f"The quote's commitment is not the signature of its node {quote.node} over its hash {quote_hash}: it {got}.",
        quote_hash=quote_hash,
        node=quote.node,
        signer=signer,
        meta_messages=[
            "Field: quote.commitment (the node's EIP-191 signature over the 32 bytes of quote.hash)",
            "Fix: ask for a new quote; if it persists, check the node URL and whatever sits between it and you.",
        ],
    )


@dataclass(frozen=True)
class MeeQuote:
    """A quote as the node issued it: ``json`` exactly as received (it is echoed back to ``/exec``), ``payload`` its
    typed view, ``request`` the body that asked for it."""

    json: dict[str, Any]
    payload: GetQuotePayload
    request: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def hash(self) -> str:
        """The super-transaction hash (the Merkle root the signer signs)."""
        return "0x" + bytes(self.payload.hash).hex()

    @property
    def quote_type(self) -> str:
        return self.payload.quote_type or str(self.request.get("quoteType", "simple"))

    @property
    def sponsored(self) -> bool:
        return self.payload.payment_info.sponsored

    @property
    def fee(self) -> int:
        """The fee in the fee token's base units (``paymentInfo.tokenWeiAmount``)."""
        return self.payload.payment_info.token_wei_amount

    @property
    def fee_amount(self) -> str:
        """The fee in whole tokens, as the node wrote it (``paymentInfo.tokenAmount``)."""
        return self.payload.payment_info.token_amount


@dataclass(frozen=True)
class FusionQuote:
    """A quote funded from the signer's EOA, and its trigger; ``trigger.amount`` already includes the fee (unless
    sponsored). ``quote.quote_type`` says how the EOA authorises the pull: ``"permit"`` (an ERC-2612 signature;
    ``permit`` holds what signing it needs) or ``"onchain"`` (an ``approve`` transaction sent by the EOA)."""

    quote: MeeQuote
    trigger: Trigger
    permit: PermitToken | None = field(repr=False, default=None)


@dataclass(frozen=True)
class SignedMeeQuote:
    """The ``/exec`` body: the quote as issued, with the signature and the MEE versions."""

    json: dict[str, Any]

    @property
    def hash(self) -> str:
        return str(self.json["hash"])

    @property
    def signature(self) -> str:
        return str(self.json["signature"])

    def with_trigger(self, trigger: Trigger) -> SignedMeeQuote:
        """The body of a fusion quote's ``/exec``: the trigger rides along (its amount including the fee)."""
        return SignedMeeQuote(json={**self.json, "trigger": to_wire(trigger)})


@dataclass(frozen=True)
class ExecuteResult:
    """What ``/exec`` answered: the super-transaction hash."""

    hash: str


@dataclass(frozen=True)
class SupertransactionReceipt:
    """A super-transaction as the node's explorer shows it (spec §9.9). ``user_ops`` leave out the payment userOp
    (index 0 of the quote), as the reference does; ``receipts`` are the transactions' receipts once it succeeded."""

    hash: str
    status: str
    is_finalised: bool
    json: dict[str, Any] = field(repr=False)
    payload: ExplorerResponse = field(repr=False)
    receipts: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def user_ops(self) -> tuple[ExplorerUserOp, ...]:
        return self.payload.user_ops[1:]

    @property
    def payment_user_op(self) -> ExplorerUserOp:
        return self.payload.user_ops[0]

    @property
    def transaction_hashes(self) -> list[str]:
        return list(dict.fromkeys("0x" + bytes(op.execution_data).hex() for op in self.user_ops if op.execution_data))

    @property
    def explorer_links(self) -> list[str]:
        return [MEESCAN_URL + self.hash]

    @property
    def gas_used(self) -> int | None:
        """The gas of the bundle transactions that carried the userOps, once receipts were read."""
        if self.receipts is None:
            return None
        return sum(quantity(r.get("gasUsed", "0x0"), what="a receipt's gasUsed") for r in self.receipts if r)


def signed_body(quote: MeeQuote, signature: bytes, mee_versions: Sequence[dict[str, Any]]) -> SignedMeeQuote:
    """The ``/exec`` body, the one place it is put together: the quote exactly as the node issued it, the signature,
    and the MEE versions of its chains."""
    body = {
        **quote.json,
        "signature": "0x" + bytes(signature).hex(),
        "meeVersions": list(mee_versions),
        "isEIP712TrustedSponsorshipSupported": True,
    }
    return SignedMeeQuote(json=body)
