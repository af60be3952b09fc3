"""A quote's simulation and the checks it makes possible (step 2 of :mod:`.quoting`).

Simulation runs only when the request asks for it (``simulation: {simulate: true}``), as on Biconomy's node;
otherwise a userOp that cannot pass yet (funds still bridging) is quoted all the same and waits at execution
(:mod:`.executor`). It runs per chain (:func:`simulate_chain`, through :mod:`.simulation`), with placeholder
signatures of each userOp's final layout (:func:`placeholder`), and the EntryPoint's nonce of each (sender, key) set
by a state override to the first nonce this quote uses on it (:func:`nonce_overrides`), so that a pipelined quote
simulates as it will run once the quotes before it have executed. A session userOp in USE mode whose permission is
neither enabled on chain nor enabled by an earlier userOp of the quote, but whose details carry enable data, is
simulated in UNSAFE_ENABLE (:func:`session_modes`). A fusion quote is simulated with the trigger's allowance set by a
state override (the permit, or the EOA's approve transaction, only exists once the quote is signed); an on-chain
quote's placeholder carries a throwaway-signed approve transaction of the same shape.

Once the fee is known, a simulated quote also checks that the payer holds it (:func:`check_funds`), and a session
that pays the fee under its own payment policy is simulated once more with the real fee
(:func:`check_session_payment`), so that a fee above its cap is refused here, naming the fee and the cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..._coerce import keccak
from ...encoding.abi import abi_encode, encode_function_call
from ...encoding.merkle import MerkleTree
from ...encoding.session import SmartSessionMode
from ...policies.payment import payment_cap
from ...versions import ENTRY_POINT_V07_ADDRESS, SMART_SESSIONS_ADDRESS
from ...wire.mee import QuoteRequest
from ...wire.session import MOCK_SIGNATURE, SessionDetails
from ._chain import ChainClient
from .config import FeeTokenConfig, NodeConfig
from .errors import Code, Fact, NodeError
from .quote_pricing import format_units
from .quote_request import Draft
from .refusals import RefusedOp, call_reverted, in_words, validation_failed
from .session_state import worded_by_permission_state
from .signatures import (
    PLACEHOLDER_ROOT,
    owner_onchain_signature,
    owner_permit_signature,
    owner_simple_signature,
    placeholder_onchain_tx,
    placeholder_permit,
    session_signature,
)
from .simulation import SIM_CALL_GAS_LIMIT, SIM_VERIFICATION_GAS_LIMIT, allowance_override, simulate_user_ops
from .transfer_shortfall import transfer_shortfall

__all__ = [
    "check_funds",
    "check_session_payment",
    "fee_above_cap",
    "nonce_overrides",
    "placeholder",
    "proof_depth",
    "refused_op",
    "session_modes",
    "simulate_chain",
]

_NONCE_SLOT = 1  # EntryPoint v0.7: nonceSequenceNumber, mapping(address => mapping(uint192 => uint256))
_SEQUENCE_MASK = (1 << 64) - 1


def refused_op(d: Draft) -> RefusedOp:
    """The userOp as a refusal's facts name it: ``userOpIndex`` is its place in the quote, ``field`` the request's."""
    return RefusedOp(
        index=d.index,
        field=d.where,
        chain_id=d.chain_id,
        nonce=d.nonce,
        call_data=d.call_data,
        session_details=d.session_details,
    )


def proof_depth(leaves: int) -> int:
    """The length of the longest Merkle proof of a quote with ``leaves`` userOps (the placeholders carry as many)."""
    if leaves <= 1:
        return 0
    tree = MerkleTree([(k + 1).to_bytes(32, "big") for k in range(leaves)])
    return max(len(tree.proof((k + 1).to_bytes(32, "big"))) for k in range(leaves))


def nonce_overrides(drafts: Sequence[Draft]) -> dict[str, str]:
    """``stateDiff`` of the EntryPoint that sets ``nonceSequenceNumber[sender][key]`` (slot 1 of EntryPoint v0.7)
    to the sequence of the first userOp of this quote on each (sender, key): the simulation checks the nonces of
    one quote against each other, not against what other quotes, still to execute, will have used."""
    out: dict[str, str] = {}
    for d in drafts:
        outer = keccak(abi_encode(["address", "uint256"], [d.sender, _NONCE_SLOT], what="slot"))
        slot = "0x" + keccak(abi_encode(["uint256", "bytes32"], [d.nonce_key, outer], what="slot")).hex()
        out.setdefault(slot, "0x" + (d.nonce & _SEQUENCE_MASK).to_bytes(32, "big").hex())
    return out


def _can_enable(details: SessionDetails) -> bool:
    enable = details.enable_session_data.enable_session
    return bool(enable.permission_enable_sig) and all(len(d.session_digest) == 32 for d in enable.hashes_and_chain_ids)


async def session_modes(chain: ChainClient, drafts: Sequence[Draft]) -> None:
    """The mode each session userOp of one chain is simulated in: its own, except that a USE userOp whose permission
    is not enabled (on chain, nor by an earlier userOp of this quote) but can be is simulated as UNSAFE_ENABLE."""
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
    raws = await chain.calls(
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


def placeholder(d: Draft, depth: int, mode: SmartSessionMode | None = None) -> bytes:
    """A signature of the userOp's final layout and size (a Merkle proof of ``depth``), signed by nobody."""
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
        owner_simple_signature(root=PLACEHOLDER_ROOT, lower=d.lower, upper=d.upper, proof=proof, sig65=MOCK_SIGNATURE)
    )


