"""ABI type strings of the SmartSessions structs, and ABI encode/decode that fail with our errors.

The tuple orders here are the field orders of ``DataTypes.sol`` (spec §1): they decide every byte of
``enableSessions`` calldata and of the ENABLE signature payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode as _decode

from .._coerce import keccak
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
    "encode_function_call",
    "function_types",
    "selector",
]

POLICY_DATA = "(address,bytes)"
ACTION_DATA = f"(bytes4,address,{POLICY_DATA}[])"
ERC7739_CONTEXT = "(bytes32,string[])"
ERC7739_DATA = f"({ERC7739_CONTEXT}[],{POLICY_DATA}[])"
SESSION = f"(address,bytes,bytes32,{POLICY_DATA}[],{ERC7739_DATA},{ACTION_DATA}[],bool)"
CHAIN_DIGEST = "(uint64,bytes32)"
ENABLE_SESSION = f"(uint8,{CHAIN_DIGEST}[],{SESSION},bytes)"


class _Type:
    """One parsed ABI type: whether it is dynamic, and how to encode a value of it (head or tail bytes).

    Parsed once per type string (``_parse`` is cached), so what the encoder would otherwise recompute for every value
    is kept here: ``head`` (the bytes it takes in its parent's head: 32 if dynamic, else its whole inline encoding)
    and, for a tuple, ``members_head`` (the size of its own head, where the first tail starts).
    """

    __slots__ = ("bits", "dynamic", "elem", "head", "kind", "length", "members", "members_head", "size")

    def __init__(self, kind: str, *, dynamic: bool, **attrs: Any) -> None:
        self.kind = kind
        self.dynamic = dynamic
        self.bits = attrs.get("bits", 0)
        self.size = attrs.get("size", 0)
        self.elem: _Type | None = attrs.get("elem")
        self.length: int | None = attrs.get("length")
        self.members: tuple[_Type, ...] = attrs.get("members", ())
        self.members_head = sum(m.head for m in self.members)
        if dynamic:
            self.head = 32
        elif kind == "tuple":  # static tuples and static arrays are inlined in the head
            self.head = self.members_head
        elif kind == "array":
            assert self.elem is not None and self.length is not None
            self.head = self.elem.head * self.length
        else:
            self.head = 32


def _split_top(inner: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:k])
            start = k + 1
    parts.append(inner[start:])
    return [p for p in parts if p]


@lru_cache(maxsize=256)
def _parse(t: str) -> _Type:
    if t.endswith("]"):
        base, _, dim = t[:-1].rpartition("[")
        elem = _parse(base)
        if dim:
            return _Type("array", dynamic=elem.dynamic, elem=elem, length=int(dim))
        return _Type("array", dynamic=True, elem=elem, length=None)
    if t.startswith("("):
        members = tuple(_parse(m) for m in _split_top(t[1:-1]))
        return _Type("tuple", dynamic=any(m.dynamic for m in members), members=members)
    if t == "address":
        return _Type("address", dynamic=False)
    if t == "bool":
        return _Type("bool", dynamic=False)
    if t in ("bytes", "string"):
        return _Type(t, dynamic=True)
    if t.startswith("uint"):
        return _Type("uint", dynamic=False, bits=int(t[4:] or 256))
    if t.startswith("bytes"):
        return _Type("fixed_bytes", dynamic=False, size=int(t[5:]))
    raise ValueError(f"unsupported ABI type {t}")


def _pad_right(data: bytes) -> bytes:
    return data + bytes(-len(data) % 32)


def _enc(t: _Type, v: Any) -> bytes:
    kind = t.kind  # the kinds in the order the SmartSessions structs need them most
    if kind == "tuple":
        return _enc_seq(t, v)
    if kind == "array":
        return _enc_array(t, v)
    if kind == "address":
        raw = bytes.fromhex(v[2:]) if isinstance(v, str) else bytes(v)
        if len(raw) != 20:
            raise ValueError(f"address must be 20 bytes, got {len(raw)}")
        return b"\x00" * 12 + raw
    if kind == "bytes":
        raw = bytes(v)
        return len(raw).to_bytes(32, "big") + _pad_right(raw)
    if kind == "fixed_bytes":
        raw = bytes(v)
        if len(raw) != t.size:
            raise ValueError(f"bytes{t.size} value has {len(raw)} bytes")
        return raw + bytes(32 - t.size)
    if kind == "uint":
        if v < 0 or v >> t.bits:
            raise ValueError(f"{v} does not fit uint{t.bits}")
        return int(v).to_bytes(32, "big")
    if kind == "bool":
        return b"\x00" * 31 + (b"\x01" if v else b"\x00")
    raw = v.encode("utf-8")  # string
    return len(raw).to_bytes(32, "big") + _pad_right(raw)


def _enc_seq(t: _Type, values: Sequence[Any]) -> bytes:
    """The members of tuple type ``t``: heads, then the tails of the dynamic ones."""
    members = t.members
    if len(members) != len(values):
        raise ValueError(f"expected {len(members)} values, got {len(values)}")
    if not t.dynamic:
        return b"".join([_enc(m, v) for m, v in zip(members, values, strict=True)])
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = t.members_head
    for m, v in zip(members, values, strict=True):
        if m.dynamic:
            heads.append(offset.to_bytes(32, "big"))
            tail = _enc(m, v)
            tails.append(tail)
            offset += len(tail)
        else:
            heads.append(_enc(m, v))
    return b"".join(heads) + b"".join(tails)


def _enc_array(t: _Type, v: Any) -> bytes:
    """An array: its length word if dynamic-sized, then its items as a tuple of that many elements."""
    elem = t.elem
    assert elem is not None
    items = v if isinstance(v, (list, tuple)) else list(v)
    if t.length is None:
        prefix = len(items).to_bytes(32, "big")
    elif len(items) != t.length:
        raise ValueError(f"expected {t.length} items, got {len(items)}")
    else:
        prefix = b""
    if not elem.dynamic:
        return prefix + b"".join([_enc(elem, x) for x in items])
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = 32 * len(items)
    for x in items:
        heads.append(offset.to_bytes(32, "big"))
        tail = _enc(elem, x)
        tails.append(tail)
        offset += len(tail)
    return prefix + b"".join(heads) + b"".join(tails)


def abi_encode(types: Sequence[str], values: Sequence[Any], *, what: str) -> bytes:
    """``abi.encode``, by a small encoder of our own: the hot paths (enable payloads, call data) spend most of their
    time here, and a generic library is several times slower. Inputs reaching here were validated by the models.

    The argument list is encoded as the members of the tuple type ``(types...)``, parsed (and cached) as one type."""
    try:
        return _enc_seq(_parse(f"({','.join(types)})"), values)
    except (ValueError, TypeError, AttributeError) as exc:
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
    return keccak(signature.encode())[:4]


def function_types(signature: str) -> list[str]:
    """The argument types of ``name(type,...)``."""
    inner = signature[signature.index("(") + 1 : signature.rindex(")")]
    return _split_top(inner)


def encode_function_call(signature: str, args: Sequence[Any] = ()) -> bytes:
    """``selector ‖ abi.encode(args)`` for a canonical signature such as ``"transfer(address,uint256)"``."""
    return selector(signature) + abi_encode(function_types(signature), args, what=signature)
