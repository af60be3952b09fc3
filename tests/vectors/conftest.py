"""Loading the vector files, and the comparisons they need."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text())
    return data


def cases(name: str) -> list[Any]:
    """The cases of one vector file, as pytest parameters named after their index."""
    import pytest

    return [pytest.param(c, id=f"{name.removesuffix('.json')}[{k}]") for k, c in enumerate(_load(name)["cases"])]


def b(value: str) -> bytes:
    """Expected bytes from a 0x hex string."""
    assert value.startswith("0x"), value
    return bytes.fromhex(value[2:])


def same_address(a: str, b_: str) -> bool:
    return a.lower() == b_.lower()
