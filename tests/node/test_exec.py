"""``POST /exec`` accepts only a quote this node issued (its userOps hash to its committed root), signed by the right
key, once."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest

from smartsessions._coerce import keccak, to_address
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeConfig, NodeServer, quoting
from smartsessions.devnet.node import quote_facts as quote_facts_module
from smartsessions.encoding.abi import abi_encode, encode_function_call
from smartsessions.encoding.userop import get_mee_user_op_hash

from ..contracts.flows import counter_value, increment_call
from ..contracts.harness import Chain
from .conftest import Node, SessionSetup
from .helpers import NodeClient, mee_versions, paused_mining, payment_info, refusal, signed, statuses, user_op


def _quote(node: Node, session: SessionSetup, *, enable: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    request = session.request(enable=enable)
    return request, node.client.quote(request)


@pytest.mark.parametrize(
    ("change", "error", "code", "facts"),
    [
        (lambda q: q["userOps"][1]["userOp"].update(callGasLimit="5000000"),
         "userOps[1].userOp: does not hash to userOps[1].userOpHash",
         "QUOTE_CHANGED", {"field": "userOps[1].userOp", "userOpIndex": 1, "chainId": 8453}),
        (lambda q: q["userOps"][1]["userOp"].update(callData=q["userOps"][1]["userOp"]["callData"] + "00"),
         "userOps[1].userOp: does not hash to userOps[1].userOpHash", "QUOTE_CHANGED", {"field": "userOps[1].userOp"}),
        (lambda q: q["paymentInfo"].update(tokenWeiAmount="1"),
         "paymentInfo.tokenWeiAmount: is 1, but the payment userOp pays",
         "QUOTE_CHANGED", {"field": "paymentInfo.tokenWeiAmount", "sent": "1"}),
        (lambda q: q["paymentInfo"].update(sponsored=True), "paymentInfo.sponsored: is true, but userOps[0] is a fee",
         "QUOTE_CHANGED", {"field": "paymentInfo.sponsored", "sent": True, "expected": False}),
        (lambda q: q["paymentInfo"].update(token="0x000000000000000000000000000000000000dEaD"),
         "paymentInfo.token: is 0x000000000000000000000000000000000000dEaD, but the payment userOp pays in",
         "QUOTE_CHANGED", {"field": "paymentInfo.token", "sent": "0x000000000000000000000000000000000000dEaD",
                           "expected": usdc_address(8453)}),
        (lambda q: q["userOps"][0].update(upperBoundTimestamp="99999999999"),
         "userOps[0].meeUserOpHash: is not the hash of userOps[0].userOpHash and its window",
         "QUOTE_CHANGED", {"field": "userOps[0].meeUserOpHash", "userOpIndex": 0}),
        (lambda q: q["userOps"].pop(), "hash: the userOps do not hash to", "QUOTE_CHANGED", {"field": "hash"}),
        (lambda q: q.update(node="0x000000000000000000000000000000000000dEaD"),
         "node: is 0x000000000000000000000000000000000000dEaD, but the quote was issued by this node",
         "QUOTE_NOT_FROM_THIS_NODE", {"field": "node", "sent": "0x000000000000000000000000000000000000dEaD"}),
    ],
    ids=["callGasLimit", "callData", "tokenWeiAmount", "sponsored", "token", "window", "userOp-dropped", "node"],
)  # fmt: skip
def test_a_tampered_quote_is_refused(
    node: Node, session: SessionSetup, change: Any, error: str, code: str, facts: dict[str, Any]
) -> None:
    """The node stores nothing at the quote: the body's userOps must hash to ``hash``, which its commitment signs,
    and the fields outside the root must agree with the userOps (tests/node/test_commitment.py has the rest)."""
    request, quote = _quote(node, session)
    body = signed(quote, session.chain.keys["session_signer"], request)
    tampered = copy.deepcopy(body)
    change(tampered)
    status, answer = node.client.post("/exec", tampered)
    assert status == 400
    assert refusal(answer, code, **facts).startswith(error), answer
    # the untouched quote still goes through
    assert statuses(node.client.wait(node.client.execute(body))) == ["MINED_SUCCESS"] * 2


def test_session_details_that_cannot_validate_are_refused(node: Node, session: SessionSetup) -> None:
    """``sessionDetails`` are not part of the Merkle root, on Biconomy's node either, so whoever relays the body can
    change them. Biconomy's node would accept a changed permission id and fail the userOp at its deadline, with the
    fee taken; this node simulates the session userOp as the body makes it and refuses the /exec (issue 11, item 5).
    Nothing is stored or sent, and the body as signed still executes."""
    request = session.request()
    quote = node.client.quote(request)
    body = signed(quote, session.chain.keys["session_signer"], request)
    changed = copy.deepcopy(body)
    changed["userOps"][1]["sessionDetails"]["permissionId"] = "0x" + "11" * 32
    sent = session.chain.rpc.request("eth_getTransactionCount", [node.server.address, "latest"])
    status, answer = node.client.post("/exec", changed)
    assert status == 400
    error = refusal(
        answer,
        "SESSION_NOT_ENABLED",
        chainId=8453,
        userOpIndex=1,
        field="userOps[0]",
        mode="0x00",
        aaCode="AA23",
        revertError="InvalidPermissionId",
        permissionId="0x" + "11" * 32,
    )
    # worded by the permission's state, which the node read (never enabled on this account), then the simulation's
    assert error.startswith(f"userOps[0] (chain 8453): Permission 0x{'11' * 32} is not enabled on chain 8453")
    assert answer["facts"]["permissionState"] == "never_enabled"
    assert "(the session userOp in mode USE fails validation: AA23" in error
    assert answer["error"].endswith(
        "; send the body with the sessionDetails and modes of the quote (USE once the permission is enabled))"
    )
    assert node.client.get(f"/explorer/{quote['hash']}")[0] == 404
    assert session.chain.rpc.request("eth_getTransactionCount", [node.server.address, "latest"]) == sent
    assert statuses(node.client.wait(node.client.execute(body))) == ["MINED_SUCCESS"] * 2


@pytest.mark.parametrize("enabled_before", [False, True], ids=["enabled-by-the-payment", "enabled-earlier"])
def test_a_relay_that_turns_use_into_enable_is_refused(node: Node, session: SessionSetup, enabled_before: bool) -> None:
    """A relay flips the call userOp's mode from USE to ENABLE_AND_USE. The permission is enabled by then (by this
    super-transaction's payment userOp, or by an earlier one), so the enable signature in the details is used up
    (SmartSessions' nonce moved on): the userOp could never validate, and the fee would be taken for nothing. The
    /exec is refused with the validator's reason; the body as signed executes."""
    redeemer = session.chain.keys["session_signer"]
    if enabled_before:
        first = session.request()
        node.client.wait(node.client.execute(signed(node.client.quote(first), redeemer, first)))
    request = session.request(enable=not enabled_before)
    quote = node.client.quote(request)
    body = signed(quote, redeemer, request)
    assert body["userOps"][1]["sessionDetails"]["mode"] == "0x00"
    flipped = copy.deepcopy(body)
    flipped["userOps"][1]["sessionDetails"]["mode"] = "0x02"
    status, answer = node.client.post("/exec", flipped)
    assert status == 400
    pid = "0x" + bytes(session.details[0].permission_id).hex()
    refusal(answer, "ENABLE_SIGNATURE_USED", userOpIndex=1, mode="0x02", revertError="HashMismatch", permissionId=pid)
    simulated = (
        "the session userOp in mode UNSAFE_ENABLE (ENABLE_AND_USE) fails validation: AA23 reverted: "
        "HashMismatch(providedHash=0x"
    )
    if enabled_before:  # the chain's state tells why: the node read it (enabled already)
        assert answer["facts"]["permissionState"] == "enabled_already", answer
        assert answer["error"].startswith(f"userOps[0] (chain 8453): Permission {pid} is enabled already"), answer
        assert f"({simulated}" in answer["error"], answer
    else:  # enabled by the payment userOp of the same bundle: the chain's state before it says nothing more
        assert "permissionState" not in answer["facts"], answer
        assert answer["error"].startswith(f"userOps[0] (chain 8453): {simulated}"), answer
    assert node.client.get(f"/explorer/{quote['hash']}")[0] == 404
    before = counter_value(session.chain)
    assert statuses(node.client.wait(node.client.execute(body))) == ["MINED_SUCCESS"] * 2
    assert counter_value(session.chain) == before + 1


def test_a_quote_the_node_did_not_issue_is_refused(node: Node, session: SessionSetup) -> None:
    """Another ``hash`` than the userOps give: refused before anything else (the node keeps no quotes to look it up
    in; tests/node/test_commitment.py has a self-consistent quote this node did not sign)."""
    request, quote = _quote(node, session)
    body = signed({**quote, "hash": "0x" + "77" * 32}, session.chain.keys["session_signer"], request)
    status, answer = node.client.post("/exec", body)
    assert status == 400
    assert refusal(answer, "QUOTE_CHANGED", field="hash", sent="0x" + "77" * 32, expected=quote["hash"]) == (
        f"hash: the userOps do not hash to 0x{'77' * 32} (their Merkle root is {quote['hash']}): the super-transaction "
        "is invalid or was changed; send the quote as the node issued it"
    )


def test_the_modes_may_change_but_nothing_else(node: Node, session: SessionSetup) -> None:
    """§9.8: the client re-assigns sessionDetails modes (and sets meeVersions, trigger); the node builds the userOp
    signatures from the modes of the exec body. Here the quote says USE everywhere but the permission is not enabled:
    the client asks for UNSAFE_ENABLE on the payment userOp at exec, and it works."""
    request, quote = _quote(node, session, enable=False)
    body = signed(quote, session.chain.keys["session_signer"], request)
    body["userOps"][0]["sessionDetails"]["mode"] = "0x02"
    body["trigger"] = None
    before = counter_value(session.chain)
    assert statuses(node.client.wait(node.client.execute(body))) == ["MINED_SUCCESS"] * 2
    assert counter_value(session.chain) == before + 1


def test_a_signature_by_another_key_is_refused(node: Node, session: SessionSetup) -> None:
    request, quote = _quote(node, session)
    keys = session.chain.keys
    body = signed(quote, keys["alice"], request)
    status, answer = node.client.post("/exec", body)
    assert status == 400
    assert refusal(
        answer,
        "SIGNATURE_INVALID",
        field="signature",
        userOpIndex=0,
        chainId=8453,
        role="redeemer",
        expected=keys["session_signer"].address,
        signer=keys["alice"].address,
    ) == (
        f"signature: signed by {keys['alice'].address}, but paymentInfo must be signed by the session's redeemer "
        f"{keys['session_signer'].address}"
    )
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (body["signature"][:-2], "signature: a simple quote signature is 0x177eee00 + 65 bytes, got 68 bytes",
         "SIGNATURE_MALFORMED", {"field": "signature", "signatureType": "simple", "length": 68}),
        ("0x177eee01" + "00" * 63, "signature: an on-chain quote signature is 0x177eee01 + abi.encode(",
         "SIGNATURE_MALFORMED", {"field": "signature", "signatureType": "onchain", "length": 67}),
        ("0x177eee01" + "00" * 64, "signature: an on-chain signature (0x177eee01) needs an on-chain quote",
         "SIGNATURE_TYPE_MISMATCH", {"field": "signature", "quoteType": "simple", "signatureType": "onchain"}),
        ("0xdeadbeef" + "00" * 65, "signature: unknown quote signature type 0xdeadbeef",
         "SIGNATURE_MALFORMED", {"field": "signature", "prefix": "0xdeadbeef"}),
        ("0x177eee02" + "00" * 320, "signature: the permit's v must be 27 or 28, got 0",
         "SIGNATURE_MALFORMED", {"field": "signature", "signatureType": "permit"}),
    ]  # fmt: skip
    for bad, error, code, facts in cases:
        status, answer = node.client.post("/exec", {**body, "signature": bad})
        assert status == 400 and refusal(answer, code, **facts).startswith(error), answer
    # a valid-looking signature that recovers to no key at all
    status, answer = node.client.post("/exec", {**body, "signature": "0x177eee00" + "00" * 64 + "1b"})
    assert status == 400 and "signed by nobody" in refusal(answer, "SIGNATURE_INVALID", field="signature")
    assert "signer" not in answer["facts"]


