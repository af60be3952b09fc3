"""``POST /quote`` and ``/quote-permit``: from the client's userOps to a priced, hashed quote (spec §9.3–§9.6).

Steps, in order:

1. **Check the request**: supported chains, quote type (simple, permit, onchain), fee token, no EIP-7702, and the
   execution windows (a missing upper bound is ``lower + 300 s``; a window lasts 60 s to 1 day).
2. **The payment userOp** goes first (``userOps[0]``):
   * non-sponsored: ``execute(single, feeToken.transfer(node, fee))`` from ``paymentInfo.sender`` with its nonce,
     initCode, short encoding and session details (a session pays with the payment action of spec §3.3);
   * fusion (a permit or on-chain trigger on the fee chain, with ``paymentInfo.eoa``): ``feeToken.transferFrom(eoa,
     node, fee)``, paid from the part of the allowance above the trigger amount (the SDK adds the fee to the permit,
     or to the amount its EOA approves on chain);
   * sponsored: a **gas-tank entry**. On the devnet the gas tank is virtual: the entry (``sender`` = the gas tank,
     empty call data) is part of the quote and of its Merkle tree, exactly as the client expects, but it is never
     submitted: the node paymaster pays every userOp's gas anyway, and nothing is charged.
3. **Nonces** are taken as sent, as Biconomy's node takes them: not checked against ``EntryPoint.getNonce``, so a
   client may pipeline quotes (a second quote on the same nonce key, built before the first executes, carries the
   next nonce). A wrong nonce fails at execution, with the EntryPoint's reason (``AA25 invalid account nonce``) in the
   receipt. One exception: a userOp that repeats the very nonce of an earlier userOp of the same quote (same sender,
   key and sequence; the reference SDK draws keys from the clock's milliseconds and now and then draws one twice)
   could never execute, so the node gives it the next nonce of that key in the quote (the client signs what the node
   returns).
4. **Simulation**, only when the request asks for it (``simulation: {simulate: true}``), as on Biconomy's node;
   otherwise a userOp that cannot pass yet (funds still bridging) is quoted all the same and waits at execution
   (:mod:`.executor`). Simulated per chain (:mod:`.simulation`), with placeholder signatures of each userOp's final
   layout, and the EntryPoint's nonce of each (sender, key) set by a state override to the first nonce this quote
   uses on it, so that a pipelined quote simulates as it will run once the quotes before it have executed. A session
   userOp in USE mode whose permission is neither enabled on chain nor enabled by an earlier userOp of the quote, but
   whose details carry enable data, is simulated in UNSAFE_ENABLE. A fusion quote is simulated with the trigger's
   allowance set by a state override (the permit, or the EOA's approve transaction, only exists once the quote is
   signed); an on-chain quote's placeholder carries a throwaway-signed approve transaction of the same shape. A
   simulated quote also checks that the payer holds the fee, and that a session may pay it under its payment policy.
5. **Gas limits**: without simulation, the client's, as Biconomy's node takes them: ``callGasLimit`` as sent,
   ``verificationGasLimit`` as sent or 150,000, plus 300,000 for the userOp that deploys the account (only an
   account's first userOp on a chain keeps its ``initCode``). Simulated: verification = the client's value or the
   simulated validation gas (+20 % and 30k), whichever is larger; call = the simulated execution gas (+20 % and
   20k). ``preVerificationGas`` = 30,000 (Biconomy's fixed handleOps share; it adds the L1 data fee on rollups, which
   the devnet does not charge). The node paymaster's ``paymasterAndData`` as a production node builds it
   (:func:`paymaster_and_data`). Fees: ``maxFeePerGas = 2 × baseFee + tip`` of the chain.
6. **Price**: as a production node charges, each submitted userOp's maximum cost, ``maxGasLimit`` (its gas limits,
   the paymaster's included) × ``maxFeePerGas``, converted at the configured price and rounded up. The node paymaster
   refunds what a userOp did not use to its sender, in ETH (refund mode USER), so the account's net cost is what it
   used at the price the chain charged. (A production node adds an orchestration fee; this one does not.) A session
   that pays the fee under its own payment policy is simulated once more with the real fee, so that a fee above its
   cap is refused here.
7. **Hashes**: ``userOpHash``, ``meeUserOpHash``, the Merkle root (leaf = ``userOpHash`` for short-encoded entries,
   else ``meeUserOpHash``) = ``quote.hash``; ``commitment`` = the node EOA's EIP-191 signature over the root, as
   Biconomy's node commits to a quote. Nothing is stored: ``/exec`` recomputes the root from the body and checks the
   commitment (:mod:`.acceptance`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from eth_account import Account

from ..._coerce import keccak
from ...account.calls import Call, encode_execute_single
from ...encoding.abi import abi_encode, encode_function_call
from ...encoding.merkle import MerkleTree
from ...encoding.quote import SuperTxEntry, get_super_tx_tree
from ...encoding.session import SmartSessionMode
from ...encoding.userop import PackedUserOperation, get_mee_user_op_hash, get_user_op_hash
from ...policies.payment import payment_cap
from ...signer import personal_sign
from ...versions import ENTRY_POINT_V07_ADDRESS, SMART_SESSIONS_ADDRESS
from ...wire.mee import (
    FilledPaymentInfo,
    FilledUserOp,
    GetQuotePayload,
    MeeFilledUserOpDetails,
    QuoteRequest,
    QuoteRequestUserOp,
    from_wire,
    to_wire,
)
from ...wire.session import MOCK_SIGNATURE, SessionDetails
from ..deploy import NODE_PAYMASTER_ADDRESS
from ..entrypoint import max_gas_limit
from ._chain import ChainClient, ChainFees
from .config import FeeTokenConfig, NodeConfig
from .errors import NodeError
from .quote_facts import quote_facts
from .signatures import (
    PLACEHOLDER_ROOT,
    owner_onchain_signature,
    owner_permit_signature,
    owner_simple_signature,
    placeholder_onchain_tx,
    placeholder_permit,
    session_signature,
)
from .simulation import (
    SIM_CALL_GAS_LIMIT,
    SIM_VERIFICATION_GAS_LIMIT,
    SimulatedOp,
    allowance_override,
    simulate_user_ops,
)
from .store import Store

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_WINDOW",
    "MIN_WINDOW",
    "PAYMASTER_POST_OP_GAS_LIMIT",
    "PAYMASTER_VERIFICATION_GAS_LIMIT",
    "Draft",
    "QuoteBuilder",
    "format_units",
    "paymaster_and_data",
]

# The node paymaster's limits and node data, as the production MEE node sends them (its gas-estimator defaults:
# 25,000 verification, 50,000 postOp; refund and premium modes of the production BaseNodePaymaster).
PAYMASTER_VERIFICATION_GAS_LIMIT = 25_000
PAYMASTER_POST_OP_GAS_LIMIT = 50_000
NODE_PM_REFUND_USER = bytes.fromhex("170de000")  # refund the unused gas to the userOp's sender
NODE_PM_REFUND_DAPP = bytes.fromhex("170de001")  # refund it to the receiver that follows the premium mode
NODE_PM_REFUND_KEEP = bytes.fromhex("170de002")  # no refund (and no postOp): the node sponsors
NODE_PM_PREMIUM_PERCENT = bytes.fromhex("9ee4ce00")  # a uint192 premium follows (100 % = 10,000,000); unused here
NODE_PM_PREMIUM_FIXED = bytes.fromhex("9ee4ce01")  # the node's fee is charged off chain; nothing follows
# Biconomy's node's gas defaults (its gas-estimator configuration): a userOp's verification limit when the client
# sends none, what deploying the account adds to it, and the fixed preVerificationGas.
BASE_VERIFICATION_GAS = 150_000
SENDER_CREATE_GAS = 300_000
FIXED_HANDLE_OPS_GAS = 30_000
PERMIT_TX_GAS = 90_000  # the token.permit call the validator makes for the isPermitTx userOp (not simulated)
# Execution windows as Biconomy's node takes them: a userOp without an upperBoundTimestamp gets lower + 300 s, and a
# window (upper - lower) must last from 1 minute to 1 day. The SDKs always send both bounds (their own default is
# 180 s), so the default only serves a hand-made request.
DEFAULT_WINDOW = 300
MIN_WINDOW = 60
MAX_WINDOW = 86_400
_NONCE_SLOT = 1  # EntryPoint v0.7: nonceSequenceNumber, mapping(address => mapping(uint192 => uint256))
_SEQUENCE_MASK = (1 << 64) - 1
_ONE_ETH = 10**18


def paymaster_and_data(*, sponsored: bool = False, refund_receiver: str | None = None) -> bytes:
    """``NodePaymaster ‖ uint128 25000 ‖ uint128 50000 ‖ node data``, the node data as a production node picks it:

    * sponsored (the devnet's gas tank is virtual, like the production node's trusted gas tank): ``KEEP``, nothing
      else, so there is no refund and no postOp;
    * ``paymentInfo.gasRefundAddress`` set: ``DAPP ‖ FIXED ‖ receiver``;
    * otherwise ``USER ‖ FIXED``: the unused part of each userOp's maximum gas cost goes back to its sender.

    (A production node sends ``DAPP ‖ FIXED ‖ gas tank`` for a gas tank it does not trust; the devnet has none.)"""
    if sponsored:
        data = NODE_PM_REFUND_KEEP
    elif refund_receiver is not None:
        data = NODE_PM_REFUND_DAPP + NODE_PM_PREMIUM_FIXED + bytes.fromhex(refund_receiver[2:])
    else:
        data = NODE_PM_REFUND_USER + NODE_PM_PREMIUM_FIXED
    return (
        bytes.fromhex(NODE_PAYMASTER_ADDRESS[2:])
        + PAYMASTER_VERIFICATION_GAS_LIMIT.to_bytes(16, "big")
        + PAYMASTER_POST_OP_GAS_LIMIT.to_bytes(16, "big")
        + data
    )


def format_units(amount: int, decimals: int) -> str:
    """``1234567, 6 → "1.234567"``; trailing zeros dropped."""
    whole, frac = divmod(amount, 10**decimals)
    text = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{whole}.{text}" if text else str(whole)


def _format_fraction(value: Fraction, digits: int = 6) -> str:
    scaled = math.ceil(value * 10**digits)
    return format_units(scaled, digits)


@dataclass
class Draft:
    """One userOp of the quote while it is being filled."""

    index: int
    role: str  # "payment" | "sponsor" | "user"
    where: str  # the request path, for error messages ("paymentInfo", "userOps[0]")
    chain_id: int
    sender: str
    nonce: int
    init_code: bytes
    call_data: bytes
    lower: int
    upper: int
    short_encoding: bool = False
    session_details: SessionDetails | None = None
    requested_verification_gas: int | None = None
    requested_call_gas: int = 0
    metadata: tuple[dict[str, Any], ...] | None = None
    is_clean_up: bool | None = None
    retry_delay: int | None = None
    is_permit_tx: bool = False
    is_trigger_op: bool = False  # the first userOp on the trigger chain (the spender of the trigger's allowance)
    sim_mode: SmartSessionMode | None = None
    sim: SimulatedOp | None = None
    verification_gas: int = 0
    call_gas: int = 0
    pre_verification_gas: int = 0
    fees: ChainFees | None = None
    node_paymaster: bytes = b""  # its paymasterAndData (none for the gas-tank entry, which is never submitted)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def executed(self) -> bool:
        return self.role != "sponsor"

    @property
    def nonce_key(self) -> int:
        return self.nonce >> 64

    def packed(self, signature: bytes = b"") -> PackedUserOperation:
        fees = self.fees or ChainFees(0, 0, 0)
        return PackedUserOperation(
            sender=self.sender,
            nonce=self.nonce,
            init_code=self.init_code,
            call_data=self.call_data,
            call_gas_limit=self.call_gas,
            verification_gas_limit=self.verification_gas,
            pre_verification_gas=self.pre_verification_gas,
            max_fee_per_gas=fees.max_fee_per_gas,
            max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            paymaster_and_data=self.node_paymaster,
            signature=signature,
        )


def _pre_verification_gas(op: PackedUserOperation) -> int:
    """Biconomy's node's ``preVerificationGas``: a fixed share of the bundle's own cost (``fixedHandleOpsGas``),
    whatever the userOp's size. (It adds the L1 data fee, in L2 gas, on rollups; the devnet charges none.)"""
    return FIXED_HANDLE_OPS_GAS


