"""One ``anvil`` process per chain: find the binary, start it on a free port, wait until it answers, stop it.

The binary comes, in this order, from ``$ANVIL_BIN``, the npm package ``@foundry-rs/anvil-linux-amd64`` pinned in the
repository's ``package.json`` (``node_modules``, searched upward from the working directory and from this package),
or ``anvil`` on ``PATH``. anvil picks its own free port (``--port 0``) and logs it, so parallel devnets never collide.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import DevnetError
from ..rpc import SyncRpcClient
from .fee_market import BaseFeeFloor

__all__ = ["DEFAULT_HARDFORK", "HARDFORKS", "AnvilProcess", "find_anvil"]

DEFAULT_HARDFORK = "prague"
#: The hardfork each anvil network family runs by default: for the OP Stack, Isthmus is the Prague-equivalent one.
HARDFORKS = {"ethereum": DEFAULT_HARDFORK, "optimism": "isthmus"}
_NPM_BIN = Path("node_modules") / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
_LISTENING = re.compile(r"Listening on (\S+):(\d+)")


def _candidates() -> list[Path]:
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    seen: list[Path] = []
    for start in starts:
        for folder in [start, *start.parents]:
            candidate = folder / _NPM_BIN
            if candidate not in seen:
                seen.append(candidate)
    return seen


def find_anvil() -> str:
    """The anvil binary to run, or a :class:`DevnetError` that says how to get one."""
    env = os.environ.get("ANVIL_BIN")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise DevnetError(
                f"ANVIL_BIN points to {env!r}, which is not an executable file.",
                meta_messages=["Unset ANVIL_BIN to use the pinned npm anvil, or point it at an anvil binary."],
            )
        return env
    for candidate in _candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise DevnetError(
        "Cannot find the anvil binary.",
        meta_messages=[
            "Run `npm ci` in the repository (it installs the pinned @foundry-rs/anvil-linux-amd64),",
            "or set ANVIL_BIN to an anvil binary, or put anvil (Foundry) on PATH.",
        ],
    )


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a hook that makes the anvil child get SIGTERM when the process that started it dies, however it
    dies (a crash, ``kill -9``): no chain outlives its devnet as an orphan. Only for a devnet started from the main
    thread (the signal follows the thread that forked, and a worker thread may end before its devnet). The hook only
    calls ``prctl``, resolved here, before the fork."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


@dataclass
class AnvilProcess:
    """A running anvil. ``url`` is its JSON-RPC endpoint on 127.0.0.1."""

    chain_id: int
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    base_fee: int | None = None
    block_time: float = 0.0
    _log: IO[bytes] | None = field(repr=False, default=None)
    _floor: BaseFeeFloor | None = field(repr=False, default=None)

    @classmethod
    def start(
        cls,
        chain_id: int,
        *,
        binary: str | None = None,
        hardfork: str | None = None,
        network: str = "ethereum",
        log_dir: Path | None = None,
        timeout: float = 20.0,
        base_fee: int | None = None,
        block_time: float = 0.0,
        extra_args: list[str] | None = None,
    ) -> AnvilProcess:
        """Start anvil for ``chain_id`` and return once it answers ``eth_chainId`` correctly.

        ``base_fee`` (wei) pins the base fee there with a :class:`BaseFeeFloor` (None: anvil's own 1 gwei, left to
        drift); ``block_time`` > 0 adds an empty block every that many seconds to the instant inclusion of
        transactions (anvil's mixed mining), so that confirmations advance as on a real chain. ``network``
        "optimism" gives the OP Stack's EIP-1559 parameters (the base fee moves by at most 0.4 % per empty block, not
        12.5 %) and its hardforks (``hardfork`` defaults to the network's Prague-equivalent)."""
        if network not in HARDFORKS:
            raise DevnetError(f"Unknown anvil network {network!r} for chain {chain_id}.", details=str(list(HARDFORKS)))
        if base_fee is not None and base_fee < 0:
            raise DevnetError(f"The base fee of chain {chain_id} must not be negative (got {base_fee}).")
        if block_time < 0:
            raise DevnetError(f"The block time of chain {chain_id} must not be negative (got {block_time}).")
        exe = binary or find_anvil()
        folder = log_dir or Path(tempfile.mkdtemp(prefix="smartsessions-anvil-"))
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / f"anvil-{chain_id}.log"
        log = log_path.open("wb")
        args = [
            exe,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--chain-id",
            str(chain_id),
            "--hardfork",
            hardfork or HARDFORKS[network],
            *([] if network == "ethereum" else ["--network", network]),
            "--gas-limit",
            "30000000",
            *([] if base_fee is None else ["--base-fee", str(base_fee)]),
            *([] if block_time == 0 else ["--mixed-mining", "--block-time", f"{block_time:g}"]),
            *(extra_args or []),
        ]
        try:
            process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        except OSError as exc:
            log.close()
            raise DevnetError(f"Cannot start anvil ({exe}).", details=str(exc), cause=exc) from exc
        anvil = cls(
            chain_id=chain_id, url="", process=process, log_path=log_path, base_fee=base_fee, block_time=block_time,
            _log=log,
        )  # fmt: skip
        anvil.url = anvil._wait_for_port(timeout)
        anvil._wait_until_ready(timeout)
        if base_fee is not None:
            anvil._floor = BaseFeeFloor(anvil.url, base_fee).start()
        return anvil

    def _wait_for_port(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevnetError(
                    f"anvil for chain {self.chain_id} exited at start (code {self.process.returncode}).",
                    details=self.log_tail(),
                )
            match = _LISTENING.search(self.log_path.read_text(errors="replace"))
            if match:
                return f"http://127.0.0.1:{match.group(2)}"
            time.sleep(0.01)
        self.stop()
        raise DevnetError(f"anvil for chain {self.chain_id} did not report its port within {timeout} s.")

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        with SyncRpcClient(self.url, timeout=2.0) as rpc:
            while time.monotonic() < deadline:
                try:
                    answered = int(rpc.request("eth_chainId"), 16)
                except Exception as exc:  # not up yet
                    last = exc
                    time.sleep(0.02)
                    continue
                if answered != self.chain_id:
                    self.stop()
                    raise DevnetError(f"anvil at {self.url} answers chain id {answered}, expected {self.chain_id}.")
                return
        self.stop()
        raise DevnetError(f"anvil at {self.url} did not answer within {timeout} s.", cause=last)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self._floor is not None:
            self._floor.stop()
            self._floor = None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
