"""A small synchronous harness for contract tests: calls, transactions, accounts and userOps on the devnet.

It drives the real EntryPoint with real bundles (``handleOps`` from an EOA), so what passes here passes on chain.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct

from smartsessions._coerce import to_address
from smartsessions.devnet.artifacts import decode_revert
from smartsessions.devnet.deploy import TestKey, send_and_wait
from smartsessions.devnet.entrypoint import (
    UserOpResult,
    decode_handle_ops_revert,
    encode_handle_ops,
    parse_user_op_results,
)
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.userop import PackedUserOperation, get_nonce_key, get_user_op_hash
from smartsessions.errors import DevnetError
from smartsessions.rpc import RpcRevertError, SyncRpcClient
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS, MEE_VERSIONS

ZERO = "0x0000000000000000000000000000000000000000"


class RevertedError(AssertionError):
    """A call or transaction reverted; ``message`` is the decoded revert."""

    def __init__(self, message: str, data: bytes) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


@dataclass
class Chain:
    chain_id: int
    rpc: SyncRpcClient
    contracts: dict[str, str]
    keys: dict[str, TestKey]
    _lanes: int = field(default=0)

    # -- plain calls and transactions -------------------------------------------------------------------------------

    def call(
        self, to: str, signature: str, args: Sequence[Any] = (), returns: Sequence[str] = (), sender: str | None = None
    ) -> Any:
        try:
            raw = self.rpc.call(to, encode_function_call(signature, args), sender=sender)
        except RpcRevertError as exc:
            raise RevertedError(decode_revert(exc.revert_data), exc.revert_data) from exc
        values = [
            to_address(v, field="result") if t == "address" else v
            for t, v in zip(returns, abi_decode(list(returns), raw) if returns else (), strict=True)
        ]
        return values[0] if len(values) == 1 else tuple(values)

    def transact(self, sender: str, to: str, data: bytes, value: int = 0, gas: int = 15_000_000) -> dict[str, Any]:
        tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "value": hex(value), "gas": hex(gas)}
        try:
            return send_and_wait(self.rpc, tx)
        except RpcRevertError as exc:
            raise RevertedError(decode_revert(exc.revert_data), exc.revert_data) from exc
        except DevnetError as exc:
            raise RevertedError(str(exc), b"") from exc

    def send_raw(self, raw: bytes, timeout: float = 10.0) -> dict[str, Any]:
        """``eth_sendRawTransaction`` of a transaction signed here, then its receipt (reverted or not)."""
        tx_hash = self.rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
            if receipt:
                return dict(receipt)
            time.sleep(0.005)
        raise AssertionError(f"transaction {tx_hash} was not mined within {timeout} s")

    def sign_tx(
        self, key: TestKey, *, to: str, data: bytes, tx_type: int = 2, eip155: bool = True, gas: int = 200_000
    ) -> bytes:
        """A raw transaction from ``key`` at its next nonce: EIP-1559 (``tx_type`` 2) or legacy (0), the legacy one
        replay-protected (EIP-155) unless ``eip155`` is false."""
        nonce = int(self.rpc.request("eth_getTransactionCount", [key.address, "pending"]), 16)
        block = self.rpc.request("eth_getBlockByNumber", ["latest", False])
        base = int(block.get("baseFeePerGas") or "0x0", 16)
        tx: dict[str, Any] = {"nonce": nonce, "to": to, "data": "0x" + data.hex(), "value": 0, "gas": gas}
        if tx_type == 2:
            tx.update(type=2, chainId=self.chain_id, maxPriorityFeePerGas=10**9, maxFeePerGas=2 * base + 10**9)
        else:
            tx["gasPrice"] = 2 * base + 10**9
            if eip155:
                tx["chainId"] = self.chain_id
        return bytes(Account.sign_transaction(tx, key.private_key).raw_transaction)

    def code(self, address: str) -> bytes:
        return bytes.fromhex(self.rpc.request("eth_getCode", [address, "latest"])[2:])

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc.request("anvil_setBalance", [address, hex(wei)])

    def timestamp(self) -> int:
        return int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def warp(self, timestamp: int) -> None:
        self.rpc.request("evm_setNextBlockTimestamp", [hex(timestamp)])
        self.rpc.request("evm_mine", [])

    # -- accounts ---------------------------------------------------------------------------------------------------

    def factory(self, version: str = "2.0.0") -> str:
        return MEE_VERSIONS[version].factory_address

    def account_address(self, init_data: bytes, index: int = 0, version: str = "2.0.0") -> str:
        address: str = self.call(
            self.factory(version),
            "computeAccountAddress(bytes,bytes32)",
            [init_data, index.to_bytes(32, "big")],
            ["address"],
        )
        return address

    def next_nonce(self, sender: str, validator: str, mode: int = 0) -> int:
        """A fresh nonce lane, as the SDK uses one per userOp (the 3-byte lane is a counter here)."""
        self._lanes += 1
        key = get_nonce_key(validator=validator, mode=mode, now_ms=self._lanes)
        return int(self.call(ENTRY_POINT_V07_ADDRESS, "getNonce(address,uint192)", [sender, key], ["uint256"]))

    def user_op(
        self,
        *,
        sender: str,
        call_data: bytes,
        validator: str = ZERO,
        init_code: bytes = b"",
        nonce: int | None = None,
        call_gas_limit: int = 2_000_000,
        verification_gas_limit: int = 2_000_000,
        paymaster_and_data: bytes = b"",
    ) -> PackedUserOperation:
        return PackedUserOperation(
            sender=sender,
            nonce=self.next_nonce(sender, validator) if nonce is None else nonce,
            init_code=init_code,
            call_data=call_data,
            call_gas_limit=call_gas_limit,
            verification_gas_limit=verification_gas_limit,
            pre_verification_gas=0,
            max_fee_per_gas=3 * 10**9,
            max_priority_fee_per_gas=10**9,
            paymaster_and_data=paymaster_and_data,
        )

    def user_op_hash(self, op: PackedUserOperation) -> bytes:
        return bytes(get_user_op_hash(op, chain_id=self.chain_id))

    def handle_ops(self, ops: Sequence[PackedUserOperation], bundler: str | None = None) -> list[UserOpResult]:
        """Submit one bundle from ``bundler`` (the deployer by default); a FailedOp raises ``RevertedError``."""
        sender = bundler or self.keys["deployer"].address
        data = encode_handle_ops(ops, sender)
        try:
            estimate = self.rpc.request(
                "eth_estimateGas", [{"from": sender, "to": ENTRY_POINT_V07_ADDRESS, "data": "0x" + data.hex()}]
            )
        except RpcRevertError as exc:
            raise RevertedError(decode_handle_ops_revert(exc.revert_data), exc.revert_data) from exc
        receipt = self.transact(sender, ENTRY_POINT_V07_ADDRESS, data, gas=int(estimate, 16) + 500_000)
        return parse_user_op_results(receipt)


def sign_raw(key: TestKey, digest: bytes) -> bytes:
    return bytes(Account.unsafe_sign_hash(digest, key.private_key).signature)


def sign_personal(key: TestKey, digest: bytes) -> bytes:
    return bytes(Account.sign_message(encode_defunct(primitive=digest), key.private_key).signature)


# -- revert data ------------------------------------------------------------------------------------------------------


def panic_data(code: int) -> bytes:
    """The revert data of a failed Solidity check: ``Panic(uint256)``."""
    return bytes.fromhex("4e487b71") + code.to_bytes(32, "big")


def error_data(message: str) -> bytes:
    """The revert data of ``revert("message")``: ``Error(string)``."""
    return bytes.fromhex("08c379a0") + abi_encode(["string"], [message])


def failed_op(exc: RevertedError) -> tuple[str, bytes]:
    """The EntryPoint's ``FailedOpWithRevert(index, reason, inner)``: the reason and the inner revert data."""
    assert exc.data[:4] == bytes.fromhex("65c8fd4d"), exc.message
    _index, reason, inner = abi_decode(["uint256", "string", "bytes"], exc.data[4:])
    return reason, bytes(inner)