def _deploy_once(drafts: Sequence[Draft]) -> None:
    """Only an account's first userOp on a chain keeps its ``initCode`` (Biconomy's node drops the others': once the
    first has deployed the account, a second ``initCode`` would fail with AA10)."""
    seen: set[tuple[int, str]] = set()
    for d in drafts:
        key = (d.chain_id, d.sender.lower())
        if key in seen:
            d.init_code = b""
        seen.add(key)


def _proof_depth(leaves: int) -> int:
    if leaves <= 1:
        return 0
    tree = MerkleTree([(k + 1).to_bytes(32, "big") for k in range(leaves)])
    return max(len(tree.proof((k + 1).to_bytes(32, "big"))) for k in range(leaves))


def _window(op: QuoteRequestUserOp, now: int) -> tuple[int, int]:
    """A userOp's execution window: the bounds it was sent with; a missing lower bound is ``now`` (the time of the
    userOp's chain), a missing upper bound ``lower + DEFAULT_WINDOW``. :meth:`QuoteBuilder._check` bounds it."""
    lower = now if op.lower_bound_timestamp is None else op.lower_bound_timestamp
    return lower, lower + DEFAULT_WINDOW if op.upper_bound_timestamp is None else op.upper_bound_timestamp


def _transfer_call(token: str, to: str, amount: int) -> bytes:
    return bytes(
        encode_execute_single(Call(to=token, data=encode_function_call("transfer(address,uint256)", [to, amount])))
    )


