"""An attacker between the SDK and the MEE node, for real: an HTTP proxy on its own port that forwards every request
to the node and may rewrite the client's request on its way in, or the node's answer on its way out.

A rewritten quote is made whole again before it goes on (:func:`rehashed`): every ``userOpHash`` and
``meeUserOpHash`` worked out from the changed fields, their Merkle root as ``hash``, and a commitment the attacker
signs over it, naming the attacker as the quote's ``node``. So the only thing between a changed quote and a
signature is what the SDK checks against what it asked for."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount

from smartsessions.encoding.quote import SuperTxEntry, get_super_tx_tree
from smartsessions.encoding.userop import get_mee_user_op_hash, get_user_op_hash
from smartsessions.signer import personal_sign
from smartsessions.wire.mee import FilledUserOp, from_wire

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


def rehashed(quote: dict[str, Any], attacker: LocalAccount) -> dict[str, Any]:
    """``quote`` with every hash its fields give, committed to by ``attacker`` as its node."""
    entries = []
    for op in quote["userOps"]:
        user_op_hash = get_user_op_hash(from_wire(FilledUserOp, op["userOp"]).to_packed(), chain_id=int(op["chainId"]))
        lower, upper = int(op["lowerBoundTimestamp"]), int(op["upperBoundTimestamp"])
        mee_hash = get_mee_user_op_hash(user_op_hash, lower_bound_timestamp=lower, upper_bound_timestamp=upper)
        op["userOpHash"] = "0x" + bytes(user_op_hash).hex()
        op["meeUserOpHash"] = "0x" + bytes(mee_hash).hex()
        entries.append(
            SuperTxEntry(
                user_op_hash=user_op_hash,
                lower_bound_timestamp=lower,
                upper_bound_timestamp=upper,
                short_encoding=bool(op.get("shortEncoding")),
            )
        )
    root = get_super_tx_tree(entries).root
    quote["hash"] = "0x" + bytes(root).hex()
    quote["node"] = attacker.address
    quote["commitment"] = "0x" + bytes(personal_sign(attacker, root)).hex()
    return quote


class TamperProxy:
    """Forwards ``/v1/...`` to ``target`` (the node's base URL). ``on_request[path]`` rewrites a POST body before it
    is forwarded; ``on_answer[path]`` rewrites a 2xx JSON answer before it is returned. ``posts`` counts the POSTs
    that reached the node, by path."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.on_request: dict[str, Rewrite] = {}
        self.on_answer: dict[str, Rewrite] = {}
        self.posts: dict[str, int] = {}
        self._http = httpx.Client(timeout=60.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._forward("GET", None)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                self._forward("POST", self.rfile.read(length))

            def _forward(self, method: str, body: bytes | None) -> None:
                path = self.path.removeprefix("/v1/").split("?")[0]
                if body is not None and path in proxy.on_request:
                    body = json.dumps(proxy.on_request[path](json.loads(body))).encode()
                if method == "POST":
                    proxy.posts[path] = proxy.posts.get(path, 0) + 1
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("x-api-key", "content-type")}
                answer = proxy._http.request(
                    method, proxy.target + "/" + self.path.removeprefix("/v1/"), content=body, headers=headers
                )
                out = answer.content
                if answer.is_success and path in proxy.on_answer:
                    out = json.dumps(proxy.on_answer[path](answer.json())).encode()
                self.send_response(answer.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()
