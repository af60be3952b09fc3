"""The signatures the node handles: the client's quote signature (checked at ``/exec``), and the ``userOp.signature``
the node builds from it for each userOp (spec §4, §11.2); placeholders of the same layouts for simulation.

* simple quotes: ``0x177eee00 ‖ sig65`` over ``quote.hash`` (EIP-191, or raw: the validator accepts both);
  session userOps get the SmartSessions signature with the short MEE signature (leaf ``userOpHash``), owner userOps
  the full simple layout (leaf ``meeUserOpHash``, the window in the signature);
* permit quotes: ``0x177eee02 ‖ abi.encode(token, spender, domainSeparator, PERMIT_TYPEHASH, amount, chainId, nonce,
  v, r, s)``, an EIP-2612 permit whose deadline is ``quote.hash``; owner userOps get the full permit layout, with
  ``isPermitTx`` on the first userOp of the trigger chain only (the validator then submits the permit);
* on-chain quotes: ``0x177eee01 ‖ abi.encode(bytes32 txHash, uint256 chainId)``, a transaction the owner's EOA sent
  whose data ends with ``quote.hash``; the node fetches it (:class:`OnChainTrigger`) and every userOp carries the
  signed transaction itself: owner userOps in the full layout ``txType ‖ rlpSignedTx ‖ proof ‖ uint8 count ‖ uint48
  lower ‖ uint48 upper``, session userOps in the short one (no timestamps) inside the SmartSessions signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PublicKey
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from hexbytes import HexBytes

from ..._coerce import keccak, to_address
from ...account.nexus import BOOTSTRAP_SELECTOR, CREATE_ACCOUNT_SELECTOR
from ...encoding.abi import encode_function_call
from ...encoding.quote import (
    PERMIT_TYPEHASH,
    QUOTE_PREFIX_ONCHAIN,
    QUOTE_PREFIX_PERMIT,
    QUOTE_PREFIX_SIMPLE,
    get_permit_digest,
)
from ...encoding.session import SmartSessionMode
from ...encoding.signature import encode_mee_short_signature, encode_smart_session_signature
from ...wire.session import MOCK_SIGNATURE, SessionDetails
from ..validator_layouts import (
    encode_onchain_signature_full,
    encode_onchain_signature_short,
    encode_permit_signature_full,
    encode_simple_signature_full,
)
from .errors import Code, NodeError

__all__ = [
    "PLACEHOLDER_ROOT",
    "OnChainTrigger",
    "PermitSignature",
    "QuoteSignature",
    "owner_from_init_code",
    "owner_onchain_signature",
    "owner_permit_signature",
    "owner_simple_signature",
    "parse_quote_signature",
    "permit_signer_ok",
    "placeholder_onchain_tx",
    "placeholder_permit",
    "recover_signers",
    "session_signature",
]

_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
PLACEHOLDER_ROOT = b"\x5e" * 32
_BOOTSTRAP_ARGS = [
    "bytes",
    "(address,bytes)[]",
    "(address,bytes)[]",
    "(address,bytes)",
    "(address,bytes)[]",
    "(uint256,address,bytes)[]",
]


@dataclass(frozen=True)
class PermitSignature:
    token: str
    spender: str
    domain_separator: bytes
    permit_typehash: bytes
    amount: int
    chain_id: int
    nonce: int
    v: int
    r: bytes
    s: bytes

    @property
    def sig65(self) -> bytes:
        return self.r + self.s + bytes([self.v])


@dataclass(frozen=True)
class OnChainTrigger:
    """The transaction an on-chain quote signature names; ``raw`` (its EIP-2718 bytes) and ``sender`` are filled
    once the node fetched it from the chain."""

    tx_hash: bytes
    chain_id: int
    raw: bytes = b""
    sender: str = ""


@dataclass(frozen=True)
class QuoteSignature:
    kind: str  # "simple" | "permit" | "onchain"
    sig65: bytes
    permit: PermitSignature | None = None
    onchain: OnChainTrigger | None = None


def parse_quote_signature(raw: bytes) -> QuoteSignature:
    """The client's ``/exec`` signature; a layout this node cannot use is a 400 that says why."""
    prefix = raw[:4]
    if prefix == QUOTE_PREFIX_SIMPLE:
        if len(raw) != 69:
            raise NodeError(
                400,
                f"signature: a simple quote signature is 0x177eee00 + 65 bytes, got {len(raw)} bytes",
                code=Code.SIGNATURE_MALFORMED,
                facts={"field": "signature", "signatureType": "simple", "length": len(raw)},
            )
        return QuoteSignature(kind="simple", sig65=raw[4:])
    if prefix == QUOTE_PREFIX_PERMIT:
        if len(raw) != 4 + 10 * 32:
            raise NodeError(
                400,
                f"signature: a permit quote signature is 0x177eee02 + 10 ABI words, got {len(raw)} bytes",
                code=Code.SIGNATURE_MALFORMED,
                facts={"field": "signature", "signatureType": "permit", "length": len(raw)},
            )
        try:
            token, spender, domain, typehash, amount, chain_id, nonce, v, r, s = abi_decode(
                ["address", "address", "bytes32", "bytes32", "uint256", "uint256", "uint256", "uint256", "bytes32",
                 "bytes32"],
                raw[4:],
            )  # fmt: skip
        except Exception as exc:
            raise NodeError(
                400,
                f"signature: not a valid permit quote signature ({exc})",
                code=Code.SIGNATURE_MALFORMED,
                facts={"field": "signature", "signatureType": "permit"},
            ) from exc
        if v not in (27, 28):
            raise NodeError(
                400,
                f"signature: the permit's v must be 27 or 28, got {v}",
                code=Code.SIGNATURE_MALFORMED,
                facts={"field": "signature", "signatureType": "permit"},
            )
        permit = PermitSignature(
            token=to_address(token, field="signature.token"),
            spender=to_address(spender, field="signature.spender"),
            domain_separator=bytes(domain),
            permit_typehash=bytes(typehash),
            amount=int(amount),
            chain_id=int(chain_id),
            nonce=int(nonce),
            v=int(v),
            r=bytes(r),
            s=bytes(s),
        )
        if permit.permit_typehash != PERMIT_TYPEHASH:
            raise NodeError(
                400,
                "signature: the permit type hash is not EIP-2612's Permit",
                code=Code.SIGNATURE_MALFORMED,
                facts={"field": "signature", "signatureType": "permit"},
            )
        return QuoteSignature(kind="permit", sig65=permit.sig65, permit=permit)
    if prefix == QUOTE_PREFIX_ONCHAIN:
        if len(raw) != 4 + 2 * 32:
            raise NodeError(
                400,
                "signature: an on-chain quote signature is 0x177eee01 + abi.encode(bytes32 txHash, uint256 chainId), "
                f"got {len(raw)} bytes",
                code=Code.SIGNATURE_MALFORMED,
                facts={"field": "signature", "signatureType": "onchain", "length": len(raw)},
            )
        tx_hash, chain_id = abi_decode(["bytes32", "uint256"], raw[4:])
        return QuoteSignature(kind="onchain", sig65=b"", onchain=OnChainTrigger(bytes(tx_hash), int(chain_id)))
    raise NodeError(
        400,
        f"signature: unknown quote signature type 0x{prefix.hex()} (expected 0x177eee00, 0x177eee01 or 0x177eee02)",
        code=Code.SIGNATURE_MALFORMED,
        facts={"field": "signature", "prefix": "0x" + prefix.hex()},
    )