def _transfer_from_call(token: str, owner: str, to: str, amount: int) -> bytes:
    data = encode_function_call("transferFrom(address,address,uint256)", [owner, to, amount])
    return bytes(encode_execute_single(Call(to=token, data=data)))


class QuoteBuilder:
    def __init__(self, config: NodeConfig, chains: dict[int, ChainClient], store: Store) -> None:
        self.config = config
        self.chains = chains
        self.store = store
        self._account = Account.from_key(config.private_key)  # derived once: the commitment signs every quote
        self.node_address = str(self._account.address)

    # -- entry point ------------------------------------------------------------------------------------------------

    async def quote(self, request: QuoteRequest) -> dict[str, Any]:
        if len(request.user_ops) > self.config.max_user_ops:
            raise NodeError(
                400,
                f"userOps: {len(request.user_ops)} userOps is more than this node quotes at once "
                f"({self.config.max_user_ops}); split the instructions over several quotes",
            )
        # The chains' clocks (the EntryPoint checks windows against block time) and fees, read at once.
        clocks, fees = await asyncio.gather(self._clocks(request), self._fees(request))
        fee_token = self._check(request, clocks)
        drafts = self._drafts(request, clocks)
        fusion = self._fusion(request, drafts)
        if drafts[0].role == "payment":  # a placeholder amount for the simulation: it does not change the gas
            drafts[0].call_data = self._payment_call(request, fusion, 1)
        executed = [d for d in drafts if d.executed]
        chain_ids = list(dict.fromkeys(d.chain_id for d in executed))
        for d in drafts:
            d.fees = fees.get(d.chain_id, ChainFees(0, 0, 0))

        self._number_repeats(executed)
        _deploy_once(drafts)
        depth = _proof_depth(len(drafts))
        simulate = request.simulation is not None and request.simulation.simulate
        if simulate:  # the client's choice, as on Biconomy's node: otherwise its own gas limits are taken
            await asyncio.gather(*(self._session_modes(c, [d for d in executed if d.chain_id == c]) for c in chain_ids))
            await asyncio.gather(
                *(self._simulate(c, [d for d in executed if d.chain_id == c], depth, request) for c in chain_ids)
            )
        for d in drafts:
            self._fill_gas(d, depth)

        # The fee, then the payment userOp's final call data. The amount's zero bytes change the payment's
        # preVerificationGas by a few gas, and so its maximum cost, which the fee is: price again until it holds.
        token_wei, wei_cost = self._price(executed, fee_token)
        payment = drafts[0]
        if payment.role == "payment":
            for _ in range(4):
                payment.call_data = self._payment_call(request, fusion, token_wei)
                payment.pre_verification_gas = _pre_verification_gas(payment.packed(self._placeholder(payment, depth)))
                priced = self._price(executed, fee_token)
                if priced == (token_wei, wei_cost):
                    break
                token_wei, wei_cost = priced
            if simulate:  # both at once; a refusal of the first is the one reported when both refuse
                checks = [self._check_funds(request, fusion, token_wei)]
                if payment.session_details is not None and fee_token is not None:
                    checks.append(self._check_session_payment(payment, depth, fee_token, token_wei))
                for outcome in await asyncio.gather(*checks, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome

        return self._finish(request, drafts, fee_token, token_wei, fusion)

    # -- 1. the request ---------------------------------------------------------------------------------------------

    def _served(self, request: QuoteRequest) -> list[int]:
        """The chains of the request that this node serves (the others are refused by :meth:`_check`)."""
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

    def _check(self, request: QuoteRequest, clocks: dict[int, int]) -> FeeTokenConfig | None:
        supported = sorted(c.chain_id for c in self.config.chains)
        if request.quote_type not in ("simple", "permit", "onchain"):
            raise NodeError(400, f"quoteType: {request.quote_type!r} quotes are not supported by this node")
        if request.quote_type != "simple" and request.trigger is None:
            raise NodeError(400, f"trigger: is required for {request.quote_type} quotes")
        if not request.user_ops:
            raise NodeError(400, "userOps: a quote needs at least one userOp")
        for k, op in enumerate(request.user_ops):
            where = f"userOps[{k}]"
            if self.config.chain(op.chain_id) is None:
                raise NodeError(400, f"{where}.chainId: chain {op.chain_id} is not supported (supported: {supported})")
            if op.eip7702_auth is not None:
                raise NodeError(400, f"{where}.eip7702Auth: EIP-7702 delegation is not supported by this node")
            if op.short_encoding and op.session_details is None:
                raise NodeError(
                    400, f"{where}.shortEncoding: only session userOps (with sessionDetails) can be short-encoded"
                )
            if op.session_details is not None and not op.short_encoding:
                raise NodeError(
                    400, f"{where}.shortEncoding: session userOps must be short-encoded (their leaf is the userOpHash)"
                )
            if op.session_details is not None and request.quote_type == "permit":
                raise NodeError(400, f"{where}.sessionDetails: session userOps need a simple or onchain quote")
            now = clocks[op.chain_id]
            lower, upper = _window(op, now)
            if upper < lower:
                raise NodeError(400, f"{where}.upperBoundTimestamp: {upper} is before lowerBoundTimestamp {lower}")
            if not MIN_WINDOW <= upper - lower <= MAX_WINDOW:
                raise NodeError(
                    400,
                    f"{where}.upperBoundTimestamp: the execution window must last {MIN_WINDOW} to {MAX_WINDOW} s, "
                    f"this one lasts {upper - lower} s ({lower} to {upper}); set upperBoundTimestamp between "
                    f"{lower + MIN_WINDOW} and {lower + MAX_WINDOW}, or leave it out for {DEFAULT_WINDOW} s",
                )
            if upper <= now:
                raise NodeError(400, f"{where}.upperBoundTimestamp: the window ended at {upper} (chain time {now})")
        pay = request.payment_info
        if pay.eip7702_auth is not None:
            raise NodeError(400, "paymentInfo.eip7702Auth: EIP-7702 delegation is not supported by this node")
        if request.trigger is not None and self.config.chain(request.trigger.chain_id) is None:
            raise NodeError(400, f"trigger.chainId: chain {request.trigger.chain_id} is not supported")
        if pay.sponsored:
            chain = self.config.chain(pay.chain_id)
            return None if chain is None else chain.fee_token(pay.token)
        chain = self.config.chain(pay.chain_id)
        if chain is None:
            raise NodeError(400, f"paymentInfo.chainId: chain {pay.chain_id} is not supported (supported: {supported})")
        token = chain.fee_token(pay.token)
        if token is None:
            known = [t.address for t in chain.fee_tokens]
            raise NodeError(400, f"paymentInfo.token: {pay.token} is not a fee token on chain {pay.chain_id} {known}")
        if bool(pay.short_encoding) != (pay.session_details is not None):
            raise NodeError(
                400,
                "paymentInfo.shortEncoding: a session payment (with sessionDetails) must be short-encoded, "
                "any other must not",
            )
        return token

    def _drafts(self, request: QuoteRequest, clocks: dict[int, int]) -> list[Draft]:
        windows = [_window(op, clocks[op.chain_id]) for op in request.user_ops]
        pay = request.payment_info
        lower, upper = min(w[0] for w in windows), max(w[1] for w in windows)
        if pay.chain_id in clocks:  # due at once on its own chain, even when another chain's clock runs ahead
            lower = min(lower, clocks[pay.chain_id])
        pm = paymaster_and_data(sponsored=pay.sponsored, refund_receiver=pay.gas_refund_address)
        payment = Draft(
            index=0,
            role="sponsor" if pay.sponsored else "payment",
            where="paymentInfo",
            chain_id=pay.chain_id,
            sender=pay.sender,
            nonce=pay.nonce,
            init_code=b"" if pay.sponsored or pay.init_code is None else bytes(pay.init_code),
            call_data=b"",
            lower=lower,
            upper=upper,
            short_encoding=bool(pay.short_encoding),
            session_details=pay.session_details,
            requested_verification_gas=pay.verification_gas_limit,
            requested_call_gas=pay.call_gas_limit,
            node_paymaster=b"" if pay.sponsored else pm,
        )
        drafts = [payment]
        for k, op in enumerate(request.user_ops):
            drafts.append(
                Draft(
                    index=k + 1,
                    role="user",
                    where=f"userOps[{k}]",
                    chain_id=op.chain_id,
                    sender=op.sender,
                    nonce=op.nonce,
                    init_code=b"" if op.init_code is None else bytes(op.init_code),
                    call_data=bytes(op.call_data),
                    lower=windows[k][0],
                    upper=windows[k][1],
                    short_encoding=op.short_encoding,
                    session_details=op.session_details,
                    requested_verification_gas=op.verification_gas_limit,
                    requested_call_gas=op.call_gas_limit,
                    metadata=op.metadata,
                    is_clean_up=op.is_clean_up_user_op,
                    retry_delay=op.execution_simulation_retry_delay,
                    node_paymaster=pm,
                )
            )
        return drafts

    def _fusion(self, request: QuoteRequest, drafts: list[Draft]) -> bool:
        """Mark the trigger userOp (and for a permit quote the permit userOp); True if the payment is pulled from the
        EOA with the trigger's allowance (the permit's, or the one the EOA's approve transaction sets)."""
        trigger = request.trigger
        if request.quote_type not in ("permit", "onchain") or trigger is None:
            return False
        first = next((d for d in drafts if d.executed and d.chain_id == trigger.chain_id), None)
        if first is None:
            raise NodeError(
                400, f"trigger.chainId: no userOp of the quote runs on the trigger chain {trigger.chain_id}"
            )
        first.is_trigger_op = True
        first.is_permit_tx = request.quote_type == "permit"
        pay = request.payment_info
        return (
            not pay.sponsored
            and pay.eoa is not None
            and pay.chain_id == trigger.chain_id
            and pay.token == trigger.token_address
        )

    # -- 3. nonces --------------------------------------------------------------------------------------------------

    def _number_repeats(self, drafts: Sequence[Draft]) -> None:
        """Nonces are the client's, with one exception: a userOp that repeats the very nonce of an earlier userOp of
        this quote (same chain, sender, key and sequence) gets the next free nonce of that key in the quote. The
        reference SDK draws each userOp's key from ``Date.now()``, waiting 1 ms between two draws for one account,
        but that timer can fire before the wall clock's millisecond turns: two userOps of one quote then share a key
        and, read from ``getNonce``, a nonce, and the second could never pass the EntryPoint's nonce check."""
        used: dict[tuple[int, str, int], set[int]] = {}
        for d in drafts:
            lane = used.setdefault((d.chain_id, d.sender.lower(), d.nonce_key), set())
            if d.nonce in lane:
                d.nonce = max(lane) + 1
            lane.add(d.nonce)

    @staticmethod
    def _nonce_overrides(drafts: Sequence[Draft]) -> dict[str, str]:
        """``stateDiff`` of the EntryPoint that sets ``nonceSequenceNumber[sender][key]`` (slot 1 of EntryPoint v0.7)
        to the sequence of the first userOp of this quote on each (sender, key): the simulation checks the nonces of
        one quote against each other, not against what other quotes, still to execute, will have used."""
        out: dict[str, str] = {}
        for d in drafts:
            outer = keccak(abi_encode(["address", "uint256"], [d.sender, _NONCE_SLOT], what="slot"))
            slot = "0x" + keccak(abi_encode(["uint256", "bytes32"], [d.nonce_key, outer], what="slot")).hex()
            out.setdefault(slot, "0x" + (d.nonce & _SEQUENCE_MASK).to_bytes(32, "big").hex())
        return out

    # -- 4. simulation ----------------------------------------------------------------------------------------------

    async def _session_modes(self, chain_id: int, drafts: Sequence[Draft]) -> None:
        """The mode each session userOp is simulated in: its own, except that a USE userOp whose permission is not
        enabled (on chain, nor by an earlier userOp of this quote) but can be is simulated as UNSAFE_ENABLE."""
        sessions = [d for d in drafts if d.session_details is not None]
        for d in sessions:
            d.sim_mode = d.session_details.mode if d.session_details is not None else None
        keys = list(
            dict.fromkeys(
                (d.sender, bytes(d.session_details.permission_id))
                for d in sessions
                if d.session_details is not None and d.session_details.mode is SmartSessionMode.USE
            )
        )
        if not keys:
            return
        raws = await self.chains[chain_id].calls(
            [
                (SMART_SESSIONS_ADDRESS, encode_function_call("isPermissionEnabled(bytes32,address)", [pid, sender]))
                for sender, pid in keys
            ]
        )
        enabled = {key for key, raw in zip(keys, raws, strict=True) if int.from_bytes(raw[:32], "big")}
        for d in sessions:
            assert d.session_details is not None
            key = (d.sender, bytes(d.session_details.permission_id))
            if d.session_details.mode is not SmartSessionMode.USE:
                enabled.add(key)
            elif key not in enabled and _can_enable(d.session_details):
                d.sim_mode = SmartSessionMode.UNSAFE_ENABLE
                enabled.add(key)

    def _placeholder(self, d: Draft, depth: int, mode: SmartSessionMode | None = None) -> bytes:
        proof = [b"\x5f" * 32] * depth
        if d.session_details is not None:
            used = mode or d.sim_mode or d.session_details.mode
            return bytes(
                session_signature(
                    d.session_details, used, root=PLACEHOLDER_ROOT, proof=proof, sig65=MOCK_SIGNATURE,
                    onchain_tx=d.extra.get("onchain_tx"),
                )
            )  # fmt: skip
        if d.extra.get("onchain_tx") is not None:
            raw_tx = d.extra["onchain_tx"]
            return bytes(owner_onchain_signature(raw_tx=raw_tx, lower=d.lower, upper=d.upper, proof=proof))
        if d.extra.get("permit") is not None:
            return bytes(
                owner_permit_signature(
                    d.extra["permit"],
                    is_permit_tx=d.is_permit_tx,
                    root=PLACEHOLDER_ROOT,
                    lower=d.lower,
                    upper=d.upper,
                    proof=proof,
                )
            )
        return bytes(
            owner_simple_signature(
                root=PLACEHOLDER_ROOT, lower=d.lower, upper=d.upper, proof=proof, sig65=MOCK_SIGNATURE
            )
        )

    async def _simulate(self, chain_id: int, drafts: Sequence[Draft], depth: int, request: QuoteRequest) -> None:
        overrides: dict[str, Any] = {}
        trigger = request.trigger
        if request.quote_type in ("permit", "onchain") and trigger is not None:
            spender = next((d.sender for d in drafts if d.is_trigger_op), None)
            token_address, amount = trigger.token_address, (trigger.amount or 0) + 10**30
            for d in drafts:
                if request.quote_type == "permit":
                    d.extra["permit"] = placeholder_permit(
                        token=token_address, spender=spender or d.sender, amount=amount, chain_id=trigger.chain_id
                    )
                else:
                    d.extra["onchain_tx"] = placeholder_onchain_tx(
                        token=token_address, spender=spender or d.sender, amount=amount, chain_id=trigger.chain_id
                    )
            chain = self.config.chain(trigger.chain_id)
            token = None if chain is None else chain.fee_token(trigger.token_address)
            eoa = request.payment_info.eoa
            if chain_id == trigger.chain_id and spender is not None and eoa is not None:
                if token is None or token.allowance_slot is None:
                    raise NodeError(
                        400,
                        f"trigger.tokenAddress: this node cannot simulate a {request.quote_type} trigger of "
                        f"{trigger.token_address} "
                        "(it knows no allowance slot for it); use a configured fee token",
                    )
                key, value = allowance_override(token.allowance_slot, eoa, spender, (trigger.amount or 0) + 10**30)
                overrides[trigger.token_address] = {"stateDiff": {key: value}}
        overrides[ENTRY_POINT_V07_ADDRESS] = {"stateDiff": self._nonce_overrides(drafts)}
        ops = []
        for d in drafts:
            d.verification_gas, d.call_gas, d.pre_verification_gas = SIM_VERIFICATION_GAS_LIMIT, SIM_CALL_GAS_LIMIT, 0
            ops.append(d.packed(self._placeholder(d, depth)))
        results = await simulate_user_ops(
            self.chains[chain_id], ops, sender=self.node_address, state_overrides=overrides
        )
        for d, result in zip(drafts, results, strict=True):
            d.sim = result
            if result.error is not None:
                hint = ""
                if result.error.startswith("AA25"):
                    hint = (
                        f" ({d.where}.nonce {d.nonce}: the userOps of one sender and nonce key on a chain must carry "
                        "consecutive nonces, in quote order)"
                    )
                raise NodeError(400, f"{d.where} (chain {chain_id}): refused in simulation: {result.error}{hint}")
            if result.reverted:
                raise NodeError(
                    400, f"{d.where} (chain {chain_id}): the call reverts in simulation: {result.revert_reason}"
                )
            if result.paymaster_validation_data & ((1 << 160) - 1):
                raise NodeError(500, f"{d.where}: the node paymaster refused the userOp in simulation")

    # -- 5. gas -----------------------------------------------------------------------------------------------------

    def _fill_gas(self, d: Draft, depth: int) -> None:
        """Without a simulation (and for the gas-tank entry), the client's limits, as Biconomy's node takes them:
        ``callGasLimit`` as sent, ``verificationGasLimit`` as sent or 150,000, plus 300,000 when the userOp deploys
        the account. Simulated, the measured gas with this node's margins (the client's verification limit stays a
        floor). ``preVerificationGas`` is the node's fixed handleOps share either way."""
        d.pre_verification_gas = _pre_verification_gas(d.packed())
        if d.sim is None:
            create = SENDER_CREATE_GAS if d.init_code else 0
            d.verification_gas = (d.requested_verification_gas or BASE_VERIFICATION_GAS) + create
            d.call_gas = d.requested_call_gas
            return
        validation = d.sim.validation_gas + (PERMIT_TX_GAS if d.is_permit_tx else 0)
        simulated = math.ceil(validation * 1.2) + 30_000
        d.verification_gas = max(d.requested_verification_gas or 0, simulated)
        d.call_gas = math.ceil(d.sim.execution_gas * 1.2) + 20_000

    # -- 6. price ---------------------------------------------------------------------------------------------------

    def _price(self, executed: Sequence[Draft], token: FeeTokenConfig | None) -> tuple[int, int]:
        """The fee: each userOp's maximum cost (``maxGasLimit × maxFeePerGas``), as a production node charges it.
        What the userOp does not use, the node paymaster refunds to its sender in ETH (refund mode USER)."""
        wei = 0
        for d in executed:
            assert d.fees is not None
            wei += max_gas_limit(d.packed()) * d.fees.max_fee_per_gas
        if token is None:
            return 0, wei
        amount = math.ceil(Fraction(wei, _ONE_ETH) * token.per_native_fraction * 10**token.decimals)
        return max(amount, 1), wei

    async def _check_funds(self, request: QuoteRequest, fusion: bool, fee: int) -> None:
        """The payer must hold the fee (a fusion EOA: the trigger amount and the fee)."""
        pay = request.payment_info
        holder = pay.eoa if fusion and pay.eoa is not None else pay.sender
        needed = fee + ((request.trigger.amount or 0) if fusion and request.trigger is not None else 0)
        raw = await self.chains[pay.chain_id].call(pay.token, encode_function_call("balanceOf(address)", [holder]))
        balance = int.from_bytes(raw[:32], "big")
        if balance < needed:
            raise NodeError(
                400,
                f"paymentInfo: {holder} holds {balance} base units of the fee token {pay.token} on chain "
                f"{pay.chain_id}, but {needed} are needed (fee {fee})",
            )

    async def _check_session_payment(self, payment: Draft, depth: int, token: FeeTokenConfig, fee: int) -> None:
        """A session pays the fee under its own payment policy (spec §3.3), which may cap it. The payment userOp was
        simulated with a placeholder amount; it runs once more with the real fee, alone (it is the first userOp of
        its chain), so that a fee the session may not pay is refused now, naming the fee and the cap, and not at
        ``/exec`` after the client signed (where any client would only learn that "userOp 0 fails validation")."""
        probe = replace(
            payment, verification_gas=SIM_VERIFICATION_GAS_LIMIT, call_gas=SIM_CALL_GAS_LIMIT, pre_verification_gas=0
        )
        [result] = await simulate_user_ops(
            self.chains[payment.chain_id],
            [probe.packed(self._placeholder(payment, depth))],
            sender=self.node_address,
            state_overrides={ENTRY_POINT_V07_ADDRESS: {"stateDiff": self._nonce_overrides([payment])}},
        )
        if result.error is None and not result.reverted:
            return
        reason = result.error or f"the transfer reverts: {result.revert_reason}"
        if "PolicyViolation" not in reason:  # not the cap: say what it is (an enable already used, a revoked session)
            raise NodeError(400, f"paymentInfo (chain {payment.chain_id}): refused in simulation: {reason}")
        details = payment.session_details
        assert details is not None
        cap = payment_cap(details.enable_session_data.enable_session.session_to_enable.actions, fee_token=token.address)
        amount = f"{format_units(fee, token.decimals)} {token.symbol} ({fee} base units)"
        bound = []
        if cap is not None and cap.per_payment is not None:
            bound.append(f"at most {format_units(cap.per_payment, token.decimals)} {token.symbol} per payment")
        if cap is not None and cap.in_total is not None:
            bound.append(
                f"at most {format_units(cap.in_total, token.decimals)} {token.symbol} in all (its maxPaymentAmount), "
                "less what it already paid"
            )
        allows = f"; its payment policy on {token.symbol}.transfer allows {' and '.join(bound)}" if bound else ""
        raise NodeError(
            400,
            f"paymentInfo (chain {payment.chain_id}): the fee of {amount} is more than permission "
            f"0x{bytes(details.permission_id).hex()} may pay{allows} (refused in simulation: {reason}). Grant the "
            "session a larger maxPaymentAmount, pay with sponsorship, or use a fresh session",
        )

    def _payment_call(self, request: QuoteRequest, fusion: bool, amount: int) -> bytes:
        pay = request.payment_info
        if fusion and pay.eoa is not None:
            return _transfer_from_call(pay.token, pay.eoa, self.node_address, amount)
        return _transfer_call(pay.token, self.node_address, amount)

    # -- 7. hashes and the answer -----------------------------------------------------------------------------------

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
                "tokenValue": _format_fraction(usd),
                # As Biconomy's node itemises it (USD): the gas, and its orchestration fee, which it sets to zero.
                "gasFee": _format_fraction(usd),
                "orchestrationFee": "0",
            },
        )
        user_ops = []
        for d, (op, user_op_hash, mee_hash) in zip(drafts, hashes, strict=True):
            fees = d.fees or ChainFees(0, 0, 0)
            user_ops.append(
                MeeFilledUserOpDetails(
                    user_op=FilledUserOp(
                        sender=op.sender,
                        nonce=op.nonce,
                        init_code=op.init_code,
                        call_data=op.call_data,
                        call_gas_limit=op.call_gas_limit,
                        verification_gas_limit=op.verification_gas_limit,
                        max_fee_per_gas=op.max_fee_per_gas,
                        max_priority_fee_per_gas=op.max_priority_fee_per_gas,
                        paymaster_and_data=op.paymaster_and_data,
                        pre_verification_gas=op.pre_verification_gas,
                    ),
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
            raise NodeError(500, f"quote {root.hex()}: /exec would read other facts from it than it was built with")
        return to_wire(payload)


def _can_enable(details: SessionDetails) -> bool:
    enable = details.enable_session_data.enable_session
    return bool(enable.permission_enable_sig) and all(len(d.session_digest) == 32 for d in enable.hashes_and_chain_ids)
