"""`pip install` of the repository into a fresh venv, as a user does: without extras it is the SDK alone (no starlette,
uvicorn or click), whose pure functions compute what this environment computes and whose client talks to a running
node; the `devnet` extra adds the devnet, the node and the `smartsessions` command, which then starts a devnet.

One venv for both steps (the SDK-alone checks all run before the extra is installed): about 30 s, most of it pip
(dependencies come from pip's cache after the first run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from smartsessions import ChainConfiguration, to_multichain_nexus_account
from smartsessions.devnet.anvil import find_anvil
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer

from ..unit.test_extras import sdk_modules
from .conftest import API_KEY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
#: What the build reads (an sdist's content). The install builds from a copy of them, so that the build's own output
#: (build/, *.egg-info) never lands in the checkout and node_modules and .venv are never part of it.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")
HINT = "pip install 'smartsessions[devnet]'"
EXTRA = ("starlette", "uvicorn", "click")
FOUND = f"import importlib.util as u; print([bool(u.find_spec(n)) for n in {EXTRA!r}])"

# The same script runs here and in the fresh venv: grant offline, JSON round trip, ids, policies.
PURE = """
import json
from eth_account import Account
import smartsessions as ss
from smartsessions.sessions import grant_permission_offline

owner, session_key = Account.from_key("0x" + "11" * 32), Account.from_key("0x" + "22" * 32)
usdc = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
limit = ss.get_universal_action_policy(param_rules=[
    ss.ParamRule(condition=ss.ParamCondition.EQUAL, offset=0, ref="0x000000000000000000000000000000000000dEaD"),
    ss.ParamRule(condition=ss.ParamCondition.LESS_THAN_OR_EQUAL, offset=32, ref=100 * 10**6, is_limited=True,
                 usage={"limit": 1_000 * 10**6}),
])
window = ss.get_time_frame_policy(valid_until=2_000_000_000, valid_after=1_700_000_000)
details = grant_permission_offline(
    signer=owner, redeemer=session_key.address,
    actions=[ss.ActionConfig(chain_id=8453, action_target=usdc, action_target_selector="0xa9059cbb",
                             action_policies=[limit, window])],
    accounts={8453: "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D"}, nonces={8453: 0}, versions="2.1.0",
    salts=["0x" + "33" * 32],  # the salt is random by default
)
text = ss.session_details_to_json(details)
assert ss.session_details_from_json(text) == details
session = details[0].enable_session_data.enable_session.session_to_enable
print(json.dumps({
    "permissionId": "0x" + bytes(ss.get_permission_id(session)).hex(),
    "actionId": "0x" + bytes(ss.get_action_id(target=usdc, selector="0xa9059cbb")).hex(),
    "policy": limit.model_dump(mode="json"),
    "details": json.loads(text),
}))
"""

CLIENT = """
import asyncio, json, sys
from eth_account import Account
from smartsessions import ChainConfiguration, create_mee_client, to_multichain_nexus_account

async def main(node_url, api_key, rpc_url, owner_key):
    config = ChainConfiguration(chain_id=8453, rpc_url=rpc_url, version="2.1.0")
    account = await to_multichain_nexus_account(signer=Account.from_key(owner_key), chain_configurations=[config])
    client = await create_mee_client(account=account, url=node_url, api_key=api_key)  # reads /info
    try:
        info = await client.get_info()
        chains = [c.chain_id for c in info.supported_chains]
        print(json.dumps({"account": account.address, "node": info.node, "chains": chains}))
    finally:
        await client.aclose()
        await account.aclose()

asyncio.run(main(*sys.argv[1:]))
"""


def _venv_env() -> dict[str, str]:
    """This process's environment without what would let the venv see this environment's packages."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env or _venv_env(), capture_output=True, text=True, timeout=timeout
    )
    return done.returncode, done.stdout, done.stderr


