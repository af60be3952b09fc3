"""The K1MeeValidator's userOp signature layouts (spec §11.2, §11.4): what a node makes of a signed quote before it
puts each userOp on chain. Only the local node and the contract tests build these; an SDK user never does (the
client sends the quote signature formats of :mod:`smartsessions.encoding.quote`), so they live with the devnet."""

from __future__ import annotations

from collections.abc import Sequence

from hexbytes import HexBytes

from .._coerce import to_address, to_bytes, to_bytes32, to_uint
from ..encoding.abi import abi_encode
from ..encoding.quote import QUOTE_PREFIX_ONCHAIN, QUOTE_PREFIX_PERMIT, QUOTE_PREFIX_SIMPLE, signature_vrs
from ..errors import InvalidInputError

__all__ = [
    "encode_onchain_signature_full",
    "encode_onchain_signature_short",
    "encode_permit_signature_full",
    "encode_simple_signature_full",
    "to_onchain_tx_payload",
]


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
    v, r, s = signature_vrs(signature)
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