def test_a_replay_is_refused_and_nothing_runs_twice(node: Node, session: SessionSetup) -> None:
    request, quote = _quote(node, session)
    body = signed(quote, session.chain.keys["session_signer"], request)
    before = counter_value(session.chain)
    quote_hash = node.client.execute(body)
    status, answer = node.client.post("/exec", body)
    # as Biconomy's node answers a replay: a 400 that says "already scheduled"
    assert status == 400
    assert answer == {
        "error": f"hash: super-transaction {quote_hash} has already been scheduled for execution; a quote executes "
        "once (ask for a new one to run the same calls again)",
        "code": "ALREADY_SCHEDULED",
        "facts": {"field": "hash", "hash": quote_hash},
    }
    node.client.wait(quote_hash)
    status, answer = node.client.post("/exec", body)
    assert status == 400 and "has already been scheduled for execution" in answer["error"]
    assert counter_value(session.chain) == before + 1


def _next_nonces(request: dict[str, Any], *, step: int = 1) -> dict[str, Any]:
    """The same request on the same nonce keys, ``step`` nonces further, in USE mode: what a client that pipelines
    sends for its next super-transaction before the previous one has executed."""
    out = copy.deepcopy(request)
    for op in [out["paymentInfo"], *out["userOps"]]:
        op["nonce"] = str(int(op["nonce"]) + step)
        op["sessionDetails"]["mode"] = "0x00"
    return out


