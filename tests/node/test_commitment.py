"""The quote's commitment, as Biconomy's node makes it: the node EOA's EIP-191 signature over the Merkle root. The node
stores nothing at ``/quote``; at ``/exec`` it recomputes the root from the body's userOps, checks its own signature
over it, and only then stores the quote, with the super-transaction."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account

from smartsessions.account.calls import Call, encode_execute_single
from smartsessions.devnet.node import NodeConfig
from smartsessions.devnet.node.store import QuoteMeta
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.quote import SuperTxEntry, get_super_tx_tree, recover_commitment_signer, verify_commitment
from smartsessions.encoding.userop import get_mee_user_op_hash, get_user_op_hash
from smartsessions.signer import personal_sign
from smartsessions.wire.mee import GetQuotePayload, from_wire, to_wire

from ..contracts.flows import counter_value
from .conftest import Node, SessionSetup
from .helpers import refusal, signed, statuses

_META_KEYS = {
    "quoteType", "trigger", "sponsored", "fusionPayment", "permitTxIndex", "triggerOpIndex", "tokenWeiAmount",
    "weiCost", "meeVersions", "simulatedGas",
}  # fmt: skip


def _quote_rows(config: NodeConfig, quote_hash: str) -> list[tuple[str, str]]:
    with sqlite3.connect(config.database) as db:
        return list(db.execute("SELECT quote, meta FROM quotes WHERE hash = ?", (quote_hash,)).fetchall())


def _rehashed(quote: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """``quote`` changed, with every userOpHash, meeUserOpHash and the root recomputed to match: a quote as a
    careful forger would build it. Only the commitment, which needs the node's key, is left as it was."""
    out = copy.deepcopy(quote)
    change(out)
    parsed = from_wire(GetQuotePayload, out)
    entries = []
    for wire, op in zip(out["userOps"], parsed.user_ops, strict=True):
        user_op_hash = bytes(get_user_op_hash(op.user_op.to_packed(), chain_id=op.chain_id))
        lower, upper = op.lower_bound_timestamp, op.upper_bound_timestamp
        mee_hash = get_mee_user_op_hash(user_op_hash, lower_bound_timestamp=lower, upper_bound_timestamp=upper)
        wire["userOpHash"], wire["meeUserOpHash"] = "0x" + user_op_hash.hex(), "0x" + bytes(mee_hash).hex()
        entries.append(SuperTxEntry(user_op_hash=user_op_hash, lower_bound_timestamp=lower, upper_bound_timestamp=upper,
                                    short_encoding=op.short_encoding))  # fmt: skip
    out["hash"] = "0x" + bytes(get_super_tx_tree(entries).root).hex()
    return out


def test_the_commitment_is_the_nodes_signature_over_the_root(node: Node, session: SessionSetup) -> None:
    status, info = node.client.get("/info")
    assert status == 200
    quote = node.client.quote(session.request())
    commitment = bytes.fromhex(quote["commitment"][2:])
    assert len(commitment) == 65 and commitment[64] in (27, 28)  # r ‖ s ‖ v
    assert recover_commitment_signer(quote_hash=quote["hash"], commitment=commitment) == info["node"] == quote["node"]
    assert verify_commitment(quote, info["node"])
    assert not verify_commitment(quote, session.chain.keys["owner"].address)


