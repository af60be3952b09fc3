"""Property-based fuzzing of the node's HTTP API (issue 11, "Prove it"): random and mutated bodies to every POST route
of a real node on the devnet, over loopback. Whatever the body, the answer is a 2xx or a 4xx with
``{"error": "...", "code": "<one of the node's codes>", "facts": {...}}``: never a 5xx, never a dropped connection,
and the node keeps serving.

The normal suite runs a few hundred requests (derandomized: the same every run). ``make fuzz`` runs many more, new ones
each run: ``SMARTSESSIONS_FUZZ_EXAMPLES`` sets the number of examples per property (``make fuzz`` sets 10,000, so
30,000 requests).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartsessions.devnet.node.errors import Code

from .conftest import Node, SessionSetup
from .helpers import signed

EXAMPLES = int(os.environ.get("SMARTSESSIONS_FUZZ_EXAMPLES", "80"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="SMARTSESSIONS_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
    st.sampled_from(["0x", "0x00", "0x" + "ff" * 32, "0x" + "00" * 20, "-1", "1e99", "", "null", "\ud800"]),
)
_JSON = st.recursive(
    _LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for k, child in enumerate(value):
            out += _paths(child, (*prefix, k))
    return out


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    *head, last = path
    parent = value
    for key in head:
        parent = parent[key]
    parent[last] = new
    return value


@st.composite
def _mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(body)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add", "wrap"]))
        if action == "replace" or not path:
            body = _set(body, path, draw(_JSON))
        elif action == "delete":
            *head, last = path
            parent = body
            for key in head:
                parent = parent[key]
            if isinstance(parent, dict):
                parent.pop(last, None)
            elif isinstance(parent, list) and parent:
                parent.pop(last)
        elif action == "add":
            target = body
            for key in path:
                target = target[key]
            if isinstance(target, dict):
                target[draw(_TEXT)] = draw(_JSON)
            elif isinstance(target, list):
                target.append(draw(_JSON))
        else:
            target = body
            for key in path:
                target = target[key]
            body = _set(body, path, [target])
    return body


def _raw(body: Any) -> bytes:
    return json.dumps(body).encode("utf-8", errors="surrogatepass")


def _check(node: Node, route: str, content: bytes) -> None:
    try:
        response = node.client.http.post(route, content=content, headers={"content-type": "application/json"})
    except httpx.HTTPError as exc:  # a dropped connection is a crash seen from outside
        raise AssertionError(f"POST {route}: {type(exc).__name__}: {exc}") from exc
    assert response.status_code < 500, (route, response.status_code, response.text[:500], content[:300])
    if response.status_code >= 400:
        answer = response.json()
        assert isinstance(answer, dict) and set(answer) == {"error", "code", "facts"}, answer
        assert isinstance(answer["error"], str) and answer["error"], answer
        assert answer["code"] in set(Code) and isinstance(answer["facts"], dict), answer


def test_mutated_quote_requests_are_never_a_5xx(node: Node, session: SessionSetup) -> None:
    base = session.request()

    @FUZZ
    @given(body=_mutated(base))
    def run(body: Any) -> None:
        _check(node, "/quote", _raw(body))

    run()
    assert node.client.get("/info")[0] == 200


def test_mutated_exec_bodies_are_never_a_5xx(node: Node, session: SessionSetup) -> None:
    request = session.request()
    base = signed(node.client.quote(request), session.chain.keys["session_signer"], request)

    @FUZZ
    @given(body=_mutated(base))
    def run(body: Any) -> None:
        if body == base:
            return
        _check(node, "/exec", _raw(body))

    run()
    assert node.client.get("/info")[0] == 200


def test_random_bytes_and_json_to_every_route_are_never_a_5xx(node: Node) -> None:
    @FUZZ
    @given(
        route=st.sampled_from(["/quote", "/quote-permit", "/exec"]),
        content=st.one_of(st.binary(max_size=300), _JSON.map(_raw)),
    )
    def run(route: str, content: bytes) -> None:
        _check(node, route, content)

    run()
    assert node.client.get("/info")[0] == 200
