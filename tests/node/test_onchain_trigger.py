"""On-chain fusion triggers through the node (spec §9.5, §9.7): an ``onchain`` quote from ``/quote-permit``, the owner's
EOA sends ``approve(account, amount + fee)`` with the quote hash appended, and ``/exec`` gets
``0x177eee01 ‖ abi.encode(txHash, chainId)``; the node fetches the transaction and puts it into every userOp."""

from __future__ import annotations

import os
from typing import Any

import pytest

from smartsessions.account import Call, encode_execute
from smartsessions.devnet.deploy import TestKey, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.quote import encode_onchain_quote_signature
from smartsessions.wire.mee import GetQuotePayload, from_wire

from ..contracts.flows import COUNTER, INCREMENT, counter_value, counterfactual
from ..contracts.harness import ZERO, Chain
from .conftest import Node, SessionSetup
from .helpers import Lanes, mee_versions, paused_mining, payment_info, refusal, statuses, usdc_balance, user_op


def _request(chain: Chain, account: Any, owner: TestKey, amount: int) -> dict[str, Any]:
    """prepareForPermissions-style: the first userOp pulls the trigger amount from the EOA and increments."""
    usdc = usdc_address(chain.chain_id)
    lanes = Lanes()
    call_data = bytes(
        encode_execute(
            [
                Call(to=usdc, data=encode_function_call("transferFrom(address,address,uint256)",
                                                        [owner.address, account.address, amount])),
                Call(to=COUNTER, data=INCREMENT),
            ]
        )
    )  # fmt: skip
    return {
        "quoteType": "onchain",
        "userOps": [user_op(chain, account.address, call_data, lanes.nonce(chain, account.address, ZERO))],
        "paymentInfo": payment_info(
            chain, account.address, lanes.nonce(chain, account.address, ZERO), init_code=account.init_code,
            eoa=owner.address,
        ),
        "meeVersions": mee_versions([chain.chain_id]),
        "trigger": {"tokenAddress": usdc, "chainId": chain.chain_id, "gasLimit": "75000", "amount": str(amount)},
    }  # fmt: skip


def _send(chain: Chain, key: TestKey, data: bytes, *, tx_type: int = 2, gas: int = 200_000) -> str:
    raw = chain.sign_tx(key, to=usdc_address(chain.chain_id), data=data, tx_type=tx_type, gas=gas)
    return str(chain.send_raw(raw)["transactionHash"])


def _body(quote: dict[str, Any], request: dict[str, Any], tx_hash: str, chain_id: int, amount: int) -> dict[str, Any]:
    signature = encode_onchain_quote_signature(tx_hash=tx_hash, chain_id=chain_id)
    return {
        **quote,
        "signature": "0x" + bytes(signature).hex(),
        "meeVersions": request["meeVersions"],
        "isEIP712TrustedSponsorshipSupported": True,
        "trigger": {**request["trigger"], "amount": str(amount)},
    }


@pytest.mark.parametrize("tx_type", [2, 0], ids=["eip1559", "legacy"])
def test_onchain_fusion_deploys_and_pulls_from_the_eoa(node: Node, chains: tuple[Chain, Chain], tx_type: int) -> None:
    """The EOA's approve (quote hash appended) authorises the whole super-transaction: the payment userOp deploys the
    account and pulls the fee from the EOA, the next pulls the trigger amount and increments the counter."""
    chain = chains[0]
    owner = chain.keys["owner"]
    account = counterfactual(chain, owner)
    usdc = usdc_address(chain.chain_id)
    amount = 10_000_000
    request = _request(chain, account, owner, amount)
    quote = node.client.quote(request, path="/quote-permit")
    parsed = from_wire(GetQuotePayload, quote)
    assert parsed.quote_type == "onchain"
    fee = parsed.payment_info.token_wei_amount
    approved = amount + fee
    eoa_before, node_before = usdc_balance(chain, owner.address), usdc_balance(chain, node.server.address)
    counter_before = counter_value(chain)

    approve = encode_function_call("approve(address,uint256)", [account.address, approved])
    tx_hash = _send(chain, owner, approve + bytes.fromhex(quote["hash"][2:]), tx_type=tx_type)
    body = _body(quote, request, tx_hash, chain.chain_id, approved)
    receipt = node.client.wait(node.client.execute(body))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2, [op.get("executionError") for op in receipt["userOps"]]
    assert receipt["fundingTransaction"] == body["trigger"]  # as Biconomy's node: the trigger sent with /exec
    assert usdc_balance(chain, account.address) == amount
    assert usdc_balance(chain, owner.address) == eoa_before - approved
    assert usdc_balance(chain, node.server.address) == node_before + fee
    assert chain.call(usdc, "allowance(address,address)", [owner.address, account.address], ["uint256"]) == 0
    assert counter_value(chain) == counter_before + 1