def test_nothing_is_stored_until_exec(node: Node, node_config: NodeConfig, session: SessionSetup) -> None:
    """The quote row is written with the super-transaction, and carries what the node derived from the body."""
    request = session.request()
    quote = node.client.quote(request)
    assert _quote_rows(node_config, quote["hash"]) == []
    assert node.client.get(f"/explorer/{quote['hash']}")[0] == 404
    receipt = node.client.wait(node.client.execute(signed(quote, session.chain.keys["session_signer"], request)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    [(stored, meta_json)] = _quote_rows(node_config, quote["hash"])
    assert from_wire(GetQuotePayload, json.loads(stored)) == from_wire(GetQuotePayload, quote)
    assert set(json.loads(meta_json)) == _META_KEYS
    meta = QuoteMeta.model_validate_json(meta_json)
    fee = int(quote["paymentInfo"]["tokenWeiAmount"])
    assert (meta.quote_type, meta.sponsored, meta.fusion_payment, meta.token_wei_amount) == (
        "simple",
        False,
        False,
        fee,
    )
    assert meta.wei_cost == sum(int(op["maxGasLimit"]) * int(op["maxFeePerGas"]) for op in quote["userOps"])
    assert [to_wire(v) for v in meta.mee_versions] == request["meeVersions"] and meta.trigger is None
    assert (meta.permit_tx_index, meta.trigger_op_index, meta.simulated_gas) == (None, None, {})


def _bad_commitment(quote: dict[str, Any]) -> None:
    raw = bytearray.fromhex(quote["commitment"][2:])
    raw[5] ^= 0x01
    quote["commitment"] = "0x" + raw.hex()


@pytest.mark.parametrize(
    ("change", "error", "code", "facts"),
    [
        (_bad_commitment, "commitment: not signed by this node", "QUOTE_NOT_FROM_THIS_NODE", {"field": "commitment"}),
        (lambda q: q.update(commitment="0x" + q["hash"][2:]), "commitment: not signed by this node",
         "QUOTE_NOT_FROM_THIS_NODE", {"field": "commitment"}),
        (lambda q: q.update(hash="0x" + "42" * 32), "hash: the userOps do not hash to 0x" + "42" * 32,
         "QUOTE_CHANGED", {"field": "hash", "sent": "0x" + "42" * 32}),
        (lambda q: q["userOps"][1]["userOp"].update(callData=q["userOps"][1]["userOp"]["callData"][:-2] + "ff"),
         "userOps[1].userOp: does not hash to userOps[1].userOpHash",
         "QUOTE_CHANGED", {"field": "userOps[1].userOp", "userOpIndex": 1}),
    ],
    ids=["commitment-flipped", "commitment-32-bytes", "hash", "callData"],
)  # fmt: skip
def test_a_changed_quote_is_refused_naming_the_field(
    node: Node,
    session: SessionSetup,
    change: Callable[[dict[str, Any]], None],
    error: str,
    code: str,
    facts: dict[str, Any],
) -> None:
    request = session.request()
    quote = node.client.quote(request)
    redeemer = session.chain.keys["session_signer"]
    changed = copy.deepcopy(quote)
    change(changed)
    status, answer = node.client.post("/exec", signed(changed, redeemer, request))
    assert status == 400 and refusal(answer, code, **facts).startswith(error), answer
    before = counter_value(session.chain)
    assert statuses(node.client.wait(node.client.execute(signed(quote, redeemer, request)))) == ["MINED_SUCCESS"] * 2
    assert counter_value(session.chain) == before + 1


def test_a_quote_rebuilt_to_pay_less_is_refused_by_its_commitment(
    node: Node, node_config: NodeConfig, session: SessionSetup
) -> None:
    """A self-consistent quote (every hash recomputed) that pays the node 1 base unit: its root is not one this node
    signed. Re-signed by another key, or with its commitment as issued, it is refused naming the commitment."""
    request = session.request()
    quote = node.client.quote(request)
    usdc, node_address = quote["paymentInfo"]["token"], quote["node"]

    def payment(amount: int) -> str:  # execute(single, usdc.transfer(node, amount)), as the node builds it
        transfer = encode_function_call("transfer(address,uint256)", [node_address, amount])
        return "0x" + bytes(encode_execute_single(Call(to=usdc, data=transfer))).hex()

    assert quote["userOps"][0]["userOp"]["callData"] == payment(int(quote["paymentInfo"]["tokenWeiAmount"]))

    def pay_one(q: dict[str, Any]) -> None:
        q["paymentInfo"]["tokenWeiAmount"] = "1"
        q["userOps"][0]["userOp"]["callData"] = payment(1)

    forged = _rehashed(quote, pay_one)
    assert forged["hash"] != quote["hash"]
    alice = session.chain.keys["alice"]
    redeemer = session.chain.keys["session_signer"]
    by_alice = personal_sign(Account.from_key(alice.private_key), forged["hash"])
    for commitment, recovers_to in [(quote["commitment"], None), ("0x" + bytes(by_alice).hex(), alice.address)]:
        status, answer = node.client.post("/exec", signed({**forged, "commitment": commitment}, redeemer, request))
        assert status == 400, answer
        error = refusal(answer, "QUOTE_NOT_FROM_THIS_NODE", field="commitment", node=node_address)
        assert error.startswith(f"commitment: not signed by this node {node_address} over hash ("), answer
        if recovers_to is not None:
            assert f"it recovers to {recovers_to}" in answer["error"] and answer["facts"]["signer"] == recovers_to
        else:  # the node's signature over another root recovers to some other key
            assert answer["facts"]["signer"] not in (None, node_address)
    assert _quote_rows(node_config, forged["hash"]) == []


def test_a_replay_is_still_already_scheduled(node: Node, session: SessionSetup) -> None:
    """The replay check comes first, as on Biconomy's node: a second /exec of an accepted quote is refused even with
    another signature, and nothing runs twice."""
    request = session.request()
    quote = node.client.quote(request)
    keys = session.chain.keys
    before = counter_value(session.chain)
    quote_hash = node.client.execute(signed(quote, keys["session_signer"], request))
    status, answer = node.client.post("/exec", signed(quote, keys["alice"], request))
    assert status == 400
    error = refusal(answer, "ALREADY_SCHEDULED", field="hash", hash=quote_hash)
    assert error.startswith(f"hash: super-transaction {quote_hash} has already been scheduled for execution")
    node.client.wait(quote_hash)
    assert counter_value(session.chain) == before + 1