def test_a_pipelined_quote_executes_after_the_first(node: Node, session: SessionSetup) -> None:
    """Two quotes on the same nonce keys, both built before either executes: the second carries the next nonces
    (ahead of the chain's), is quoted and accepted as sent, and executes once the first has."""
    redeemer = session.chain.keys["session_signer"]
    first_request = session.request()
    second_request = _next_nonces(first_request)
    first, second = node.client.quote(first_request), node.client.quote(second_request)
    assert [int(op["userOp"]["nonce"]) for op in second["userOps"]] == [
        int(op["userOp"]["nonce"]) + 1 for op in first["userOps"]
    ]
    before = counter_value(session.chain)
    assert (
        statuses(node.client.wait(node.client.execute(signed(first, redeemer, first_request)))) == ["MINED_SUCCESS"] * 2
    )
    assert (
        statuses(node.client.wait(node.client.execute(signed(second, redeemer, second_request))))
        == ["MINED_SUCCESS"] * 2
    )
    assert counter_value(session.chain) == before + 2


def test_a_pipelined_exec_waits_for_the_payment_before_it(node: Node, session: SessionSetup) -> None:
    """The second super-transaction's /exec arrives before the first is mined: its payment userOp's nonce is still
    ahead of the EntryPoint's, so the node simulates it again until the first has landed (as Biconomy's node retries
    the payment's simulation), accepts it, and both execute in order."""
    redeemer = session.chain.keys["session_signer"]
    first_request = session.request()
    second_request = _next_nonces(first_request)
    first, second = node.client.quote(first_request), node.client.quote(second_request)
    before = counter_value(session.chain)
    first_hash = node.client.execute(signed(first, redeemer, first_request))
    second_hash = node.client.execute(signed(second, redeemer, second_request))  # before the first is mined
    assert statuses(node.client.wait(first_hash)) == ["MINED_SUCCESS"] * 2
    assert statuses(node.client.wait(second_hash)) == ["MINED_SUCCESS"] * 2
    assert counter_value(session.chain) == before + 2


