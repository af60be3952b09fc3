"""Turning user input into canonical values, with errors that name the field.

Every public entry point accepts ``0x`` hex strings, bytes and ints, as viem and eth-account users expect. This module
is the one place that decides what is acceptable and what the error says when it is not.
"""

from __future__ import annotations

from functools import lru_cache

from eth_hash.auto import keccak as _keccak
from hexbytes import HexBytes

from ._json import has_lone_surrogate
from .errors import InvalidInputError
from .permission_id import PermissionId

__all__ = [
    "keccak",
    "to_address",
    "to_bytes",
    "to_bytes32",
    "to_hex",
    "to_text",
    "to_uint",
]

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def keccak(data: bytes) -> bytes:
    return _keccak(data)


def to_hex(data: bytes) -> str:
    """``0x``-prefixed lower-case hex, the form viem and the MEE API use."""
    return "0x" + bytes(data).hex()


def to_bytes(value: object, *, field: str, length: int | None = None) -> HexBytes:
    """Bytes from ``bytes``-like or a ``0x`` hex string. ``length`` (if given) is enforced exactly."""
    if isinstance(value, HexBytes):
        out = value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out = HexBytes(bytes(value))
    elif isinstance(value, str):
        if not value.startswith(("0x", "0X")):
            raise InvalidInputError(field, "hex strings must start with 0x", fix="write it as '0x…'", value=value)
        digits = value[2:]
        if len(digits) % 2:
            raise InvalidInputError(
                field, "hex string has an odd number of digits", fix="pad it with a leading 0", value=value
            )
        # bytes.fromhex refuses every non-hex character but skips whitespace, which we refuse too: then it returns
        # fewer bytes. One C pass, where checking the characters against a set first took ~8x as long on a signature.
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raw = b""
        if 2 * len(raw) != len(digits):
            raise InvalidInputError(field, "not a hex string", fix="use only 0-9 and a-f after 0x", value=value)
        out = HexBytes(raw)
    else:
        raise InvalidInputError(
            field,
            f"expected a 0x hex string or bytes, got {type(value).__name__}",
            fix="pass a '0x…' string or a bytes value",
            value=value,
        )
    if length is not None and len(out) != length:
        raise InvalidInputError(
            field,
            f"expected exactly {length} bytes, got {len(out)}",
            fix=f"pass a {length}-byte value ({2 * length} hex digits after 0x)",
            value=value,
        )
    return out


def to_bytes32(value: object, *, field: str) -> HexBytes:
    return to_bytes(value, field=field, length=32)


def to_permission_id(value: object, *, field: str) -> PermissionId:
    """A :class:`~smartsessions.permission_id.PermissionId` from any spelling of 32 bytes (the errors of
    :func:`to_bytes32`, naming ``field``)."""
    if isinstance(value, PermissionId):
        return value
    return PermissionId(bytes(to_bytes32(value, field=field)))


@lru_cache(maxsize=4096)
def _checksum(lower_hex40: str) -> str:
    digest = _keccak(lower_hex40.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(lower_hex40, digest[:40], strict=True))


def to_address(value: object, *, field: str) -> str:
    """An EIP-55 checksummed address from a 20-byte value or a hex string in any single case.

    A mixed-case string must carry a correct checksum: a wrong one usually means a typo, and viem refuses it too.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) != 20:
            raise InvalidInputError(
                field, f"an address is 20 bytes, got {len(raw)}", fix="pass a 20-byte address", value=value
            )
        return _checksum(raw.hex())
    if not isinstance(value, str):
        raise InvalidInputError(
            field,
            f"expected an address string, got {type(value).__name__}",
            fix="pass a '0x' + 40 hex digit address",
            value=value,
        )
    if len(value) != 42 or not value.startswith(("0x", "0X")) or not _HEX_DIGITS.issuperset(value[2:]):
        raise InvalidInputError(
            field, "not a 20-byte hex address", fix="pass '0x' followed by 40 hex digits", value=value
        )
    digits = value[2:]
    checksummed = _checksum(digits.lower())
    if digits != digits.lower() and digits != digits.upper() and checksummed[2:] != digits:
        raise InvalidInputError(
            field,
            "mixed-case address with a wrong EIP-55 checksum",
            fix=f"check for a typo; the checksummed form of the lower-case address is {checksummed}",
            value=value,
        )
    return checksummed


def to_text(value: str, *, field: str) -> str:
    """A string that is Unicode text: one holding a lone surrogate (``"\\ud800"``, which JSON can write) cannot be
    encoded as UTF-8, so neither hashed nor ABI-encoded."""
    if has_lone_surrogate(value):
        raise InvalidInputError(
            field,
            "is not valid Unicode text: it holds a lone surrogate (half of a UTF-16 pair, such as \\ud800)",
            fix="pass text UTF-8 can encode: a character above U+FFFF whole, not as one half of its surrogate pair",
            value=value,
        )
    return value


def to_uint(value: object, *, field: str, bits: int = 256) -> int:
    """An unsigned integer that fits ``bits``, from an int, a decimal string or a ``0x`` hex string."""
    if isinstance(value, bool):
        raise InvalidInputError(field, "expected an integer, got a bool", fix="pass an int", value=value)
    if isinstance(value, int):
        out = value
    elif isinstance(value, str):
        text = value.strip()
        if not text.isascii() or "_" in text:  # int() takes "1_000" and other scripts' digits; JSON and viem do not
            raise InvalidInputError(
                field,
                "not an integer",
                fix="pass an int, a decimal string or a 0x hex string (ASCII digits only)",
                value=value,
            )
        try:
            out = int(text, 16) if text.startswith(("0x", "0X")) else int(text, 10)
        except ValueError as exc:
            if text.isascii() and text[1:].isdigit() and text[0] == "-":  # int() refuses over 4,300 digits
                raise InvalidInputError(field, "must not be negative", fix="pass a value >= 0", value=value) from exc
            if text.isascii() and text.removeprefix("+").isdigit():
                raise InvalidInputError(
                    field,
                    f"does not fit in uint{bits}",
                    fix=f"pass a value below 2**{bits} ({(1 << bits) - 1} is the largest)",
                    value=value,
                ) from exc
            raise InvalidInputError(
                field, "not an integer", fix="pass an int, a decimal string or a 0x hex string", value=value
            ) from exc
    else:
        raise InvalidInputError(
            field, f"expected an integer, got {type(value).__name__}", fix="pass an int", value=value
        )
    if out < 0:
        raise InvalidInputError(field, "must not be negative", fix="pass a value >= 0", value=value)
    if out >> bits:
        raise InvalidInputError(
            field,
            f"does not fit in uint{bits}",
            fix=f"pass a value below 2**{bits} ({(1 << bits) - 1} is the largest)",
            value=value,
        )
    return out
