"""A quote is checked against what the client asked for before anything signs it.

The signer signs one hash, ``quote.hash``, and that signature authorises every userOp below it. The commitment check
(:func:`.results.check_commitment`) only proves that whoever sent the quote signed it: a node with a bug, or anyone
between the client and the node, could put something else under the hash. So the client works it out again, as the
K1MeeValidator will on chain:

1. every userOp's ``userOpHash`` (EntryPoint v0.7's ``getUserOpHash`` on its chain) and ``meeUserOpHash`` from the
   quote's own fields, and the Merkle root of their leaves, which must be ``quote.hash``;
2. every userOp the client asked for, in order, with the sender, nonce, chain, call data, ``initCode`` and window it
   asked for; no userOp more or less;
3. the payment userOp (not sponsored): the payer and nonce asked for, and a call that moves at most the quote's fee,
   in the fee token asked for, to the node the client talks to (and to the recipient a session's grant pinned, if
   it did), and nothing else; the quote's ``node`` is that node;
4. what the request leaves to the node, within bounds: every userOp that runs names a paymaster, so its gas is
   never paid from the account (without one, the EntryPoint takes up to every gas limit times ``maxFeePerGas`` from
   the account and pays it to whoever submits the bundle), and its gas limits and fees per gas are ones a real
   chain could charge (:data:`MAX_GAS_LIMIT`, :data:`MAX_FEE_PER_GAS`).

Any difference raises :class:`~smartsessions.errors.QuoteMismatchError` naming the field. The fee itself is the
node's price: a node may ask more than another would, but it cannot have the signer pay it to anyone else, and a
session pays at most its ``max_payment_amount`` (enforced on chain).
"""

from __future__ import annotations

from .._coerce import to_address
from ..account.calls import Call, decode_execute
from ..encoding.abi import abi_decode
from ..errors import EncodingError, InvalidInputError, QuoteMismatchError
from ..policies.payment import TRANSFER_SELECTOR, pinned_fee_recipients
from ..wire.mee import GetQuotePayload, MeeFilledUserOpDetails, QuoteRequest
from ..wire.quote_tree import HashMismatch, quote_tree

__all__ = ["MAX_FEE_PER_GAS", "MAX_GAS_LIMIT", "verify_quote"]

_TRANSFER_FROM = bytes.fromhex("23b872dd")  # transferFrom(address,address,uint256)
#: The most gas a quote's userOp may reserve in any one of its gas fields. Nodes size them from a simulation; a
#: bundle of the devnet node holds 29,000,000 in all, and no MEE userOp comes near. Larger is a node's error or a
#: change on the way.
MAX_GAS_LIMIT = 30_000_000
#: The highest ``maxFeePerGas`` (wei) a quote may name: 10,000 gwei, far above what any chain the MEE serves has
#: charged; the node's paymaster pays it, but a node that names more has not priced the chain it quotes.
MAX_FEE_PER_GAS = 10**13
#: ``paymaster (20 bytes) ‖ uint128 verification gas ‖ uint128 postOp gas``: the shortest paymasterAndData with a
#: paymaster (EntryPoint v0.7 refuses shorter, ``AA93``).
_PAYMASTER_FIELDS = 52


def _mismatch(field: str, problem: str, quote: GetQuotePayload) -> QuoteMismatchError:
    return QuoteMismatchError(
        f"The quote {('0x' + bytes(quote.hash).hex())} is not what was asked for: {field} {problem}.",
        field=field,
        quote_hash="0x" + bytes(quote.hash).hex(),
        meta_messages=[
            "Nothing was signed.",
            "Fix: ask for a new quote; if it persists, check the node URL and whatever sits between it and you.",
        ],
    )


def _check_hashes(quote: GetQuotePayload) -> None:
    found = quote_tree(quote)
    if isinstance(found, HashMismatch):
        if found.index is None:
            raise _mismatch("hash", "is not the Merkle root of its userOps", quote)
        what = "its userOp" if found.field == "userOpHash" else "its userOp and window"
        raise _mismatch(f"userOps[{found.index}].{found.field}", f"is not the hash of {what}", quote)


def _check_asked(quote: GetQuotePayload, request: QuoteRequest) -> None:
    if len(quote.user_ops) != len(request.user_ops) + 1:
        raise _mismatch(
            "userOps",
            f"has {len(quote.user_ops)} entries; the request asked for {len(request.user_ops)} userOps and the payment",
            quote,
        )
    pay, first = request.payment_info, quote.user_ops[0]
    # a sponsor's entry is never executed: its nonce is the sponsor's business, its sender and chain are checked
    nonce_differs = not pay.sponsored and first.user_op.nonce != pay.nonce
    if first.user_op.sender != pay.sender or first.chain_id != pay.chain_id or nonce_differs:
        raise _mismatch("userOps[0]", "is not the payment asked for (its sender, chain or nonce)", quote)
    for i, (asked, got) in enumerate(zip(request.user_ops, quote.user_ops[1:], strict=True)):
        where = f"userOps[{i + 1}]"
        for name, want, have in (
            ("sender", asked.sender, got.user_op.sender),
            ("nonce", asked.nonce, got.user_op.nonce),
            ("chainId", asked.chain_id, got.chain_id),
            ("callData", bytes(asked.call_data), bytes(got.user_op.call_data)),
            ("initCode", bytes(asked.init_code or b""), bytes(got.user_op.init_code)),
        ):
            if want != have:
                raise _mismatch(f"{where}.{name}", f"is not the {name} asked for (request userOps[{i}])", quote)
        for name, want_bound, have_bound in (
            ("lowerBoundTimestamp", asked.lower_bound_timestamp, got.lower_bound_timestamp),
            ("upperBoundTimestamp", asked.upper_bound_timestamp, got.upper_bound_timestamp),
        ):
            if want_bound is not None and want_bound != have_bound:
                raise _mismatch(f"{where}.{name}", f"is not the window asked for (request userOps[{i}])", quote)