def _recover(digest: bytes, sig65: bytes) -> str | None:
    if len(sig65) != 65 or sig65[64] not in (27, 28) or int.from_bytes(sig65[32:64], "big") > _HALF_N:
        return None
    try:
        key = PublicKey.from_signature_and_message(sig65[:64] + bytes([sig65[64] - 27]), digest, hasher=None)
    except Exception:
        return None
    return to_address(keccak(key.format(compressed=False)[1:])[12:], field="signer")


def recover_signers(digest: bytes, sig65: bytes) -> list[str]:
    """Who signed ``digest``: as an EIP-191 personal message (first; what the SDK does), or raw (the K1 validator
    accepts either). Empty if the bytes are no valid signature at all."""
    personal = keccak(b"\x19Ethereum Signed Message:\n32" + digest)
    return [a for a in (_recover(personal, sig65), _recover(digest, sig65)) if a is not None]


def permit_signer_ok(permit: PermitSignature, owner: str, quote_hash: bytes) -> bool:
    """True if ``owner`` signed the permit with ``deadline = uint256(quote.hash)``."""
    digest = bytes(
        get_permit_digest(
            domain_separator=permit.domain_separator,
            owner=owner,
            spender=permit.spender,
            value=permit.amount,
            nonce=permit.nonce,
            deadline=int.from_bytes(quote_hash, "big"),
        )
    )
    return _recover(digest, permit.sig65) == to_address(owner, field="owner")


