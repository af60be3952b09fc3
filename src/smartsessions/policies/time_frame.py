"""TimeFramePolicy: the permission is valid only between ``valid_after`` and ``valid_until`` (unix seconds).

The policy answers with ERC-4337 validation data, so the EntryPoint itself refuses the userOp outside the window.
"""

from __future__ import annotations

from .._coerce import to_uint
from ..encoding.session import PolicyData
from ..errors import InvalidInputError
from ._built import built_policy

__all__ = ["TIME_FRAME_POLICY_ADDRESS", "get_time_frame_policy"]

TIME_FRAME_POLICY_ADDRESS = "0x0000000000D30f611fA3bf652ac6879428586930"


def get_time_frame_policy(*, valid_until: object, valid_after: object = 0) -> PolicyData:
    """``initData = abi.encodePacked(uint48 validUntil, uint48 validAfter)``; ``valid_until = 0`` means no end."""
    until = to_uint(valid_until, field="valid_until", bits=48)
    after = to_uint(valid_after, field="valid_after", bits=48)
    if until != 0 and after > until:
        raise InvalidInputError(
            "valid_after",
            f"is after valid_until ({after} > {until}); the policy contract refuses such a window",
            fix="swap the two values, or pass valid_until=0 for a window without an end",
        )
    return built_policy(TIME_FRAME_POLICY_ADDRESS, until.to_bytes(6, "big") + after.to_bytes(6, "big"))