def test_a_used_nonce_is_quoted_and_refused_at_exec_with_the_entry_points_reason(
    node: Node, session: SessionSetup
) -> None:
    """Nonces are not checked at the quote: one already used is quoted as sent. At /exec the node simulates the signed
    payment userOp, as Biconomy's node does, and refuses it with the EntryPoint's reason; nothing is stored or sent."""
    redeemer = session.chain.keys["session_signer"]
    request = session.request()
    node.client.wait(node.client.execute(signed(node.client.quote(request), redeemer, request)))
    again = _next_nonces(request, step=0)
    again["userOps"][0]["verificationGasLimit"] = "2000000"  # not the executed quote's hash
    quote = node.client.quote(again)
    sent = session.chain.rpc.request("eth_getTransactionCount", [node.server.address, "latest"])
    status, answer = node.client.post("/exec", signed(quote, redeemer, again))
    assert status == 400
    assert answer == {
        "error": "paymentInfo (chain 8453): the payment userOp fails validation: AA25 invalid account nonce",
        "code": "NONCE_INVALID",
        "facts": {
            "chainId": 8453,
            "userOpIndex": 0,
            "field": "paymentInfo",
            "aaCode": "AA25",
            "reason": "AA25 invalid account nonce",
            "nonce": again["paymentInfo"]["nonce"],
        },
    }
    assert node.client.get(f"/explorer/{quote['hash']}")[0] == 404
    assert session.chain.rpc.request("eth_getTransactionCount", [node.server.address, "latest"]) == sent


