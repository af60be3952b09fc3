"""Showing a value from outside in a message, safely: bounded in size and depth, and never raising.

``repr`` itself is not safe on outside data: an int of more than 4,300 digits raises ``ValueError`` (CPython's
integer string conversion limit), a deeply nested list recurses in C (and, with the recursion limit py_ecc sets at
import, can overflow the stack), an object's ``__repr__`` can raise anything, and a large value is rendered in full
before being cut. :func:`bounded_repr` is ``repr`` for ordinary values and a shortened form for the rest.
"""

from __future__ import annotations

import reprlib
from itertools import islice
from typing import Any

__all__ = ["bounded_repr"]

# Above this many bits an int is shown by its size: its decimal form is long, slow to compute, and may be refused.
_MAX_INT_BITS = 1024


class _Repr(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        # Generous enough that anything shorter than the 120 characters a message shows reads exactly as repr does.
        self.maxlevel = 6
        self.maxstring = 240
        self.maxother = 240
        self.maxlong = 400  # every int up to _MAX_INT_BITS (309 digits) in full
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = self.maxdeque = 60
        self.maxarray = 60

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > _MAX_INT_BITS:
            return f"<{'negative ' if x < 0 else ''}int of {x.bit_length()} bits>"
        return super().repr_int(x, level)

    def repr_instance(self, x: Any, level: int) -> str:
        if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > _MAX_INT_BITS:  # an int subclass
            return f"<{type(x).__name__} of {x.bit_length()} bits>"
        if isinstance(x, (bytes, bytearray)) and len(x) > self.maxstring:
            return repr(x[: self.maxstring]) + "..."
        return super().repr_instance(x, level)

    def repr_bytes(self, x: bytes, level: int) -> str:
        return self.repr_instance(x, level)

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:  # in insertion order, as repr (reprlib sorts keys)
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        pieces = [f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}" for k, v in islice(x.items(), self.maxdict)]
        if len(x) > self.maxdict:
            pieces.append("...")
        return "{" + ", ".join(pieces) + "}"


_REPR = _Repr()


def bounded_repr(value: object, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters (ending in ``...``); never raises, whatever ``value`` is."""
    try:
        shown = _REPR.repr(value)
    except Exception:
        shown = f"<{type(value).__name__} object>"
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
