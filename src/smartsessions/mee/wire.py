"""Models of the MEE node's JSON (spec §9), shared by the SDK's client and the local node.

This first part holds the pieces the pure layers need; the request/response models join it with the client.
"""

from __future__ import annotations

from pydantic import Field

from .._model import Address, Model, Uint64

__all__ = ["FeeTokenInfo"]


class FeeTokenInfo(Model):
    """The token the super-transaction's fee is paid in, and the chain it is paid on."""

    address: Address
    chain_id: Uint64
    gas_refund_address: Address | None = Field(default=None, exclude_if=lambda v: v is None)
