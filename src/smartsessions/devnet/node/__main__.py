"""``python -m smartsessions.devnet.node --config node.json [--host H] [--port P]``: serve the node in this process.

Once it serves, it prints one JSON line ``{"url": ..., "address": ..., "pid": ...}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .config import NodeConfig
from .server import bind, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartsessions.devnet.node", description=__doc__)
    parser.add_argument("--config", required=True, type=Path, help="NodeConfig as JSON")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpcore"):  # one INFO line per request to a chain: a log write each, no news
        logging.getLogger(chatty).setLevel(logging.WARNING)
    config = NodeConfig.model_validate_json(args.config.read_text())
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]

    def ready() -> None:
        line = {"url": f"http://{host}:{port}/v1", "address": config.address, "pid": os.getpid()}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    serve(config, sock, ready)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
