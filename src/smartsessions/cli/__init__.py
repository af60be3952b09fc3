"""The ``smartsessions`` command: ``smartsessions devnet up / down / status``, and ``smartsessions session show /
revoke`` (:mod:`.session`).

Needs the ``devnet`` extra; without it, importing this module raises
:class:`~smartsessions.errors.ExtraNotInstalledError`, and the console script (:mod:`smartsessions.__main__`) prints
that and exits with status 1."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

try:
    import click
except ImportError:  # say which extra to install (or, if click is there but broken, re-raise as it was)
    from .._extras import CLI_NEEDS, require_extra

    require_extra(__name__, CLI_NEEDS)
    raise

from .._json import loads_bounded
from .._repr import bounded_repr
from ..errors import DevnetError, InvalidInputError, SmartSessionsError
from ._output import fail as _fail

__all__ = ["main"]

DEFAULT_STATE_FILE = "devnet.json"
MAX_INFO_BYTES = 1024 * 1024  # the node's /info is a few kB


@click.group()
@click.version_option(package_name="smartsessions")
def main() -> None:
    """Smart Sessions in Python: session-key permissions for ERC-7579 accounts through an MEE node."""


@main.group()
def devnet() -> None:
    """Local chains with the Smart Sessions contract suite at the production addresses."""


def _parse_chains(value: str) -> list[int]:
    try:
        chains = [int(c) for c in value.split(",") if c.strip()]
    except ValueError:
        raise click.BadParameter("use comma-separated chain ids, e.g. 8453,10") from None
    if not chains or any(c <= 0 for c in chains):
        raise click.BadParameter("use comma-separated positive chain ids, e.g. 8453,10")
    return chains


def _parse_base_fees(values: tuple[str, ...], chain_ids: list[int]) -> dict[int, int]:
    fees: dict[int, int] = {}
    for value in values:
        chain, sep, wei = value.partition("=")
        try:
            chain_id, fee = int(chain), int(wei.replace("_", ""))
        except ValueError:
            chain_id, fee = -1, -1
        if not sep or fee < 0 or chain_id <= 0:
            raise click.BadParameter(
                f"{value!r}: use CHAIN=WEI, e.g. 8453=5000000 (0.005 gwei)", param_hint="--base-fee"
            )
        if chain_id not in chain_ids:
            raise click.BadParameter(f"chain {chain_id} is not one of --chains {chain_ids}", param_hint="--base-fee")
        fees[chain_id] = fee
    return fees


def _fees_line(chain: dict[str, Any]) -> str:
    fee, block_time = chain.get("baseFee"), chain.get("blockTime")
    price = "anvil's default" if fee is None else f"{fee} wei ({fee / 1e9:g} gwei)"
    blocks = f"a block every {block_time:g} s" if block_time else "blocks on demand"
    return f"  {'base fee':<28} {price}, {blocks}"


def _summary(state: dict[str, Any]) -> str:
    lines = []
    for chain in state["chains"]:
        lines.append(click.style(f"chain {chain['chainId']}", bold=True) + f"  {chain['rpcUrl']}")
        lines.append(_fees_line(chain))
        for name, address in chain["contracts"].items():
            lines.append(f"  {name:<28} {address}")
    lines.append(click.style("funded test keys (devnet only, never use them elsewhere)", bold=True))
    for key in state["keys"]:
        lines.append(f"  {key['role']:<15} {key['address']}  {key['privateKey']}")
    node = state.get("node")
    if node:
        lines.append(click.style("MEE node", bold=True) + f"  {node['url']}")
        lines.append(f"  {'address':<15} {node['address']}")
        lines.append(f"  {'x-api-key':<15} {node['apiKey'] or '(none)'}")
    return "\n".join(lines)


@devnet.command()
@click.option("--chains", default="8453,10", show_default=True, help="Comma-separated chain ids.")
@click.option(
    "--state-file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_STATE_FILE, show_default=True
)
@click.option("--background", is_flag=True, help="Return once everything is ready; stop with `devnet down`.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="anvil logs.")
@click.option("--no-node", is_flag=True, help="Start only the chains, not the local MEE node.")
@click.option("--node-port", type=int, default=0, show_default=True, help="The MEE node's port (0: a free one).")
@click.option("--node-api-key", default=None, help="The node's x-api-key (default: a random one; '' for none).")
@click.option(
    "--base-fee",
    "base_fee",
    multiple=True,
    metavar="CHAIN=WEI",
    help="A chain's base fee in wei, held there (default: the chain's own minimum, e.g. Base 5000000, OP 100000).",
)
@click.option(
    "--block-time",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds between blocks when nobody transacts (default: the chain's, 2 for Base and OP; 0: only on demand).",
)
def up(
    chains: str,
    state_file: Path,
    background: bool,
    log_dir: Path | None,
    no_node: bool,
    node_port: int,
    node_api_key: str | None,
    base_fee: tuple[str, ...],
    block_time: float | None,
) -> None:
    """Start the chains, deploy the suite, fund the test keys, start the MEE node, and write the state file."""
    chain_ids = _parse_chains(chains)
    base_fees = _parse_base_fees(base_fee, chain_ids)
    child_args = ["--no-node"] if no_node else ["--node-port", str(node_port)]
    if node_api_key is not None:
        child_args += ["--node-api-key", node_api_key]
    for chain_id, fee in base_fees.items():
        child_args += ["--base-fee", f"{chain_id}={fee}"]
    if block_time is not None:
        child_args += ["--block-time", f"{block_time:g}"]
    if background:
        _up_background(chain_ids, state_file, log_dir, child_args)
        return
    from ..devnet.network import Devnet

    try:
        net = Devnet.start(
            chain_ids,
            log_dir=log_dir,
            progress=lambda m: click.echo(m, err=True),
            base_fees=base_fees,
            block_time=block_time,
        )
    except SmartSessionsError as err:
        _fail(err)
    if not no_node:
        api_key = f"mee_devnet_{secrets.token_hex(12)}" if node_api_key is None else (node_api_key or None)
        try:
            node = net.start_node(api_key=api_key, port=node_port)
        except SmartSessionsError as err:
            net.stop()
            _fail(err)
        click.echo(f"MEE node at {node.url}", err=True)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        net.write_state(state_file)
        click.echo(_summary(net.state()))
        click.echo(f"\nstate written to {state_file}; Ctrl-C (or `smartsessions devnet down`) stops the devnet")
        while not stop and all(p.running for p in net.processes.values()) and (no_node or net.node.running):
            time.sleep(0.2)
    finally:
        net.stop()
        mine = _state_if_there(state_file)
        if mine is not None and mine["pid"] == os.getpid():
            state_file.unlink(missing_ok=True)
        click.echo("devnet stopped", err=True)


def _state_if_there(state_file: Path) -> dict[str, Any] | None:
    """The state in ``state_file``; None if there is none (yet), or what is there is not a state file."""
    from ..devnet.network import read_state

    try:
        return read_state(state_file)
    except DevnetError:
        return None


def _up_background(chain_ids: list[int], state_file: Path, log_dir: Path | None, child_args: list[str]) -> None:
    if state_file.exists():
        _fail(SmartSessionsError(f"{state_file} exists: a devnet may be running. Run `smartsessions devnet down`."))
    log = state_file.with_suffix(".log")
    args = [sys.executable, "-m", "smartsessions.cli", "devnet", "up", "--chains", ",".join(map(str, chain_ids))]
    args += ["--state-file", str(state_file)]
    if log_dir is not None:
        args += ["--log-dir", str(log_dir)]
    args += child_args
    with log.open("wb") as out:
        child = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if child.poll() is not None:
            _fail(SmartSessionsError("The devnet failed to start.", details=log.read_text(errors="replace")[-2000:]))
        state = _state_if_there(state_file)
        if state is not None and state["pid"] == child.pid:
            click.echo(_summary(state))
            click.echo(f"\ndevnet running in the background (pid {child.pid}); log {log}; state {state_file}")
            return
        time.sleep(0.05)
    child.terminate()
    _fail(SmartSessionsError("The devnet did not become ready within 120 s.", details=str(log)))


@devnet.command()
@click.option(
    "--state-file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_STATE_FILE, show_default=True
)
def down(state_file: Path) -> None:
    """Stop a devnet started with `devnet up --background`."""
    from ..devnet.network import read_state

    try:
        state = read_state(state_file)
    except SmartSessionsError as err:
        _fail(err)
    pid = int(state["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        state_file.unlink(missing_ok=True)
        click.echo(f"no devnet process {pid}; removed the stale {state_file}")
        return
    except PermissionError:
        _fail(
            DevnetError(
                f"Process {pid} of {state_file} is another user's: the file is stale, or not this user's devnet.",
                meta_messages=["Fix: delete the file if no devnet of yours runs from it."],
            )
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    state_file.unlink(missing_ok=True)
    click.echo(f"devnet (pid {pid}) stopped")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there is such a process, another user's
        return True
    try:  # a zombie child of ours is not alive
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


@devnet.command()
@click.option(
    "--state-file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_STATE_FILE, show_default=True
)
def status(state_file: Path) -> None:
    """Report whether the devnet of the state file is running, and its chains."""
    from ..devnet.network import read_state
    from ..rpc import SyncRpcClient, quantity

    try:
        state = read_state(state_file)
    except SmartSessionsError as err:
        _fail(err)
    pid = int(state["pid"])
    click.echo(f"devnet pid {pid}: {'running' if _alive(pid) else 'NOT running'}")
    for chain in state["chains"]:
        try:
            with SyncRpcClient(chain["rpcUrl"], timeout=2.0) as rpc:
                block = quantity(rpc.request("eth_blockNumber"), what="eth_blockNumber")
            click.echo(f"  chain {chain['chainId']}: {chain['rpcUrl']} up, block {block}")
        except SmartSessionsError:
            click.echo(f"  chain {chain['chainId']}: {chain['rpcUrl']} DOWN")
    node = state.get("node")
    if node:
        import httpx

        headers = {"x-api-key": node["apiKey"]} if node.get("apiKey") else {}
        answer = bytearray()
        try:
            with httpx.stream("GET", f"{node['url']}/info", headers=headers, timeout=2.0) as response:
                for chunk in response.iter_bytes():  # no more than loads_bounded would take
                    answer += chunk
                    if len(answer) > MAX_INFO_BYTES:
                        break
        except httpx.HTTPError:
            click.echo(f"  MEE node: {node['url']} DOWN")
            return
        try:
            info = loads_bounded(answer, field="/info", max_bytes=MAX_INFO_BYTES, refuse_lone_surrogates=True)
        except InvalidInputError as exc:
            click.echo(f"  MEE node: {node['url']} answers /info with something that {exc.problem}")
            return
        if not isinstance(info, dict):
            click.echo(f"  MEE node: {node['url']} answers /info with a JSON {type(info).__name__}, not its info")
            return
        click.echo(f"  MEE node: {node['url']} up ({_shown(info.get('version'))}, node {_shown(info.get('node'))})")


def _shown(value: object) -> str:
    """A value from the node's answer, as the terminal can show it: a short printable string as it is, else its
    bounded repr (no escape sequences, no megabytes)."""
    if isinstance(value, str) and len(value) <= 80 and value.isprintable():
        return value
    return bounded_repr(value, 80)


from .session import session as _session  # noqa: E402  (the group needs `main` defined first)

main.add_command(_session)

if __name__ == "__main__":
    main()