def test_a_nonce_repeated_within_one_quote_executes_as_the_next_one(node: Node, session: SessionSetup) -> None:
    """The reference SDK now and then gives two userOps of one quote the same key and nonce; the node numbers the
    second one on (tests/node/test_api.py), and both execute."""
    redeemer = session.chain.keys["session_signer"]
    request = session.request()
    request["userOps"][0]["nonce"] = request["paymentInfo"]["nonce"]
    before = counter_value(session.chain)
    receipt = node.client.wait(node.client.execute(signed(node.client.quote(request), redeemer, request)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    assert counter_value(session.chain) == before + 1


@pytest.fixture
def short_lived_node(chains: tuple[Chain, Chain], node_config: NodeConfig) -> Iterator[NodeClient]:
    server = NodeServer(node_config.model_copy(update={"quote_lifetime": 0.5})).start()
    client = NodeClient(server.url)
    try:
        yield client
    finally:
        client.close()
        server.stop()


@pytest.mark.slow  # waits past the (ignored) quote lifetime
def test_a_quote_does_not_expire(short_lived_node: NodeClient, session: SessionSetup) -> None:
    """As on Biconomy's node, a quote has no lifetime of its own (``quote_lifetime`` is ignored): only its userOps'
    execution windows bound it."""
    request = session.request()
    quote = short_lived_node.quote(request)
    time.sleep(0.7)
    body = signed(quote, session.chain.keys["session_signer"], request)
    receipt = short_lived_node.wait(short_lived_node.execute(body))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2


def test_a_payment_that_no_longer_validates_is_refused_at_exec(node: Node, session: SessionSetup) -> None:
    """Two quotes that both enable the session: the first executes; the second's enable signature is used up (the
    SmartSessions nonce moved on), so its payment userOp fails validation: /exec is refused with the EntryPoint's
    reason, and nothing is sent."""
    request = session.request()
    first = node.client.quote(request)
    # another verification gas floor: another userOpHash (session leaves carry no window, so that would not do)
    second = node.client.quote({**request, "userOps": [{**request["userOps"][0], "verificationGasLimit": "2000000"}]})
    assert first["hash"] != second["hash"]
    redeemer = session.chain.keys["session_signer"]
    node.client.wait(node.client.execute(signed(first, redeemer, request)))
    sent = session.chain.rpc.request("eth_getTransactionCount", [node.server.address, "latest"])
    status, answer = node.client.post("/exec", signed(second, redeemer, request))
    assert status == 400
    pid = "0x" + bytes(session.details[0].permission_id).hex()
    refusal(answer, "ENABLE_SIGNATURE_USED", userOpIndex=0, field="paymentInfo", aaCode="AA23", permissionId=pid)
    # the node read the permission's state: the first super-transaction enabled it
    assert answer["facts"]["permissionState"] == "enabled_already"
    assert answer["error"].startswith(f"paymentInfo (chain 8453): Permission {pid} is enabled already on chain 8453")
    assert "(the payment userOp fails validation: AA23 reverted: HashMismatch(providedHash=0x" in answer["error"]
    assert session.chain.rpc.request("eth_getTransactionCount", [node.server.address, "latest"]) == sent


def test_a_fee_payment_that_would_revert_is_refused_at_exec(node: Node, session: SessionSetup) -> None:
    """The account loses its USDC between quote and exec: the payment's transfer would revert, so /exec is refused
    (Biconomy's node: "gas payment userOp has been reverted"), with the token's reason."""
    chain = session.chain
    request = session.request()
    quote = node.client.quote(request)
    slot = keccak(abi_encode(["address", "uint256"], [session.account, 1], what="slot"))  # USDC balanceOf, slot 1
    chain.rpc.request("anvil_setStorageAt", [usdc_address(8453), "0x" + slot.hex(), "0x" + "00" * 32])
    status, answer = node.client.post("/exec", signed(quote, chain.keys["session_signer"], request))
    assert status == 400
    revert = encode_function_call("Error(string)", ["ERC20: transfer amount exceeds balance"])
    assert answer == {
        "error": "paymentInfo (chain 8453): the fee payment reverts: Error(message=ERC20: transfer amount exceeds "
        "balance)",
        "code": "USER_OP_CALL_REVERTED",
        "facts": {
            "chainId": 8453,
            "userOpIndex": 0,
            "field": "paymentInfo",
            "revertData": "0x" + revert.hex(),
            "revertError": "Error",
        },
    }


def test_a_call_that_reverts_on_chain_is_mined_fail_with_its_reason(
    on_demand_mining: Devnet, node: Node, session: SessionSetup
) -> None:
    """The account loses its USDC after /exec accepted it, while its bundle waits in the pool: the payment's transfer
    reverts on chain (MINED_FAIL, with the token's revert reason); the session's own userOp in the bundle still runs."""
    chain = session.chain
    request = session.request()
    quote = node.client.quote(request)
    before = counter_value(chain)
    with paused_mining(chain):
        quote_hash = node.client.execute(signed(quote, chain.keys["session_signer"], request))
        node.client.wait(quote_hash, 10, until=lambda a: statuses(a) == ["MINING"] * 2)
        slot = keccak(abi_encode(["address", "uint256"], [session.account, 1], what="slot"))  # USDC balanceOf
        chain.rpc.request("anvil_setStorageAt", [usdc_address(8453), "0x" + slot.hex(), "0x" + "00" * 32])
        chain.rpc.request("evm_mine")
    receipt = node.client.wait(quote_hash)
    assert statuses(receipt) == ["MINED_FAIL", "MINED_SUCCESS"]
    assert receipt["userOps"][0]["executionError"] == (
        "execution reverted: Error(message=ERC20: transfer amount exceeds balance)"
    )
    assert receipt["userOps"][0]["executionData"]
    assert counter_value(chain) == before + 1


def test_a_bundle_that_reverts_on_chain_is_mined_fail_with_the_reason(
    on_demand_mining: Devnet, node: Node, session: SessionSetup
) -> None:
    """Two super-transactions that both enable the session, mined in one block: each passed the node's check alone,
    but the second's enable signature is used up by the first, so its handleOps transaction reverts. Its userOps are
    MINED_FAIL with the revert reason from the transaction's trace."""
    chain, redeemer = session.chain, session.chain.keys["session_signer"]
    requests = [session.request(), session.request()]
    quotes = [node.client.quote(r) for r in requests]
    with paused_mining(chain):
        hashes = [node.client.execute(signed(q, redeemer, r)) for q, r in zip(quotes, requests, strict=True)]
        deadline = time.monotonic() + 10
        while not all(statuses(node.client.get(f"/explorer/{h}")[1]) == ["MINING"] * 2 for h in hashes):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        chain.rpc.request("evm_mine")
    first, second = (node.client.wait(h) for h in hashes)
    assert statuses(first) == ["MINED_SUCCESS"] * 2
    assert statuses(second) == ["MINED_FAIL"] * 2
    error = second["userOps"][1]["executionError"]
    assert error.startswith("the handleOps transaction reverted: AA23 reverted: HashMismatch(providedHash=0x"), error


@pytest.mark.parametrize("late", [False, True], ids=["not-open", "ended"])
def test_a_payment_outside_its_window_is_refused_at_exec(node: Node, session: SessionSetup, late: bool) -> None:
    """A session payment userOp's leaf is its userOpHash, so its window is not under the root: a client can send
    another one (with the matching meeUserOpHash). The node checks the payment's window against the chain's clock
    before it simulates anything: not open yet, the client waits; over, it asks for a new quote."""
    request, quote = _quote(node, session)
    body = signed(quote, session.chain.keys["session_signer"], request)
    now = session.chain.timestamp()
    lower, upper = (now - 400, now - 100) if late else (now + 300, now + 900)
    payment = body["userOps"][0]
    mee_hash = get_mee_user_op_hash(
        bytes.fromhex(payment["userOpHash"][2:]), lower_bound_timestamp=lower, upper_bound_timestamp=upper
    )
    payment.update(
        lowerBoundTimestamp=str(lower), upperBoundTimestamp=str(upper), meeUserOpHash="0x" + bytes(mee_hash).hex()
    )
    status, answer = node.client.post("/exec", body)
    assert status == 400
    code = "EXECUTION_WINDOW_ENDED" if late else "EXECUTION_WINDOW_NOT_OPEN"
    error = refusal(
        answer,
        code,
        field="paymentInfo",
        chainId=8453,
        userOpIndex=0,
        lowerBoundTimestamp=lower,
        upperBoundTimestamp=upper,
    )
    clock = answer["facts"]["chainTime"]
    assert (clock > upper) if late else (clock < lower)
    expected = (
        f"paymentInfo (chain 8453): the super-transaction's execution window has expired (it ended at {upper}, chain "
        f"time {clock}); ask for a new quote"
        if late
        else f"paymentInfo (chain 8453): the super-transaction is scheduled for future execution: its window opens at "
        f"{lower} (chain time {clock}); send /exec once it has opened"
    )
    assert error == expected
    assert node.client.get(f"/explorer/{quote['hash']}")[0] == 404


def test_an_account_without_an_owner_the_node_can_read_is_refused(node: Node, session: SessionSetup) -> None:
    """Owner userOps of an account that is neither deployed with a K1MeeValidator owner nor carries the initCode
    that names one: the node cannot tell who must sign (quoted without simulation, refused at /exec)."""
    chain = session.chain
    nobody = to_address("0x" + "5a" * 20, field="account")
    request = {
        "quoteType": "simple",
        "userOps": [user_op(chain, nobody, increment_call(), 1)],
        "paymentInfo": payment_info(chain, nobody, 0),
        "meeVersions": mee_versions([8453]),
    }
    quote = node.client.quote(request)
    status, answer = node.client.post("/exec", signed(quote, chain.keys["owner"], request))
    assert status == 400
    assert refusal(answer, "ACCOUNT_OWNER_UNKNOWN", chainId=8453, account=nobody) == (
        f"account {nobody} on chain 8453 has no K1MeeValidator owner"
    )


def test_a_node_bug_is_a_500_internal_error(node: Node, session: SessionSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node checks that /exec will read from a quote the facts it was built with; a difference is the node's
    own bug (here made on purpose: the facts read back are off by one), answered 500 INTERNAL_ERROR."""
    real = quote_facts_module.quote_facts

    def off_by_one(*args: Any, **kwargs: Any) -> Any:
        facts = real(*args, **kwargs)
        return dataclasses.replace(facts, fee=facts.fee + 1)

    monkeypatch.setattr(quoting, "quote_facts", off_by_one)
    status, answer = node.client.post("/quote", session.request())
    assert status == 500
    assert refusal(answer, "INTERNAL_ERROR").endswith(": /exec would read other facts from it than it was built with")
