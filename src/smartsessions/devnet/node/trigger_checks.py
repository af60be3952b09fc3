"""The trigger a ``/exec`` signature names, checked against the quote: an EIP-2612 permit (``0x177eee02``), or an
on-chain transaction (``0x177eee01 ‖ abi.encode(txHash, chainId)``) that the node reads from its chain.

* :func:`fetch_onchain_trigger`: the transaction must be on the trigger chain, mined successfully, sent by
  ``paymentInfo.eoa``, and its data must end with ``quote.hash``; if it is an ``approve`` of the trigger token, it must
  be to the trigger userOp's account, for as much as a permit would need. Its raw bytes go into every userOp's
  signature (:mod:`.signatures`);
* :func:`check_permit`: the permit is of the trigger's token, on its chain, to the account that submits it, for what
  it needs;
* what both must allow (:func:`required_allowance`): the trigger's amount as the client sends it at ``/exec`` (the
  SDKs add the fee to it) and, for a fusion payment, at least the fee.

Whose signature the trigger carries (the owner's, the session's redeemer's) is checked with the other signatures, in
:mod:`.acceptance`. Each refusal is a 400 naming ``signature``, ``signature.chainId`` or ``signature.txHash``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from eth_abi.abi import decode as abi_decode

from ..._coerce import keccak, to_address
from ...errors import InvalidInputError
from ...wire.mee import GetQuotePayload, SignedQuote
from ..validator_layouts import to_onchain_tx_payload
from ._chain import ChainClient
from .errors import Code, Fact, NodeError
from .quote_facts import QuoteFacts
from .signatures import QuoteSignature

__all__ = ["check_permit", "fetch_onchain_trigger", "required_allowance", "trigger_chain"]

_APPROVE = bytes.fromhex("095ea7b3")


async def fetch_onchain_trigger(
    chains: Mapping[int, ChainClient], quote: GetQuotePayload, signature: QuoteSignature, facts: QuoteFacts
) -> QuoteSignature:
    """The on-chain trigger's transaction, read from its chain and checked; its raw bytes go into the userOps."""
    onchain = signature.onchain
    assert onchain is not None
    trigger_chain = onchain.chain_id if facts.trigger is None else facts.trigger.chain_id
    if onchain.chain_id != trigger_chain:
        raise NodeError(
            400, f"signature.chainId: the trigger transaction must be on the trigger chain {trigger_chain}, "
                 f"not {onchain.chain_id}",
            code=Code.TRIGGER_INVALID,
            facts={"field": "signature.chainId", "sent": onchain.chain_id, "expected": trigger_chain},
        )  # fmt: skip
    chain = chains.get(onchain.chain_id)
    if chain is None:
        raise NodeError(
            400,
            f"signature.chainId: chain {onchain.chain_id} is not supported",
            code=Code.CHAIN_NOT_SERVED,
            facts={"field": "signature.chainId", "chainId": onchain.chain_id, "supported": sorted(chains)},
        )
    tx_hash = "0x" + onchain.tx_hash.hex()
    about: dict[str, Fact] = {"field": "signature.txHash", "chainId": onchain.chain_id, "txHash": tx_hash}
    tx = await chain.transaction(tx_hash)
    if tx is None:
        raise NodeError(
            400,
            f"signature.txHash: no transaction {tx_hash} on chain {onchain.chain_id}",
            code=Code.TRIGGER_TX_NOT_FOUND,
            facts=about,
        )
    receipt = await chain.receipt(tx_hash) if tx.get("blockNumber") else None
    if receipt is None:
        raise NodeError(
            400,
            f"signature.txHash: transaction {tx_hash} is not mined yet; send /exec once it is",
            code=Code.TRIGGER_TX_PENDING,
            facts=about,
        )
    if int(str(receipt.get("status", "0x0")), 16) != 1:
        raise NodeError(
            400,
            f"signature.txHash: transaction {tx_hash} reverted on chain {onchain.chain_id}",
            code=Code.TRIGGER_INVALID,
            facts=about,
        )
    raw = await chain.raw_transaction(tx_hash)
    if raw is None or keccak(raw) != onchain.tx_hash:
        raise NodeError(
            502,
            f"chain {onchain.chain_id} did not return the raw transaction {tx_hash}",
            code=Code.CHAIN_UNAVAILABLE,
            facts={"chainId": onchain.chain_id, "txHash": tx_hash},
        )
    try:
        to_onchain_tx_payload(raw)
    except InvalidInputError as exc:
        raise NodeError(400, f"signature.txHash: {exc.short_message}", code=Code.TRIGGER_INVALID, facts=about) from exc
    sender = to_address(tx.get("from"), field="from")
    eoa = quote.payment_info.eoa
    if eoa is not None and sender != eoa:
        raise NodeError(
            400,
            f"signature.txHash: the trigger transaction was sent by {sender}, but paymentInfo.eoa is {eoa}",
            code=Code.TRIGGER_INVALID,
            facts=about | {"sent": sender, "expected": eoa},
        )
    data = bytes.fromhex(str(tx.get("input") or tx.get("data") or "0x")[2:])
    if len(data) < 32 or data[-32:] != bytes(quote.hash):
        raise NodeError(
            400,
            f"signature.txHash: the data of transaction {tx_hash} does not end with the quote hash "
            f"0x{bytes(quote.hash).hex()}",
            code=Code.TRIGGER_INVALID,
            facts=about,
        )
    _check_approve(quote, tx, data, facts, about)
    resolved = replace(onchain, raw=raw, sender=sender)
    return replace(signature, onchain=resolved)


