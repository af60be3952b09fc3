"""``FeeTokenInfo`` on its own, so that the session layer can use it without importing the wire models (which
import the session details: the two would otherwise import each other). Public as ``smartsessions.mee.wire``'s."""

from __future__ import annotations

from pydantic import Field

from .._model import Address, Model, Uint64

__all__ = ["FeeTokenInfo"]


class FeeTokenInfo(Model):
    """The token the super-transaction's fee is paid in, and the chain it is paid on."""

    address: Address
    chain_id: Uint64
    gas_refund_address: Address | None = Field(default=None, exclude_if=lambda v: v is None)
