"""The super-transaction Merkle tree: OpenZeppelin ``SimpleMerkleTree`` with sorted leaves (spec Appendix C).

The root is the super-transaction hash (``quote.hash``) the signer signs once for every userOp of every chain; each
userOp then carries the proof of its own leaf. Leaves are used as they are (no re-hashing), pairs are hashed sorted,
and the tree is laid out as an array with the smallest leaf last, exactly as the JavaScript library does, because the
proof bytes depend on that layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from hexbytes import HexBytes

from .._coerce import keccak, to_bytes32
from ..errors import InvalidInputError

__all__ = ["MerkleTree", "hash_pair", "verify_proof"]


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a <= b else keccak(b + a)


class MerkleTree:
    """Build once, then ask for the root and for the proof of any leaf."""

    __slots__ = ("_index", "_tree")

    def __init__(self, leaves: Sequence[object]) -> None:
        if not leaves:
            raise InvalidInputError("leaves", "a Merkle tree needs at least one leaf", fix="pass one or more hashes")
        parsed = [bytes(to_bytes32(leaf, field=f"leaves[{k}]")) for k, leaf in enumerate(leaves)]
        ordered = sorted(parsed)
        m = len(ordered)
        tree: list[bytes] = [b""] * (2 * m - 1)
        for k, leaf in enumerate(ordered):
            tree[2 * m - 2 - k] = leaf
        for j in range(m - 2, -1, -1):
            tree[j] = hash_pair(tree[2 * j + 1], tree[2 * j + 2])
        self._tree = tree
        # Equal leaves: the library proves the copy that sorts first (stable sort), which sits last in the array.
        self._index: dict[bytes, int] = {}
        for j in range(len(tree) - 1, m - 2, -1):
            self._index.setdefault(tree[j], j)

    @property
    def root(self) -> HexBytes:
        return HexBytes(self._tree[0])

    def proof(self, leaf: object) -> list[HexBytes]:
        key = bytes(to_bytes32(leaf, field="leaf"))
        try:
            j = self._index[key]
        except KeyError:
            raise InvalidInputError("leaf", "is not a leaf of this tree", fix="pass one of the tree's leaves") from None
        out: list[HexBytes] = []
        while j > 0:
            out.append(HexBytes(self._tree[j - 1] if j % 2 == 0 else self._tree[j + 1]))
            j = (j - 1) // 2
        return out


def verify_proof(root: object, leaf: object, proof: Sequence[object]) -> bool:
    """OpenZeppelin ``MerkleProof.verify``, as the validator runs it on chain."""
    if isinstance(proof, (str, bytes, bytearray)) or not isinstance(proof, Sequence):
        raise InvalidInputError(
            "proof",
            f"expected a list of 32-byte hashes, got {type(proof).__name__}",
            fix="pass the proof as a list of 0x hex strings or bytes",
            value=proof,
        )
    h = bytes(to_bytes32(leaf, field="leaf"))
    for k, p in enumerate(proof):
        h = hash_pair(h, bytes(to_bytes32(p, field=f"proof[{k}]")))
    return h == bytes(to_bytes32(root, field="root"))
