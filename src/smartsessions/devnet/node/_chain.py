"""The node's view of one chain: the JSON-RPC reads and writes it needs, over the async :class:`RpcClient`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode

from ...encoding.abi import encode_function_call
from ...errors import RpcError
from ...rpc import RpcClient, quantity

__all__ = ["ChainClient", "ChainFees"]


@dataclass(frozen=True)
class ChainFees:
    base_fee: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _call_params(to: str, data: bytes, *, sender: str | None, gas: int | None, at_time: int | None) -> list[Any]:
    """``eth_call``'s params on the latest state, with the block timestamp overridden when ``at_time`` is given."""
    call: dict[str, str] = {"to": to, "data": _hex(data)}
    if sender is not None:
        call["from"] = sender
    if gas is not None:
        call["gas"] = hex(gas)
    return [call, "latest"] if at_time is None else [call, "latest", {}, {"time": hex(at_time)}]


def _fee_requests(priority_fee: int | None) -> list[tuple[str, list[Any]]]:
    """What :func:`_fees` reads: the fee history, and the chain's tip unless the node sets its own."""
    history: tuple[str, list[Any]] = ("eth_feeHistory", ["0x1", "latest", []])
    return [history] if priority_fee is not None else [history, ("eth_maxPriorityFeePerGas", [])]


def _fees(answers: Sequence[Any], priority_fee: int | None) -> ChainFees:
    """``maxFeePerGas = 2 × base fee + tip`` from the answers to :func:`_fee_requests`, the base fee being the next
    block's from ``eth_feeHistory``."""
    history = answers[0]
    tip = priority_fee if priority_fee is not None else quantity(answers[1], what="eth_maxPriorityFeePerGas")
    base_fees = (history.get("baseFeePerGas") if isinstance(history, dict) else None) or ["0x0"]
    base = quantity(base_fees[-1], what="eth_feeHistory's next base fee")
    return ChainFees(base_fee=base, max_priority_fee_per_gas=tip, max_fee_per_gas=2 * base + tip)


class ChainClient:
    """One chain: ``rpc`` is created (and closed) by the node's lifespan, inside its event loop."""

    def __init__(self, chain_id: int, rpc: RpcClient) -> None:
        self.chain_id = chain_id
        self.rpc = rpc

    async def aclose(self) -> None:
        await self.rpc.aclose()

    async def call(
        self, to: str, data: bytes, *, sender: str | None = None, gas: int | None = None, at_time: int | None = None
    ) -> bytes:
        """``eth_call`` on the latest state; ``at_time`` overrides the block timestamp (the next block's, which the
        latest block's may lag by seconds on a devnet that mines only on demand)."""
        result = await self.rpc.request("eth_call", _call_params(to, data, sender=sender, gas=gas, at_time=at_time))
        return bytes.fromhex(str(result)[2:])

    async def calls(self, calls: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Several ``eth_call`` s in one batch; results in order (the first revert raises)."""
        results = await self.rpc.batch([("eth_call", [{"to": to, "data": _hex(data)}, "latest"]) for to, data in calls])
        return [bytes.fromhex(str(r)[2:]) for r in results]

    async def codes(self, addresses: Sequence[str]) -> list[bytes]:
        results = await self.rpc.batch([("eth_getCode", [a, "latest"]) for a in addresses])
        return [bytes.fromhex(str(r)[2:]) for r in results]

    async def fees(self, priority_fee: int | None) -> ChainFees:
        """The fees a userOp (and a bundle) offers, as Biconomy's node sets them in its "fast" gas-price mode:
        ``maxFeePerGas = 2 × base fee + tip``, the base fee being the next block's from ``eth_feeHistory``."""
        return _fees(await self.rpc.batch(_fee_requests(priority_fee)), priority_fee)

    async def bundle_check(
        self, to: str, data: bytes, *, sender: str, gas: int, at_time: int, priority_fee: int | None
    ) -> tuple[RpcError | None, int, ChainFees]:
        """What a bundle needs before it is signed, in one round trip: the ``eth_call`` of it (None if it passes,
        else its error, a :class:`~smartsessions.rpc.RpcRevertError` for a revert), the sender's pending transaction
        count and the fees (:meth:`fees`)."""
        requests: list[tuple[str, list[Any]]] = [
            ("eth_call", _call_params(to, data, sender=sender, gas=gas, at_time=at_time)),
            ("eth_getTransactionCount", [sender, "pending"]),
            *_fee_requests(priority_fee),
        ]
        results = await self.rpc.batch(requests, return_errors=True)
        for result in results[1:]:
            if isinstance(result, RpcError):
                raise result
        check = results[0] if isinstance(results[0], RpcError) else None
        count = quantity(results[1], what="eth_getTransactionCount")
        return check, count, _fees(results[2:], priority_fee)

    async def timestamp(self) -> int:
        block = await self.rpc.request("eth_getBlockByNumber", ["latest", False])
        return int(block["timestamp"], 16)

    async def clock(self) -> int:
        """The chain's time now, which the EntryPoint checks userOp windows against: the timestamp its next block
        would get (the pending block's: anvil derives it from its clock, with any ``evm_increaseTime`` or
        ``evm_setTime`` applied, even while no block is mined), or the latest block's on a chain without one."""
        try:
            block = await self.rpc.request("eth_getBlockByNumber", ["pending", False])
        except RpcError:
            block = None
        if not block or block.get("timestamp") is None:
            return await self.timestamp()
        return int(block["timestamp"], 16)

    async def bool_call(self, to: str, signature: str, args: Sequence[Any]) -> bool:
        raw = await self.call(to, encode_function_call(signature, args))
        return bool(abi_decode(["bool"], raw)[0])

    async def simulate(self, calls: Sequence[dict[str, Any]], state_overrides: dict[str, Any]) -> list[dict[str, Any]]:
        """``eth_simulateV1``: the calls run in order in one simulated block, each seeing the state the ones before
        it left; the per-call results (status, returnData, logs) come back in order."""
        params = {
            "blockStateCalls": [{"stateOverrides": state_overrides, "calls": list(calls)}],
            "validation": False,
        }
        blocks = await self.rpc.request("eth_simulateV1", [params, "latest"])
        return list(blocks[0]["calls"])

    async def send_raw(self, raw: bytes) -> str:
        return str(await self.rpc.request("eth_sendRawTransaction", [_hex(raw)]))

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = await self.rpc.request("eth_getTransactionReceipt", [tx_hash])
        return dict(result) if result else None

    async def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        result = await self.rpc.request("eth_getTransactionByHash", [tx_hash])
        return dict(result) if result else None

    async def raw_transaction(self, tx_hash: str) -> bytes | None:
        """The signed transaction's EIP-2718 bytes (``eth_getRawTransactionByHash``; anvil and geth have it)."""
        result = await self.rpc.request("eth_getRawTransactionByHash", [tx_hash])
        return bytes.fromhex(str(result)[2:]) if result and result != "0x" else None
