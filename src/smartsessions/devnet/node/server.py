"""Serving the node: on a background thread of this process (``smartsessions devnet up``, tests), or as its own
process (``python -m smartsessions.devnet.node --config node.json``, which prints one JSON line with its URL once it
serves)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from ...errors import DevnetError
from .app import create_app
from .config import NodeConfig

__all__ = ["NodeServer", "bind", "serve"]


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """The listening socket, created with ``IPPROTO_TCP`` explicitly: asyncio sets TCP_NODELAY on accepted sockets
    only when their protocol says TCP, and uvicorn writes a response's head and body separately, so with Nagle on
    every answer on a kept-alive connection waited for the client's delayed ACK (up to 40 ms)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()


def _uvicorn_config(config: NodeConfig, **kwargs: Any) -> uvicorn.Config:
    return uvicorn.Config(create_app(config), log_level="warning", lifespan="on", access_log=False, **kwargs)


def serve(config: NodeConfig, sock: socket.socket, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM), in this thread."""
    server = _Server(_uvicorn_config(config), on_ready)
    server.run(sockets=[sock])


class NodeServer:
    """The node on a daemon thread; ``url`` is the SDK's base URL (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, config: NodeConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self._sock = bind(host, port)
        self.host, self.port = self._sock.getsockname()[:2]
        self._server = _Server(_uvicorn_config(config))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def address(self) -> str:
        return self.config.address

    def start(self, timeout: float = 20.0) -> NodeServer:
        def run() -> None:
            try:
                asyncio.run(self._server.serve(sockets=[self._sock]))
            except BaseException as exc:  # reported by start()/stop()
                self._error = exc

        self._thread = threading.Thread(target=run, name="mee-node", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise DevnetError("The local MEE node did not start.", details=repr(self._error), cause=self._error)
            time.sleep(0.01)
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> NodeServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