async def simulate_chain(
    config: NodeConfig,
    chain: ChainClient,
    drafts: Sequence[Draft],
    depth: int,
    request: QuoteRequest,
    *,
    fusion: bool,
    node: str,
) -> None:
    """Simulate the executed userOps of one chain in quote order (each :attr:`Draft.sim` gets its result); a 400 for
    the first that fails validation or whose call reverts."""
    chain_id = chain.chain_id
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
        trigger_chain = config.chain(trigger.chain_id)
        token = None if trigger_chain is None else trigger_chain.fee_token(trigger.token_address)
        eoa = request.payment_info.eoa
        if chain_id == trigger.chain_id and spender is not None and eoa is not None:
            if token is None or token.allowance_slot is None:
                raise NodeError(
                    400,
                    f"trigger.tokenAddress: this node cannot simulate a {request.quote_type} trigger of "
                    f"{trigger.token_address} "
                    "(it knows no allowance slot for it); use a configured fee token",
                    code=Code.FEE_TOKEN_NOT_SUPPORTED,
                    facts={
                        "field": "trigger.tokenAddress",
                        "chainId": trigger.chain_id,
                        "token": trigger.token_address,
                    },
                )
            key, value = allowance_override(token.allowance_slot, eoa, spender, (trigger.amount or 0) + 10**30)
            overrides[trigger.token_address] = {"stateDiff": {key: value}}
    overrides[ENTRY_POINT_V07_ADDRESS] = {"stateDiff": nonce_overrides(drafts)}
    ops = []
    for d in drafts:
        d.verification_gas, d.call_gas, d.pre_verification_gas = SIM_VERIFICATION_GAS_LIMIT, SIM_CALL_GAS_LIMIT, 0
        ops.append(d.packed(placeholder(d, depth)))
    results = await simulate_user_ops(chain, ops, sender=node, state_overrides=overrides)
    for d, result in zip(drafts, results, strict=True):
        d.sim = result
        if result.error is not None:
            hint = ""
            if result.error.startswith("AA25"):
                hint = (
                    f" ({d.where}.nonce {d.nonce}: the userOps of one sender and nonce key on a chain must carry "
                    "consecutive nonces, in quote order)"
                )
            code, facts = validation_failed(refused_op(d), result)
            reason = f"refused in simulation: {result.error}{hint}"
            said = in_words(code, facts)
            error = NodeError(
                400,
                f"{d.where} (chain {chain_id}): " + (reason if said is None else f"{said} ({reason})"),
                code=code,
                facts=facts,
            )
            if d.session_details is not None and d.sim_mode is not None:
                error = await worded_by_permission_state(
                    chain, error, details=d.session_details, account=d.sender, mode=d.sim_mode, chain_id=chain_id
                )
            raise error
        if result.reverted and d.role == "payment":
            await _payer_can_pay_at_all(chain, request, fusion)
        if result.reverted:
            code, facts = call_reverted(refused_op(d), result)
            facts |= await transfer_shortfall(chain, d.sender, d.call_data)
            raise NodeError(
                400,
                f"{d.where} (chain {chain_id}): the call reverts in simulation: {result.revert_reason}",
                code=code,
                facts=facts,
            )
        if result.paymaster_validation_data & ((1 << 160) - 1):
            raise NodeError(
                500,
                f"{d.where}: the node paymaster refused the userOp in simulation",
                code=Code.INTERNAL_ERROR,
                facts=refused_op(d).facts(),
            )


def _payer(request: QuoteRequest, fusion: bool) -> str:
    """Who pays the fee: a fusion quote's EOA (the payment userOp pulls from it), else the paying account."""
    pay = request.payment_info
    return pay.eoa if fusion and pay.eoa is not None else pay.sender


