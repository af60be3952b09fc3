"""What smartsessions needs from a key: eth-account's ``LocalAccount`` fits as it is.

Signing is kept behind this protocol so that a remote signer or a hardware wallet can stand in. Only digests the
library computed itself from typed data are signed raw (``unsafe_sign_hash``); everything else is EIP-191.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from eth_account.messages import encode_defunct
from hexbytes import HexBytes

from ._coerce import to_bytes32
from .errors import InvalidInputError

__all__ = ["Signer", "personal_sign", "sign_typed_digest"]


@runtime_checkable
class Signer(Protocol):
    @property
    def address(self) -> str: ...

    def sign_message(self, signable_message: Any) -> Any: ...

    def unsafe_sign_hash(self, message_hash: Any) -> Any: ...


def _signature_of(signed: Any) -> HexBytes:
    sig = HexBytes(signed.signature)
    if len(sig) != 65:
        raise InvalidInputError("signer", f"returned a {len(sig)}-byte signature", fix="use a secp256k1 signer")
    return sig


def personal_sign(signer: Signer, digest: object) -> HexBytes:
    """EIP-191 over the 32 raw bytes of ``digest`` (viem ``signMessage({message: {raw}})``)."""
    raw = bytes(to_bytes32(digest, field="digest"))
    return _signature_of(signer.sign_message(encode_defunct(primitive=raw)))


def sign_typed_digest(signer: Signer, digest: object, *, typed_data: dict[str, Any] | None = None) -> HexBytes:
    """Sign an EIP-712 digest. Equal to ``signTypedData`` over the message the digest was computed from.

    Signers without ``unsafe_sign_hash`` get the full typed data instead (``typed_data`` must then be given).
    """
    raw = bytes(to_bytes32(digest, field="digest"))
    if hasattr(signer, "unsafe_sign_hash"):
        return _signature_of(signer.unsafe_sign_hash(raw))
    if typed_data is None or not hasattr(signer, "sign_typed_data"):
        raise InvalidInputError(
            "signer", "can sign neither raw digests nor typed data", fix="use an eth_account LocalAccount"
        )
    return _signature_of(signer.sign_typed_data(full_message=typed_data))
