"""UsageLimitPolicy: at most ``limit`` uses of the permission (per account)."""

from __future__ import annotations

from .._coerce import to_uint
from ..encoding.session import PolicyData
from ._built import built_policy

__all__ = ["USAGE_LIMIT_POLICY_ADDRESS", "decode_usage_limit", "get_usage_limit_policy"]

USAGE_LIMIT_POLICY_ADDRESS = "0x00000000001d4479FA2A947026204d0283ceDe4B"


def get_usage_limit_policy(*, limit: object) -> PolicyData:
    """``initData = abi.encodePacked(uint128 limit)``."""
    return built_policy(
        USAGE_LIMIT_POLICY_ADDRESS,
        to_uint(limit, field="limit", bits=128).to_bytes(16, "big"),
    )


def decode_usage_limit(init_data: bytes) -> int | None:
    """The limit of a UsageLimitPolicy's ``initData`` (its first 16 bytes); None when it is shorter."""
    return int.from_bytes(init_data[:16], "big") if len(init_data) >= 16 else None