def _check_approve(
    quote: GetQuotePayload, tx: dict[str, Any], data: bytes, facts: QuoteFacts, about: dict[str, Fact]
) -> None:
    """An ``approve`` of the trigger token must be to the trigger userOp's account and cover what a permit would
    (other trigger calls, such as a custom ``call`` sent without a trigger, are the client's business)."""
    if facts.trigger is None:
        return
    token = facts.trigger.token_address
    if data[:4] != _APPROVE or tx.get("to") is None or to_address(tx["to"], field="to") != token:
        return
    try:
        spender, amount = abi_decode(["address", "uint256"], data[4:-32])
    except Exception as exc:
        raise NodeError(
            400,
            f"signature.txHash: the trigger's approve call is malformed ({exc})",
            code=Code.TRIGGER_INVALID,
            facts=about,
        ) from exc
    index = facts.trigger_op_index
    account = quote.user_ops[index].user_op.sender if index is not None else None
    if account is not None and to_address(spender, field="spender") != account:
        raise NodeError(
            400, f"signature.txHash: the trigger transaction approves {to_address(spender, field='spender')}, "
                 f"the account is {account}",
            code=Code.TRIGGER_INVALID,
            facts=about | {"sent": to_address(spender, field="spender"), "expected": account},
        )  # fmt: skip
    needed = required_allowance(facts)
    if int(amount) < needed:
        raise NodeError(
            400,
            f"signature.txHash: the trigger transaction approves {int(amount)}, but the trigger amount and the fee "
            f"need {needed}",
            code=Code.TRIGGER_AMOUNT_TOO_LOW,
            facts=about | {"amount": str(int(amount)), "required": str(needed)},
        )


def check_permit(quote: GetQuotePayload, signature: QuoteSignature, facts: QuoteFacts) -> None:
    """A permit must be of the trigger's token on the trigger's chain, to the account of the userOp that submits it,
    and allow :func:`required_allowance` (its signer is checked with the other signatures, :mod:`.acceptance`)."""
    permit = signature.permit
    assert permit is not None
    trigger = facts.trigger
    if trigger is not None and (permit.token != trigger.token_address or permit.chain_id != trigger.chain_id):
        raise NodeError(
            400,
            f"signature: the permit is for {permit.token} on chain {permit.chain_id}, the quote's trigger is "
            f"{trigger.token_address} on chain {trigger.chain_id}",
            code=Code.TRIGGER_INVALID,
            facts={
                "field": "signature",
                "token": permit.token,
                "chainId": permit.chain_id,
                "expectedToken": trigger.token_address,
                "expectedChainId": trigger.chain_id,
            },
        )
    index = facts.permit_tx_index
    spender = quote.user_ops[index].user_op.sender if index is not None else None
    if spender is not None and permit.spender != spender:
        raise NodeError(
            400,
            f"signature: the permit's spender is {permit.spender}, the account is {spender}",
            code=Code.TRIGGER_INVALID,
            facts={"field": "signature", "sent": permit.spender, "expected": spender},
        )
    needed = required_allowance(facts)
    if permit.amount < needed:
        raise NodeError(
            400,
            f"signature: the permit allows {permit.amount}, but the trigger amount and the fee need {needed}",
            code=Code.TRIGGER_AMOUNT_TOO_LOW,
            facts={"field": "signature", "amount": str(permit.amount), "required": str(needed)},
        )


def trigger_chain(body: SignedQuote, signature: QuoteSignature) -> int | None:
    """The trigger's chain: the body's ``trigger``, else the chain of the permit or transaction the signature names
    (the reference SDK sends no trigger at ``/exec`` for a custom-call trigger)."""
    if body.trigger is not None:
        return body.trigger.chain_id
    if signature.onchain is not None:
        return signature.onchain.chain_id
    if signature.permit is not None:
        return signature.permit.chain_id
    return None


def required_allowance(facts: QuoteFacts) -> int:
    """What a permit or an approve must allow: the trigger's amount as the client sends it at ``/exec`` (the SDKs add
    the fee to it, as the trigger's docstring in :mod:`smartsessions.wire.mee` says), and at least the fee when the
    payment pulls it from the EOA."""
    amount = (facts.trigger.amount or 0) if facts.trigger is not None else 0
    return max(amount, facts.fee if facts.fusion_payment else 0)
