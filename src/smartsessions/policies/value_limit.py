"""ValueLimitPolicy: a cumulative limit on the native value (wei) the permission may send."""

from __future__ import annotations

from .._coerce import to_uint
from ..encoding.session import PolicyData
from ._built import built_policy

__all__ = ["VALUE_LIMIT_POLICY_ADDRESS", "get_value_limit_policy"]

VALUE_LIMIT_POLICY_ADDRESS = "0x000000000021dC45451291BCDfc9f0B46d6f0278"


def get_value_limit_policy(*, limit: object) -> PolicyData:
    """``initData = abi.encode(uint256 limit)``."""
    return built_policy(
        VALUE_LIMIT_POLICY_ADDRESS,
        to_uint(limit, field="limit", bits=256).to_bytes(32, "big"),
    )
