"""``GET /v1/explorer/{hash}``: the receipt's details checked against the chain (gas cost from the
``UserOperationEvent``, the block's number and timestamp, the revert data), and ``?confirmations``: how many blocks
confirm a userOp (its own block counted) and when it is ``isConfirmed``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from smartsessions._coerce import keccak
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.entrypoint import parse_user_op_results
from smartsessions.devnet.network import Devnet
from smartsessions.encoding.abi import abi_encode, encode_function_call
from smartsessions.mee.receipt import summarize_receipt
from smartsessions.wire.mee import ExplorerResponse, from_wire

from ..contracts.flows import increment_call
from ..contracts.harness import Chain
from .conftest import Node, SessionSetup
from .helpers import (
    Lanes,
    node_with_chain_10_behind_a_proxy,
    paused_mining,
    refusal,
    session_quote,
    signed,
    statuses,
    two_chain_session,
)


def _head(chain: Chain) -> int:
    return int(chain.rpc.request("eth_blockNumber"), 16)


def _explorer(node: Node, quote_hash: str, query: str = "") -> dict[str, Any]:
    status, body = node.client.get(f"/explorer/{quote_hash}{query}")
    assert status == 200, body
    return dict(body)


def _until(condition: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not {what} after {timeout} s"
        time.sleep(0.1)


def _run(node: Node, session: SessionSetup) -> tuple[dict[str, Any], dict[str, Any]]:
    request = session.request()
    quote = node.client.quote(request)
    receipt = node.client.wait(node.client.execute(signed(quote, session.chain.keys["session_signer"], request)))
    return quote, receipt


def test_the_receipt_matches_the_quote_and_the_chain(node: Node, session: SessionSetup) -> None:
    chain = session.chain
    quote, receipt = _run(node, session)
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    assert receipt["itxHash"] == receipt["hash"] == quote["hash"]
    assert (receipt["node"], receipt["commitment"], receipt["paymentInfo"]) == (
        quote["node"],
        quote["commitment"],
        quote["paymentInfo"],
    )
    assert receipt["fundingTransaction"] is None  # a simple quote has no on-chain trigger

    tx_hash = receipt["userOps"][0]["executionData"]
    tx_receipt = chain.rpc.request("eth_getTransactionReceipt", [tx_hash])
    block = chain.rpc.request("eth_getBlockByNumber", [tx_receipt["blockNumber"], False])
    events = {"0x" + e.user_op_hash.hex(): e for e in parse_user_op_results(tx_receipt)}
    for op in receipt["userOps"]:
        assert op["executionData"] == tx_hash
        event = events[op["userOpHash"]]
        assert op["actualGasCost"] == str(event.actual_gas_cost) and event.actual_gas_cost > 0  # a decimal string
        assert op["minedTimestamp"] == int(block["timestamp"], 16)
        assert isinstance(op["miningTimestamp"], int) and op["miningTimestamp"] <= op["minedTimestamp"]
        assert op["revertError"] is None
        assert isinstance(op["confirmations"], int) and op["confirmations"] >= 1

    # confirmations: the blocks from the bundle's to the head, both counted
    mined = int(tx_receipt["blockNumber"], 16)
    before = _head(chain)
    answer = _explorer(node, quote["hash"])
    after = _head(chain)
    for op in answer["userOps"]:
        assert before - mined + 1 <= op["confirmations"] <= after - mined + 1
    parsed = from_wire(ExplorerResponse, answer)  # the SDK reads every new field
    assert parsed.itx_hash is not None and "0x" + parsed.itx_hash.hex() == quote["hash"]
    assert [op.actual_gas_cost for op in parsed.user_ops] == [
        events[op["userOpHash"]].actual_gas_cost for op in answer["userOps"]
    ]

    # ?confirmations: 1 holds once mined; more than the chain will have is still MINED_SUCCESS, not confirmed
    assert all(op["isConfirmed"] for op in _explorer(node, quote["hash"], "?confirmations=1")["userOps"])
    far = _explorer(node, quote["hash"], "?confirmations=999999")
    assert statuses(far) == ["MINED_SUCCESS"] * 2 and not any(op["isConfirmed"] for op in far["userOps"])
    assert summarize_receipt(far["userOps"]).status == "PENDING"  # what a client makes of it by default
    assert summarize_receipt(far["userOps"], mode="fast-block").status == "MINED_SUCCESS"

    # the shared devnet makes a block every 2 s: the default 3 confirmations come on their own
    def all_confirmed() -> dict[str, Any] | None:
        answer = _explorer(node, quote["hash"])
        return answer if all(op["isConfirmed"] for op in answer["userOps"]) else None

    confirmed = _until(all_confirmed, "confirmed")
    assert all(op["confirmations"] >= 3 for op in confirmed["userOps"])
    assert summarize_receipt(confirmed["userOps"]).status == "MINED_SUCCESS"


def _exact_answer(
    node: Node,
    chain: Chain,
    quote: dict[str, Any],
    errors: dict[int, str] | None = None,
    codes: dict[int, tuple[str, dict[str, Any]]] | None = None,
) -> tuple[bytes, bytes]:
    """The explorer's answer as sent (its bytes), and the bytes it must be: the quote as issued, ``itxHash`` and
    ``fundingTransaction`` after it, and in each userOp, after the quote's fields and in this order, its status,
    ``isConfirmed``, ``executionData``, ``executionError``, ``executionErrorCode`` and ``executionErrorFacts`` (only
    when there are ones: ``errors`` and ``codes``), ``confirmations``,
    ``actualGasCost``, ``revertError``, ``miningTimestamp`` and ``minedTimestamp``, each as the chain has it. Only
    ``miningTimestamp`` (the chain's time at broadcast, seen by the node alone) is taken from the answer, once
    checked. For a chain that mines only on demand, so that nothing moves between the reads."""
    response = node.client.http.get(f"/explorer/{quote['hash']}")
    assert response.status_code == 200, response.text
    answer = response.json()
    head = _head(chain)
    ops = []
    for k, (issued, got) in enumerate(zip(quote["userOps"], answer["userOps"], strict=True)):
        tx_receipt = chain.rpc.request("eth_getTransactionReceipt", [got["executionData"]])
        [event] = [e for e in parse_user_op_results(tx_receipt) if "0x" + e.user_op_hash.hex() == issued["userOpHash"]]
        block = chain.rpc.request("eth_getBlockByNumber", [tx_receipt["blockNumber"], False])
        mined_at = int(block["timestamp"], 16)
        assert isinstance(got["miningTimestamp"], int) and 0 < got["miningTimestamp"] <= mined_at
        depth = head - int(tx_receipt["blockNumber"], 16) + 1
        op = {
            **issued,
            "executionStatus": "MINED_SUCCESS" if event.success else "MINED_FAIL",
            "isConfirmed": depth >= 3,
            "executionData": tx_receipt["transactionHash"],
        }
        if errors and k in errors:
            op["executionError"] = errors[k]
        if codes and k in codes:
            op["executionErrorCode"], op["executionErrorFacts"] = codes[k]
        op |= {
            "confirmations": depth,
            "actualGasCost": str(event.actual_gas_cost),
            "revertError": None if event.success else "0x" + bytes(event.revert_reason or b"").hex(),
            "miningTimestamp": got["miningTimestamp"],
            "minedTimestamp": mined_at,
        }
        ops.append(op)
    expected = {**quote, "itxHash": quote["hash"], "fundingTransaction": None, "userOps": ops}
    return response.content, json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()


def test_the_explorer_answer_byte_for_byte(on_demand_mining: Devnet, node: Node, session: SessionSetup) -> None:
    quote, receipt = _run(node, session)
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    sent, expected = _exact_answer(node, session.chain, quote)
    assert sent == expected
    session.chain.rpc.request("evm_mine")
    session.chain.rpc.request("evm_mine")  # confirmed now
    sent, expected = _exact_answer(node, session.chain, quote)
    assert sent == expected and b'"isConfirmed":true' in sent


def test_confirmations_count_blocks(on_demand_mining: Devnet, node: Node, session: SessionSetup) -> None:
    """On a chain that mines only on demand nothing moves but what the test mines: the count is exact."""
    chain = session.chain
    quote, receipt = _run(node, session)
    mined = int(
        chain.rpc.request("eth_getTransactionReceipt", [receipt["userOps"][0]["executionData"]])["blockNumber"], 16
    )
    head = _head(chain)
    answer = _explorer(node, quote["hash"])
    assert [op["confirmations"] for op in answer["userOps"]] == [head - mined + 1] * 2
    assert head == mined  # the bundle's block is the last one
    assert [op["isConfirmed"] for op in answer["userOps"]] == [False, False]  # 1 of the default 3
    assert summarize_receipt(answer["userOps"]).is_final is False
    chain.rpc.request("evm_mine")
    chain.rpc.request("evm_mine")
    answer = _explorer(node, quote["hash"])
    assert [(op["confirmations"], op["isConfirmed"]) for op in answer["userOps"]] == [(3, True)] * 2
    assert [op["isConfirmed"] for op in _explorer(node, quote["hash"], "?confirmations=4")["userOps"]] == [False] * 2
    assert [op["isConfirmed"] for op in _explorer(node, quote["hash"], "?confirmations=0")["userOps"]] == [True] * 2


def test_a_reverted_user_op_carries_its_revert_data_and_gas_cost(
    on_demand_mining: Devnet, node: Node, session: SessionSetup
) -> None:
    """The account loses its USDC after /exec, while its bundle waits in the pool: the payment userOp's transfer
    reverts (MINED_FAIL). Its revert data is the token's ``Error(string)`` from the ``UserOperationRevertReason``
    event; it still paid gas. Unconfirmed, a client waits (PENDING); confirmed, it fails."""
    chain = session.chain
    request = session.request()
    quote = node.client.quote(request)
    with paused_mining(chain):
        quote_hash = node.client.execute(signed(quote, chain.keys["session_signer"], request))
        _until(lambda: statuses(_explorer(node, quote_hash)) == ["MINING"] * 2, "the bundle to be broadcast")
        slot = keccak(abi_encode(["address", "uint256"], [session.account, 1], what="slot"))  # USDC balanceOf
        chain.rpc.request("anvil_setStorageAt", [usdc_address(8453), "0x" + slot.hex(), "0x" + "00" * 32])
        chain.rpc.request("evm_mine")
    receipt = node.client.wait(quote_hash)
    assert statuses(receipt) == ["MINED_FAIL", "MINED_SUCCESS"]
    payment = receipt["userOps"][0]
    expected = encode_function_call("Error(string)", ["ERC20: transfer amount exceeds balance"])
    assert payment["revertError"] == "0x" + expected.hex()
    tx_receipt = chain.rpc.request("eth_getTransactionReceipt", [payment["executionData"]])
    event = next(e for e in parse_user_op_results(tx_receipt) if "0x" + e.user_op_hash.hex() == payment["userOpHash"])
    assert event.revert_reason == expected and not event.success
    assert payment["actualGasCost"] == str(event.actual_gas_cost)
    assert receipt["userOps"][1]["revertError"] is None
    # the cause as a code and facts too, as a refusal at the quote would carry them
    facts = {"chainId": 8453, "userOpIndex": 0, "field": "paymentInfo", "revertData": "0x" + expected.hex(),
             "revertError": "Error"}  # fmt: skip
    sent, wanted = _exact_answer(
        node,
        chain,
        quote,
        {0: "execution reverted: Error(message=ERC20: transfer amount exceeds balance)"},
        {0: ("USER_OP_CALL_REVERTED", facts)},
    )
    assert sent == wanted

    # How a client reads a MINED_FAIL userOp (the payment one put where the rules look, after index 0): not final
    # while unconfirmed (by default, as the reference SDK), final once its block has 3 confirmations.
    assert payment["confirmations"] == 1 and payment["isConfirmed"] is False
    unconfirmed = [receipt["userOps"][1], payment]
    assert summarize_receipt(unconfirmed).status == "PENDING"
    assert summarize_receipt(unconfirmed, mode="fast-block").status == "MINED_FAIL"
    chain.rpc.request("evm_mine")
    chain.rpc.request("evm_mine")
    confirmed = _explorer(node, quote["hash"])
    assert summarize_receipt([confirmed["userOps"][1], confirmed["userOps"][0]]).status == "MINED_FAIL"


def test_a_bad_confirmations_parameter_is_a_400(node: Node, session: SessionSetup) -> None:
    quote, _ = _run(node, session)
    for bad in ("-1", "three", "1.5", "1000000"):
        status, body = node.client.get(f"/explorer/{quote['hash']}?confirmations={bad}")
        assert status == 400, body
        assert refusal(body, "INVALID_FIELD", field="confirmations").startswith("confirmations: must be a whole number")


def test_a_chain_that_does_not_answer_leaves_the_receipt_readable(
    chains: tuple[Chain, Chain], devnet: Devnet, tmp_path: Path
) -> None:
    """A two-chain session (fee on 8453, a call on 10) is final; then chain 10's RPC refuses connections. The
    explorer still answers (it answered 502 before, for the whole super-transaction): the statuses as stored, the
    8453 userOp's depth as the chain says, and the chain-10 userOp without a depth, so not confirmed. Once the chain
    answers again, its depth is back."""
    c8453, c10 = chains
    account, details = two_chain_session(chains)
    request = session_quote(list(chains), account, details, [(c10, increment_call())], Lanes(), enable=True)
    with node_with_chain_10_behind_a_proxy(devnet, tmp_path / "node.sqlite") as (client, proxy):
        quote_hash = client.execute(signed(client.quote(request), c8453.keys["session_signer"], request))
        assert statuses(client.wait(quote_hash)) == ["MINED_SUCCESS"] * 2
        proxy.down()
        status, answer = client.post("/quote", request)  # a quote needs the chain: the node cannot serve it now
        assert status == 502 and refusal(answer, "CHAIN_UNAVAILABLE") and answer["facts"] == {}, answer
        status, answer = client.get(f"/explorer/{quote_hash}?confirmations=1")
        assert status == 200, answer
        fee, call = answer["userOps"]
        assert (fee["executionStatus"], fee["isConfirmed"]) == ("MINED_SUCCESS", True) and fee["confirmations"] >= 1
        assert (call["executionStatus"], call["confirmations"], call["isConfirmed"]) == ("MINED_SUCCESS", 0, False)
        proxy.up()
        status, answer = client.get(f"/explorer/{quote_hash}?confirmations=1")
        assert status == 200 and answer["userOps"][1]["confirmations"] >= 1 and answer["userOps"][1]["isConfirmed"]
