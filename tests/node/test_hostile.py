"""Hostile and careless requests at the node's HTTP edge (issue 11, items 1 and 2): each is a 4xx naming what is wrong,
answered before any chain is asked or anything is stored, and the node keeps serving."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smartsessions.devnet.node import NodeConfig, NodeServer

from ..contracts.harness import Chain
from .conftest import Node, SessionSetup
from .helpers import NodeClient, refusal, signed, statuses

ROUTES = ["/quote", "/quote-permit", "/exec"]


def _still_serving(node: Node, session: SessionSetup) -> None:
    assert node.client.get("/info")[0] == 200
    assert node.client.post("/quote", session.request())[0] == 200


@pytest.mark.parametrize("route", ROUTES)
def test_deeply_nested_brackets_are_a_400_not_a_crash(node: Node, session: SessionSetup, route: str) -> None:
    """200 kB of nested brackets used to end the node with SIGSEGV (a dependency raises the recursion limit, so the
    JSON parser overflows the C stack)."""
    status, answer = node.client.post(route, "[" * 100_000 + "]" * 100_000)
    assert status == 400, answer
    assert refusal(answer, "INVALID_JSON").startswith("body: "), answer
    assert "nest" in answer["error"], answer
    _still_serving(node, session)


def test_a_number_of_5000_digits_is_a_400(node: Node, session: SessionSetup) -> None:
    request = json.dumps(session.request())
    body = request.replace('"quoteType"', '"huge": ' + "9" * 5000 + ', "quoteType"', 1)
    status, answer = node.client.post("/quote", body)
    assert status == 400, answer
    assert refusal(answer, "INVALID_JSON").startswith("body: "), answer


def test_a_lone_surrogate_in_metadata_is_a_400_naming_it(node: Node, session: SessionSetup) -> None:
    request = session.request()
    raw = json.dumps(request).replace('"Custom on-chain action"', '"\\ud800"', 1)
    status, answer = node.client.post("/quote", raw)
    assert status == 400, answer
    assert "userOps[0].metadata[0].description" in refusal(
        answer, "INVALID_FIELD", field="userOps[0].metadata[0].description"
    ), answer


def test_metadata_nested_1000_deep_is_a_400(node: Node, session: SessionSetup) -> None:
    request = session.request()
    deep: Any = "x"
    for _ in range(1000):
        deep = {"a": deep}
    request["userOps"][0]["metadata"] = [{"type": "CUSTOM", "deep": deep}]
    status, answer = node.client.post("/quote", json.dumps(request))
    assert status == 400, answer
    assert "nest" in refusal(answer, "INVALID_JSON"), answer


def test_a_thousand_userops_are_a_400_before_any_chain_is_asked(node: Node, session: SessionSetup) -> None:
    request = session.request()
    small = {k: v for k, v in request["userOps"][0].items() if k not in ("sessionDetails", "shortEncoding")}
    request["userOps"] = [small] * 1000  # about 0.5 MB: under the body limit
    status, answer = node.client.post("/quote", request)
    assert status == 400, answer
    error = refusal(answer, "TOO_MANY_USER_OPS", field="userOps", count=1000, max=64)
    assert error.startswith("userOps: 1000 userOps is more than this node quotes at once (64)"), answer
    _still_serving(node, session)


def test_a_body_over_the_limit_is_a_413(node: Node, session: SessionSetup) -> None:
    status, answer = node.client.post("/quote", b" " * 2_000_001)
    assert status == 413, answer
    assert refusal(answer, "BODY_TOO_LARGE", limit=2_000_000, size="2000001").startswith("body: "), answer
    _still_serving(node, session)


def test_an_exec_with_too_many_userops_is_a_400(node: Node, session: SessionSetup) -> None:
    request = session.request()
    body = signed(node.client.quote(request), session.chain.keys["session_signer"], request)
    body["userOps"] = body["userOps"] * 40
    status, answer = node.client.post("/exec", body)
    assert status == 400, answer
    error = refusal(answer, "TOO_MANY_USER_OPS", field="userOps", count=80, max=65)
    assert error.startswith("userOps: 80 userOps is more than this node ever quotes"), answer


def test_a_full_backlog_answers_503_with_retry_after(
    chains: tuple[Chain, Chain], node_config: NodeConfig, session: SessionSetup
) -> None:
    """Backpressure (issue 11, item 8): with ``max_unfinished`` super-transactions still running, /quote and /exec
    answer 503 with ``Retry-After`` instead of piling more work up; the node serves again once one is finished."""
    server = NodeServer(node_config.model_copy(update={"max_unfinished": 1})).start()
    client = NodeClient(server.url)
    try:
        c8453 = chains[0]
        redeemer = c8453.keys["session_signer"]
        waiting = session.request()
        now = c8453.timestamp()
        waiting["userOps"][0].update(lowerBoundTimestamp=now + 4, upperBoundTimestamp=now + 64)  # not due yet
        quote_hash = client.execute(signed(client.quote(waiting), redeemer, waiting))
        response = client.http.post("/quote", json=session.request())
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        error = refusal(response.json(), "BUSY", unfinished=1, maxUnfinished=1, retryAfter=2)
        assert error.startswith("node: busy with 1 unfinished super-transactions (at most 1)")
        assert statuses(client.wait(quote_hash)) == ["MINED_SUCCESS"] * 2
        assert client.post("/quote", session.request(enable=False))[0] == 200  # enabled by the first one
    finally:
        client.close()
        server.stop()


def test_quotes_leave_nothing_in_the_store_and_health_shows_it(node: Node, session: SessionSetup) -> None:
    """Item 6: the store used to keep every quote (about 30 kB each, without bound). Now only an accepted
    super-transaction is stored; ``/health`` shows what the store holds."""
    before = node.client.get("/health")[1]["store"]
    for _ in range(5):
        node.client.quote(session.request())
    after_quotes = node.client.get("/health")[1]
    assert after_quotes["status"] == "ok" and after_quotes["store"]["superTransactions"] == 0
    assert after_quotes["store"]["bytes"] == before["bytes"]
    request = session.request()
    node.client.wait(node.client.execute(signed(node.client.quote(request), session.chain.keys["session_signer"],
                                                request)))  # fmt: skip
    assert node.client.get("/health")[1]["store"]["superTransactions"] == 1
    assert node.client.get("/health")[1]["store"]["unfinished"] == 0


def test_a_re_quote_cannot_change_an_accepted_super_transaction(node: Node, session: SessionSetup) -> None:
    """Item 4: the same session request with another window (short-encoded leaves do not cover it) could come back
    with the same hash and overwrite the stored quote of an accepted super-transaction. Now a quote stores nothing,
    and a body with other windows under the accepted hash is refused: the accepted super-transaction keeps the
    windows it was accepted with."""
    chain, redeemer = session.chain, session.chain.keys["session_signer"]
    request = session.request()
    del request["simulation"]  # unsimulated, as in the report
    now = chain.timestamp()
    request["userOps"][0].update(lowerBoundTimestamp=now + 3, upperBoundTimestamp=now + 600)
    first = node.client.quote(request)
    window = [(op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) for op in first["userOps"]]
    quote_hash = node.client.execute(signed(first, redeemer, request))
    again = json.loads(json.dumps(request))
    again["userOps"][0].update(lowerBoundTimestamp=now - 56, upperBoundTimestamp=now + 4)
    node.client.quote(again)  # whatever hash it gets, it writes nothing
    assert node.client.get("/health")[1]["store"]["superTransactions"] == 1
    changed = json.loads(json.dumps(signed(first, redeemer, request)))
    for op in changed["userOps"]:
        op.update(lowerBoundTimestamp=str(now - 56), upperBoundTimestamp=str(now + 4))
    status, answer = node.client.post("/exec", changed)
    assert status == 400 and "already been scheduled" in refusal(answer, "ALREADY_SCHEDULED", hash=first["hash"])
    receipt = node.client.wait(quote_hash)
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    assert [(op["lowerBoundTimestamp"], op["upperBoundTimestamp"]) for op in receipt["userOps"]] == window
