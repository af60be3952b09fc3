"""The names of functions a session commonly names, by selector: what ``session show`` and a status print instead of
4 bytes. Apart from :mod:`.describe` and :mod:`.status` so that both can use it without importing each other."""

from __future__ import annotations

__all__ = ["KNOWN_FUNCTIONS", "function_name"]

#: Functions a session commonly names, by selector: what ``show`` writes instead of the 4 bytes.
KNOWN_FUNCTIONS = {
    "0xa9059cbb": "transfer(address,uint256)",
    "0x23b872dd": "transferFrom(address,address,uint256)",
    "0x095ea7b3": "approve(address,uint256)",
    "0x39509351": "increaseAllowance(address,uint256)",
    "0x42842e0e": "safeTransferFrom(address,address,uint256)",
    "0xd0e30db0": "deposit()",
    "0x2e1a7d4d": "withdraw(uint256)",
    "0xd09de08a": "increment()",
    "0x3fb5c1cb": "setNumber(uint256)",
}
_ANY_FUNCTION = "0x00000001"  # SmartSessions' fallback selector: any function of the target


def function_name(selector: str) -> str:
    """The function's signature where it is well known (ERC-20's, WETH's, the devnet Counter's), else the selector."""
    if selector.lower() == _ANY_FUNCTION:
        return "any function"
    return KNOWN_FUNCTIONS.get(selector.lower(), selector)
