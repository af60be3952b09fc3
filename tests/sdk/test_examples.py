"""The examples run as written against a devnet state file (the session's devnet, a node of the test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer

from ..contracts.harness import Chain
from .conftest import API_KEY

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
