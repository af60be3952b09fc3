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
   in the fee token asked for, and nothing else.

Any difference raises :class:`~smartsessions.errors.QuoteMismatchError` naming the field. What the request leaves to
the node (gas limits, fees per gas, the paymaster) is the node's to fill, and what it costs is bounded by the fee the
payment userOp pays.
"""

from __future__ import annotations

from ..account.calls import Call, decode_execute
from ..encoding.abi import abi_decode
from ..errors import EncodingError, InvalidInputError, QuoteMismatchError
from ..policies.payment import TRANSFER_SELECTOR
from ..wire.mee import GetQuotePayload, MeeFilledUserOpDetails, QuoteRequest
from ..wire.quote_tree import HashMismatch, quote_tree

__all__ = ["verify_quote"]

_TRANSFER_FROM = bytes.fromhex("23b872dd")  # transferFrom(address,address,uint256)


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


def _check_payment(quote: GetQuotePayload, request: QuoteRequest) -> None:
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
            _recipient, amount = abi_decode(["address", "uint256"], data[4:], what="transfer")
        elif data[:4] == _TRANSFER_FROM and len(data) == 100 and request.payment_info.eoa is not None:
            source, _recipient, amount = abi_decode(["address", "address", "uint256"], data[4:], what="transferFrom")
            if str(source).lower() != request.payment_info.eoa.lower():
                raise _mismatch("userOps[0].callData", "pulls the fee from another address than the EOA", quote)
        else:
            raise _mismatch("userOps[0].callData", "is not a transfer of the fee", quote)
    except EncodingError:
        raise _mismatch("userOps[0].callData", "is not a transfer of the fee", quote) from None
    if int(amount) > pay.token_wei_amount:
        raise _mismatch(
            "userOps[0].callData", f"pays {amount}, more than the quote's fee ({pay.token_wei_amount})", quote
        )


def verify_quote(quote: GetQuotePayload, request: QuoteRequest) -> None:
    """Refuse ``quote`` (:class:`~smartsessions.errors.QuoteMismatchError`) unless it is the super-transaction
    ``request`` asked for, with hashes that are its own (see the module docstring)."""
    _check_hashes(quote)
    _check_asked(quote, request)
    _check_payment(quote, request)
