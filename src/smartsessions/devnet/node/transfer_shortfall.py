"""A reverted call that moves more of an ERC-20 token than its sender holds: the facts that say so.

A token's revert reason is text, which differs from token to token; the balance is not. When a userOp's call reverts
in the quote's simulation, its ``transfer`` s are summed per token and checked against the sender's ``balanceOf``:
the first token short of them gives ``USER_OP_CALL_REVERTED`` the facts ``holder``, ``token``, ``balance`` and
``required``, so that a client names the shortfall without reading the reason. A reverted call that is no such
transfer gets none of them.
"""

from __future__ import annotations

from ...account.calls import decode_execute
from ...encoding.abi import encode_function_call
from ...errors import SmartSessionsError
from ._chain import ChainClient
from .errors import Fact

__all__ = ["transfer_shortfall"]

_TRANSFER = bytes.fromhex("a9059cbb")


def _transfers(call_data: bytes) -> dict[str, int]:
    """Token → the amount the userOp's ``transfer(to, amount)`` calls move of it, in call order of the tokens."""
    try:
        calls = decode_execute(call_data)
    except SmartSessionsError:
        return {}
    out: dict[str, int] = {}
    for call in calls:
        data = bytes(call.data)
        if data[:4] == _TRANSFER and len(data) >= 68 and call.value == 0:
            out[call.to] = out.get(call.to, 0) + int.from_bytes(data[36:68], "big")
    return out


async def transfer_shortfall(chain: ChainClient, sender: str, call_data: bytes) -> dict[str, Fact]:
    """``holder``, ``token``, ``balance`` and ``required`` of the first token the userOp transfers more of than
    ``sender`` holds; empty when there is none (or a token does not answer ``balanceOf``)."""
    moved = _transfers(call_data)
    if not moved:
        return {}
    query = encode_function_call("balanceOf(address)", [sender])
    try:
        answers = await chain.calls([(token, query) for token in moved])
    except SmartSessionsError:
        return {}
    for (token, amount), raw in zip(moved.items(), answers, strict=True):
        balance = int.from_bytes(raw[:32], "big") if len(raw) >= 32 else 0
        if amount > balance:
            return {"holder": sender, "token": token, "balance": str(balance), "required": str(amount)}
    return {}
