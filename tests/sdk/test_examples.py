"""The examples run as written against a devnet state file (the session's devnet, a node of the test)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer

from ..contracts.harness import Chain
from .conftest import API_KEY

pytestmark = pytest.mark.slow  # each example runs in a subprocess

ROOT = Path(__file__).resolve().parents[2]


def state_file(devnet: Devnet, node: NodeServer, tmp_path: Path) -> Path:
    state = devnet.state()
    state["node"] = {"url": node.url, "apiKey": API_KEY, "address": node.address}
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(state))
    return path


def test_the_seed_flow_example(devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "seed_flow.py"), str(state_file(devnet, node, tmp_path))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert out.count("MINED_SUCCESS") >= 4
    assert "counter                1" in out and "counter                2" in out
    assert "rule 0: argument 1 (offset 0) must be <= 10, got 11" in out
    assert "counter                7 (unchanged)" in out
    # fees like Base's: cents, not dollars (anvil's default 1 gwei base fee made a USE cost about 0.5 USDC)
    cents = [float(c) for c in re.findall(r"USDC = (\d+\.\d+) cents", out)]
    assert len(cents) == 4 and all(0 < c < 10 for c in cents), out  # prepare, ENABLE_AND_USE, USE, setNumber(7)
    refunds = [float(c) for c in re.findall(r"ETH to the account = (\d+\.\d+) cents", out)]
    assert len(refunds) == 2 and all(0 < r < c for r, c in zip(refunds, cents[1:3], strict=True)), out


def run_example(name: str, devnet: Devnet, node: NodeServer, tmp_path: Path) -> str:
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py"), str(state_file(devnet, node, tmp_path))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_multichain_example(devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path) -> None:
    out = run_example("multichain_grant", devnet, node, tmp_path)
    assert "chain 8453: MINED_SUCCESS, chain 10: MINED_SUCCESS" in out
    assert "counter on 8453        2" in out and "counter on 10          2" in out
    assert out.count(": True}") == 2  # both chains' permissions enabled


def test_the_erc20_limits_example(devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path) -> None:
    out = run_example("erc20_limits", devnet, node, tmp_path)
    assert "rule 0: argument 1 (offset 0) must be == 57005 (0xdead), got 48879 (0xbeef)" in out
    assert "rule 1: argument 2 (offset 32) must be <= 1000000, got 1500000" in out
    # the third transfer passes each rule, but not rule 1's cumulative limit: a PolicyLimitError, with the limit
    assert "rule 1: at most 2000000 in total on argument 2 (offset 32); this userOp asks 1000000 more" in out
    assert "recipient holds        2.0 USDC" in out


def test_the_sponsorship_example(devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path) -> None:
    out = run_example("sponsorship", devnet, node, tmp_path)
    assert out.count("fee                    sponsored") == 3  # prepare, ENABLE_AND_USE, USE
    assert "account USDC           0 -> 0 base units (nothing paid)" in out


def test_the_personal_sign_example(devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path) -> None:
    out = run_example("personal_sign", devnet, node, tmp_path)
    assert out.count("MINED_SUCCESS") >= 2 and "enabled                True" in out


def test_the_session_flow_example(devnet: Devnet, node: NodeServer, chains: dict[int, Chain], tmp_path: Path) -> None:
    out = run_example("session_flow", devnet, node, tmp_path)
    assert "PREPARE (permit quote, one owner signature):" in out
    # PREPARE, the increments, setNumber(7); the first two on both chains
    assert len(re.findall(r"super-transaction +0x[0-9a-f]{64} MINED_SUCCESS", out)) == 3
    assert out.count("chain 8453: MINED_SUCCESS, chain 10: MINED_SUCCESS") == 2
    assert "enabled on 8453" in out and "enabled on 10" in out
    assert "no key in it" in out
    assert "(the owner's, from the handoff)" in out
    assert "counter on 8453        1" in out and "counter on 10          1" in out
    assert "counter on 8453        7" in out
    assert "refused                PolicyViolationError" in out
    assert "rule 0: argument 1 (offset 0) must be <= 10, got 11" in out
    assert "counter on 8453        7 (unchanged)" in out
