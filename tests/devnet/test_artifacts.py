"""The committed contract artifacts are exactly what the pinned compiler builds from contracts/ today."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "src" / "smartsessions" / "devnet" / "artifacts"


@pytest.mark.slow  # solc-js compiles the whole suite
def test_rebuilt_artifacts_are_identical(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to rebuild the contracts (make test installs the npm packages)"
    subprocess.run(
        [node, str(ROOT / "contracts" / "build.mjs"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=900,
        cwd=ROOT,
    )
    committed = sorted(p.name for p in ARTIFACTS.glob("*.json"))
    rebuilt = sorted(p.name for p in tmp_path.glob("*.json"))
    assert rebuilt == committed, "run `make contracts` and commit the artifacts"
    for name in committed:
        assert (tmp_path / name).read_bytes() == (ARTIFACTS / name).read_bytes(), f"{name}: run `make contracts`"


def test_every_artifact_records_its_source_and_compiler() -> None:
    import json

    manifest = json.loads((ARTIFACTS / "manifest.json").read_text())
    for name, source in manifest["contracts"].items():
        artifact = json.loads((ARTIFACTS / f"{name}.json").read_text())
        assert artifact["sourceName"] == source
        assert artifact["compiler"]["version"]
        if source.startswith("npm:"):
            assert artifact["license"], f"{name}: record the licence of registry bytecode"
        else:
            assert (ROOT / source).is_file(), f"{name}: its source {source} is not in the repository"
