"""Our ABI encoder against eth_abi's, on random types and values: the hot paths use ours, so it must agree."""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi.abi import encode as eth_abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from smartsessions.encoding.abi import ENABLE_SESSION, SESSION, abi_encode

# Any text UTF-8 encodes: every code point but the surrogates. Not st.text()'s default alphabet,
# characters(codec="utf-8"), for which Hypothesis encodes every code point with the codec the first time it is drawn
# from (about 1.5 s, cached in .hypothesis/ afterwards): on a fresh clone that lands in the first draw and fails the
# too_slow health check. Validating here does the (cheap, category-based) set-up at import, not in a draw.
UTF8_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
UTF8_TEXT.validate()


@cache  # one strategy per type, built once: not a fresh tree of strategies (and its validation) for every draw
def values_for(t: str) -> st.SearchStrategy[Any]:
    if t.endswith("]"):
        base, _, dim = t[:-1].rpartition("[")
        inner = values_for(base)
        return st.lists(inner, min_size=int(dim), max_size=int(dim)) if dim else st.lists(inner, max_size=3)
    if t.startswith("("):
        depth, start, parts = 0, 1, []
        for k, ch in enumerate(t[1:-1], start=1):
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                parts.append(t[start:k])
                start = k + 1
        parts.append(t[start:-1])
        return st.tuples(*(values_for(p) for p in parts))
    if t == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if t == "bool":
        return st.booleans()
    if t == "string":
        return UTF8_TEXT
    if t == "bytes":
        return st.binary(max_size=80)
    if t.startswith("uint"):
        return st.integers(0, 2 ** int(t[4:] or 256) - 1)
    return st.binary(min_size=int(t[5:]), max_size=int(t[5:]))


TYPES = [
    "uint256",
    "bytes",
    "string[]",
    "(address,bytes)[]",
    "(uint8,uint64,bool,bytes32,(uint256,uint256))[3]",
    "(bytes[2],uint48)",
    "(uint256,(uint256,bytes)[])[2]",
    SESSION,
    ENABLE_SESSION,
]


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[list[str], list[Any]]:
    types = draw(st.lists(st.sampled_from([*TYPES, "address", "bytes4", "bool"]), min_size=1, max_size=4))
    return types, [draw(values_for(t)) for t in types]


@given(typed_values())
@settings(max_examples=300)
def test_matches_eth_abi(case: tuple[list[str], list[Any]]) -> None:
    types, values = case
    assert abi_encode(types, values, what="value") == eth_abi_encode(types, values)
