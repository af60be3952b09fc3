"""The node waits for a userOp's conditions, as Biconomy's node does (issue 10, items 2 and 3).

A quote made without simulation (the client's choice) may carry a userOp that cannot pass yet: the node re-simulates
it until it passes or its window ends; every chain runs at once, without waiting for the fee chain's payment to be
mined; on a chain with a clean-up userOp the others are forced through before their deadline. Owner-signed quotes on
accounts deployed on both chains, over real HTTP, on real chains.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from smartsessions.account.calls import Call, encode_execute
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.encoding.abi import encode_function_call
from smartsessions.wire.mee import GetQuotePayload, from_wire

from ..contracts.flows import counter_value, deployed_with_sessions_module, increment_call
from ..contracts.harness import Chain
from .conftest import Node
from .helpers import (
    Lanes,
    fund_usdc,
    is_permission_enabled,
    mee_versions,
    node_with_chain_10_behind_a_proxy,
    paused_mining,
    payment_info,
    session_quote,
    signed,
    statuses,
    two_chain_session,
    usdc_balance,
    user_op,
)

ZERO = "0x" + "00" * 20
BRIDGE = "0x000000000000000000000000000000000000b12d"  # where the deposit on the fee chain goes
RECIPIENT = "0x00000000000000000000000000000000000ec1e7"


def usdc_transfer(chain: Chain, to: str, amount: int) -> bytes:
    data = encode_function_call("transfer(address,uint256)", [to, amount])
    return bytes(encode_execute([Call(to=usdc_address(chain.chain_id), data=data)]))


def owner_request(chains: tuple[Chain, Chain], account: str, ops: list[tuple[Chain, bytes]]) -> dict[str, Any]:
    """An owner-signed quote request without ``simulation``, paid in USDC on the first chain."""
    lanes, fee_chain = Lanes(), chains[0]
    return {
        "quoteType": "simple",
        "userOps": [user_op(c, account, call, lanes.nonce(c, account, ZERO)) for c, call in ops],
        "paymentInfo": payment_info(fee_chain, account, lanes.nonce(fee_chain, account, ZERO)),
        "meeVersions": mee_versions([c.chain_id for c in chains]),
    }


def two_chain_account(chains: tuple[Chain, Chain], usdc_on_fee_chain: int = 5_000_000) -> str:
    owner = chains[0].keys["owner"]
    accounts = [deployed_with_sessions_module(c, owner) for c in chains]
    assert accounts[0].address == accounts[1].address
    fund_usdc(chains[0], accounts[0].address, usdc_on_fee_chain, owner)
    return accounts[0].address


def explorer(node: Node, quote_hash: str) -> dict[str, Any]:
    status, answer = node.client.get(f"/explorer/{quote_hash}")
    assert status == 200, answer
    return dict(answer)


def test_without_simulation_the_quote_takes_the_clients_limits_and_a_step_that_cannot_pass_yet(
    node: Node, chains: tuple[Chain, Chain]
) -> None:
    """Without ``simulation`` the node quotes a userOp whose call reverts today (its funds are not there yet) with the
    client's limits: callGasLimit as sent, verificationGasLimit 150,000 (none sent), preVerificationGas 30,000. Asked
    to simulate, the node refuses the same request, naming the userOp and the reason."""
    c10 = chains[1]
    account = two_chain_account(chains)
    request = owner_request(chains, account, [(c10, usdc_transfer(c10, RECIPIENT, 1_000_000))])
    quote = from_wire(GetQuotePayload, node.client.quote(request))
    op = quote.user_ops[1].user_op
    assert (op.call_gas_limit, op.verification_gas_limit, op.pre_verification_gas) == (700_000, 150_000, 30_000)
    payment = quote.user_ops[0].user_op
    assert (payment.call_gas_limit, payment.verification_gas_limit) == (75_000, 150_000)

    status, answer = node.client.post("/quote", {**request, "simulation": {"simulate": True}})
    assert status == 400
    revert = encode_function_call("Error(string)", ["ERC20: transfer amount exceeds balance"])
    assert answer == {
        "error": "userOps[0] (chain 10): the call reverts in simulation: Error(message=ERC20: transfer amount exceeds "
        "balance)",
        "code": "USER_OP_CALL_REVERTED",
        "facts": {
            "chainId": 10,
            "userOpIndex": 1,
            "field": "userOps[0]",
            "revertData": "0x" + revert.hex(),
            "revertError": "Error",
            # the transfer moves more USDC than the account holds there: the facts say it, whatever the reason's text
            "holder": account,
            "token": usdc_address(10),
            "balance": "0",
            "required": "1000000",
        },
    }


@pytest.mark.slow  # a block or two on each chain, then a credit, then the waiting userOp's block
def test_a_userop_waits_until_funds_bridged_from_another_chain_have_arrived(
    node: Node, chains: tuple[Chain, Chain]
) -> None:
    """The conditional multi-chain flow an MEE is for: on 8453 the account deposits 1 USDC with a bridge; on 10 it
    pays that 1 USDC on, which it only holds once the bridge has delivered. This test is the bridge's relayer: it
    credits the account on 10 once the deposit is mined on 8453. The userOp on 10 waits (PENDING) until then, and
    runs in a block after the credit."""
    c8453, c10 = chains
    owner = c8453.keys["owner"]
    account = two_chain_account(chains)
    assert usdc_balance(c10, account) == 0
    request = owner_request(
        chains,
        account,
        [(c8453, usdc_transfer(c8453, BRIDGE, 1_000_000)), (c10, usdc_transfer(c10, RECIPIENT, 1_000_000))],
    )
    quote = node.client.quote(request)
    quote_hash = node.client.execute(signed(quote, owner, request))

    deposited = node.client.wait(quote_hash, until=lambda a: statuses(a)[:2] == ["MINED_SUCCESS"] * 2)
    assert statuses(deposited)[2] == "PENDING"  # no funds on 10 yet: nothing was sent there
    assert usdc_balance(c8453, BRIDGE) == 1_000_000
    time.sleep(1.5)  # a few more rounds of simulation: still waiting
    assert statuses(explorer(node, quote_hash))[2] == "PENDING"

    fund_usdc(c10, account, 1_000_000, owner)  # the relayer delivers
    credit_block = int(c10.rpc.request("eth_blockNumber", []), 16)
    receipt = node.client.wait(quote_hash)
    assert statuses(receipt) == ["MINED_SUCCESS"] * 3
    tx = c10.rpc.request("eth_getTransactionReceipt", [receipt["userOps"][2]["executionData"]])
    assert int(tx["blockNumber"], 16) >= credit_block
    assert usdc_balance(c10, RECIPIENT) == 1_000_000 and usdc_balance(c10, account) == 0


@pytest.mark.slow  # waits for the userOp's window to end (about 10 s)
def test_a_userop_whose_condition_never_comes_fails_when_its_window_ends_with_the_last_reason(
    node: Node, chains: tuple[Chain, Chain]
) -> None:
    c8453, c10 = chains
    account = two_chain_account(chains)
    request = owner_request(chains, account, [(c10, usdc_transfer(c10, RECIPIENT, 1_000_000))])
    now = c10.timestamp()
    request["userOps"][0].update(lowerBoundTimestamp=now - 50, upperBoundTimestamp=now + 10)  # 60 s, 10 s left
    quote = node.client.quote(request)
    receipt = node.client.wait(node.client.execute(signed(quote, c8453.keys["owner"], request)), timeout=40)
    assert statuses(receipt) == ["MINED_SUCCESS", "FAILED"]
    error = receipt["userOps"][1]["executionError"]
    assert error.startswith(f"Execution deadline limit exceeded: the window ended at {now + 10} (chain time "), error
    assert error.endswith(
        "its last simulation: execution reverted: Error(message=ERC20: transfer amount exceeds balance)"
    )
    assert "executionData" not in receipt["userOps"][1]  # nothing was sent on 10
    assert usdc_balance(c10, RECIPIENT) == 0


def test_on_a_chain_with_a_clean_up_userop_the_others_are_forced_through_before_their_deadline(
    node: Node, chains: tuple[Chain, Chain]
) -> None:
    """On 10: a transfer the account cannot make, then a clean-up userOp (a counter increment). Within 45 s of its
    deadline the transfer is forced through although it reverts (MINED_FAIL, with the token's revert data and the
    gas it cost), and the clean-up runs in the same bundle."""
    c8453, c10 = chains
    account = two_chain_account(chains)
    request = owner_request(
        chains,
        account,
        [(c10, usdc_transfer(c10, RECIPIENT, 1_000_000)), (c10, bytes(increment_call()))],
    )
    now = c10.timestamp()
    for op in request["userOps"]:
        op.update(lowerBoundTimestamp=now - 20, upperBoundTimestamp=now + 40)  # 40 s left: inside the 45 s
    request["userOps"][1]["isCleanUpUserOp"] = True
    before = counter_value(c10)
    quote = node.client.quote(request)
    receipt = node.client.wait(node.client.execute(signed(quote, c8453.keys["owner"], request)))
    assert statuses(receipt) == ["MINED_SUCCESS", "MINED_FAIL", "MINED_SUCCESS"]
    forced, clean_up = receipt["userOps"][1], receipt["userOps"][2]
    assert forced["executionData"] == clean_up["executionData"]
    expected = encode_function_call("Error(string)", ["ERC20: transfer amount exceeds balance"])
    assert forced["revertError"] == "0x" + expected.hex()
    assert forced["executionError"] == "execution reverted: Error(message=ERC20: transfer amount exceeds balance)"
    assert int(forced["actualGasCost"]) > 0
    assert counter_value(c10) == before + 1


def test_every_chain_runs_without_waiting_for_the_payment_to_be_mined(
    on_demand_mining: Devnet, node: Node, chains: tuple[Chain, Chain]
) -> None:
    """The payment userOp is checked at /exec; then both chains run at once: with the fee chain's blocks paused, the
    userOp on 10 is mined while the payment still waits in 8453's pool."""
    c8453, c10 = chains
    account = two_chain_account(chains)
    request = owner_request(chains, account, [(c10, bytes(increment_call()))])
    quote = node.client.quote(request)
    with paused_mining(c8453):
        quote_hash = node.client.execute(signed(quote, c8453.keys["owner"], request))
        answer = node.client.wait(quote_hash, until=lambda a: statuses(a) == ["MINING", "MINED_SUCCESS"])
        assert answer["userOps"][0]["executionData"]  # broadcast, not mined
        c8453.rpc.request("evm_mine")
    assert statuses(node.client.wait(quote_hash)) == ["MINED_SUCCESS"] * 2