def ok(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    code, out, err = run(*args, cwd=cwd, env=env, timeout=timeout)
    assert code == 0, f"{args[:3]} exited {code}:\n{out}\n{err[-3000:]}"
    return out


def script(code: str) -> str:
    return textwrap.dedent(code).strip() + "\n"


async def test_pip_install_gives_the_sdk_alone_and_the_devnet_extra_adds_the_devnet(
    tmp_path: Path, devnet: Devnet, node: NodeServer
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, project / name)
    work = tmp_path / "work"  # the venv's scripts run here: nothing of the repository on sys.path
    work.mkdir()
    ok(sys.executable, "-m", "venv", tmp_path / "venv", cwd=work)
    py, command = tmp_path / "venv" / "bin" / "python", tmp_path / "venv" / "bin" / "smartsessions"
    ok(py, "-m", "pip", "install", "--quiet", project, cwd=work, timeout=600)

    # -- the SDK alone ------------------------------------------------------------------------------------------------
    assert ok(py, "-c", FOUND, cwd=work).strip() == "[False, False, False]"
    for name in EXTRA:
        code, _, err = run(py, "-c", f"import {name}", cwd=work)
        assert code == 1 and f"No module named '{name}'" in err

    # every SDK module imports; the installed files are the package alone (the contract artifacts included)
    listing = ok(
        py,
        "-c",
        script(
            f"""
            import importlib, importlib.metadata, json
            for name in {sdk_modules()!r}:
                importlib.import_module(name)
            print(json.dumps(sorted(str(f) for f in importlib.metadata.files("smartsessions"))))
            """
        ),
        cwd=work,
    )
    files = json.loads(listing)
    assert "smartsessions/__init__.py" in files and "smartsessions/devnet/artifacts/EntryPoint.json" in files
    assert [f for f in files if not f.startswith(("smartsessions/", "smartsessions-", "../../../bin/"))] == []

    # the pure functions compute what this environment computes
    mine = ok(sys.executable, "-c", PURE, cwd=work, env=dict(os.environ))
    theirs = ok(py, "-c", PURE, cwd=work)
    assert theirs == mine
    assert json.loads(theirs)["permissionId"].startswith("0x") and len(json.loads(theirs)["details"]) == 1

    # the devnet says which extra to install: an ImportError that is also ours
    answer = ok(
        py,
        "-c",
        script(
            """
            import smartsessions
            for name in ("smartsessions.devnet", "smartsessions.devnet.node"):
                try:
                    __import__(name)
                except ImportError as err:
                    print(isinstance(err, smartsessions.SmartSessionsError), str(err).splitlines()[0])
            """
        ),
        cwd=work,
    )
    line = f"True smartsessions.devnet needs the devnet extra (starlette, uvicorn are not installed): {HINT}"
    assert answer.splitlines() == [line, line]
    # the console script is there, prints the hint and exits 1, without a traceback
    code, out, err = run(command, "devnet", "up", cwd=work)
    assert code == 1 and out == ""
    hint = f"error: smartsessions.cli needs the devnet extra (click, starlette, uvicorn are not installed): {HINT}"
    assert err.startswith(hint)
    assert "Traceback" not in err

    # the client talks to a running node (this environment's, on the tests' devnet)
    owner = devnet.key("owner").private_key
    seen = json.loads(ok(py, "-c", CLIENT, node.url, API_KEY, devnet.url(8453), owner, cwd=work))
    config = ChainConfiguration(chain_id=8453, rpc_url=devnet.url(8453), version="2.1.0")
    account = await to_multichain_nexus_account(signer=Account.from_key(owner), chain_configurations=[config])
    await account.aclose()
    assert seen == {"account": account.address, "node": node.address, "chains": [8453, 10]}

    # -- with the devnet extra ----------------------------------------------------------------------------------------
    ok(py, "-m", "pip", "install", "--quiet", f"{project}[devnet]", cwd=work, timeout=600)
    assert ok(py, "-c", FOUND, cwd=work).strip() == "[True, True, True]"
    usage = ok(command, "devnet", "--help", cwd=work)
    assert "up" in usage and "down" in usage and "status" in usage
    # and it starts a devnet with its node (the venv's own Python runs both); anvil as this environment finds it
    env = {**_venv_env(), "ANVIL_BIN": find_anvil()}
    state_file = work / "devnet.json"
    try:
        args = ("devnet", "up", "--background", "--chains", "8453", "--state-file", state_file)
        up = ok(command, *args, cwd=work, env=env, timeout=180)
        assert "chain 8453" in up
        state = json.loads(state_file.read_text())
        info = httpx.get(f"{state['node']['url']}/info", headers={"x-api-key": state["node"]["apiKey"]}, timeout=10)
        assert info.status_code == 200 and [c["chainId"] for c in info.json()["supportedChains"]] == ["8453"]
    finally:
        run(command, "devnet", "down", "--state-file", state_file, cwd=work, env=env)
    assert not state_file.exists()
