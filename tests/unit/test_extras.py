"""The SDK needs none of the devnet extra's packages; the devnet, its node and the CLI say which extra to install.

Fast checks in this environment (the extra's packages hidden from a subprocess); tests/sdk/test_install.py proves the
same with a real `pip install` into a fresh venv."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from smartsessions import _extras
from smartsessions.errors import ExtraNotInstalledError, SmartSessionsError

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "smartsessions"
#: the parts of the package that may import the devnet extra's packages (testing: the pytest plugin, on the devnet)
DEVNET_PARTS = ("devnet", "cli", "testing")


def _project() -> dict[str, object]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"])


def _names(requirements: object) -> set[str]:
    assert isinstance(requirements, list)
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}


def sdk_modules() -> list[str]:
    """Every module of the package outside the devnet parts, by dotted name (the console script's included: it is
    installed for everyone)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if len(parts) > 2 and parts[1] in DEVNET_PARTS:
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_extra_in_pyproject_is_the_one_the_checks_name() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert _names(extras["devnet"]) == set(_extras.DEVNET_EXTRA)
    assert not _names(project["dependencies"]) & set(_extras.DEVNET_EXTRA)
    assert set(_extras.DEVNET_NEEDS) | set(_extras.CLI_NEEDS) <= set(_extras.DEVNET_EXTRA)


def test_no_sdk_module_imports_the_devnet_or_its_packages() -> None:
    """Module-level and function-level imports alike: a lazy import of starlette in the SDK would fail at run time."""
    forbidden = set(_extras.DEVNET_EXTRA)
    devnet_parts = tuple(f"smartsessions.{part}" for part in DEVNET_PARTS)
    offenders = []
    for name in sdk_modules():
        path = PACKAGE.parent.joinpath(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, node.module] if node.module else base)
                targets = [module, *(f"{module}.{a.name}" for a in node.names)]  # `from .. import devnet` too
            else:
                continue
            for target in targets:
                if name == "smartsessions.__main__" and target.startswith("smartsessions.cli"):
                    continue  # the console script runs the CLI, and says which extra to install when it cannot
                if target.split(".")[0] in forbidden or target.startswith(devnet_parts):
                    offenders.append(f"{name}: {target}")
    assert offenders == []
    modules = sdk_modules()
    assert {"smartsessions", "smartsessions.__main__", "smartsessions.mee.client"} <= set(modules)
    assert not {
        "smartsessions.devnet",
        "smartsessions.devnet.network",
        "smartsessions.cli",
        "smartsessions.testing",
        "smartsessions.testing.fixtures",
    } & set(modules)


def test_the_error_is_an_import_error_and_ours_and_says_what_to_install() -> None:
    err = ExtraNotInstalledError("smartsessions.devnet", extra="devnet", missing=["starlette"])
    assert isinstance(err, ImportError) and isinstance(err, SmartSessionsError)
    assert (err.module, err.extra, err.missing) == ("smartsessions.devnet", "devnet", ("starlette",))
    assert str(err).splitlines()[0] == (
        "smartsessions.devnet needs the devnet extra (starlette is not installed): pip install 'smartsessions[devnet]'"
    )
    with pytest.raises(ExtraNotInstalledError, match=r"\(a, b are not installed\)"):
        _extras.require_extra("x", ["a", "b", "sys"])
    _extras.require_extra("x", ["sys", "json"])  # all there: nothing raised


def run_without_the_extra(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter of this environment in which the devnet extra's packages cannot be imported
    (a ``None`` in ``sys.modules`` makes both ``import`` and ``importlib.util.find_spec`` miss them)."""
    prelude = f"import sys\nfor _name in {list(_extras.DEVNET_EXTRA)!r}:\n    sys.modules[_name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_without_the_extra_the_sdk_imports_and_the_devnet_says_which_extra_to_install() -> None:
    done = run_without_the_extra(
        f"""
        import importlib
        import smartsessions
        for name in {sdk_modules()!r}:
            importlib.import_module(name)
        print("sdk ok", len(smartsessions.__all__))
        for name in ["smartsessions.devnet", "smartsessions.devnet.node", "smartsessions.cli", "smartsessions.testing"]:
            try:
                importlib.import_module(name)
            except smartsessions.ExtraNotInstalledError as err:
                assert isinstance(err, ImportError)
                print(name, "->", str(err).splitlines()[0])
        sys.argv = ["smartsessions", "devnet", "up"]
        from smartsessions.__main__ import main
        main()
        """
    )
    assert done.stdout.splitlines() == [
        f"sdk ok {len(__import__('smartsessions').__all__)}",
        "smartsessions.devnet -> smartsessions.devnet needs the devnet extra (starlette, uvicorn are not installed): "
        "pip install 'smartsessions[devnet]'",
        "smartsessions.devnet.node -> smartsessions.devnet needs the devnet extra (starlette, uvicorn are not "
        "installed): pip install 'smartsessions[devnet]'",
        "smartsessions.cli -> smartsessions.cli needs the devnet extra (click, starlette, uvicorn are not installed): "
        "pip install 'smartsessions[devnet]'",
        "smartsessions.testing -> smartsessions.testing needs the devnet extra (starlette, uvicorn are not "
        "installed): pip install 'smartsessions[devnet]'",
    ], done.stderr
    # the console script: the hint on stderr and status 1, no traceback
    assert done.returncode == 1
    assert done.stderr.startswith("error: smartsessions.cli needs the devnet extra (click, starlette, uvicorn")
    assert "Traceback" not in done.stderr


def test_with_the_extra_the_console_script_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smartsessions", "devnet", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "up" in done.stdout and "status" in done.stdout