def test_onchain_triggers_the_node_refuses(node: Node, chains: tuple[Chain, Chain]) -> None:
    """Unknown, reverted, foreign and unrelated transactions, and an approve that forgot the fee, each refused with
    the field named; nothing is submitted, and the right transaction still executes the quote afterwards."""
    chain = chains[0]
    owner, alice = chain.keys["owner"], chain.keys["alice"]
    account = counterfactual(chain, owner)
    amount = 10_000_000
    request = _request(chain, account, owner, amount)
    quote = node.client.quote(request, path="/quote-permit")
    fee = from_wire(GetQuotePayload, quote).payment_info.token_wei_amount
    approved = amount + fee
    quote_hash = bytes.fromhex(quote["hash"][2:])
    approve = encode_function_call("approve(address,uint256)", [account.address, approved])

    def refused(tx_hash: str, error: str, code: str, chain_id: int = chain.chain_id, **facts: Any) -> None:
        status, answer = node.client.post("/exec", _body(quote, request, tx_hash, chain_id, approved))
        assert status == 400 and refusal(answer, code, **facts).startswith(error), answer

    unknown = "0x" + os.urandom(32).hex()
    on_chain: dict[str, Any] = {"field": "signature.txHash", "chainId": chain.chain_id}
    refused(
        unknown,
        f"signature.txHash: no transaction {unknown} on chain {chain.chain_id}",
        "TRIGGER_TX_NOT_FOUND",
        **on_chain,
        txHash=unknown,
    )
    refused(
        unknown,
        "signature.chainId: the trigger transaction must be on the trigger chain 8453",
        "TRIGGER_INVALID",
        chain_id=10,
        field="signature.chainId",
        sent=10,
        expected=8453,
    )
    unrelated = _send(chain, owner, approve + b"\x42" * 32)
    refused(
        unrelated,
        f"signature.txHash: the data of transaction {unrelated} does not end with the quote hash",
        "TRIGGER_INVALID",
        **on_chain,
        txHash=unrelated,
    )
    foreign = _send(chain, alice, approve + quote_hash)
    refused(
        foreign,
        f"signature.txHash: the trigger transaction was sent by {alice.address}, but paymentInfo.eoa is "
        f"{owner.address}",
        "TRIGGER_INVALID",
        **on_chain,
        txHash=foreign,
        sent=alice.address,
        expected=owner.address,
    )
    too_much = encode_function_call("transfer(address,uint256)", [account.address, 10**30])
    reverted = _send(chain, owner, too_much + quote_hash, gas=100_000)
    refused(
        reverted,
        f"signature.txHash: transaction {reverted} reverted on chain {chain.chain_id}",
        "TRIGGER_INVALID",
        **on_chain,
        txHash=reverted,
    )
    short = encode_function_call("approve(address,uint256)", [account.address, amount])
    forgot_fee = _send(chain, owner, short + quote_hash)
    refused(
        forgot_fee, f"signature.txHash: the trigger transaction approves {amount}, but the trigger amount and the "
        f"fee need {approved}", "TRIGGER_AMOUNT_TOO_LOW", **on_chain, txHash=forgot_fee, amount=str(amount),
        required=str(approved),
    )  # fmt: skip
    assert node.client.get(f"/explorer/{quote['hash']}")[0] == 404

    good = _send(chain, owner, approve + quote_hash)
    receipt = node.client.wait(node.client.execute(_body(quote, request, good, chain.chain_id, approved)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2, [op.get("executionError") for op in receipt["userOps"]]
    assert usdc_balance(chain, account.address) == amount


def test_session_userops_with_an_onchain_trigger(node: Node, session: SessionSetup) -> None:
    """Session userOps under an on-chain trigger: the redeemer sends the transaction, and every session userOp carries
    it in the short layout (no timestamps, leaf = userOpHash) inside its SmartSessions signature; the permission is
    enabled and used in the same super-transaction."""
    chain = session.chain
    redeemer = chain.keys["session_signer"]
    request = {
        **session.request(),
        "quoteType": "onchain",
        "trigger": {"tokenAddress": usdc_address(chain.chain_id), "chainId": chain.chain_id, "amount": "0"},
    }
    quote = node.client.quote(request, path="/quote-permit")
    fee = from_wire(GetQuotePayload, quote).payment_info.token_wei_amount
    before = counter_value(chain)
    approve = encode_function_call("approve(address,uint256)", [session.account, fee])
    quote_hash = bytes.fromhex(quote["hash"][2:])
    owner_tx = _send(chain, chain.keys["owner"], approve + quote_hash)
    code, answer = node.client.post("/exec", _body(quote, request, owner_tx, chain.chain_id, 0))
    assert code == 400, answer
    assert refusal(
        answer,
        "SIGNATURE_INVALID",
        field="signature.txHash",
        userOpIndex=0,
        role="redeemer",
        expected=redeemer.address,
        signer=chain.keys["owner"].address,
    ) == (
        f"signature.txHash: the trigger transaction was sent by {chain.keys['owner'].address}, but paymentInfo must be "
        f"signed by the session's redeemer {redeemer.address}"
    )
    tx_hash = _send(chain, redeemer, approve + quote_hash, tx_type=0)
    receipt = node.client.wait(node.client.execute(_body(quote, request, tx_hash, chain.chain_id, 0)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2, [op.get("executionError") for op in receipt["userOps"]]
    assert counter_value(chain) == before + 1


def test_a_trigger_transaction_still_in_the_pool_is_refused_until_it_is_mined(
    on_demand_mining: Devnet, node: Node, chains: tuple[Chain, Chain]
) -> None:
    """The EOA's approve is sent but not mined yet: /exec is refused as pending (the client sends it again once the
    transaction is mined), and the same body executes afterwards."""
    chain = chains[0]
    owner = chain.keys["owner"]
    account = counterfactual(chain, owner)
    amount = 10_000_000
    request = _request(chain, account, owner, amount)
    quote = node.client.quote(request, path="/quote-permit")
    approved = amount + from_wire(GetQuotePayload, quote).payment_info.token_wei_amount
    approve = encode_function_call("approve(address,uint256)", [account.address, approved])
    with paused_mining(chain):
        raw = chain.sign_tx(owner, to=usdc_address(chain.chain_id), data=approve + bytes.fromhex(quote["hash"][2:]))
        tx_hash = str(chain.rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()]))
        body = _body(quote, request, tx_hash, chain.chain_id, approved)
        status, answer = node.client.post("/exec", body)
        assert status == 400
        assert refusal(
            answer, "TRIGGER_TX_PENDING", field="signature.txHash", chainId=chain.chain_id, txHash=tx_hash
        ) == (f"signature.txHash: transaction {tx_hash} is not mined yet; send /exec once it is")
        chain.rpc.request("evm_mine")
    receipt = node.client.wait(node.client.execute(body))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2, [op.get("executionError") for op in receipt["userOps"]]
