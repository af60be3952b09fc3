"""The committed vectors are exactly what the pinned reference writes today: regenerate and compare.

This keeps the JSON honest (nobody can edit an expected value by hand) and catches a drift in the npm packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow  # the generator runs the reference packages in Node.js
def test_regenerated_vectors_are_identical(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to regenerate the vectors (make test installs the npm packages)"
    subprocess.run(
        [node, str(HERE / "generate.mjs")],
        check=True,
        capture_output=True,
        env={**os.environ, "VECTORS_OUT": str(tmp_path)},
        timeout=300,
    )
    committed = sorted(p.name for p in HERE.glob("*.json"))
    regenerated = sorted(p.name for p in tmp_path.glob("*.json"))
    assert regenerated == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (HERE / name).read_bytes(), f"{name} differs from the reference"
