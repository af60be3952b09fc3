"""The anvil process manager: binary discovery, free ports, readiness, clean stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartsessions.devnet.anvil import AnvilProcess, find_anvil
from smartsessions.errors import DevnetError, RpcError
from smartsessions.rpc import SyncRpcClient


def test_two_chains_get_distinct_free_ports_and_answer_their_ids(tmp_path: Path) -> None:
    a = AnvilProcess.start(8453, log_dir=tmp_path)
    b = AnvilProcess.start(10, log_dir=tmp_path)
    try:
        assert a.url != b.url
        for anvil, chain_id in ((a, 8453), (b, 10)):
            with SyncRpcClient(anvil.url) as rpc:
                assert int(rpc.request("eth_chainId"), 16) == chain_id
    finally:
        a.stop()
        b.stop()
    assert not a.running and not b.running
    with pytest.raises(RpcError, match="Cannot reach"), SyncRpcClient(a.url, timeout=1.0) as rpc:
        rpc.request("eth_chainId")


def test_bad_anvil_bin_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANVIL_BIN", str(tmp_path / "missing"))
    with pytest.raises(DevnetError, match="not an executable file"):
        find_anvil()


def test_missing_anvil_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANVIL_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("smartsessions.devnet.anvil._candidates", lambda: [tmp_path / "nope"])
    with pytest.raises(DevnetError) as info:
        find_anvil()
    assert "npm ci" in str(info.value) and "ANVIL_BIN" in str(info.value)


def test_anvil_that_exits_at_start_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'boom: bad flag' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(DevnetError, match="exited at start") as info:
        AnvilProcess.start(1, binary=str(fake), log_dir=tmp_path)
    assert "boom: bad flag" in str(info.value)
