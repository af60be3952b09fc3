"""What smartsessions needs from a key: eth-account's ``LocalAccount`` fits as it is, and so does a remote signer.

Two shapes are accepted:

* :class:`Signer`, eth-account's own (``sign_message``, ``unsafe_sign_hash``): synchronous, a key in this process;
* :class:`HashSigner`, a key elsewhere (a KMS, an HSM, a wallet service): an ``address`` and ``sign_hash(digest)``,
  which signs 32 raw bytes and may be a coroutine. EIP-191 messages are hashed here, then signed the same way.

Only digests the library computed itself are signed: EIP-712 digests raw, everything else as EIP-191 of 32 raw bytes.
The SDK's async calls (grants through the client, quotes, permits) take both shapes; the few synchronous functions
(:func:`personal_sign`, :func:`sign_typed_digest` and what builds on them offline) take a ``sign_hash`` that
answers at once, and name the async call to use otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, Protocol, TypeAlias, runtime_checkable

from eth_account.messages import encode_defunct
from hexbytes import HexBytes

from ._coerce import keccak, to_bytes32
from .errors import InvalidInputError

__all__ = [
    "AnySigner",
    "HashSigner",
    "Signer",
    "apersonal_sign",
    "asign_typed_digest",
    "personal_sign",
    "sign_typed_digest",
]


@runtime_checkable
class Signer(Protocol):
    """eth-account's signer (``LocalAccount``)."""

    @property
    def address(self) -> str: ...

    def sign_message(self, signable_message: Any) -> Any: ...

    def unsafe_sign_hash(self, message_hash: Any) -> Any: ...


@runtime_checkable
class HashSigner(Protocol):
    """A signer that signs 32-byte digests wherever its key is: ``sign_hash`` returns the 65-byte ``r ‖ s ‖ v``
    signature (``v`` 27/28, or 0/1), or a coroutine of it."""

    @property
    def address(self) -> str: ...

    def sign_hash(self, digest: bytes) -> bytes | Awaitable[bytes]: ...


AnySigner: TypeAlias = Signer | HashSigner

_EIP191_PREFIX = b"\x19Ethereum Signed Message:\n32"


def _signature_of(raw: Any) -> HexBytes:
    sig = HexBytes(raw)
    if len(sig) != 65:
        raise InvalidInputError("signer", f"returned a {len(sig)}-byte signature", fix="use a secp256k1 signer")
    if sig[64] in (0, 1):  # the recovery id as many KMS and HSM APIs give it; Ethereum writes 27/28
        sig = HexBytes(bytes(sig[:64]) + bytes([sig[64] + 27]))
    return sig


def _at_once(answer: Any, what: str) -> HexBytes:
    if inspect.isawaitable(answer):
        if inspect.iscoroutine(answer):
            answer.close()  # never awaited: close it rather than leave a warning behind
        raise InvalidInputError(
            "signer",
            f"signs asynchronously, and {what} is synchronous",
            fix="use the client's async call (grant_permission_typed_data_sign, use_permission, ...), "
            "or a signer that answers at once",
        )
    return _signature_of(answer)


def personal_sign(signer: AnySigner, digest: object) -> HexBytes:
    """EIP-191 over the 32 raw bytes of ``digest`` (viem ``signMessage({message: {raw}})``)."""
    raw = bytes(to_bytes32(digest, field="digest"))
    if isinstance(signer, HashSigner):
        return _at_once(signer.sign_hash(keccak(_EIP191_PREFIX + raw)), "personal_sign")
    return _signature_of(signer.sign_message(encode_defunct(primitive=raw)).signature)


def sign_typed_digest(signer: AnySigner, digest: object, *, typed_data: dict[str, Any] | None = None) -> HexBytes:
    """Sign an EIP-712 digest. Equal to ``signTypedData`` over the message the digest was computed from.

    Signers without ``unsafe_sign_hash`` or ``sign_hash`` get the full typed data instead (``typed_data`` must then
    be given).
    """
    raw = bytes(to_bytes32(digest, field="digest"))
    if isinstance(signer, HashSigner):
        return _at_once(signer.sign_hash(raw), "sign_typed_digest")
    if hasattr(signer, "unsafe_sign_hash"):
        return _signature_of(signer.unsafe_sign_hash(raw).signature)
    if typed_data is None or not hasattr(signer, "sign_typed_data"):
        raise InvalidInputError(
            "signer", "can sign neither raw digests nor typed data", fix="use an eth_account LocalAccount"
        )
    return _signature_of(signer.sign_typed_data(full_message=typed_data).signature)


async def _awaited(answer: Any) -> HexBytes:
    return _signature_of(await answer if inspect.isawaitable(answer) else answer)


async def apersonal_sign(signer: AnySigner, digest: object) -> HexBytes:
    """:func:`personal_sign` for any signer, a remote one included."""
    if isinstance(signer, HashSigner):
        raw = bytes(to_bytes32(digest, field="digest"))
        return await _awaited(signer.sign_hash(keccak(_EIP191_PREFIX + raw)))
    return personal_sign(signer, digest)


async def asign_typed_digest(
    signer: AnySigner, digest: object, *, typed_data: dict[str, Any] | None = None
) -> HexBytes:
    """:func:`sign_typed_digest` for any signer, a remote one included."""
    if isinstance(signer, HashSigner):
        return await _awaited(signer.sign_hash(bytes(to_bytes32(digest, field="digest"))))
    return sign_typed_digest(signer, digest, typed_data=typed_data)