def owner_from_init_code(init_code: bytes) -> str | None:
    """The owner an undeployed Nexus will get: ``factory ‖ createAccount(abi.encode(bootstrap, bootstrapCall),
    salt)`` whose bootstrap call's first argument (the default validator's data) starts with the owner."""
    data = bytes(init_code)[20:]
    if data[:4] != CREATE_ACCOUNT_SELECTOR:
        return None
    try:
        init_data, _salt = abi_decode(["bytes", "bytes32"], data[4:])
        _bootstrap, call = abi_decode(["address", "bytes"], bytes(init_data))
        call = bytes(call)
        if call[:4] != BOOTSTRAP_SELECTOR:
            return None
        validator_data = abi_decode(_BOOTSTRAP_ARGS, call[4:])[0]
    except Exception:
        return None
    validator_data = bytes(validator_data)
    return None if len(validator_data) < 20 else to_address(validator_data[:20], field="owner")


# -- userOp signatures --------------------------------------------------------------------------------------------


def session_signature(
    details: SessionDetails,
    mode: SmartSessionMode,
    *,
    root: bytes,
    proof: Sequence[bytes],
    sig65: bytes,
    onchain_tx: bytes | None = None,
) -> HexBytes:
    """A session userOp's ``signature``: ``mode ‖ …`` with the short MEE signature (spec §4.1–§4.3): the simple one
    (``root``, ``sig65``), or with ``onchain_tx`` (a raw signed transaction) the short on-chain one (§11.4)."""
    short = (
        encode_mee_short_signature(super_tx_hash=root, proof=list(proof), signature=sig65)
        if onchain_tx is None
        else encode_onchain_signature_short(signed_transaction=onchain_tx, proof=list(proof))
    )
    return encode_smart_session_signature(
        mode=mode,
        permission_id=details.permission_id,
        signature=short,
        enable_session_data=None if mode is SmartSessionMode.USE else details.enable_session_data,
    )


def owner_simple_signature(*, root: bytes, lower: int, upper: int, proof: Sequence[bytes], sig65: bytes) -> HexBytes:
    return encode_simple_signature_full(
        super_tx_hash=root, lower_bound_timestamp=lower, upper_bound_timestamp=upper, proof=list(proof), signature=sig65
    )


def owner_onchain_signature(*, raw_tx: bytes, lower: int, upper: int, proof: Sequence[bytes]) -> HexBytes:
    return encode_onchain_signature_full(
        signed_transaction=raw_tx, proof=list(proof), lower_bound_timestamp=lower, upper_bound_timestamp=upper
    )


def owner_permit_signature(
    permit: PermitSignature,
    *,
    is_permit_tx: bool,
    root: bytes,
    lower: int,
    upper: int,
    proof: Sequence[bytes],
) -> HexBytes:
    return encode_permit_signature_full(
        token=permit.token,
        spender=permit.spender,
        domain_separator=permit.domain_separator,
        amount=permit.amount,
        nonce=permit.nonce,
        is_permit_tx=is_permit_tx,
        super_tx_hash=root,
        lower_bound_timestamp=lower,
        upper_bound_timestamp=upper,
        signature=permit.sig65,
        proof=list(proof),
    )


def placeholder_permit(*, token: str, spender: str, amount: int, chain_id: int) -> PermitSignature:
    """A permit of the right layout that no one signed: validation reports it failed and never calls the token."""
    sig = MOCK_SIGNATURE
    return PermitSignature(
        token=token,
        spender=spender,
        domain_separator=b"\x5d" * 32,
        permit_typehash=PERMIT_TYPEHASH,
        amount=amount,
        chain_id=chain_id,
        nonce=0,
        v=sig[64],
        r=sig[:32],
        s=sig[32:64],
    )


# A throwaway key: placeholder trigger transactions are well-formed and really signed (so validation walks the same
# path, RLP and both ecrecovers, as with the owner's transaction), but by no one who owns anything.
_PLACEHOLDER_KEY = keccak(b"smartsessions devnet node: placeholder on-chain trigger")


def placeholder_onchain_tx(*, token: str, spender: str, amount: int, chain_id: int) -> bytes:
    """An EIP-1559 ``approve(spender, amount) ‖ root`` transaction of the trigger's shape, signed by a throwaway key,
    with wide nonce and fee fields: at least as long as the EOA's real one, for the gas and calldata estimates."""
    data = encode_function_call("approve(address,uint256)", [spender, amount]) + PLACEHOLDER_ROOT
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": 2**32 - 1,
        "to": token,
        "value": 0,
        "data": "0x" + data.hex(),
        "gas": 2**32 - 1,
        "maxPriorityFeePerGas": 2**48 - 1,
        "maxFeePerGas": 2**48 - 1,
    }
    return bytes(Account.sign_transaction(tx, _PLACEHOLDER_KEY).raw_transaction)
