"""Super-transaction hashing and the quote signature formats the client sends to the MEE node (spec §9.6, §9.7).
The K1MeeValidator layouts the node turns them into (spec §11.2) are the node's business:
:mod:`smartsessions.devnet.validator_layouts`.

One signature covers every userOp of every chain: the signer signs the Merkle root of the userOps' leaves (the
super-transaction hash); each userOp later carries the proof of its own leaf.

The node commits to the quote the same way: ``quote.commitment`` is the node EOA's EIP-191 signature over the 32 raw
bytes of ``quote.hash``, so anyone can check that a quote comes from the node it names (:func:`verify_commitment`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from coincurve import PublicKey
from hexbytes import HexBytes

from .._coerce import keccak, to_address, to_bytes, to_bytes32, to_uint
from .._model import Bytes32, Model, Uint256
from ..encoding.abi import abi_encode
from ..encoding.merkle import MerkleTree
from ..encoding.userop import get_mee_user_op_hash
from ..errors import InvalidInputError
from ..signer import AnySigner, apersonal_sign, personal_sign

__all__ = [
    "PERMIT_TYPEHASH",
    "QUOTE_PREFIX_ONCHAIN",
    "QUOTE_PREFIX_PERMIT",
    "QUOTE_PREFIX_SIMPLE",
    "SuperTxEntry",
    "asign_quote",
    "encode_onchain_quote_signature",
    "encode_permit_quote_signature",
    "get_permit_digest",
    "get_super_tx_leaf",
    "get_super_tx_tree",
    "recover_commitment_signer",
    "sign_quote",
    "signature_vrs",
    "verify_commitment",
]
QUOTE_PREFIX_SIMPLE = bytes.fromhex("177eee00")
QUOTE_PREFIX_ONCHAIN = bytes.fromhex("177eee01")
QUOTE_PREFIX_PERMIT = bytes.fromhex("177eee02")
PERMIT_TYPEHASH = keccak(b"Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")


class SuperTxEntry(Model):
    """What one userOp of a quote contributes to the tree."""

    user_op_hash: Bytes32
    lower_bound_timestamp: Uint256 = 0
    upper_bound_timestamp: Uint256 = 0
    short_encoding: bool = False


def get_super_tx_leaf(entry: SuperTxEntry) -> HexBytes:
    """Session userOps (short encoding) use the plain ``userOpHash``; the others the timestamped MEE hash."""
    if entry.short_encoding:
        return HexBytes(entry.user_op_hash)
    return get_mee_user_op_hash(
        entry.user_op_hash,
        lower_bound_timestamp=entry.lower_bound_timestamp,
        upper_bound_timestamp=entry.upper_bound_timestamp,
    )


def get_super_tx_tree(entries: Sequence[SuperTxEntry]) -> MerkleTree:
    """The tree of a quote's userOps, payment userOp included; its root is ``quote.hash``."""
    return MerkleTree([get_super_tx_leaf(e) for e in entries])


def sign_quote(signer: AnySigner, quote_hash: object) -> HexBytes:
    """The simple-mode quote signature for MEE < 2.2.1: ``0x177eee00 ‖ personal_sign(quote.hash)``."""
    return HexBytes(QUOTE_PREFIX_SIMPLE + bytes(personal_sign(signer, quote_hash)))


async def asign_quote(signer: AnySigner, quote_hash: object) -> HexBytes:
    """:func:`sign_quote` for any signer, a remote one included."""
    return HexBytes(QUOTE_PREFIX_SIMPLE + bytes(await apersonal_sign(signer, quote_hash)))


def recover_commitment_signer(*, quote_hash: object, commitment: object) -> str | None:
    """Who signed ``commitment``, read as an EIP-191 signature over the 32 raw bytes of ``quote_hash`` (viem
    ``signMessage({message: {raw: quote.hash}})``: how an MEE node commits to a quote). ``commitment`` is 65 bytes
    ``r ‖ s ‖ v`` (v 27/28, or 0/1); None if it is no such signature (not hex, another length, no valid point)."""
    digest = keccak(b"\x19Ethereum Signed Message:\n32" + bytes(to_bytes32(quote_hash, field="hash")))
    try:
        sig = bytes(to_bytes(commitment, field="commitment"))
    except InvalidInputError:
        return None
    if len(sig) != 65 or sig[64] not in (0, 1, 27, 28):
        return None
    try:
        key = PublicKey.from_signature_and_message(sig[:64] + bytes([sig[64] % 27]), digest, hasher=None)
    except Exception:  # coincurve raises plain exceptions for r or s out of range and unrecoverable points
        return None
    return to_address(keccak(key.format(compressed=False)[1:])[12:], field="signer")


