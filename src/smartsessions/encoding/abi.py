"""ABI type strings of the SmartSessions structs, and ABI encode/decode that fail with our errors.

The tuple orders here are the field orders of ``DataTypes.sol`` (spec §1): they decide every byte of
``enableSessions`` calldata and of the ENABLE signature payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import decode as _decode
from eth_abi.abi import encode as _encode

from ..errors import EncodingError, InvalidInputError

__all__ = [
    "ACTION_DATA",
    "CHAIN_DIGEST",
    "ENABLE_SESSION",
    "ERC7739_CONTEXT",
    "ERC7739_DATA",
    "POLICY_DATA",
    "SESSION",
    "abi_decode",
    "abi_encode",
    "selector",
]

POLICY_DATA = "(address,bytes)"
ACTION_DATA = f"(bytes4,address,{POLICY_DATA}[])"
ERC7739_CONTEXT = "(bytes32,string[])"
ERC7739_DATA = f"({ERC7739_CONTEXT}[],{POLICY_DATA}[])"
SESSION = f"(address,bytes,bytes32,{POLICY_DATA}[],{ERC7739_DATA},{ACTION_DATA}[],bool)"
CHAIN_DIGEST = "(uint64,bytes32)"
ENABLE_SESSION = f"(uint8,{CHAIN_DIGEST}[],{SESSION},bytes)"


def abi_encode(types: Sequence[str], values: Sequence[Any], *, what: str) -> bytes:
    """``abi.encode``. Inputs reaching here were validated by the models; a failure is a bug or a bad raw call."""
    try:
        return bytes(_encode(list(types), list(values)))
    except Exception as exc:  # eth_abi raises several unrelated exception types
        raise InvalidInputError(what, f"cannot be ABI-encoded as {', '.join(types)}: {exc}", cause=exc) from exc


def abi_decode(types: Sequence[str], data: bytes, *, what: str) -> tuple[Any, ...]:
    try:
        return tuple(_decode(list(types), bytes(data), strict=False))
    except Exception as exc:
        raise EncodingError(
            f"Cannot decode {what}: the bytes are not a valid ABI encoding of ({', '.join(types)}).",
            meta_messages=["Check that the data was produced for this type and was not truncated."],
            details=str(exc),
            cause=exc,
        ) from exc


def selector(signature: str) -> bytes:
    from .._coerce import keccak

    return keccak(signature.encode())[:4]
