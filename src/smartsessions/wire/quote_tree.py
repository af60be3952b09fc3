"""A quote's own hashes, worked out again from its fields: each userOp's ``userOpHash`` (EntryPoint v0.7's
``getUserOpHash`` on its chain), its ``meeUserOpHash`` (with its window) and the Merkle root of their leaves, which must
be ``quote.hash``. The node checks a quote sent back to ``/exec`` this way, and the client checks a quote before it
signs one; each words the first difference its own way."""

from __future__ import annotations

from dataclasses import dataclass

from ..encoding.merkle import MerkleTree
from ..encoding.quote import SuperTxEntry, get_super_tx_tree
from ..encoding.userop import get_mee_user_op_hash, get_user_op_hash
from .mee import GetQuotePayload

__all__ = ["HashMismatch", "quote_tree"]


@dataclass(frozen=True)
class HashMismatch:
    """The first hash a quote's fields do not give: ``field`` is ``userOpHash`` or ``meeUserOpHash`` of
    ``quote.userOps[index]``, or ``hash`` (the root; ``index`` None); ``sent`` the quote's, ``expected`` the fields'."""

    field: str
    index: int | None
    sent: bytes
    expected: bytes


def quote_tree(quote: GetQuotePayload) -> MerkleTree | HashMismatch:
    """The quote's Merkle tree when every hash in it is its fields' own, else the first that is not."""
    entries = []
    for k, op in enumerate(quote.user_ops):
        user_op_hash = bytes(get_user_op_hash(op.user_op.to_packed(), chain_id=op.chain_id))
        if user_op_hash != bytes(op.user_op_hash):
            return HashMismatch("userOpHash", k, bytes(op.user_op_hash), user_op_hash)
        lower, upper = op.lower_bound_timestamp, op.upper_bound_timestamp
        mee_hash = bytes(get_mee_user_op_hash(user_op_hash, lower_bound_timestamp=lower, upper_bound_timestamp=upper))
        if mee_hash != bytes(op.mee_user_op_hash):
            return HashMismatch("meeUserOpHash", k, bytes(op.mee_user_op_hash), mee_hash)
        entries.append(
            SuperTxEntry(
                user_op_hash=user_op_hash,
                lower_bound_timestamp=lower,
                upper_bound_timestamp=upper,
                short_encoding=op.short_encoding,
            )
        )
    tree = get_super_tx_tree(entries)
    if bytes(tree.root) != bytes(quote.hash):
        return HashMismatch("hash", None, bytes(quote.hash), bytes(tree.root))
    return tree
