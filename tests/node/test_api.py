"""The node's HTTP surface: /info, the API key, the error shape, and malformed bodies (400 naming the field)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.node.quote_request import DEFAULT_WINDOW
from smartsessions.wire.mee import GetInfoPayload, from_wire

from ..contracts.harness import Chain
from .conftest import Node, SessionSetup
from .helpers import NodeClient, refusal


def test_info_lists_the_chains_and_their_usdc(node: Node, chains: tuple[Chain, Chain]) -> None:
    status, body = node.client.get("/info")
    assert status == 200
    info = from_wire(GetInfoPayload, body)
    assert info.node == node.server.address == chains[0].keys["node"].address
    assert [c.chain_id for c in info.supported_chains] == [8453, 10]
    assert body["supportedChains"][0] == {"chainId": "8453", "name": "Base"}  # chain ids as decimal strings
    for chain_id in (8453, 10):
        token = info.gas_token(chain_id, usdc_address(chain_id))
        assert token is not None and token.symbol == "USDC" and token.decimals == 6 and token.permit_enabled
    assert body["supportedGasTokens"][0]["paymentTokens"][0]["decimals"] == 6  # a number, not a string
    assert body["supported_wallet_providers"] == []
    assert info.version.startswith("smartsessions-devnet-node/")


def test_the_info_answer_byte_for_byte(node: Node, chains: tuple[Chain, Chain]) -> None:
    expected = {
        "version": "smartsessions-devnet-node/0.1.0",
        "node": chains[0].keys["node"].address,
        "supportedChains": [{"chainId": "8453", "name": "Base"}, {"chainId": "10", "name": "OP Mainnet"}],
        "supportedGasTokens": [
            {
                "chainId": str(chain_id),
                "paymentTokens": [
                    {
                        "name": "USD Coin",
                        "address": usdc_address(chain_id),
                        "symbol": "USDC",
                        "decimals": 6,
                        "permitEnabled": True,
                    }
                ],
                "isArbitraryFeeTokensSupported": False,
            }
            for chain_id in (8453, 10)
        ],
        "supported_wallet_providers": [],
    }
    response = node.client.http.get("/info")
    assert response.status_code == 200
    assert response.content == json.dumps(expected, separators=(",", ":")).encode()


@pytest.mark.parametrize("key", [None, "wrong"])
def test_the_api_key_is_required_when_configured(node: Node, key: str | None) -> None:
    client = NodeClient(node.url, api_key=key)
    try:
        for status, body in (client.get("/info"), client.post("/quote", {}), client.get(f"/explorer/0x{'00' * 32}")):
            assert status == 401
            assert body == {
                "error": "x-api-key: missing or wrong API key for this node",
                "code": "API_KEY_INVALID",
                "facts": {},
            }
    finally:
        client.close()


def test_unknown_routes_and_hashes_answer_json_errors(node: Node) -> None:
    status, body = node.client.get("/nothing-here")
    assert status == 404 and body == {
        "error": "Not Found",
        "code": "ROUTE_NOT_FOUND",
        "facts": {"path": "/v1/nothing-here"},
    }
    status, body = node.client.get("/quote")
    assert status == 405 and body == {
        "error": "Method Not Allowed",
        "code": "METHOD_NOT_ALLOWED",
        "facts": {"method": "GET", "path": "/v1/quote"},
    }
    status, body = node.client.get(f"/explorer/0x{'ab' * 32}")
    assert status == 404
    error = refusal(body, "UNKNOWN_SUPER_TRANSACTION", hash="0x" + "ab" * 32)
    assert error.startswith(f"hash: no super-transaction 0x{'ab' * 32} was executed")
    status, body = node.client.get("/explorer/0x1234")
    assert status == 400 and refusal(body, "INVALID_FIELD", field="hash").startswith("hash: expected exactly 32 bytes")


def _set(body: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


_DELETE = object()


_WINDOW_ENDED = object()  # the window is set from the chain's clock: an hour ago, for 100 s


@pytest.mark.parametrize(
    ("path", "value", "error", "code", "facts"),
    [
        (["userOps"], _DELETE, "userOps: is required", "INVALID_FIELD", {"field": "userOps"}),
        (["userOps", 0, "callData"], "c0ffee", "userOps[0].callData: hex strings must start with 0x",
         "INVALID_FIELD", {"field": "userOps[0].callData"}),
        (["userOps", 0, "callData"], "0xabc", "userOps[0].callData: hex string has an odd number of digits",
         "INVALID_FIELD", {"field": "userOps[0].callData"}),
        (["userOps", 0, "nonce"], "twelve", "userOps[0].nonce: not an integer",
         "INVALID_FIELD", {"field": "userOps[0].nonce"}),
        (["userOps", 0, "sender"], "0x1234", "userOps[0].sender: not a 20-byte hex address",
         "INVALID_FIELD", {"field": "userOps[0].sender"}),
        (["userOps", 0, "chainId"], "42", "userOps[0].chainId: chain 42 is not supported (supported: [10, 8453])",
         "CHAIN_NOT_SERVED", {"field": "userOps[0].chainId", "chainId": 42, "supported": [10, 8453]}),
        (["userOps", 0], "an op", "userOps[0]: must be a JSON object", "INVALID_FIELD", {"field": "userOps[0]"}),
        (["userOps", 0, "eip7702Auth"], {"address": "0x" + "11" * 20, "chainId": 8453, "nonce": 0},
         "userOps[0].eip7702Auth: EIP-7702 delegation is not supported by this node",
         "EIP7702_NOT_SUPPORTED", {"field": "userOps[0].eip7702Auth"}),
        (["userOps", 0, "upperBoundTimestamp"], _WINDOW_ENDED, "userOps[0].upperBoundTimestamp: the window ended at",
         "EXECUTION_WINDOW_ENDED", {"field": "userOps[0].upperBoundTimestamp", "chainId": 8453}),
        (["paymentInfo", "token"], _DELETE, "paymentInfo.token: is required",
         "INVALID_FIELD", {"field": "paymentInfo.token"}),
        (["paymentInfo", "sessionDetails", "permissionId"], "0x12", "paymentInfo.sessionDetails.permissionId",
         "INVALID_FIELD", {"field": "paymentInfo.sessionDetails.permissionId"}),
        (["paymentInfo", "token"], "0x000000000000000000000000000000000000dEaD",
         "paymentInfo.token: 0x000000000000000000000000000000000000dEaD is not a fee token on chain 8453",
         "FEE_TOKEN_NOT_SUPPORTED",
         {"field": "paymentInfo.token", "chainId": 8453, "token": "0x000000000000000000000000000000000000dEaD",
          "supported": [usdc_address(8453)]}),
        (["quoteType"], "onchain", "trigger: is required for onchain quotes", "INVALID_FIELD", {"field": "trigger"}),
        (["quoteType"], "bogus", "quoteType: Input should be 'simple', 'permit', 'onchain', 'mm-dtk' or 'safe-sa'",
         "INVALID_FIELD", {"field": "quoteType"}),
        (["quoteType"], "mm-dtk", "quoteType: 'mm-dtk' quotes are not supported by this node",
         "QUOTE_TYPE_NOT_SUPPORTED", {"field": "quoteType", "quoteType": "mm-dtk"}),
        (["userOps", 0, "upperBoundTimestamp"], 1, "userOps[0].upperBoundTimestamp: 1 is before lowerBoundTimestamp",
         "EXECUTION_WINDOW_INVALID", {"field": "userOps[0].upperBoundTimestamp", "upperBoundTimestamp": 1}),
    ],
)  # fmt: skip
def test_a_malformed_quote_request_is_a_400_that_names_the_field(
    node: Node, session: SessionSetup, path: list[str | int], value: Any, error: str, code: str, facts: dict[str, Any]
) -> None:
    request = session.request()
    if value is _WINDOW_ENDED:
        now = session.chain.timestamp()
        request["userOps"][0]["lowerBoundTimestamp"] = now - 3600
        value = now - 3500
        facts = {**facts, "lowerBoundTimestamp": now - 3600, "upperBoundTimestamp": now - 3500}
    status, body = node.client.post("/quote", _set(request, path, value))
    assert status == 400, body
    assert refusal(body, code, **facts).startswith(error), body["error"]


def test_bodies_that_are_not_json_objects(node: Node) -> None:
    for path in ("/quote", "/quote-permit", "/exec"):
        status, body = node.client.post(path, "{not json")
        assert status == 400 and refusal(body, "INVALID_JSON").startswith("body: not JSON")
        assert body["facts"] == {}
        status, body = node.client.post(path, [1, 2])
        assert status == 400 and "must be a JSON object" in refusal(body, "INVALID_FIELD")
    status, body = node.client.post("/exec", {"hash": "0x" + "00" * 32})
    assert status == 400 and refusal(body, "INVALID_FIELD", field="node") == "node: is required"


def test_a_window_without_an_upper_bound_gets_300_seconds(node: Node, session: SessionSetup) -> None:
    """Biconomy's node's default execution window: ``lowerBoundTimestamp + 300`` (the SDKs always send their own)."""
    request = _set(session.request(), ["userOps", 0, "upperBoundTimestamp"], _DELETE)
    lower = request["userOps"][0]["lowerBoundTimestamp"]
    quote = node.client.quote(request)
    assert DEFAULT_WINDOW == 300
    op = quote["userOps"][1]
    assert (int(op["lowerBoundTimestamp"]), int(op["upperBoundTimestamp"])) == (lower, lower + 300)


@pytest.mark.parametrize(("length", "accepted"), [(59, False), (60, True), (86_400, True), (86_401, False)])
def test_a_window_lasts_one_minute_to_one_day(node: Node, session: SessionSetup, length: int, accepted: bool) -> None:
    request = session.request()
    lower = request["userOps"][0]["lowerBoundTimestamp"]
    status, body = node.client.post("/quote", _set(request, ["userOps", 0, "upperBoundTimestamp"], lower + length))
    if accepted:
        assert status == 200, body
        assert int(body["userOps"][1]["upperBoundTimestamp"]) == lower + length  # as sent, never clamped
        return
    assert status == 400
    assert body == {
        "error": f"userOps[0].upperBoundTimestamp: the execution window must last 60 to 86400 s, this one lasts "
        f"{length} s ({lower} to {lower + length}); set upperBoundTimestamp between {lower + 60} and "
        f"{lower + 86_400}, or leave it out for 300 s",
        "code": "EXECUTION_WINDOW_INVALID",
        "facts": {
            "field": "userOps[0].upperBoundTimestamp",
            "chainId": 8453,
            "lowerBoundTimestamp": lower,
            "upperBoundTimestamp": lower + length,
            "minWindow": 60,
            "maxWindow": 86_400,
        },
    }


def test_nonces_are_taken_as_sent(node: Node, session: SessionSetup) -> None:
    """No check against ``EntryPoint.getNonce``: a nonce ahead of the chain's (a pipelining client's) is quoted as
    it was sent; whether it is right, the EntryPoint says at execution (tests/node/test_exec.py)."""
    request = session.request()
    ahead = int(request["userOps"][0]["nonce"]) + 1
    payment_ahead = int(request["paymentInfo"]["nonce"]) + 5
    request = _set(_set(request, ["userOps", 0, "nonce"], str(ahead)), ["paymentInfo", "nonce"], str(payment_ahead))
    quote = node.client.quote(request)
    assert [int(op["userOp"]["nonce"]) for op in quote["userOps"]] == [payment_ahead, ahead]


def test_a_nonce_repeated_within_one_quote_gets_the_next_one(node: Node, session: SessionSetup) -> None:
    """The one exception: two userOps of one quote with the very same sender, key and nonce (the reference SDK draws
    keys from the clock and now and then draws one twice) could never both execute; the second gets the next
    nonce of that key."""
    request = session.request()
    nonce = int(request["paymentInfo"]["nonce"])
    quote = node.client.quote(_set(request, ["userOps", 0, "nonce"], str(nonce)))
    assert [int(op["userOp"]["nonce"]) for op in quote["userOps"]] == [nonce, nonce + 1]


def test_the_sdk_fee_payer_url_with_a_double_slash_is_routed(node: Node, session: SessionSetup) -> None:
    """With a fee payer the SDK posts to ``{url}//quote-permit`` (spec §9.1 quirk)."""
    response = node.client.http.post(node.url + "//quote-permit", json=session.request())
    assert response.status_code == 200, response.text
    assert response.json()["quoteType"] == "simple"
