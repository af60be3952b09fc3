"""The committed contract artifacts (``devnet/artifacts/*.json``): ABI, creation and runtime code, compiler settings.

They are built from ``contracts/`` by ``make contracts`` (pinned solc-js) or copied from a pinned npm package (the
EntryPoint); ``manifest.json`` says which. Reverts are decoded with the custom errors of every artifact's ABI.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from eth_abi.abi import decode as _abi_decode

from .._coerce import to_bytes
from ..encoding.abi import abi_encode, selector
from ..errors import DevnetError

__all__ = ["Artifact", "artifact_names", "creation_code", "decode_error", "decode_revert", "load_artifact"]


class Artifact:
    """One contract: its ABI and bytecode."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.name: str = data["contractName"]
        self.source: str = data["sourceName"]
        self.abi: list[dict[str, Any]] = data["abi"]
        self.bytecode = bytes.fromhex(data["bytecode"][2:])
        self.deployed_bytecode = bytes.fromhex(data["deployedBytecode"][2:])

    @property
    def constructor_types(self) -> list[str]:
        for item in self.abi:
            if item["type"] == "constructor":
                return [_abi_type(i) for i in item["inputs"]]
        return []


def _abi_type(item: dict[str, Any]) -> str:
    t: str = item["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + t[len("tuple") :]
    return t


def _folder() -> Any:
    return resources.files("smartsessions.devnet") / "artifacts"


@cache
def artifact_names() -> tuple[str, ...]:
    manifest = json.loads((_folder() / "manifest.json").read_text())
    return tuple(sorted(manifest["contracts"]))


@cache
def load_artifact(name: str) -> Artifact:
    path = _folder() / f"{name}.json"
    if not path.is_file():
        raise DevnetError(
            f"No artifact named {name!r}.",
            meta_messages=["Run `make contracts` to rebuild the artifacts from contracts/."],
        )
    return Artifact(json.loads(path.read_text()))


def creation_code(name: str, args: list[Any] | tuple[Any, ...] = ()) -> bytes:
    """Creation code with ABI-encoded constructor arguments appended."""
    art = load_artifact(name)
    types = art.constructor_types
    if len(types) != len(args):
        raise DevnetError(f"{name} takes {len(types)} constructor arguments ({', '.join(types)}), got {len(args)}.")
    return art.bytecode + (abi_encode(types, list(args), what=f"{name} constructor") if types else b"")


@cache
def _errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in artifact_names():
        for item in load_artifact(name).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            table[selector(f"{item['name']}({','.join(types)})")] = (
                item["name"],
                types,
                [i.get("name", "") for i in item["inputs"]],
            )
    table[selector("Error(string)")] = ("Error", ["string"], ["message"])
    table[selector("Panic(uint256)")] = ("Panic", ["uint256"], ["code"])
    return table


def decode_error(data: bytes) -> tuple[str, list[tuple[str, Any]]] | None:
    """Revert data as ``(ErrorName, [(argument name, value), ...])`` when its selector is a custom error of an
    artifact (or ``Error(string)``, ``Panic(uint256)``) and its arguments decode; else None. Values are as eth-abi
    decodes them (``bytes`` for bytesN, checksummed ``str`` addresses, ``int``); unnamed arguments have ``""``."""
    data = bytes(data)
    known = _errors().get(data[:4]) if len(data) >= 4 else None
    if known is None:
        return None
    name, types, names = known
    try:
        values = _abi_decode(types, data[4:], strict=False)
    except Exception:  # eth_abi raises several unrelated types for malformed data
        return None
    return name, list(zip(names, values, strict=True))


def decode_revert(data: bytes | str) -> str:
    """A readable form of revert data: ``ErrorName(arg=value, ...)``, the hex when the selector is unknown, or
    ``ErrorName(0x…)`` when the arguments are no valid encoding. ``data`` is bytes or 0x hex (anything else raises
    :class:`~smartsessions.errors.InvalidInputError`)."""
    data = bytes(to_bytes(data, field="data"))
    if len(data) < 4:
        return f"0x{data.hex()}" if data else "(no revert data)"
    known = _errors().get(data[:4])
    if known is None:
        return f"0x{data.hex()}"
    decoded = decode_error(data)
    if decoded is None:
        return f"{known[0]}(0x{data[4:].hex()})"
    name, args = decoded
    shown = ", ".join(f"{n}={('0x' + v.hex()) if isinstance(v, bytes) else v}" if n else str(v) for n, v in args)
    return f"{name}({shown})"
