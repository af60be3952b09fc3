"""What the node needs to know about a quote to accept and run it, read from the quote itself.

The node keeps nothing when it answers ``/quote``: as on Biconomy's node, its commitment (its signature over the
Merkle root) is what makes a quote its own, and ``/exec`` works from the body it gets (:mod:`.acceptance`). Once the
root is recomputed from the body's userOps and the commitment checked, every field the root covers is known to be
the node's; :func:`quote_facts` reads the rest of what the node needs from those fields first:

* **sponsored**: ``userOps[0]`` is the (virtual) gas-tank entry, with neither call data nor a paymaster (every userOp
  the node submits carries the node paymaster); ``paymentInfo.sponsored`` must say the same;
* **the fee**: the payment userOp's call data is ``execute(single, token.transfer(node, fee))``, or for a fusion
  payment ``execute(single, token.transferFrom(eoa, node, fee))`` (:func:`~.quote_request.payment_call`); it must
  pay this node, and ``paymentInfo.token``, ``paymentInfo.eoa`` and ``paymentInfo.tokenWeiAmount`` must match it;
* **fusionPayment**: the payment pulls the fee from an EOA (``transferFrom``);
* **triggerOpIndex** (and for a permit quote **permitTxIndex**, the userOp that submits the permit): the first
  executed userOp on the trigger chain, as :func:`~.quote_request.mark_trigger` marks it at the quote;
* **weiCost**: each executed userOp's ``maxGasLimit × maxFeePerGas``, as the node priced it.

What the root does not cover is not covered on Biconomy's node either, and is taken from the body as sent:
``quoteType``, ``trigger`` and ``meeVersions`` (the SDKs send them at ``/exec``; the trigger's amount then includes
the fee), ``sessionDetails`` (the session's permission is checked on chain by SmartSessions), the ``paymentInfo``
fields other than those above, ``metadata``, ``isCleanUpUserOp``, ``executionSimulationRetryDelay``, and the window
of a short-encoded (session) userOp, whose leaf is its ``userOpHash``. A client that changes them changes how its own
userOps are signed or scheduled, never what the node is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import decode as abi_decode

from ..._coerce import to_address
from ...account.calls import decode_execute
from ...errors import EncodingError
from ...wire.mee import GetQuotePayload, MeeVersionEntry, Trigger
from ..entrypoint import max_gas_limit
from .errors import Code, NodeError
from .store import QuoteMeta

__all__ = ["QuoteFacts", "quote_facts"]

_TRANSFER = bytes.fromhex("a9059cbb")  # transfer(address,uint256)
_TRANSFER_FROM = bytes.fromhex("23b872dd")  # transferFrom(address,address,uint256)


@dataclass(frozen=True)
class QuoteFacts:
    """What :func:`quote_facts` found. ``fee`` is in the fee token's base units: what the payment userOp transfers
    (for a sponsored quote, the ``paymentInfo.tokenWeiAmount`` it shows, charged to nobody)."""

    quote_type: str
    sponsored: bool
    fusion_payment: bool
    fee: int
    wei_cost: int
    trigger: Trigger | None = None
    trigger_op_index: int | None = None
    permit_tx_index: int | None = None
    mee_versions: tuple[MeeVersionEntry, ...] = ()

    def executed(self, index: int) -> bool:
        """Whether the node submits ``userOps[index]`` (not the virtual gas-tank entry of a sponsored quote)."""
        return index != 0 or not self.sponsored

    def meta(self) -> QuoteMeta:
        """The node's notes on an accepted quote, as :class:`~.store.QuoteRecord` keeps them."""
        return QuoteMeta(
            quote_type=self.quote_type,
            trigger=self.trigger,
            sponsored=self.sponsored,
            fusion_payment=self.fusion_payment,
            permit_tx_index=self.permit_tx_index,
            trigger_op_index=self.trigger_op_index,
            token_wei_amount=self.fee,
            wei_cost=self.wei_cost,
            mee_versions=self.mee_versions,
        )


