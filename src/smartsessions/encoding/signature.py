"""The SmartSessions userOp signature (spec §4) and the MEE "short" session-validator signature (spec §4.3).

A session userOp's signature starts with the mode byte:

* USE: ``0x00 ‖ permissionId ‖ sessionValidatorSig``
* ENABLE / UNSAFE_ENABLE: ``mode ‖ FastLZ(abi.encode(EnableSession, sessionValidatorSig))``; the permission id is
  not sent, the contract recomputes it from the session being enabled.

In the MEE flow ``sessionValidatorSig`` is the K1MeeValidator short simple signature:
``0x177eee00 ‖ abi.encode(bytes32 superTxHash, bytes32[] proof, bytes sig65)``, whose Merkle leaf is the plain
``userOpHash``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hexbytes import HexBytes

from .._coerce import to_address, to_bytes, to_bytes32
from .._model import Bytes32, HexData, Model, PermissionIdField
from ..errors import EncodingError, InvalidInputError
from .abi import ENABLE_SESSION, abi_decode, abi_encode
from .flz import flz_compress, flz_decompress
from .session import (
    ActionData,
    ChainDigest,
    EnableSession,
    EnableSessionData,
    ERC7739Context,
    ERC7739Data,
    PolicyData,
    Session,
    SmartSessionMode,
)

__all__ = [
    "ACCOUNT_TYPES",
    "MEE_SIMPLE_PREFIX",
    "DecodedSmartSessionSignature",
    "MeeShortSignature",
    "decode_mee_short_signature",
    "decode_smart_session_signature",
    "encode_enable_session_payload",
    "encode_mee_short_signature",
    "encode_smart_session_signature",
    "format_permission_enable_sig",
]

ACCOUNT_TYPES = ("nexus", "safe", "erc7579-implementation", "kernel")
MEE_SIMPLE_PREFIX = bytes.fromhex("177eee00")


def _account_type(value: object) -> str:
    if value not in ACCOUNT_TYPES:
        raise InvalidInputError(
            "account_type",
            "unsupported account type",
            fix=f"use one of {', '.join(ACCOUNT_TYPES)}",
            value=value,
        )
    return str(value)


def format_permission_enable_sig(*, signature: object, validator: object, account_type: object = "nexus") -> HexBytes:
    """``validator ‖ sig`` (``0x01 ‖ validator ‖ sig`` for Kernel): how the account routes the ERC-1271 check."""
    kind = _account_type(account_type)
    sig = bytes(to_bytes(signature, field="permission_enable_sig"))
    prefix = bytes.fromhex(to_address(validator, field="validator")[2:])
    return HexBytes((b"\x01" if kind == "kernel" else b"") + prefix + sig)


def _enable_session_abi(data: EnableSessionData) -> tuple[Any, ...]:
    es = data.enable_session
    return (
        es.chain_digest_index,
        [d.to_abi() for d in es.hashes_and_chain_ids],
        es.session_to_enable.to_abi(),
        bytes(
            format_permission_enable_sig(
                signature=es.permission_enable_sig, validator=data.validator, account_type=data.account_type
            )
        ),
    )


def encode_enable_session_payload(*, enable_session_data: EnableSessionData, signature: object) -> bytes:
    """``abi.encode(EnableSession, bytes)``, before compression."""
    sig = bytes(to_bytes(signature, field="signature"))
    return abi_encode(
        [ENABLE_SESSION, "bytes"], [_enable_session_abi(enable_session_data), sig], what="enable_session_data"
    )


def encode_smart_session_signature(
    *,
    mode: object,
    permission_id: object = None,
    signature: object,
    enable_session_data: EnableSessionData | dict[str, Any] | None = None,
) -> HexBytes:
    """module-sdk ``encodeSmartSessionSignature``: the ``userOp.signature`` for the SmartSessions validator."""
    parsed = SmartSessionMode.parse(mode)
    sig = bytes(to_bytes(signature, field="signature"))
    if parsed is SmartSessionMode.USE:
        if permission_id is None:
            raise InvalidInputError("permission_id", "is required in USE mode", fix="pass the session's permission id")
        pid = bytes(to_bytes32(permission_id, field="permission_id"))
        return HexBytes(b"\x00" + pid + sig)
    if enable_session_data is None:
        raise InvalidInputError(
            "enable_session_data",
            f"is required in {parsed.name} mode",
            fix="pass the enable_session_data of the session details, or use mode USE",
        )
    data = (
        enable_session_data
        if isinstance(enable_session_data, EnableSessionData)
        else EnableSessionData.model_validate(enable_session_data)
    )
    payload = encode_enable_session_payload(enable_session_data=data, signature=sig)
    return HexBytes(bytes([parsed.value]) + flz_compress(payload))


class DecodedSmartSessionSignature(Model):
    mode: SmartSessionMode
    permission_id: PermissionIdField
    signature: HexData
    enable_session_data: EnableSessionData | None = None


def _policies(raw: Sequence[Any]) -> tuple[PolicyData, ...]:
    return tuple(PolicyData(policy=p[0], init_data=p[1]) for p in raw)


def _session_from_abi(raw: Sequence[Any]) -> Session:
    validator, init_data, salt, user_op, erc7739, actions, permit = raw
    return Session(
        session_validator=validator,
        session_validator_init_data=init_data,
        salt=salt,
        user_op_policies=_policies(user_op),
        erc7739_policies=ERC7739Data(
            allowed_erc7739_content=tuple(
                ERC7739Context(app_domain_separator=c[0], content_name=tuple(c[1])) for c in erc7739[0]
            ),
            erc1271_policies=_policies(erc7739[1]),
        ),
        actions=tuple(
            ActionData(action_target_selector=a[0], action_target=a[1], action_policies=_policies(a[2]))
            for a in actions
        ),
        permit_erc4337_paymaster=permit,
    )


def decode_smart_session_signature(
    *, signature: object, account_type: object = "nexus"
) -> DecodedSmartSessionSignature:
    """module-sdk ``decodeSmartSessionSignature``; ``account_type`` decides how the enable signature is split."""
    raw = bytes(to_bytes(signature, field="signature"))
    if not raw:
        raise EncodingError("Cannot decode an empty SmartSessions signature.", meta_messages=["Pass userOp.signature."])
    mode_byte = raw[0]
    if mode_byte == SmartSessionMode.USE:
        if len(raw) < 33:
            raise EncodingError(
                "Cannot decode a USE signature: it is shorter than mode byte + 32-byte permission id.",
                details=f"{len(raw)} bytes",
            )
        return DecodedSmartSessionSignature(mode=SmartSessionMode.USE, permission_id=raw[1:33], signature=raw[33:])
    if mode_byte not in (SmartSessionMode.ENABLE, SmartSessionMode.UNSAFE_ENABLE):
        raise EncodingError(
            f"Cannot decode the signature: unknown SmartSessions mode byte 0x{mode_byte:02x}.",
            meta_messages=["Expected 0x00 (USE), 0x01 (ENABLE) or 0x02 (UNSAFE_ENABLE)."],
        )
    kind = _account_type(account_type)
    payload = flz_decompress(raw[1:])
    enable_raw, session_sig = abi_decode([ENABLE_SESSION, "bytes"], payload, what="the ENABLE signature payload")
    index, digests, session_raw, enable_sig = enable_raw
    skip = 1 if kind == "kernel" else 0
    if kind == "kernel" and enable_sig[:1] != b"\x01":
        raise EncodingError("Invalid permissionEnableSig for a Kernel account: it must start with 0x01.")
    if len(enable_sig) < 20 + skip:
        raise EncodingError(
            "Cannot decode permissionEnableSig: it is shorter than the 20-byte validator prefix.",
            details=f"{len(enable_sig)} bytes",
        )
    session = _session_from_abi(session_raw)
    return DecodedSmartSessionSignature(
        mode=SmartSessionMode(mode_byte),
        permission_id=session.permission_id,
        signature=session_sig,
        enable_session_data=EnableSessionData(
            enable_session=EnableSession(
                chain_digest_index=index,
                hashes_and_chain_ids=tuple(ChainDigest(chain_id=c, session_digest=d) for c, d in digests),
                session_to_enable=session,
                permission_enable_sig=enable_sig[20 + skip :],
            ),
            validator=enable_sig[skip : 20 + skip],
            account_type=kind,
        ),
    )


class MeeShortSignature(Model):
    super_tx_hash: Bytes32
    proof: tuple[Bytes32, ...]
    signature: HexData


def encode_mee_short_signature(*, super_tx_hash: object, proof: Sequence[object], signature: object) -> HexBytes:
    """The session-validator signature of a session userOp in a super-transaction (spec §4.3)."""
    root = bytes(to_bytes32(super_tx_hash, field="super_tx_hash"))
    items = [bytes(to_bytes32(p, field=f"proof[{k}]")) for k, p in enumerate(proof)]
    sig = bytes(to_bytes(signature, field="signature"))
    body = abi_encode(["bytes32", "bytes32[]", "bytes"], [root, items, sig], what="short signature")
    return HexBytes(MEE_SIMPLE_PREFIX + body)


def decode_mee_short_signature(signature: object) -> MeeShortSignature:
    raw = bytes(to_bytes(signature, field="signature"))
    if raw[:4] != MEE_SIMPLE_PREFIX:
        raise EncodingError("Not an MEE simple signature: it does not start with 0x177eee00.")
    root, proof, sig = abi_decode(["bytes32", "bytes32[]", "bytes"], raw[4:], what="the MEE short signature")
    return MeeShortSignature(super_tx_hash=root, proof=tuple(proof), signature=sig)
