"""ERC-4337 v0.7 userOps: the packed struct, ``userOpHash`` (spec §10.7), the MEE userOp hash (§10.8) and nonce
keys (§10.6).

The nonce key is what routes a userOp to a validator: its low 20 bytes name the validator module (zero means the
account's default validator, i.e. the owner; the SmartSessions address means a session).
"""

from __future__ import annotations

import time
from typing import Any

from hexbytes import HexBytes

from .._coerce import keccak, to_address, to_bytes32, to_uint
from .._model import Address, HexData, Model, Uint128, Uint256
from ..versions import ENTRY_POINT_V07_ADDRESS
from .abi import abi_encode

__all__ = [
    "NONCE_KEY_TIMESTAMP_MODULUS",
    "PackedUserOperation",
    "get_mee_user_op_hash",
    "get_nonce_key",
    "get_user_op_hash",
    "to_nonce",
]

NONCE_KEY_TIMESTAMP_MODULUS = 16777215  # 2**24 - 1, as the SDK uses it


class PackedUserOperation(Model):
    sender: Address
    nonce: Uint256
    init_code: HexData = HexBytes(b"")
    call_data: HexData
    call_gas_limit: Uint128
    verification_gas_limit: Uint128
    pre_verification_gas: Uint256
    max_fee_per_gas: Uint128
    max_priority_fee_per_gas: Uint128
    paymaster_and_data: HexData = HexBytes(b"")
    signature: HexData = HexBytes(b"")

    @property
    def account_gas_limits(self) -> bytes:
        return self.verification_gas_limit.to_bytes(16, "big") + self.call_gas_limit.to_bytes(16, "big")

    @property
    def gas_fees(self) -> bytes:
        return self.max_priority_fee_per_gas.to_bytes(16, "big") + self.max_fee_per_gas.to_bytes(16, "big")

    def to_abi(self) -> tuple[Any, ...]:
        """The ``PackedUserOperation`` tuple ``handleOps`` takes."""
        return (
            self.sender,
            self.nonce,
            bytes(self.init_code),
            bytes(self.call_data),
            self.account_gas_limits,
            self.pre_verification_gas,
            self.gas_fees,
            bytes(self.paymaster_and_data),
            bytes(self.signature),
        )


def get_user_op_hash(
    user_op: PackedUserOperation, *, chain_id: object, entry_point: object = ENTRY_POINT_V07_ADDRESS
) -> HexBytes:
    """EntryPoint v0.7 ``getUserOpHash``; the signature is not part of it."""
    inner = abi_encode(
        ["address", "uint256", "bytes32", "bytes32", "bytes32", "uint256", "bytes32", "bytes32"],
        [
            user_op.sender,
            user_op.nonce,
            keccak(bytes(user_op.init_code)),
            keccak(bytes(user_op.call_data)),
            user_op.account_gas_limits,
            user_op.pre_verification_gas,
            user_op.gas_fees,
            keccak(bytes(user_op.paymaster_and_data)),
        ],
        what="user_op",
    )
    outer = abi_encode(
        ["bytes32", "address", "uint256"],
        [
            keccak(inner),
            to_address(entry_point, field="entry_point"),
            to_uint(chain_id, field="chain_id", bits=256),
        ],
        what="user_op",
    )
    return HexBytes(keccak(outer))


def get_mee_user_op_hash(
    user_op_hash: object, *, lower_bound_timestamp: object, upper_bound_timestamp: object
) -> HexBytes:
    """``keccak256(keccak256(abi.encode(userOpHash, lower, upper)))``: the Merkle leaf of a non-short userOp."""
    encoded = (
        bytes(to_bytes32(user_op_hash, field="user_op_hash"))
        + to_uint(lower_bound_timestamp, field="lower_bound_timestamp").to_bytes(32, "big")
        + to_uint(upper_bound_timestamp, field="upper_bound_timestamp").to_bytes(32, "big")
    )
    return HexBytes(keccak(keccak(encoded)))


def get_nonce_key(*, validator: object, mode: int = 0, now_ms: int | None = None) -> int:
    """The SDK's uint192 nonce key: ``(now_ms mod 2^24-1)`` (3 bytes) ‖ mode (1 byte) ‖ validator (20 bytes).

    The 3-byte time lane lets independent userOps of one account run in parallel without sharing a sequence.
    """
    ms = int(time.time() * 1000) if now_ms is None else to_uint(now_ms, field="now_ms")
    lane = ms % NONCE_KEY_TIMESTAMP_MODULUS
    validator_int = int(to_address(validator, field="validator"), 16)
    return (lane << 168) | (to_uint(mode, field="mode", bits=8) << 160) | validator_int


def to_nonce(key: object, sequence: object = 0) -> int:
    """The full 256-bit nonce ``key << 64 | sequence``, as ``EntryPoint.getNonce`` returns it."""
    return (to_uint(key, field="key", bits=192) << 64) | to_uint(sequence, field="sequence", bits=64)
