"""One type for a permission's id, wherever the SDK hands one out: :class:`PermissionId`.

A permission id is ``keccak256(abi.encode(sessionValidator, sessionValidatorInitData, salt))``, 32 bytes. The SDK
used to give it in three forms (``HexBytes`` on session details, ``"0x…"`` strings from ``list_permissions``, a
``str`` on errors), so ``details[0].permission_id in await client.list_permissions(...)`` was ``False`` for the very
permission listed. :class:`PermissionId` is a ``str`` (``"0x"`` and 64 lower-case hex digits: what JSON, the MEE
API and the reference SDK's ``Hex`` hold), and it compares equal to the same id written any other way: a ``"0x…"``
string in any case, ``bytes`` or ``HexBytes`` of the 32 bytes. ``bytes(pid)`` gives the 32 bytes.

Its hash is the lower-case string's, so a dict or set keyed by ids finds an id given as a lower-case ``"0x…"`` string
or as a :class:`PermissionId`; an upper-case string compares equal (``==``, ``in`` a list) but is not the same key.

This module depends on nothing else of the SDK, so that every layer (errors included) can use it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["PermissionId"]

_HEX_ID = re.compile(r"0[xX][0-9a-fA-F]{64}")


class PermissionId(str):
    """A permission's id: ``"0x"`` and 64 lower-case hex digits, equal to any spelling of the same 32 bytes.

    ``PermissionId(value)`` takes a ``"0x…"`` string of 32 bytes (any case), ``bytes``/``bytearray``/``HexBytes`` of
    32 bytes, or a :class:`PermissionId`; anything else is a ``ValueError`` (a ``TypeError`` for other types)."""

    __slots__ = ()

    def __new__(cls, value: object) -> PermissionId:
        if isinstance(value, PermissionId):
            return value
        return super().__new__(cls, _normalized(value))

    def __bytes__(self) -> bytes:
        return bytes.fromhex(self[2:])

    def hex(self) -> str:
        """The 64 hex digits without ``0x``, as ``bytes.hex()`` and ``HexBytes.hex()`` give them."""
        return self[2:]

    def to_0x_hex(self) -> str:
        """The id as ``"0x…"`` (a plain ``str``), as ``HexBytes.to_0x_hex()`` gives it."""
        return str.__str__(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PermissionId):
            return str.__eq__(self, other)
        if isinstance(other, str):
            return len(other) == 66 and _HEX_ID.fullmatch(other) is not None and str.__eq__(self, other.lower())
        if isinstance(other, (bytes, bytearray, memoryview)):
            return bytes(self) == bytes(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return f"PermissionId({str.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """In a model: read from any spelling above, written to JSON as the ``"0x…"`` string."""
        return core_schema.no_info_plain_validator_function(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(str.__str__, when_used="always"),
        )


def _normalized(value: object) -> str:
    if isinstance(value, str):
        if _HEX_ID.fullmatch(value) is None:
            raise ValueError(f'a permission id is "0x" and 64 hex digits (32 bytes), not {value[:80]!r}')
        return "0x" + value[2:].lower()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) != 32:
            raise ValueError(f"a permission id is 32 bytes, not {len(raw)}")
        return "0x" + raw.hex()
    raise TypeError(f"a permission id is a 0x hex string or 32 bytes, not a {type(value).__name__}")
