"""`smartsessions devnet up --background / status / down`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from smartsessions.rpc import SyncRpcClient
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS, SMART_SESSIONS_ADDRESS

pytestmark = pytest.mark.slow  # the CLI in subprocesses, each with its own devnet


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartsessions.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_up_status_down(tmp_path: Path) -> None:
    state_file = tmp_path / "devnet.json"
    up = run("devnet", "up", "--background", "--chains", "8453,10", "--state-file", str(state_file), cwd=tmp_path)
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        state = json.loads(state_file.read_text())
        assert [c["chainId"] for c in state["chains"]] == [8453, 10]
        assert {k["role"] for k in state["keys"]} >= {"owner", "session_signer", "node"}
        for chain in state["chains"]:
            assert chain["contracts"]["SmartSession"] == SMART_SESSIONS_ADDRESS
            with SyncRpcClient(chain["rpcUrl"]) as rpc:
                assert int(rpc.request("eth_chainId"), 16) == chain["chainId"]
                assert rpc.request("eth_getCode", [ENTRY_POINT_V07_ADDRESS, "latest"]) != "0x"
                assert rpc.request("eth_getCode", [SMART_SESSIONS_ADDRESS, "latest"]) != "0x"
        assert "SmartSession" in up.stdout and "chain 8453" in up.stdout
        # Base's and OP Mainnet's base fees and block time by default
        assert [(c["baseFee"], c["blockTime"]) for c in state["chains"]] == [(5_000_000, 2.0), (100_000, 2.0)]
        assert "5000000 wei (0.005 gwei), a block every 2 s" in up.stdout
        # the local MEE node runs with the chains; its URL, key and address are in the state file
        node = state["node"]
        assert node["apiKey"].startswith("mee_devnet_") and node["url"].endswith("/v1")
        assert node["address"] == next(k["address"] for k in state["keys"] if k["role"] == "node")
        info = httpx.get(f"{node['url']}/info", headers={"x-api-key": node["apiKey"]}, timeout=5).json()
        assert [c["chainId"] for c in info["supportedChains"]] == ["8453", "10"] and info["node"] == node["address"]
        assert "MEE node" in up.stdout

        status = run("devnet", "status", "--state-file", str(state_file), cwd=tmp_path)
        assert status.returncode == 0
        assert "running" in status.stdout and "chain 10" in status.stdout and "up, block" in status.stdout
        assert f"MEE node: {node['url']} up" in status.stdout

        second = run("devnet", "up", "--background", "--state-file", str(state_file), cwd=tmp_path)
        assert second.returncode == 1 and "exists" in second.stderr
    finally:
        down = run("devnet", "down", "--state-file", str(state_file), cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert not state_file.exists()
    urls = [c["rpcUrl"] for c in state["chains"]]
    for url in urls:
        try:
            with SyncRpcClient(url, timeout=1.0) as rpc:
                rpc.request("eth_chainId")
        except Exception as exc:  # the chain is gone
            assert "Cannot reach" in str(exc)
        else:
            raise AssertionError(f"{url} still answers after devnet down")
    try:
        httpx.get(f"{state['node']['url']}/info", timeout=1.0)
    except httpx.HTTPError:
        pass  # the node is gone with the chains
    else:
        raise AssertionError("the MEE node still answers after devnet down")


def test_status_without_a_devnet_says_how_to_start_one(tmp_path: Path) -> None:
    result = run("devnet", "status", "--state-file", str(tmp_path / "none.json"), cwd=tmp_path)
    assert result.returncode == 1
    assert "smartsessions devnet up" in result.stderr


def test_bad_chain_list(tmp_path: Path) -> None:
    result = run("devnet", "up", "--chains", "base,op", cwd=tmp_path)
    assert result.returncode == 2
    assert "comma-separated chain ids" in result.stderr


def test_base_fee_and_block_time_are_configurable(tmp_path: Path) -> None:
    state_file = tmp_path / "devnet.json"
    up = run(
        "devnet", "up", "--background", "--no-node", "--chains", "8453,10", "--state-file", str(state_file),
        "--base-fee", "10=7_000_000", "--block-time", "0", cwd=tmp_path,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        chains = {c["chainId"]: c for c in json.loads(state_file.read_text())["chains"]}
        assert (chains[8453]["baseFee"], chains[10]["baseFee"]) == (5_000_000, 7_000_000)
        assert chains[8453]["blockTime"] == chains[10]["blockTime"] == 0
        with SyncRpcClient(chains[10]["rpcUrl"]) as rpc:
            block = rpc.request("eth_getBlockByNumber", ["latest", False])
            # at the floor, give or take the OP Stack's 0.4 % per block of the deployment's burst
            assert 6_650_000 <= int(block["baseFeePerGas"], 16) <= 7_000_000
        assert "blocks on demand" in up.stdout
    finally:
        assert run("devnet", "down", "--state-file", str(state_file), cwd=tmp_path).returncode == 0


def test_bad_base_fee(tmp_path: Path) -> None:
    wrong_form = run("devnet", "up", "--base-fee", "8453:5", cwd=tmp_path)
    assert wrong_form.returncode == 2 and "use CHAIN=WEI, e.g. 8453=5000000" in wrong_form.stderr
    other_chain = run("devnet", "up", "--chains", "8453", "--base-fee", "10=5", cwd=tmp_path)
    assert other_chain.returncode == 2 and "chain 10 is not one of --chains [8453]" in other_chain.stderr
