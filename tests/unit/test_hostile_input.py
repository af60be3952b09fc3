"""Issue 11's loose ends: values from outside that reached ``int(_, 16)``, ``bytes.fromhex``, ``json.loads``,
``str.encode`` or ``json.dumps`` unchecked. Each gets our typed error naming what was read and how to fix it; none
gets a foreign exception, a hang or a crash.

* RPC answers: :func:`smartsessions.rpc.quantity` (a quantity), :func:`~smartsessions.rpc.return_data` (hex data) and
  :func:`~smartsessions.rpc.call_word` (a uint returned by ``eth_call``); ``computeAccountAddress`` at set-up;
* MEE version numbers (``MeeVersionConfig.version``), compared as numbers;

The MEE client's own reads (permit token, receipts, decimals, nonces) are in ``test_mee_client.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from smartsessions import (
    ConfigurationError,
    InvalidInputError,
    MeeVersionConfig,
    RpcError,
    get_mee_version,
    to_multichain_nexus_account,
)
from smartsessions.rpc import RpcClient, call_word, quantity, return_data
from smartsessions.versions import MEE_VERSIONS, version_number

SRC = str(Path(sys.modules["smartsessions"].__file__ or "").resolve().parents[1])  # the smartsessions under test


def isolated(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter with py_ecc's recursion limit: a segmentation fault fails the test that ran
    it instead of ending pytest."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    prelude = "import sys, smartsessions\nsys.setrecursionlimit(100_000)\n"
    code = prelude + textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


# -- RPC answers -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0x_1", "0x1 ", "0x1\n", "0x١", " 0x1", "0x", "0x" + "1" * 65, 1, None, ["0x1"]])
def test_quantity_takes_hex_digits_only(value: object) -> None:
    with pytest.raises(RpcError) as refused:
        quantity(value, what="eth_blockNumber")
    assert "answered eth_blockNumber with" in str(refused.value) and "not a hex quantity" in str(refused.value)


def test_quantity_reads_quantities() -> None:
    assert [quantity(v, what="x") for v in ("0x0", "0x1a", "0X1A", "0x" + "f" * 64)] == [0, 26, 26, 2**256 - 1]


@pytest.mark.parametrize("value", ["0xzz", "0x123", "0x12 34", " 0x12", "0x12\n", "12", 18, None, {"data": "0x"}])
def test_return_data_takes_hex_bytes_only(value: object) -> None:
    with pytest.raises(RpcError, match=r"answered decimals\(\) with .*, not 0x hex data"):
        return_data(value, what="decimals()")


def test_call_word() -> None:
    word = "0x" + (6).to_bytes(32, "big").hex()
    assert call_word(word, what="decimals()", bits=8) == 6
    assert call_word(word + "ff" * 32, what="x") == 6  # the first word of longer return data
    assert call_word("0x", what="x", empty=0) == 0
    for short, match in [("0x", "with no data"), ("0x06", "with '0x06'"), ("0x" + "00" * 31, "with '0x0000")]:
        with pytest.raises(RpcError, match=f"answered decimals\\(\\) {match}.*, not a 32-byte ABI word"):
            call_word(short, what="decimals()")
    with pytest.raises(RpcError, match=r"not a 32-byte ABI word holding a uint8") as refused:
        call_word("0x" + (256).to_bytes(32, "big").hex(), what="decimals()", bits=8)
    assert "Check that the address is the contract meant" in str(refused.value)


@contextmanager
def chain_answering(monkeypatch: pytest.MonkeyPatch, results: dict[str, Any]) -> Iterator[None]:
    """Every RpcClient the account set-up opens answers ``results`` by method, without sockets."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(
            200, json=[{"jsonrpc": "2.0", "id": i["id"], "result": results[i["method"]]} for i in body]
        )

    real = RpcClient
    monkeypatch.setattr(
        "smartsessions.account.multichain.RpcClient",
        lambda url: real(url, transport=httpx.MockTransport(handle)),
    )
    yield


@pytest.mark.parametrize("address", ["0xzz", "0x" + "11" * 20, "0x" + "ff" * 32, None])
async def test_account_address_the_factory_computes(monkeypatch: pytest.MonkeyPatch, address: object) -> None:
    signer = Account.from_key("0x" + "11" * 32)
    config = {"chain_id": 8453, "rpc_url": "http://rpc", "version": "2.1.0", "version_check": False}
    with (
        chain_answering(monkeypatch, {"eth_chainId": "0x2105", "eth_call": address}),
        pytest.raises(RpcError, match="answered computeAccountAddress on the factory 0x"),
    ):
        await to_multichain_nexus_account(signer=signer, chain_configurations=[config])
    word = "0x" + "00" * 12 + "11" * 20
    with chain_answering(monkeypatch, {"eth_chainId": "0x2105", "eth_call": word}):
        account = await to_multichain_nexus_account(signer=signer, chain_configurations=[config])
    assert account.address_on(8453).lower() == "0x" + "11" * 20


# -- MEE version numbers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.x", "", "3.0.0-beta", " 2.1.0", "2_1.0", "٢.1.0", "2.1", "9" * 5000, 5])
def test_mee_version_config_takes_version_numbers_only(version: object) -> None:
    fields = MEE_VERSIONS["2.1.0"].model_dump()
    with pytest.raises(InvalidInputError) as refused:
        MeeVersionConfig(**{**fields, "version": version})
    assert refused.value.field == "MeeVersionConfig.version"
    assert "is not an MEE version number (MAJOR.MINOR.PATCH in ASCII digits)" in str(refused.value)
    assert "Fix: write it as the MEE versions are written, e.g. '2.1.0'" in str(refused.value)
    assert len(str(refused.value)) < 500


def test_version_numbers_compare_as_numbers() -> None:
    assert version_number("2.10.0") > version_number("2.9.1") and version_number("3.0.0") == (3, 0, 0)
    assert all(c.session_validator_init_data_is_packed == (v == "3.0.0") for v, c in MEE_VERSIONS.items())
    with pytest.raises(ConfigurationError, match="is not an MEE version number") as refused:
        version_number("2.x", field="chain_configurations.version")
    assert refused.value.field == "chain_configurations.version"


def test_an_unknown_version_is_shown_bounded() -> None:
    with pytest.raises(ConfigurationError, match="unknown MEE version") as refused:
        get_mee_version("9" * 100_000)
    assert len(str(refused.value)) < 1000
