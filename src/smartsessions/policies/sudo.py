"""SudoPolicy: always passes (userOp, action and ERC-1271 checks). Its init data is ignored."""

from __future__ import annotations

from ..encoding.session import PolicyData
from ._built import built_policy

__all__ = ["SUDO_POLICY_ADDRESS", "get_sudo_policy"]

SUDO_POLICY_ADDRESS = "0x0000000000FEEc8D74e3143fBaBbca515358d869"


def get_sudo_policy() -> PolicyData:
    """Unlimited use of the action it is attached to. MEE sessions also use it as their userOp policy, because a
    paymaster-sponsored userOp needs at least one userOp policy (spec §3.5)."""
    return built_policy(SUDO_POLICY_ADDRESS, b"")