def _payment_call(op: MeeFilledUserOpDetails) -> Call | None:
    try:
        calls = decode_execute(bytes(op.user_op.call_data))
    except (EncodingError, InvalidInputError):
        return None
    return calls[0] if len(calls) == 1 else None


def _check_node(quote: GetQuotePayload, node: str) -> None:
    if quote.node.lower() != node.lower():
        raise _mismatch("node", f"is {quote.node}, not the node this client talks to ({node})", quote)


def _check_payment(quote: GetQuotePayload, request: QuoteRequest, node: str) -> None:
    pay = quote.payment_info
    if pay.sponsored:
        return  # the gas tank's entry: never executed, nothing the client pays
    call = _payment_call(quote.user_ops[0])
    token = request.payment_info.token
    if call is None or call.to != token or call.value:
        raise _mismatch("userOps[0].callData", f"is not one call of the fee token {token}", quote)
    data = bytes(call.data)
    try:
        if data[:4] == TRANSFER_SELECTOR and len(data) == 68:
            recipient, amount = abi_decode(["address", "uint256"], data[4:], what="transfer")
        elif data[:4] == _TRANSFER_FROM and len(data) == 100 and request.payment_info.eoa is not None:
            source, recipient, amount = abi_decode(["address", "address", "uint256"], data[4:], what="transferFrom")
            if str(source).lower() != request.payment_info.eoa.lower():
                raise _mismatch("userOps[0].callData", "pulls the fee from another address than the EOA", quote)
        else:
            raise _mismatch("userOps[0].callData", "is not a transfer of the fee", quote)
    except EncodingError:
        raise _mismatch("userOps[0].callData", "is not a transfer of the fee", quote) from None
    if str(recipient).lower() != node.lower():
        raise _mismatch("userOps[0].callData", f"pays the fee to {recipient}, not to the node {node}", quote)
    session = request.payment_info.session_details
    if session is not None:  # the session pays: a grant may have pinned the recipient (fee_recipient=)
        actions = session.enable_session_data.enable_session.session_to_enable.actions
        pins = pinned_fee_recipients(actions, fee_token=token)
        if pins and pins != {to_address(recipient, field="recipient")}:
            raise _mismatch(
                "userOps[0].callData",
                f"pays the fee to {recipient}, and the session's payment policy lets it pay only "
                f"{', '.join(sorted(pins))} (its grant's fee_recipient)",
                quote,
            )
    if int(amount) > pay.token_wei_amount:
        raise _mismatch(
            "userOps[0].callData", f"pays {amount}, more than the quote's fee ({pay.token_wei_amount})", quote
        )


def _check_gas(quote: GetQuotePayload) -> None:
    start = 1 if quote.payment_info.sponsored else 0  # a sponsor's entry is never executed
    for i, entry in enumerate(quote.user_ops[start:], start):
        op, where = entry.user_op, f"userOps[{i}]"
        if len(op.paymaster_and_data) < _PAYMASTER_FIELDS:
            raise _mismatch(
                f"{where}.paymasterAndData", "names no paymaster: the account would pay the gas itself", quote
            )
        pm_verification = int.from_bytes(bytes(op.paymaster_and_data)[20:36], "big")
        pm_post_op = int.from_bytes(bytes(op.paymaster_and_data)[36:52], "big")
        for name, gas in (
            ("callGasLimit", op.call_gas_limit),
            ("verificationGasLimit", op.verification_gas_limit),
            ("preVerificationGas", op.pre_verification_gas),
            ("paymasterAndData (paymaster verification gas)", pm_verification),
            ("paymasterAndData (paymaster postOp gas)", pm_post_op),
        ):
            if gas > MAX_GAS_LIMIT:
                raise _mismatch(f"{where}.{name}", f"is {gas}, above any userOp's ({MAX_GAS_LIMIT})", quote)
        if op.max_fee_per_gas > MAX_FEE_PER_GAS:
            raise _mismatch(
                f"{where}.maxFeePerGas", f"is {op.max_fee_per_gas} wei, above any chain's ({MAX_FEE_PER_GAS})", quote
            )
        if op.max_priority_fee_per_gas > op.max_fee_per_gas:
            raise _mismatch(f"{where}.maxPriorityFeePerGas", "is above maxFeePerGas", quote)


def verify_quote(quote: GetQuotePayload, request: QuoteRequest, *, node: str) -> None:
    """Refuse ``quote`` (:class:`~smartsessions.errors.QuoteMismatchError`) unless it is the super-transaction
    ``request`` asked for of ``node`` (the node's address, from its ``/info`` or given by the user), with hashes that
    are its own (see the module docstring)."""
    _check_hashes(quote)
    _check_node(quote, node)
    _check_asked(quote, request)
    _check_payment(quote, request, node)
    _check_gas(quote)
