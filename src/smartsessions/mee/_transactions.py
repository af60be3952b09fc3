"""Plain EOA transactions, for the one place the SDK sends one itself: an on-chain fusion trigger (spec §9.7), where
the owner's EOA approves the account with the quote hash appended to the call data.

Reads are one JSON-RPC batch (nonce, gas estimate, base fee, tip); the transaction is EIP-1559, signed locally with
the signer's ``sign_transaction`` and sent raw, so no node-side key or wallet RPC is involved.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .._coerce import to_address
from ..errors import AccountError, RpcError
from ..rpc import RpcClient, quantity

__all__ = ["send_transaction", "wait_for_transaction"]

_GAS_HEADROOM = 1.2  # estimates are exact for the state they ran on; leave room for a moved balance or nonce slot
_DEFAULT_TIP = 1_000_000_000  # 1 gwei, when the node has no eth_maxPriorityFeePerGas


def _raw(signed: Any) -> bytes:
    raw = getattr(signed, "raw_transaction", None) or getattr(signed, "rawTransaction", None)
    if raw is None:
        raise AccountError("The signer's sign_transaction returned no raw transaction.")
    return bytes(raw)


async def send_transaction(rpc: RpcClient, signer: Any, *, chain_id: int, to: str, data: bytes, value: int = 0) -> str:
    """Sign (locally) and send an EIP-1559 transaction from ``signer``; returns its hash."""
    sender = to_address(signer.address, field="signer.address")
    call = {"from": sender, "to": to, "data": "0x" + data.hex(), "value": hex(value)}
    nonce, gas, block, tip = await rpc.batch(
        [
            ("eth_getTransactionCount", [sender, "pending"]),
            ("eth_estimateGas", [call]),
            ("eth_getBlockByNumber", ["latest", False]),
            ("eth_maxPriorityFeePerGas", []),
        ],
        return_errors=True,
    )
    if isinstance(gas, RpcError):
        raise AccountError(
            f"The transaction from {sender} to {to} on chain {chain_id} would revert: {gas.short_message}",
            meta_messages=["Check the EOA's balance of the token and of the chain's gas token."],
            cause=gas,
        )
    for result in (nonce, block):
        if isinstance(result, RpcError):
            raise result
    base_fee = quantity(block.get("baseFeePerGas") or "0x0", what="the base fee") if isinstance(block, dict) else 0
    priority = _DEFAULT_TIP if isinstance(tip, RpcError) or tip is None else quantity(tip, what="the priority fee")
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": quantity(nonce, what="eth_getTransactionCount"),
        "to": to_address(to, field="to"),
        "data": "0x" + data.hex(),
        "value": value,
        "gas": int(quantity(gas, what="eth_estimateGas") * _GAS_HEADROOM),
        "maxPriorityFeePerGas": priority,
        "maxFeePerGas": 2 * base_fee + priority,
    }
    raw = _raw(signer.sign_transaction(tx))
    return str(await rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()]))


async def wait_for_transaction(
    rpc: RpcClient,
    tx_hash: str,
    *,
    confirmations: int = 1,
    timeout: float = 120.0,
    interval: float = 0.25,
    what: str = "the transaction",
) -> dict[str, Any]:
    """Poll until ``tx_hash`` is mined with ``confirmations`` blocks (its own included); a revert raises."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    receipt: dict[str, Any] | None = None
    while True:
        if receipt is None:
            receipt = await rpc.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None and receipt.get("status") != "0x1":
                raise AccountError(
                    f"{what[0].upper()}{what[1:]} transaction {tx_hash} reverted.",
                    meta_messages=["Check the EOA's token balance and the trigger amount."],
                )
        if receipt is not None:
            head = quantity(await rpc.request("eth_blockNumber", []), what="eth_blockNumber")
            if head - quantity(receipt.get("blockNumber"), what="the receipt's blockNumber") + 1 >= confirmations:
                return receipt
        if loop.time() + interval > deadline:
            state = "not mined" if receipt is None else f"mined, without {confirmations} confirmations"
            raise AccountError(
                f"{what[0].upper()}{what[1:]} transaction {tx_hash} is {state} after {timeout:g} s.",
                meta_messages=[
                    "On a chain that mines only on demand (plain anvil, or `devnet up --block-time 0`), pass "
                    "confirmations=1.",
                    "Otherwise wait longer (timeout=), or check the transaction in an explorer.",
                ],
            )
        await asyncio.sleep(interval)