@pytest.mark.slow  # a chain outage of a few seconds
def test_a_chain_outage_delays_a_userop_but_does_not_strand_it(
    chains: tuple[Chain, Chain], devnet: Devnet, tmp_path: Path
) -> None:
    """A two-chain session (fee on 8453, a call on 10): chain 10's RPC refuses every connection from /exec on (a
    session /exec needs only the fee chain). The payment runs on 8453; the userOp on 10 waits (PENDING) while the node
    tries again with a growing pause; once chain 10 answers again it runs, with no restart of the node (issue 11,
    item 3)."""
    c8453, c10 = chains
    redeemer = c8453.keys["session_signer"]
    account, details = two_chain_session(chains)
    request = session_quote(list(chains), account, details, [(c10, increment_call())], Lanes(), enable=True)
    with node_with_chain_10_behind_a_proxy(devnet, tmp_path / "node.sqlite") as (client, proxy):
        before = counter_value(c10)
        quote = client.quote(request)
        proxy.down()
        quote_hash = client.execute(signed(quote, redeemer, request))
        client.wait(quote_hash, until=lambda a: statuses(a)[0] == "MINED_SUCCESS")
        time.sleep(2)  # a few refused rounds on 10
        assert statuses(client.get(f"/explorer/{quote_hash}")[1]) == ["MINED_SUCCESS", "PENDING"]
        assert counter_value(c10) == before
        proxy.up()
        assert statuses(client.wait(quote_hash)) == ["MINED_SUCCESS"] * 2
        assert counter_value(c10) == before + 1 and is_permission_enabled(c10, details[1], account)
