"""ERC20SpendingLimitPolicy: cumulative per-token limits on ERC-20 ``transfer`` / ``approve``-style calls."""

from __future__ import annotations

from collections.abc import Sequence

from .._coerce import to_address
from .._model import Address, Model, Uint256
from ..encoding.abi import abi_decode, abi_encode
from ..encoding.session import PolicyData
from ._built import built_policy

__all__ = ["SPENDING_LIMITS_POLICY_ADDRESS", "SpendingLimit", "decode_spending_limits", "get_spending_limits_policy"]

SPENDING_LIMITS_POLICY_ADDRESS = "0x000000000033212e272655d8a22402db819477a6"


class SpendingLimit(Model):
    token: Address  # address
    limit: Uint256  # uint256


def get_spending_limits_policy(limits: Sequence[SpendingLimit | dict[str, object]]) -> PolicyData:
    """``initData = abi.encode(address[] tokens, uint256[] limits)``."""
    parsed = [s if isinstance(s, SpendingLimit) else SpendingLimit.model_validate(s) for s in limits]
    init_data = abi_encode(
        ["address[]", "uint256[]"], [[s.token for s in parsed], [s.limit for s in parsed]], what="limits"
    )
    return built_policy(SPENDING_LIMITS_POLICY_ADDRESS, init_data)


def decode_spending_limits(init_data: bytes) -> list[tuple[str, int]]:
    """Each ``(token, limit)`` of an ERC20SpendingLimitPolicy's ``initData``, tokens checksummed, in order (pairs as
    far as both lists go); init data that is no ``abi.encode(address[], uint256[])`` is an
    :class:`~smartsessions.errors.EncodingError`."""
    tokens, limits = abi_decode(["address[]", "uint256[]"], init_data, what="spending limits")
    return [(to_address(t, field="token"), int(v)) for t, v in zip(tokens, limits, strict=False)]
