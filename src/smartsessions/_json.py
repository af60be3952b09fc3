"""JSON from outside, parsed with bounds: the one JSON reader of the SDK's decoders (and the node's HTTP edge).

Why not plain :func:`json.loads`: py_ecc (imported through eth-account) raises the interpreter's recursion limit to
100,000 at import time, so the C parser no longer stops deeply nested input with a ``RecursionError``: it overflows
the C stack and the whole process dies (``"[" * 100_000 + "]" * 100_000`` ends Python with a segmentation fault).
It also raises foreign exceptions: ``UnicodeDecodeError`` for bytes that are not UTF-8/16/32, ``ValueError`` (not
``JSONDecodeError``) for an integer of more than 4,300 digits.

:func:`loads_bounded` checks the text first, in linear time and without recursion, then parses it:

* ``max_bytes``: the size of the input (bytes as given; a ``str`` by its length in characters);
* ``max_depth``: how deeply arrays and objects nest (``[]`` is depth 1, ``{"a": [1]}`` depth 2), counted outside
  strings, so that brackets inside a string value do not count;
* ``max_number_digits``: the longest run of digits in a number (a uint256 has at most 78 decimal digits);
* ``refuse_lone_surrogates`` (off unless asked): a string or key holding a lone surrogate, which JSON can write
  (``"\\ud800"``) but no Unicode text holds. Python keeps it in a ``str`` that ``.encode()``, hashing and a UTF-8
  terminal then refuse with ``UnicodeEncodeError``. The error's field is ``field`` and the JSON path of the first
  one (``body.userOps[0].metadata``). The SDK's readers ask for it; the node's HTTP edge checks on its own.

Every failure is an :class:`~smartsessions.errors.InvalidInputError` whose ``field`` is the ``field`` argument (say
``"body"`` or ``"session_details"``) and whose message says what to fix. ``NaN`` and ``Infinity``, which
:func:`json.loads` accepts but JSON does not have, are refused. A node uses it as::

    from smartsessions._json import loads_bounded

    body = loads_bounded(await request.body(), field="body")  # InvalidInputError -> 400 naming `body`
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate, repeat
from operator import sub
from typing import Any

from .errors import InvalidInputError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NUMBER_DIGITS",
    "first_lone_surrogate",
    "has_lone_surrogate",
    "json_value_problem",
    "loads_bounded",
]

#: Far above what a quote, a receipt or a list of session details needs (a few kB to a few hundred kB).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Our JSON nests about 10 levels (session details inside a quote request); stock Python refuses 1,000.
DEFAULT_MAX_DEPTH = 64
#: A uint256 has 78 decimal digits; leave room for numbers other implementations write with more.
DEFAULT_MAX_NUMBER_DIGITS = 100
_FIX = "pass JSON text as json.dumps or JSON.stringify write it"

# A JSON string: what lies between its quotes does not count for depth or digits. An unterminated string runs to the
# end of the text (json.loads refuses it anyway). Every attempt matches at its first try, so the scan is linear.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# Openers become 2 and closers 0, so that subtracting 1 gives the depth step (+1 or -1) without a Python loop.
_STEPS = str.maketrans({"[": "\x02", "{": "\x02", "]": "\x00", "}": "\x00"})


@lru_cache(maxsize=16)
def _digit_run(longer_than: int) -> re.Pattern[str]:
    return re.compile(f"[0-9]{{{longer_than + 1}}}")


def _depth_over(skeleton: str, max_depth: int) -> int | None:
    """The deepest nesting of ``[``/``{`` in ``skeleton`` (JSON with its strings removed) if above ``max_depth``."""
    brackets = _NOT_BRACKET.sub("", skeleton)
    if brackets.count("[") + brackets.count("{") <= max_depth:
        return None
    steps = brackets.translate(_STEPS).encode("ascii")
    depth = max(accumulate(map(sub, steps, repeat(1))))
    return depth if depth > max_depth else None


def _text_of(data: str | bytes | bytearray | memoryview, field: str, fix: str) -> str:
    if isinstance(data, str):
        return data
    raw = bytes(data)
    try:
        # As json.loads reads bytes: UTF-8, UTF-16 or UTF-32, told apart by the first bytes.
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            field,
            f"is not text in UTF-8 (or UTF-16/32): {exc.reason} at byte {exc.start}",
            fix=fix,
            cause=exc,
        ) from exc


# A lone surrogate reaches a parsed value only written raw in the text (a str, or bytes decoded as json.loads decodes
# them) or as a \ud800-\udfff escape: text with neither holds none, which two searches at C speed tell.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONGEST_KEY_SHOWN = 40


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (which, in a ``str``, is always a lone one)."""
    return _SURROGATE.search(text) is not None


# A JSON path while walking: the last segment and the path of the parent (None for the root). Built in constant time
# per value, and joined only for the one path an error names: strings built at every level would make a deep value
# cost quadratic time.
_Path = tuple[str, "_Path"] | None


def _joined(path: _Path) -> str:
    parts = []
    while path is not None:
        segment, path = path
        parts.append(segment)
    return "".join(reversed(parts))


def _key(key: str, parent: _Path) -> _Path:
    return ("." + (key if len(key) <= _LONGEST_KEY_SHOWN else key[: _LONGEST_KEY_SHOWN - 3] + "..."), parent)


def first_lone_surrogate(value: Any) -> str | None:
    """The JSON path (``"[0].userOps[2].metadata"``; ``""`` for ``value`` itself) of the first string holding a lone
    surrogate in parsed JSON, in document order; for a key, the path of its object. None if there is none. Iterative,
    so the depth of ``value`` does not matter."""
    stack: list[tuple[_Path, Any]] = [(None, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                return _joined(path)
        elif isinstance(item, dict):
            children: list[tuple[_Path, Any]] = []
            for key, child in item.items():
                children.append((path, key))  # a bad key is reported at its object
                children.append((_key(key, path) if isinstance(key, str) else path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([((f"[{k}]", path), child) for k, child in enumerate(item)]))
    return None


_SCALARS = (str, bool, type(None))


def json_value_problem(
    value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH, max_number_digits: int = DEFAULT_MAX_NUMBER_DIGITS
) -> tuple[str, str] | None:
    """``(path, problem)`` for the first part (in document order) of a Python value that is not JSON
    :func:`loads_bounded` would read back: nesting deeper than ``max_depth`` (a cycle too), a key that is not a
    string, an int of more than ``max_number_digits`` digits, NaN or infinity, a value of another type; None if
    there is none. ``path`` is the JSON path (``".metadata[0].x"``, ``""`` for ``value`` itself). Iterative:
    :func:`json.dumps` recurses in C, and with py_ecc's recursion limit a value some 50,000 levels deep overflows
    the C stack instead of raising."""
    if _plainly_json(value, max_depth, max_number_digits):
        return None
    return _first_problem(value, max_depth, max_number_digits)


def _first_problem(value: Any, max_depth: int, max_number_digits: int) -> tuple[str, str] | None:
    too_large = _limit(max_number_digits)
    stack: list[tuple[_Path, Any, int]] = [(None, value, 1)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                return _joined(path), f"nests arrays and objects more than {max_depth} levels deep"
            if isinstance(item, dict):
                children: list[tuple[_Path, Any, int]] = []
                for key, child in item.items():
                    if not isinstance(key, str):
                        return _joined(path), f"has a key that is not a string ({type(key).__name__})"
                    children.append((_key(key, path), child, depth + 1))
                stack.extend(reversed(children))
            else:
                stack.extend(reversed([((f"[{k}]", path), child, depth + 1) for k, child in enumerate(item)]))
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -too_large < item < too_large:
                problem = f"is an int of more than {max_number_digits} digits; write it as a decimal string"
                return _joined(path), problem
        elif isinstance(item, float):
            if not math.isfinite(item):
                return _joined(path), f"is {item}, which JSON does not have"
        elif not isinstance(item, _SCALARS):
            return _joined(path), f"is a {type(item).__name__}, which is not a JSON value"
    return None


@lru_cache(maxsize=8)
def _limit(digits: int) -> int:
    return int(10**digits)


def _plainly_json(value: Any, max_depth: int, max_number_digits: int) -> bool:
    """True for a value of plain JSON types within the bounds: the common case, checked without building paths
    (every RPC request's params go through :func:`json_value_problem`). False means "look closer", not "bad":
    subclasses (a ``HexBytes``, an ``IntEnum``) are left to the full walk."""
    too_large = _limit(max_number_digits)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict:
            if depth > max_depth:
                return False
            for key, child in item.items():
                if type(key) is not str:
                    return False
                if type(child) is not str:
                    stack.append((child, depth + 1))
        elif kind is list or kind is tuple:
            if depth > max_depth:
                return False
            stack.extend((child, depth + 1) for child in item if type(child) is not str)
        elif kind is int:
            if not -too_large < item < too_large:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif not (kind is str or kind is bool or item is None):
            return False
    return True


#: The problem of the :class:`InvalidInputError` :func:`loads_bounded` raises for a lone surrogate.
LONE_SURROGATE_PROBLEM = "is not valid Unicode text: it holds a lone surrogate (half of a UTF-16 pair, such as \\ud800)"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


#: Text with at most this many brackets is parsed before its nesting is measured: the C parser recurses once per
#: level, and a few hundred levels are safe on any thread's stack (py_ecc's recursion limit lets 100,000 overflow it).
_SAFE_TO_PARSE = 256


class _TooManyDigitsError(ValueError):
    """A number literal longer than the bound (raised from json.loads's number hooks, before int() reads it)."""


@lru_cache(maxsize=8)
def _number_parsers(max_digits: int) -> tuple[Callable[[str], int], Callable[[str], float]]:
    """json.loads's ``parse_int`` / ``parse_float``: a literal with a run of more than ``max_digits`` digits is
    refused before it is converted (int() of a long literal takes quadratic time)."""
    run = _digit_run(max_digits)

    def parse_int(literal: str) -> int:
        if len(literal) > max_digits and run.search(literal):
            raise _TooManyDigitsError(literal[:20])
        return int(literal)

    def parse_float(literal: str) -> float:
        if len(literal) > max_digits and run.search(literal):
            raise _TooManyDigitsError(literal[:20])
        return float(literal)

    return parse_int, parse_float


def _value_depth(value: Any) -> int:
    """How deep the arrays and objects of a value json.loads made nest (1 for ``[]``; 0 for a scalar). Iterative;
    only containers are pushed (json.loads makes exactly dicts and lists)."""
    if type(value) is not dict and type(value) is not list:
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth > deepest:
            deepest = depth
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, depth + 1))
    return deepest


def _may_hold_lone_surrogate(text: str) -> bool:
    """False when ``text`` cannot hold one: ASCII text (no raw surrogate; a flag Python keeps) without a ``\\u``
    escape needs no regular expression at all."""
    if text.isascii():
        return "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    return _SURROGATE_ESCAPE.search(text) is not None or has_lone_surrogate(text)


def _too_many_digits(field: str, max_digits: int) -> InvalidInputError:
    return InvalidInputError(
        field,
        f"has a number of more than {max_digits} digits",
        fix="write large integers as decimal or 0x hex strings of at most 78 digits (uint256)",
    )


def _too_deep(field: str, depth: int, max_depth: int) -> InvalidInputError:
    return InvalidInputError(
        field,
        f"nests arrays and objects {depth} levels deep, more than the {max_depth} allowed",
        fix="flatten the JSON; no value this library reads nests that deeply",
    )


def loads_bounded(
    data: str | bytes | bytearray | memoryview,
    *,
    field: str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_number_digits: int = DEFAULT_MAX_NUMBER_DIGITS,
    fix: str = _FIX,
    refuse_lone_surrogates: bool = False,
) -> Any:
    """Parse JSON text from outside, refusing it (:class:`InvalidInputError` naming ``field``) when it is not JSON,
    is larger than ``max_bytes``, nests deeper than ``max_depth`` or has a number longer than ``max_number_digits``
    digits; with ``refuse_lone_surrogates``, also when a string or key holds a lone surrogate (the error's field is
    ``field`` and the JSON path of the first). ``fix`` is what the error tells the caller to do when the text is not
    JSON at all. Valid JSON within the bounds parses exactly as :func:`json.loads` parses it."""
    if not isinstance(data, (str, bytes, bytearray, memoryview)):
        raise InvalidInputError(field, f"expected JSON text (str or bytes), got {type(data).__name__}", fix=fix)
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    if size > max_bytes:
        raise InvalidInputError(
            field,
            f"is {size} {'characters' if isinstance(data, str) else 'bytes'} long, more than the {max_bytes} allowed",
            fix="send less data at once",
        )
    text = _text_of(data, field, fix)
    brackets = text.count("[") + text.count("{")  # inside strings too: an upper bound of the nesting
    if brackets > max(max_depth, _SAFE_TO_PARSE):
        # Deep enough that json.loads could overflow the C stack: measure the nesting on the text first, strings cut
        # out (a copy of the text, so only when it could matter).
        depth = _depth_over(_STRING.sub('""', text), max_depth)
        if depth is not None:
            raise _too_deep(field, depth, max_depth)
    parse_int, parse_float = _number_parsers(max_number_digits)
    try:
        value = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:  # too long a number, not JSON, NaN/Infinity (above), a bound of its own
        # Which bound to report, nesting first, is decided on the text with its strings cut out, as before parsing.
        skeleton = _STRING.sub('""', text)
        depth = _depth_over(skeleton, max_depth) if brackets > max_depth else None
        if depth is not None:
            raise _too_deep(field, depth, max_depth) from exc
        if isinstance(exc, _TooManyDigitsError) or _digit_run(max_number_digits).search(skeleton):
            raise _too_many_digits(field, max_number_digits) from exc
        if isinstance(exc, json.JSONDecodeError):
            problem = f"is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            raise InvalidInputError(field, problem, fix=fix, cause=exc) from exc
        raise InvalidInputError(field, f"is not JSON: {exc}", fix=fix, cause=exc) from exc
    if max_depth < brackets <= _SAFE_TO_PARSE:  # shallow enough to parse first: the nesting of the value itself
        depth = _value_depth(value)
        if depth > max_depth:
            raise _too_deep(field, depth, max_depth)
    if refuse_lone_surrogates and _may_hold_lone_surrogate(text):
        path = first_lone_surrogate(value)
        if path is not None:
            raise InvalidInputError(
                field + path,
                LONE_SURROGATE_PROBLEM,
                fix="send text UTF-8 can encode: a character above U+FFFF as itself, or as both escapes of its pair",
            )
    return value