async def _fee_token_balance(chain: ChainClient, request: QuoteRequest, holder: str) -> int:
    raw = await chain.call(request.payment_info.token, encode_function_call("balanceOf(address)", [holder]))
    return int.from_bytes(raw[:32], "big")


async def _payer_can_pay_at_all(chain: ChainClient, request: QuoteRequest, fusion: bool) -> None:
    """The payment userOp's call reverted in simulation, where it moves 1 base unit of the fee token (the fee is
    priced after the simulation): a payer without a single unit is refused as such, INSUFFICIENT_BALANCE (the fee
    itself unknown yet: no ``required`` fact), rather than as a reverted call."""
    pay, holder = request.payment_info, _payer(request, fusion)
    if await _fee_token_balance(chain, request, holder) == 0:
        raise NodeError(
            400,
            f"paymentInfo: {holder} holds no fee token {pay.token} on chain {pay.chain_id}: it cannot pay the fee",
            code=Code.INSUFFICIENT_BALANCE,
            facts={"field": "paymentInfo", "chainId": pay.chain_id, "holder": holder, "token": pay.token,
                   "balance": "0"},
        )  # fmt: skip


async def check_funds(chain: ChainClient, request: QuoteRequest, fusion: bool, fee: int) -> None:
    """The payer must hold the fee (a fusion EOA: the trigger amount and the fee); ``chain`` is the fee chain."""
    pay, holder = request.payment_info, _payer(request, fusion)
    needed = fee + ((request.trigger.amount or 0) if fusion and request.trigger is not None else 0)
    balance = await _fee_token_balance(chain, request, holder)
    if balance < needed:
        raise NodeError(
            400,
            f"paymentInfo: {holder} holds {balance} base units of the fee token {pay.token} on chain "
            f"{pay.chain_id}, but {needed} are needed (fee {fee})",
            code=Code.INSUFFICIENT_BALANCE,
            facts={
                "field": "paymentInfo",
                "chainId": pay.chain_id,
                "holder": holder,
                "token": pay.token,
                "balance": str(balance),
                "required": str(needed),
                "fee": str(fee),
            },
        )


async def check_session_payment(
    chain: ChainClient, payment: Draft, depth: int, token: FeeTokenConfig, fee: int, *, node: str
) -> None:
    """A session pays the fee under its own payment policy (spec §3.3), which may cap it. The payment userOp was
    simulated with a placeholder amount; it runs once more with the real fee, alone (it is the first userOp of
    its chain), so that a fee the session may not pay is refused now, naming the fee and the cap, and not at
    ``/exec`` after the client signed (where any client would only learn that "userOp 0 fails validation")."""
    probe = replace(
        payment, verification_gas=SIM_VERIFICATION_GAS_LIMIT, call_gas=SIM_CALL_GAS_LIMIT, pre_verification_gas=0
    )
    [result] = await simulate_user_ops(
        chain,
        [probe.packed(placeholder(payment, depth))],
        sender=node,
        state_overrides={ENTRY_POINT_V07_ADDRESS: {"stateDiff": nonce_overrides([payment])}},
    )
    if result.error is None and not result.reverted:
        return
    reason = result.error or f"the transfer reverts: {result.revert_reason}"
    refused = refused_op(payment)
    code, facts = validation_failed(refused, result) if result.error is not None else call_reverted(refused, result)
    if facts.get("revertError") != "PolicyViolation":  # not the cap: say what it is (an enable used, a revoked session)
        raise NodeError(
            400, f"paymentInfo (chain {payment.chain_id}): refused in simulation: {reason}", code=code, facts=facts
        )
    details = payment.session_details
    assert details is not None
    raise fee_above_cap(payment.chain_id, details, token, fee, f"refused in simulation: {reason}", facts)


def fee_above_cap(
    chain_id: int, details: SessionDetails, token: FeeTokenConfig, fee: int, reason: str, facts: dict[str, Fact]
) -> NodeError:
    """The refusal of a fee that a session's payment policy does not let it pay, naming the fee, the cap and the
    permission: at the quote (:func:`check_session_payment`) and at ``/exec`` for a client that did not ask for a
    simulation (:mod:`.acceptance`) alike."""
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
    return NodeError(
        400,
        f"paymentInfo (chain {chain_id}): the fee of {amount} is more than permission "
        f"0x{bytes(details.permission_id).hex()} may pay{allows} ({reason}). Grant the "
        "session a larger maxPaymentAmount, pay with sponsorship, or use a fresh session",
        code=Code.SESSION_FEE_ABOVE_CAP,
        facts=facts
        | {
            "token": token.address,
            "fee": str(fee),
            "capPerPayment": None if cap is None or cap.per_payment is None else str(cap.per_payment),
            "capInTotal": None if cap is None or cap.in_total is None else str(cap.in_total),
        },
    )