def verify_commitment(quote: Any, node: object | None = None) -> bool:
    """True if ``quote.commitment`` is ``node``'s signature over ``quote.hash`` (see :func:`recover_commitment_signer`).

    ``quote`` is a :class:`~smartsessions.wire.mee.GetQuotePayload` (or anything with ``hash``, ``commitment`` and
    ``node`` attributes) or the quote's wire JSON; ``node`` defaults to the address the quote names (``quote.node``).
    A client that knows its node's address (from ``GET /info``) passes it, so that a quote cannot name another."""
    if isinstance(quote, Mapping):
        quote_hash, commitment, named = quote.get("hash"), quote.get("commitment"), quote.get("node")
    elif all(hasattr(quote, name) for name in ("hash", "commitment", "node")):
        quote_hash, commitment, named = quote.hash, quote.commitment, quote.node
    else:
        raise InvalidInputError(
            "quote",
            f"expected a quote (a GetQuotePayload or its wire JSON), got {type(quote).__name__}",
            fix="pass the quote the node answered",
            value=quote,
        )
    expected = named if node is None else node
    if expected is None or commitment is None:
        return False
    signer = recover_commitment_signer(quote_hash=quote_hash, commitment=commitment)
    return signer is not None and signer == to_address(expected, field="node")


def get_permit_digest(
    *,
    domain_separator: object,
    owner: object,
    spender: object,
    value: object,
    nonce: object,
    deadline: object,
) -> HexBytes:
    """EIP-2612 ``Permit`` digest; the fusion permit uses ``deadline = uint256(quote.hash)``."""
    struct = keccak(
        abi_encode(
            ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
            [
                PERMIT_TYPEHASH,
                to_address(owner, field="owner"),
                to_address(spender, field="spender"),
                to_uint(value, field="value"),
                to_uint(nonce, field="nonce"),
                to_uint(deadline, field="deadline"),
            ],
            what="permit",
        )
    )
    return HexBytes(keccak(b"\x19\x01" + bytes(to_bytes32(domain_separator, field="domain_separator")) + struct))


def signature_vrs(signature: object) -> tuple[int, bytes, bytes]:
    """``(v, r, s)`` of a 65-byte ``r ‖ s ‖ v`` signature: the order the permit layouts encode them in."""
    sig = bytes(to_bytes(signature, field="signature", length=65))
    return sig[64], sig[:32], sig[32:64]


def encode_permit_quote_signature(
    *,
    token: object,
    spender: object,
    domain_separator: object,
    amount: object,
    chain_id: object,
    nonce: object,
    signature: object,
) -> HexBytes:
    """The fusion permit quote signature:
    ``0x177eee02 ‖ abi.encode(token, spender, domainSeparator, PERMIT_TYPEHASH, amount, chainId, nonce, v, r, s)``."""
    v, r, s = signature_vrs(signature)
    body = abi_encode(
        [
            "address",
            "address",
            "bytes32",
            "bytes32",
            "uint256",
            "uint256",
            "uint256",
            "uint256",
            "bytes32",
            "bytes32",
        ],
        [
            to_address(token, field="token"),
            to_address(spender, field="spender"),
            bytes(to_bytes32(domain_separator, field="domain_separator")),
            PERMIT_TYPEHASH,
            to_uint(amount, field="amount"),
            to_uint(chain_id, field="chain_id"),
            to_uint(nonce, field="nonce"),
            v,
            r,
            s,
        ],
        what="permit signature",
    )
    return HexBytes(QUOTE_PREFIX_PERMIT + body)


def encode_onchain_quote_signature(*, tx_hash: object, chain_id: object) -> HexBytes:
    """``0x177eee01 ‖ abi.encode(bytes32 txHash, uint256 chainId)``: the trigger transaction the EOA sent."""
    body = abi_encode(
        ["bytes32", "uint256"],
        [bytes(to_bytes32(tx_hash, field="tx_hash")), to_uint(chain_id, field="chain_id")],
        what="on-chain signature",
    )
    return HexBytes(QUOTE_PREFIX_ONCHAIN + body)
