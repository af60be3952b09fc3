"""``POST /quote`` and ``/quote-permit``: from the client's userOps to a priced, hashed quote (spec §9.3–§9.6).

:class:`QuoteBuilder` runs the steps in order; each concern has its module:

1. **the request** is checked and turned into the quote's userOps, the payment userOp (or the sponsored quote's
   gas-tank entry) first, with their windows, nonces and the node paymaster (:mod:`.quote_request`);
2. **simulation**, when the request asks for it, with placeholder signatures, then the payer's balance and a paying
   session's cap once the fee is known (:mod:`.quote_checks`, on :mod:`.simulation`); and, simulation or not, the
   sessions' time frames against the times each userOp can execute (:mod:`.time_frame_check`);
3. **gas limits and the fee**: the client's limits or the simulated ones, and each submitted userOp's maximum cost
   converted to the fee token (:mod:`.quote_pricing`). The payment userOp's call data carries the fee, and its size
   its gas: priced again until the fee holds;
4. **hashes and the answer** (here): ``userOpHash``, ``meeUserOpHash``, the Merkle root (leaf = ``userOpHash`` for
   short-encoded entries, else ``meeUserOpHash``) = ``quote.hash``; ``commitment`` = the node EOA's EIP-191
   signature over the root, as Biconomy's node commits to a quote. Nothing is stored: ``/exec`` recomputes the root
   from the body and checks the commitment (:mod:`.acceptance`).
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

from eth_account import Account

from ...encoding.quote import SuperTxEntry, get_super_tx_tree
from ...encoding.userop import get_mee_user_op_hash, get_user_op_hash
from ...signer import personal_sign
from ...wire.mee import (
    FilledPaymentInfo,
    FilledUserOp,
    GetQuotePayload,
    MeeFilledUserOpDetails,
    QuoteRequest,
    from_wire,
    to_wire,
)
from ..entrypoint import max_gas_limit
from ._chain import ChainClient, ChainFees
from .config import FeeTokenConfig, NodeConfig
from .errors import Code, NodeError
from .quote_checks import check_funds, check_session_payment, placeholder, proof_depth, session_modes, simulate_chain
from .quote_facts import quote_facts
from .quote_pricing import fill_gas, format_fraction, format_units, pre_verification_gas, price
from .quote_request import (
    Draft,
    build_drafts,
    check_request,
    deploy_once,
    mark_trigger,
    number_repeats,
    payment_call,
)
from .store import Store
from .time_frame_check import check_time_frames

__all__ = ["QuoteBuilder"]


class QuoteBuilder:
    def __init__(self, config: NodeConfig, chains: dict[int, ChainClient], store: Store) -> None:
        self.config = config
        self.chains = chains
        self.store = store
        self._account = Account.from_key(config.private_key)  # derived once: the commitment signs every quote
        self.node_address = str(self._account.address)

    async def quote(self, request: QuoteRequest) -> dict[str, Any]:
        if len(request.user_ops) > self.config.max_user_ops:
            raise NodeError(
                400,
                f"userOps: {len(request.user_ops)} userOps is more than this node quotes at once "
                f"({self.config.max_user_ops}); split the instructions over several quotes",
                code=Code.TOO_MANY_USER_OPS,
                facts={"field": "userOps", "count": len(request.user_ops), "max": self.config.max_user_ops},
            )
        # The chains' clocks (the EntryPoint checks windows against block time) and fees, read at once.
        clocks, fees = await asyncio.gather(self._clocks(request), self._fees(request))
        fee_token = check_request(self.config, request, clocks)
        drafts = build_drafts(request, clocks)
        fusion = mark_trigger(request, drafts)
        if drafts[0].role == "payment":  # a placeholder amount for the simulation: it does not change the gas
            drafts[0].call_data = payment_call(request, fusion, 1, node=self.node_address)
        executed = [d for d in drafts if d.executed]
        chain_ids = list(dict.fromkeys(d.chain_id for d in executed))
        for d in drafts:
            d.fees = fees.get(d.chain_id, ChainFees(0, 0, 0))

        number_repeats(executed)
        deploy_once(drafts)
        depth = proof_depth(len(drafts))
        simulate = request.simulation is not None and request.simulation.simulate
        if simulate:  # the client's choice, as on Biconomy's node: otherwise its own gas limits are taken
            by_chain = {c: [d for d in executed if d.chain_id == c] for c in chain_ids}
            await asyncio.gather(*(session_modes(self.chains[c], ops) for c, ops in by_chain.items()))
            await asyncio.gather(
                *(
                    simulate_chain(
                        self.config, self.chains[c], ops, depth, request, fusion=fusion, node=self.node_address
                    )
                    for c, ops in by_chain.items()
                )
            )
        check_time_frames(drafts, clocks)  # after the simulation: a session not enabled is told as such first
        for d in drafts:
            fill_gas(d)

        # The fee, then the payment userOp's final call data. The amount's zero bytes change the payment's
        # preVerificationGas by a few gas, and so its maximum cost, which the fee is: price again until it holds.
        token_wei, wei_cost = price(executed, fee_token)
        payment = drafts[0]
        if payment.role == "payment":
            for _ in range(4):
                payment.call_data = payment_call(request, fusion, token_wei, node=self.node_address)
                payment.pre_verification_gas = pre_verification_gas(payment.packed(placeholder(payment, depth)))
                priced = price(executed, fee_token)
                if priced == (token_wei, wei_cost):
                    break
                token_wei, wei_cost = priced
            if simulate:  # both at once; a refusal of the first is the one reported when both refuse
                fee_chain = self.chains[payment.chain_id]
                checks = [check_funds(fee_chain, request, fusion, token_wei)]
                if payment.session_details is not None and fee_token is not None:
                    checks.append(
                        check_session_payment(fee_chain, payment, depth, fee_token, token_wei, node=self.node_address)
                    )
                for outcome in await asyncio.gather(*checks, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome

        return self._finish(request, drafts, fee_token, token_wei, fusion)

    def _served(self, request: QuoteRequest) -> list[int]:
        """The chains of the request that this node serves (the others are refused by :func:`check_request`)."""
        ids = [op.chain_id for op in request.user_ops] + [request.payment_info.chain_id]
        return [c for c in dict.fromkeys(ids) if c in self.chains]

    async def _clocks(self, request: QuoteRequest) -> dict[int, int]:
        """The time of each chain of the request that this node serves (:meth:`ChainClient.clock`), read at once."""
        served = self._served(request)
        times = await asyncio.gather(*(self.chains[c].clock() for c in served))
        return dict(zip(served, times, strict=True))

    async def _fees(self, request: QuoteRequest) -> dict[int, ChainFees]:
        """The fees (:meth:`ChainClient.fees`) of each chain of the request that this node serves, read at once."""
        served = self._served(request)
        fees = await asyncio.gather(*(self.chains[c].fees(self.config.max_priority_fee_per_gas) for c in served))
        return dict(zip(served, fees, strict=True))

    def _finish(
        self,
        request: QuoteRequest,
        drafts: list[Draft],
        token: FeeTokenConfig | None,
        token_wei: int,
        fusion: bool,
    ) -> dict[str, Any]:
        hashes = []
        for d in drafts:
            op = d.packed()
            user_op_hash = bytes(get_user_op_hash(op, chain_id=d.chain_id))
            mee_hash = bytes(
                get_mee_user_op_hash(user_op_hash, lower_bound_timestamp=d.lower, upper_bound_timestamp=d.upper)
            )
            hashes.append((op, user_op_hash, mee_hash))
        tree = get_super_tx_tree(
            [
                SuperTxEntry(
                    user_op_hash=h[1], lower_bound_timestamp=d.lower, upper_bound_timestamp=d.upper,
                    short_encoding=d.short_encoding,
                )
                for d, h in zip(drafts, hashes, strict=True)
            ]
        )  # fmt: skip
        root = bytes(tree.root)
        # The commitment as Biconomy's node makes it (its quote service signs the Merkle root with the node's key):
        # EIP-191 over the 32 raw bytes of the root, viem's signMessage({message: {raw: root}}), 65 bytes r ‖ s ‖ v.
        # Raw bytes, not the root's hex string, is our reading: the source read did not show which its signer uses.
        commitment = bytes(personal_sign(self._account, root))
        decimals = token.decimals if token is not None else 6
        token_amount = format_units(token_wei, decimals)
        usd = Fraction(token_wei, 10**decimals) * (token.usd_fraction if token is not None else 1)
        pay_wire = to_wire(request.payment_info)
        payment_info = from_wire(
            FilledPaymentInfo,
            {
                **pay_wire,
                "tokenAmount": token_amount,
                "tokenWeiAmount": str(token_wei),
                "tokenValue": format_fraction(usd),
                # As Biconomy's node itemises it (USD): the gas, and its orchestration fee, which it sets to zero.
                "gasFee": format_fraction(usd),
                "orchestrationFee": "0",
            },
        )
        user_ops = []
        for d, (op, user_op_hash, mee_hash) in zip(drafts, hashes, strict=True):
            fees = d.fees or ChainFees(0, 0, 0)
            user_ops.append(
                MeeFilledUserOpDetails(
                    user_op=FilledUserOp.from_packed(op),
                    user_op_hash=user_op_hash,
                    mee_user_op_hash=mee_hash,
                    lower_bound_timestamp=d.lower,
                    upper_bound_timestamp=d.upper,
                    max_gas_limit=max_gas_limit(op),
                    max_fee_per_gas=fees.max_fee_per_gas,
                    chain_id=d.chain_id,
                    is_clean_up_user_op=d.is_clean_up if d.role == "user" else False,
                    session_details=d.session_details,
                    short_encoding=d.short_encoding,
                    metadata=d.metadata,
                    execution_simulation_retry_delay=d.retry_delay,
                )
            )
        payload = GetQuotePayload(
            hash=root,
            node=self.node_address,
            commitment=commitment,
            payment_info=payment_info,
            user_ops=tuple(user_ops),
            quote_type=request.quote_type,
        )
        # Nothing is stored: /exec derives what it needs from the body (.quote_facts). What it will derive must be
        # what this quote was built with; a difference is this node's bug, never the client's.
        facts = quote_facts(
            payload,
            node=self.node_address,
            quote_type=request.quote_type,
            trigger=request.trigger,
            trigger_chain_id=None if request.trigger is None else request.trigger.chain_id,
        )
        built = (
            fusion,
            token_wei,
            next((d.index for d in drafts if d.is_trigger_op), None),
            next((d.index for d in drafts if d.is_permit_tx), None),
        )
        if (facts.fusion_payment, facts.fee, facts.trigger_op_index, facts.permit_tx_index) != built:
            raise NodeError(
                500,
                f"quote {root.hex()}: /exec would read other facts from it than it was built with",
                code=Code.INTERNAL_ERROR,
            )
        return to_wire(payload)