def quote_facts(
    quote: GetQuotePayload,
    *,
    node: str,
    quote_type: str,
    trigger: Trigger | None = None,
    trigger_chain_id: int | None = None,
    mee_versions: Sequence[MeeVersionEntry] = (),
) -> QuoteFacts:
    """The facts of ``quote`` (see the module docstring), or a 400 naming the field that contradicts the userOps.

    ``trigger_chain_id`` is the chain of a permit or on-chain quote's trigger (``trigger.chainId``, or when the body
    carries no trigger the chain of the permit or transaction the signature names); None for a simple quote."""
    if not quote.user_ops:
        raise NodeError(
            400, "userOps: a quote has at least its payment userOp", code=Code.QUOTE_CHANGED, facts={"field": "userOps"}
        )
    pay = quote.payment_info
    entry = quote.user_ops[0].user_op
    gas_tank_entry = not bytes(entry.call_data) and not bytes(entry.paymaster_and_data)
    if pay.sponsored and not gas_tank_entry:
        raise NodeError(
            400,
            "paymentInfo.sponsored: is true, but userOps[0] is a fee payment, not the gas-tank entry of a sponsored "
            "quote; send paymentInfo as the node issued it",
            code=Code.QUOTE_CHANGED,
            facts={"field": "paymentInfo.sponsored", "sent": True, "expected": False},
        )
    if not pay.sponsored and gas_tank_entry:
        raise NodeError(
            400,
            "paymentInfo.sponsored: is false, but userOps[0] is the gas-tank entry of a sponsored quote; send "
            "paymentInfo as the node issued it",
            code=Code.QUOTE_CHANGED,
            facts={"field": "paymentInfo.sponsored", "sent": False, "expected": True},
        )
    fusion_payment, fee = False, int(pay.token_wei_amount)
    if not pay.sponsored:
        fusion_payment, fee = _payment(quote, node)

    executed = [k for k in range(len(quote.user_ops)) if k != 0 or not pay.sponsored]
    wei_cost = sum(
        max_gas_limit(quote.user_ops[k].user_op.to_packed()) * quote.user_ops[k].user_op.max_fee_per_gas
        for k in executed
    )
    trigger_op = None
    if quote_type in ("permit", "onchain") and trigger_chain_id is not None:
        trigger_op = next((k for k in executed if quote.user_ops[k].chain_id == trigger_chain_id), None)
        if trigger_op is None:
            raise NodeError(
                400,
                f"trigger.chainId: no userOp of the quote runs on the trigger chain {trigger_chain_id}",
                code=Code.INVALID_FIELD,
                facts={"field": "trigger.chainId", "chainId": trigger_chain_id},
            )
    return QuoteFacts(
        quote_type=quote_type,
        sponsored=pay.sponsored,
        fusion_payment=fusion_payment,
        fee=fee,
        wei_cost=wei_cost,
        trigger=trigger,
        trigger_op_index=trigger_op,
        permit_tx_index=trigger_op if quote_type == "permit" else None,
        mee_versions=tuple(mee_versions),
    )


def _payment(quote: GetQuotePayload, node: str) -> tuple[bool, int]:
    """``(fusion, fee)`` from the payment userOp's call data, checked against ``paymentInfo`` and this node."""
    pay = quote.payment_info
    where = "userOps[0].userOp.callData"
    try:
        calls = decode_execute(quote.user_ops[0].user_op.call_data)
    except EncodingError as exc:
        raise NodeError(
            400,
            f"{where}: is not a fee payment to this node ({exc.short_message})",
            code=Code.QUOTE_CHANGED,
            facts={"field": where},
        ) from exc
    if len(calls) != 1 or calls[0].value or bytes(calls[0].data)[:4] not in (_TRANSFER, _TRANSFER_FROM):
        raise NodeError(
            400,
            f"{where}: is not a fee payment to this node (one token transfer, no value)",
            code=Code.QUOTE_CHANGED,
            facts={"field": where},
        )
    [call] = calls
    data = bytes(call.data)
    fusion = data[:4] == _TRANSFER_FROM
    try:
        if fusion:
            payer, to, fee = abi_decode(["address", "address", "uint256"], data[4:])
        else:
            payer = None
            to, fee = abi_decode(["address", "uint256"], data[4:])
    except Exception as exc:  # eth-abi's decoding errors share no base class worth naming
        raise NodeError(
            400,
            f"{where}: is not a fee payment to this node (its transfer does not decode)",
            code=Code.QUOTE_CHANGED,
            facts={"field": where},
        ) from exc
    to = to_address(to, field="to")
    if to != to_address(node, field="node"):
        raise NodeError(
            400,
            f"{where}: pays the fee to {to}, not to this node {node}",
            code=Code.QUOTE_CHANGED,
            facts={"field": where, "sent": to, "expected": node},
        )
    token = to_address(call.to, field="token")
    if token != pay.token:
        raise NodeError(
            400,
            f"paymentInfo.token: is {pay.token}, but the payment userOp pays in {token}",
            code=Code.QUOTE_CHANGED,
            facts={"field": "paymentInfo.token", "sent": pay.token, "expected": token},
        )
    if payer is not None and to_address(payer, field="eoa") != pay.eoa:
        payer = to_address(payer, field="eoa")
        raise NodeError(
            400,
            f"paymentInfo.eoa: is {pay.eoa}, but the payment userOp pulls the fee from {payer}",
            code=Code.QUOTE_CHANGED,
            facts={"field": "paymentInfo.eoa", "sent": pay.eoa, "expected": payer},
        )
    if int(fee) != pay.token_wei_amount:
        raise NodeError(
            400,
            f"paymentInfo.tokenWeiAmount: is {pay.token_wei_amount}, but the payment userOp pays {int(fee)} (the fee "
            "this node quoted); send paymentInfo as the node issued it",
            code=Code.QUOTE_CHANGED,
            facts={"field": "paymentInfo.tokenWeiAmount", "sent": str(pay.token_wei_amount), "expected": str(fee)},
        )
    return fusion, int(fee)
