"""Super-transaction hashing and the quote signature formats the client sends to the MEE node (spec §9.6, §9.7),
plus the K1MeeValidator layouts the node turns them into (spec §11.2).

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
from ..signer import Signer, personal_sign

__all__ = [
    "PERMIT_TYPEHASH",
    "QUOTE_PREFIX_ONCHAIN",
    "QUOTE_PREFIX_PERMIT",
    "QUOTE_PREFIX_SIMPLE",
    "SuperTxEntry",
    "encode_onchain_quote_signature",
    "encode_onchain_signature_full",
    "encode_onchain_signature_short",
    "encode_permit_quote_signature",
    "encode_permit_signature_full",
    "encode_simple_signature_full",
    "get_permit_digest",
    "get_super_tx_leaf",
    "get_super_tx_tree",
    "recover_commitment_signer",
    "sign_quote",
    "to_onchain_tx_payload",
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


def sign_quote(signer: Signer, quote_hash: object) -> HexBytes:
    """The simple-mode quote signature for MEE < 2.2.1: ``0x177eee00 ‖ personal_sign(quote.hash)``."""
    return HexBytes(QUOTE_PREFIX_SIMPLE + bytes(personal_sign(signer, quote_hash)))


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

    ``quote`` is a :class:`~smartsessions.mee.wire.GetQuotePayload` (or anything with ``hash``, ``commitment`` and
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


def _split(signature: object) -> tuple[int, bytes, bytes]:
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
    v, r, s = _split(signature)
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


def encode_simple_signature_full(
    *,
    super_tx_hash: object,
    lower_bound_timestamp: object,
    upper_bound_timestamp: object,
    proof: Sequence[object],
    signature: object,
) -> HexBytes:
    """The K1MeeValidator userOp layout for an owner userOp (spec §11.2, simple mode):
    ``0x177eee00 ‖ abi.encode(superTxHash, uint48 lower, uint48 upper, bytes32[] proof, bytes sig)``."""
    lower = to_uint(lower_bound_timestamp, field="lower_bound_timestamp", bits=48)
    upper = to_uint(upper_bound_timestamp, field="upper_bound_timestamp", bits=48)
    if upper < lower:
        raise InvalidInputError(
            "upper_bound_timestamp",
            "is before lower_bound_timestamp",
            fix="pass a window with upper >= lower",
        )
    body = abi_encode(
        ["bytes32", "uint48", "uint48", "bytes32[]", "bytes"],
        [
            bytes(to_bytes32(super_tx_hash, field="super_tx_hash")),
            lower,
            upper,
            [bytes(to_bytes32(p, field=f"proof[{k}]")) for k, p in enumerate(proof)],
            bytes(to_bytes(signature, field="signature")),
        ],
        what="simple signature",
    )
    return HexBytes(QUOTE_PREFIX_SIMPLE + body)


def encode_permit_signature_full(
    *,
    token: object,
    spender: object,
    domain_separator: object,
    amount: object,
    nonce: object,
    is_permit_tx: bool,
    super_tx_hash: object,
    lower_bound_timestamp: object,
    upper_bound_timestamp: object,
    signature: object,
    proof: Sequence[object],
) -> HexBytes:
    """The K1MeeValidator userOp layout for a fusion permit (spec §11.2): ``0x177eee02 ‖ abi.encode(tuple)``.

    ``signature`` is the owner's EIP-2612 permit signature with ``deadline = uint256(super_tx_hash)``; with
    ``is_permit_tx`` the validator submits the permit to the token before the userOp runs.
    """
    v, r, s = _split(signature)
    body = abi_encode(
        ["(address,address,bytes32,uint256,uint256,bool,bytes32,uint48,uint48,uint8,bytes32,bytes32,bytes32[])"],
        [
            (
                to_address(token, field="token"),
                to_address(spender, field="spender"),
                bytes(to_bytes32(domain_separator, field="domain_separator")),
                to_uint(amount, field="amount"),
                to_uint(nonce, field="nonce"),
                bool(is_permit_tx),
                bytes(to_bytes32(super_tx_hash, field="super_tx_hash")),
                to_uint(lower_bound_timestamp, field="lower_bound_timestamp", bits=48),
                to_uint(upper_bound_timestamp, field="upper_bound_timestamp", bits=48),
                v,
                r,
                s,
                [bytes(to_bytes32(p, field=f"proof[{k}]")) for k, p in enumerate(proof)],
            )
        ],
        what="permit signature",
    )
    return HexBytes(QUOTE_PREFIX_PERMIT + body)


def to_onchain_tx_payload(raw_transaction: object) -> bytes:
    """The ``txType ‖ rlp`` the K1MeeValidator reads from a signed transaction in its EIP-2718 form (what
    ``eth_getRawTransactionByHash`` returns): an EIP-1559 transaction (``0x02 ‖ rlp``) as is, a legacy one (a bare
    RLP list) with ``0x00`` prepended (spec §11.2). Other types are refused: the validator reads only these two."""
    raw = bytes(to_bytes(raw_transaction, field="raw_transaction"))
    if not raw:
        raise InvalidInputError("raw_transaction", "is empty")
    if raw[0] >= 0xC0:
        return b"\x00" + raw
    if raw[0] == 0x02:
        return raw
    raise InvalidInputError(
        "raw_transaction",
        f"is a type 0x{raw[0]:02x} transaction; on-chain triggers must be legacy or EIP-1559 (type 0x02)",
        fix="send the trigger as a legacy or EIP-1559 transaction",
    )


def _proof_items(proof: Sequence[object]) -> bytes:
    if len(proof) > 255:
        raise InvalidInputError("proof", f"has {len(proof)} items; the on-chain layout counts them in one byte")
    return b"".join(bytes(to_bytes32(p, field=f"proof[{k}]")) for k, p in enumerate(proof))


def encode_onchain_signature_full(
    *,
    signed_transaction: object,
    proof: Sequence[object],
    lower_bound_timestamp: object,
    upper_bound_timestamp: object,
) -> HexBytes:
    """The K1MeeValidator userOp layout for an on-chain trigger (spec §11.2): ``0x177eee01 ‖ txType ‖ rlpSignedTx ‖
    proof items ‖ uint8 proofCount ‖ uint48 lower ‖ uint48 upper`` (packed). ``signed_transaction`` is the raw
    transaction (see :func:`to_onchain_tx_payload`), whose data ends with the super-transaction hash."""
    lower = to_uint(lower_bound_timestamp, field="lower_bound_timestamp", bits=48)
    upper = to_uint(upper_bound_timestamp, field="upper_bound_timestamp", bits=48)
    return HexBytes(
        QUOTE_PREFIX_ONCHAIN
        + to_onchain_tx_payload(signed_transaction)
        + _proof_items(proof)
        + bytes([len(proof)])
        + lower.to_bytes(6, "big")
        + upper.to_bytes(6, "big")
    )


def encode_onchain_signature_short(*, signed_transaction: object, proof: Sequence[object]) -> HexBytes:
    """The short on-chain layout (spec §11.4; session userOps and ERC-1271): ``0x177eee01 ‖ txType ‖ rlpSignedTx ‖
    proof items ‖ uint8 proofCount``, no timestamps (the leaf is the hash itself)."""
    return HexBytes(
        QUOTE_PREFIX_ONCHAIN + to_onchain_tx_payload(signed_transaction) + _proof_items(proof) + bytes([len(proof)])
    )
