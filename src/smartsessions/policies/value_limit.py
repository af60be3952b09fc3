"""ValueLimitPolicy: a cumulative limit on the native value (wei) the permission may send."""

from __future__ import annotations

from .._coerce import to_uint
from ..encoding.session import PolicyData
from ._built import built_policy

__all__ = ["VALUE_LIMIT_POLICY_ADDRESS", "decode_value_limit", "get_value_limit_policy"]

VALUE_LIMIT_POLICY_ADDRESS = "0x000000000021dC45451291BCDfc9f0B46d6f0278"


def get_value_limit_policy(*, limit: object) -> PolicyData:
    """``initData = abi.encode(uint256 limit)``."""
    return built_policy(
        VALUE_LIMIT_POLICY_ADDRESS,
        to_uint(limit, field="limit", bits=256).to_bytes(32, "big"),
    )


def decode_value_limit(init_data: bytes) -> int | None:
    """The limit (wei) of a ValueLimitPolicy's ``initData`` (its first 32 bytes); None when it is shorter."""
    return int.from_bytes(init_data[:32], "big") if len(init_data) >= 32 else None
