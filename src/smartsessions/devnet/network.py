"""A running devnet: anvil chains with the suite deployed, and the state file other processes read.

``devnet.json`` is the contract between ``smartsessions devnet up`` and everything that uses the devnet (tests, the
examples, the reference client runs): each chain's id, RPC URL, base fee and block time, every contract address, and
the funded test keys.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from .._json import loads_bounded
from .._repr import bounded_repr
from ..errors import DevnetError, InvalidInputError
from ..rpc import SyncRpcClient
from .anvil import AnvilProcess, find_anvil
from .deploy import DeployedChain, TestKey, deploy_suite, test_keys
from .fee_market import chain_profile

__all__ = ["DEFAULT_CHAIN_IDS", "STATE_VERSION", "Devnet", "read_state"]

DEFAULT_CHAIN_IDS = (8453, 10)
STATE_VERSION = 1


@dataclass
class Devnet:
    """Chains (and the MEE node, once :meth:`start_node` ran) started by this process. Stop it with :meth:`stop` or a
    ``with`` block."""

    chains: dict[int, DeployedChain]
    processes: dict[int, AnvilProcess]
    keys: list[TestKey]
    started_at: float = field(default_factory=time.time)
    node: Any = None  # a smartsessions.devnet.node.NodeServer, once started
    node_api_key: str | None = None

    @classmethod
    def start(
        cls,
        chain_ids: Sequence[int] = DEFAULT_CHAIN_IDS,
        *,
        log_dir: Path | None = None,
        progress: Callable[[str], None] | None = None,
        base_fees: Mapping[int, int] | None = None,
        block_time: float | None = None,
    ) -> Devnet:
        """Start the chains and deploy the suite on each.

        Each chain's base fee and block time come from its :func:`~smartsessions.devnet.fee_market.chain_profile`
        (Base's and OP Mainnet's figures for 8453 and 10); ``base_fees`` ({chainId: wei}) and ``block_time`` (seconds
        for every chain; 0 for blocks only on demand) override them."""
        if len(set(chain_ids)) != len(chain_ids) or not chain_ids:
            raise DevnetError("Chain ids must be distinct, and at least one is needed.", details=str(list(chain_ids)))
        unknown = sorted(set(base_fees or {}) - set(chain_ids))
        if unknown:
            raise DevnetError(
                f"A base fee was given for chain(s) {unknown}, which this devnet does not start.",
                meta_messages=[f"The chains are {list(chain_ids)}."],
            )
        say = progress or (lambda _msg: None)
        binary = find_anvil()
        processes: dict[int, AnvilProcess] = {}
        chains: dict[int, DeployedChain] = {}
        cache: dict[tuple[str, bytes], bytes] = {}
        try:
            for chain_id in chain_ids:
                profile = chain_profile(chain_id)
                processes[chain_id] = AnvilProcess.start(
                    chain_id,
                    binary=binary,
                    log_dir=log_dir,
                    base_fee=(base_fees or {}).get(chain_id, profile.min_base_fee),
                    block_time=profile.block_time if block_time is None else block_time,
                    network=profile.network,
                )
                anvil = processes[chain_id]
                blocks = f"a block every {anvil.block_time:g} s" if anvil.block_time else "blocks on demand"
                say(f"chain {chain_id}: anvil at {anvil.url}, base fee {anvil.base_fee} wei, {blocks}")
                with SyncRpcClient(processes[chain_id].url) as rpc:
                    chains[chain_id] = deploy_suite(rpc, chain_id=chain_id, runtime_cache=cache, progress=say)
                say(f"chain {chain_id}: suite deployed in {chains[chain_id].seconds * 1000:.0f} ms")
        except BaseException:
            for process in processes.values():
                process.stop()
            raise
        return cls(chains=chains, processes=processes, keys=test_keys())

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start_node(self, *, database: Path | None = None, api_key: str | None = None, port: int = 0) -> Any:
        """Serve the local MEE node for these chains on a thread of this process; :meth:`stop` stops it too.

        ``database`` defaults to a fresh SQLite file in a temporary folder (the chains are fresh too)."""
        from .node import NodeServer, devnet_node_config

        if database is None:
            database = Path(tempfile.mkdtemp(prefix="smartsessions-node-")) / "node.sqlite"
        config = devnet_node_config(self, database=database, api_key=api_key)
        self.node = NodeServer(config, port=port).start()
        self.node_api_key = api_key
        return self.node

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
        for process in self.processes.values():
            process.stop()

    def url(self, chain_id: int) -> str:
        try:
            return self.chains[chain_id].url
        except KeyError:
            raise DevnetError(f"Chain {chain_id} is not part of this devnet.", details=str(list(self.chains))) from None

    def rpc(self, chain_id: int) -> SyncRpcClient:
        return SyncRpcClient(self.url(chain_id))

    def key(self, role: str) -> TestKey:
        for key in self.keys:
            if key.role == role:
                return key
        raise DevnetError(f"No test key with role {role!r}.", details=", ".join(k.role for k in self.keys))

    def state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "pid": os.getpid(),
            "startedAt": int(self.started_at),
            "chains": [
                {
                    "chainId": c.chain_id,
                    "rpcUrl": c.url,
                    "baseFee": self.processes[c.chain_id].base_fee,
                    "blockTime": self.processes[c.chain_id].block_time,
                    "contracts": c.contracts,
                }
                for c in self.chains.values()
            ],
            "keys": [{"role": k.role, "address": k.address, "privateKey": k.private_key} for k in self.keys],
            "node": None
            if self.node is None
            else {"url": self.node.url, "apiKey": self.node_api_key, "address": self.node.address},
        }

    def write_state(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2) + "\n")
        tmp.replace(path)  # atomic: a reader never sees half a file


#: A state file of a few chains is a few kB; a file far larger is something else (and is not read whole).
MAX_STATE_BYTES = 4 * 1024 * 1024
_NOT_OURS_FIX = (
    "Fix: delete the file if no devnet runs from it, or pass --state-file with the file `smartsessions devnet up` "
    "wrote."
)


class _Shape(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, strict=True)


class _ChainState(_Shape):
    chain_id: int
    rpc_url: str
    base_fee: int | None = None
    block_time: float | None = None
    contracts: dict[str, str]


class _KeyState(_Shape):
    role: str
    address: str
    private_key: str


class _NodeState(_Shape):
    url: str
    api_key: str | None
    address: str


class _State(_Shape):
    """What :meth:`Devnet.state` writes (checked before the CLI reads it; the dict itself is returned)."""

    version: int
    # 0 and -1 would make `devnet down` signal a whole process group, or every process of the user
    pid: int = Field(gt=1, lt=2**31)
    started_at: int | None = None
    chains: list[_ChainState]
    keys: list[_KeyState]
    node: _NodeState | None = None


def _not_ours(path: Path, problem: str, cause: BaseException | None = None) -> DevnetError:
    return DevnetError(
        f"{path} is not a devnet state file written by smartsessions: {problem}.",
        meta_messages=[_NOT_OURS_FIX],
        cause=cause,
    )


def read_state(path: Path) -> dict[str, Any]:
    """The state file ``smartsessions devnet up`` wrote at ``path``; a file missing, unreadable, or of another shape
    (corrupt, foreign, huge, another version) is a :class:`DevnetError` naming it and what to do."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        raise DevnetError(
            f"No devnet state file at {path}.", meta_messages=["Start one with `smartsessions devnet up`."]
        ) from None
    except OSError as exc:
        raise DevnetError(
            f"Cannot read the devnet state file {path}: {exc.strerror or exc}.",
            meta_messages=["Fix: pass --state-file with a file you can read."],
            cause=exc,
        ) from exc
    try:
        state = loads_bounded(data, field="", max_bytes=MAX_STATE_BYTES, max_depth=8, refuse_lone_surrogates=True)
    except InvalidInputError as exc:
        where = exc.field.lstrip(".")  # the JSON path of a string that is not Unicode text; "" for the file
        raise _not_ours(path, f"`{where}`: {exc.problem}" if where else exc.problem, exc) from exc
    if not isinstance(state, dict):
        raise _not_ours(path, f"it holds a JSON {type(state).__name__}, not an object")
    if state.get("version") != STATE_VERSION:
        raise DevnetError(
            f"The devnet state file {path} has an unknown version {bounded_repr(state.get('version'))}.",
            meta_messages=[f"This smartsessions reads version {STATE_VERSION}. {_NOT_OURS_FIX}"],
        )
    try:
        _State.model_validate(state)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        raise _not_ours(path, f"`{where}`: {first['msg']}", exc) from exc
    return state
