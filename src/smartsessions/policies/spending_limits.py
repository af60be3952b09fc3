"""ERC20SpendingLimitPolicy: cumulative per-token limits on ERC-20 ``transfer`` / ``approve``-style calls."""

from __future__ import annotations

from collections.abc import Sequence

from .._model import Address, Model, Uint256
from ..encoding.abi import abi_encode
from ..encoding.session import PolicyData
from ._built import built_policy

__all__ = ["SPENDING_LIMITS_POLICY_ADDRESS", "SpendingLimit", "get_spending_limits_policy"]

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
