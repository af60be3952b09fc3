"""The anvil process manager: binary discovery, free ports, readiness, clean stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


@pytest.mark.slow  # watches the chains make blocks for seconds
@pytest.mark.parametrize("network", ["ethereum", "optimism"])
def test_fees_and_blocks_like_an_l2(tmp_path: Path, network: str) -> None:
    """A transaction is mined at once, empty blocks keep coming, and the base fee stays at the floor (Ethereum's
    rule alone would take 12.5 % off after each empty block: 0.67x the floor by the fourth)."""
    floor = 5_000_000
    anvil = AnvilProcess.start(8453, log_dir=tmp_path, base_fee=floor, block_time=1, network=network)
    try:
        with SyncRpcClient(anvil.url) as rpc:
            sender = rpc.request("eth_accounts")[0]
            tx = rpc.request("eth_sendTransaction", [{"from": sender, "to": sender, "value": "0x1"}])
            deadline = time.monotonic() + 60
            while rpc.request("eth_getTransactionReceipt", [tx]) is None:  # anvil mines it on its own task
                assert time.monotonic() < deadline, "the transaction was not mined"
                time.sleep(0.02)
            while int(rpc.request("eth_blockNumber"), 16) < 6:
                assert time.monotonic() < deadline, "no interval blocks"
                time.sleep(0.1)
            fees = [int(rpc.request("eth_getBlockByNumber", [hex(n), False])["baseFeePerGas"], 16) for n in range(1, 7)]
    finally:
        anvil.stop()
    # the floor is set again within 0.1 s of each block; a block mined in between is at most 12.5 % below it
    assert all(floor * 7 // 8 <= fee <= floor for fee in fees), fees
    assert fees.count(floor) >= 3, fees


def test_a_chain_dies_with_the_process_that_started_it() -> None:
    """A devnet process that dies without cleaning up (a crash, ``kill -9``) leaves no anvil behind: the chain gets
    SIGTERM from the kernel when its parent dies (issue 11, item 1: a crashed node used to orphan its chains)."""
    script = (
        "import sys\n"
        "from smartsessions.devnet.anvil import AnvilProcess\n"
        "anvil = AnvilProcess.start(8453)\n"
        "print(anvil.process.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    os.kill(pid, 0)  # running
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:  # a zombie is dead too (init reaps it in a moment)
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        assert time.monotonic() < deadline, f"anvil {pid} outlived its parent"
        time.sleep(0.05)
