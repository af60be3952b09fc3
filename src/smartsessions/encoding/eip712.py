"""EIP-712 hashing of sessions: the per-chain session digest and the multichain digest the owner signs.

The session digest (spec §2.7) is ``hashStruct(SignedSession)``; the contract computes it in ``HashLib`` and the SDK
reads it with ``getSessionDigest``. Computing it here, offline, saves one RPC round trip per chain and lets a grant be
built without a node. The multichain digest (spec §2.8) is the EIP-712 digest of ``MultiChainSession`` under the
domain ``{name: "SmartSession", version: "1"}``; with typed data the owner signs it raw, with personal sign it is
wrapped in EIP-191.

The hashing is written out per struct rather than through a generic EIP-712 engine: the types are fixed, and the
direct form is several times faster and easy to compare with ``HashLib.sol`` line by line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hexbytes import HexBytes

from .._coerce import keccak, to_address, to_bytes32, to_uint
from .._model import HexData
from ..versions import SMART_SESSIONS_ADDRESS
from .session import (
    FALLBACK_TARGET_FLAG,
    FALLBACK_TARGET_SELECTOR_FLAG,
    FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION,
    ActionData,
    ChainDigest,
    ChainSession,
    ERC7739Context,
    ERC7739Data,
    PolicyData,
    Session,
    SignedPermissions,
    SignedSession,
    SmartSessionMode,
)

__all__ = [
    "ACTION_DATA_TYPEHASH",
    "CHAIN_SESSION_TYPEHASH",
    "EIP712_TYPES",
    "ERC7739_CONTEXT_TYPEHASH",
    "ERC7739_DATA_TYPEHASH",
    "MULTICHAIN_SESSION_TYPEHASH",
    "POLICY_DATA_TYPEHASH",
    "SESSION_TYPEHASH",
    "SIGNED_PERMISSIONS_TYPEHASH",
    "SMART_SESSION_DOMAIN_SEPARATOR",
    "domain_separator",
    "get_session_digest",
    "hash_action_data",
    "hash_chain_digests",
    "hash_chain_sessions",
    "hash_erc7739_data",
    "hash_policy_data",
    "hash_signed_session",
    "multichain_session_typed_data",
    "to_signed_session",
]

# Member strings, in the EIP-712 order of the reference (spec §3.6).
_MEMBERS: dict[str, str] = {
    "PolicyData": "address policy,bytes initData",
    "ActionData": "bytes4 actionTargetSelector,address actionTarget,PolicyData[] actionPolicies",
    "ERC7739Context": "bytes32 appDomainSeparator,string[] contentName",
    "ERC7739Data": "ERC7739Context[] allowedERC7739Content,PolicyData[] erc1271Policies",
    "SignedPermissions": "bool permitGenericPolicy,bool permitAdminAccess,bool ignoreSecurityAttestations,"
    "bool permitERC4337Paymaster,PolicyData[] userOpPolicies,ERC7739Data erc7739Policies,ActionData[] actions",
    "SignedSession": "address account,SignedPermissions permissions,address sessionValidator,"
    "bytes sessionValidatorInitData,bytes32 salt,address smartSession,uint256 nonce",
    "ChainSession": "uint64 chainId,SignedSession session",
    "MultiChainSession": "ChainSession[] sessionsAndChainIds",
}


def _deps(name: str, seen: set[str]) -> None:
    for member in _MEMBERS[name].split(","):
        base = member.split(" ")[0].rstrip("[]")
        if base in _MEMBERS and base not in seen:
            seen.add(base)
            _deps(base, seen)


def _encode_type(name: str) -> str:
    seen: set[str] = set()
    _deps(name, seen)
    seen.discard(name)
    return "".join(f"{n}({_MEMBERS[n]})" for n in [name, *sorted(seen)])


def _typehash(name: str) -> bytes:
    return keccak(_encode_type(name).encode())


POLICY_DATA_TYPEHASH = _typehash("PolicyData")
ACTION_DATA_TYPEHASH = _typehash("ActionData")
ERC7739_CONTEXT_TYPEHASH = _typehash("ERC7739Context")
ERC7739_DATA_TYPEHASH = _typehash("ERC7739Data")
SIGNED_PERMISSIONS_TYPEHASH = _typehash("SignedPermissions")
SESSION_TYPEHASH = _typehash("SignedSession")
CHAIN_SESSION_TYPEHASH = _typehash("ChainSession")
MULTICHAIN_SESSION_TYPEHASH = _typehash("MultiChainSession")


def domain_separator(
    *,
    name: str,
    version: str,
    chain_id: int | None = None,
    verifying_contract: str | None = None,
    salt: object | None = None,
) -> bytes:
    """``hashStruct(EIP712Domain)`` over the fields given (EIP-712 leaves out the ones a domain does not use, and
    keeps the others in this order): the one domain hash, for SmartSessions' own domain and for a permit token's."""
    fields = ["string name", "string version"]
    words = [keccak(name.encode()), keccak(version.encode())]
    if chain_id is not None:
        fields.append("uint256 chainId")
        words.append(to_uint(chain_id, field="chain_id").to_bytes(32, "big"))
    if verifying_contract is not None:
        fields.append("address verifyingContract")
        words.append(_addr(to_address(verifying_contract, field="verifying_contract")))
    if salt is not None:
        fields.append("bytes32 salt")
        words.append(bytes(to_bytes32(salt, field="salt")))
    typehash = keccak(f"EIP712Domain({','.join(fields)})".encode())
    return keccak(typehash + b"".join(words))


SMART_SESSION_DOMAIN_SEPARATOR = domain_separator(name="SmartSession", version="1")

#: The ``types`` object of the typed data, as viem / eth-account take it.
EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    name: [{"name": m.split(" ")[1], "type": m.split(" ")[0]} for m in members.split(",")]
    for name, members in _MEMBERS.items()
}

_ZERO12 = bytes(12)
_TRUE = (1).to_bytes(32, "big")
_FALSE = bytes(32)


def _addr(address: str) -> bytes:
    return _ZERO12 + bytes.fromhex(address[2:])


def _bool(flag: bool) -> bytes:
    return _TRUE if flag else _FALSE


def hash_policy_data(p: PolicyData) -> bytes:
    return keccak(POLICY_DATA_TYPEHASH + _addr(p.policy) + keccak(bytes(p.init_data)))


def _hash_policies(policies: Iterable[PolicyData]) -> bytes:
    return keccak(b"".join(hash_policy_data(p) for p in policies))


def hash_action_data(a: ActionData) -> bytes:
    selector_word = bytes(a.action_target_selector) + bytes(28)  # bytes4 is left-aligned in its word
    return keccak(ACTION_DATA_TYPEHASH + selector_word + _addr(a.action_target) + _hash_policies(a.action_policies))


def _hash_erc7739_context(c: ERC7739Context) -> bytes:
    names = keccak(b"".join(keccak(n.encode("utf-8")) for n in c.content_name))
    return keccak(ERC7739_CONTEXT_TYPEHASH + bytes(c.app_domain_separator) + names)


def hash_erc7739_data(d: ERC7739Data) -> bytes:
    contexts = keccak(b"".join(_hash_erc7739_context(c) for c in d.allowed_erc7739_content))
    return keccak(ERC7739_DATA_TYPEHASH + contexts + _hash_policies(d.erc1271_policies))


def _hash_permissions(p: SignedPermissions) -> bytes:
    return keccak(
        SIGNED_PERMISSIONS_TYPEHASH
        + _bool(p.permit_generic_policy)
        + _bool(p.permit_admin_access)
        + _bool(p.ignore_security_attestations)
        + _bool(p.permit_erc4337_paymaster)
        + _hash_policies(p.user_op_policies)
        + hash_erc7739_data(p.erc7739_policies)
        + keccak(b"".join(hash_action_data(a) for a in p.actions))
    )


def hash_signed_session(s: SignedSession) -> HexData:
    """``hashStruct(SignedSession)``: the session digest of spec §2.7."""
    return HexBytes(
        keccak(
            SESSION_TYPEHASH
            + _addr(s.account)
            + _hash_permissions(s.permissions)
            + _addr(s.session_validator)
            + keccak(bytes(s.session_validator_init_data))
            + bytes(s.salt)
            + _addr(s.smart_session)
            + s.nonce.to_bytes(32, "big")
        )
    )


def _has_fallback(actions: Sequence[ActionData], selector: bytes) -> bool:
    return any(a.action_target == FALLBACK_TARGET_FLAG and bytes(a.action_target_selector) == selector for a in actions)


def to_signed_session(
    session: Session,
    *,
    account: object,
    mode: object,
    nonce: object,
    smart_session: object = SMART_SESSIONS_ADDRESS,
) -> SignedSession:
    """The ``SignedSession`` the contract hashes for ``session`` on ``account``.

    ``permitGenericPolicy``/``permitAdminAccess`` are derived from the actions, as the contract does (the reference
    SDK hard-codes ``false``, which only matters for fallback actions the SDK never creates); the attestation flag
    is set for UNSAFE_ENABLE.
    """
    parsed_mode = SmartSessionMode.parse(mode)
    return SignedSession(
        account=to_address(account, field="account"),
        permissions=SignedPermissions(
            permit_generic_policy=_has_fallback(session.actions, FALLBACK_TARGET_SELECTOR_FLAG),
            permit_admin_access=_has_fallback(
                session.actions, FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION
            ),
            ignore_security_attestations=parsed_mode is SmartSessionMode.UNSAFE_ENABLE,
            permit_erc4337_paymaster=session.permit_erc4337_paymaster,
            user_op_policies=session.user_op_policies,
            erc7739_policies=session.erc7739_policies,
            actions=session.actions,
        ),
        session_validator=session.session_validator,
        session_validator_init_data=session.session_validator_init_data,
        salt=session.salt,
        smart_session=to_address(smart_session, field="smart_session"),
        nonce=to_uint(nonce, field="nonce"),
    )


def get_session_digest(
    session: Session,
    *,
    account: object,
    mode: object = SmartSessionMode.UNSAFE_ENABLE,
    nonce: object,
    smart_session: object = SMART_SESSIONS_ADDRESS,
) -> HexData:
    """The digest ``SmartSession.getSessionDigest(permissionId, account, session, mode)`` returns, offline.

    ``nonce`` is ``SmartSession.getNonce(permissionId, account)``: the digest binds it, which is what makes an enable
    signature single-use per chain.
    """
    return hash_signed_session(
        to_signed_session(session, account=account, mode=mode, nonce=nonce, smart_session=smart_session)
    )


def _chain_session_hash(chain_id: int, session_digest: bytes) -> bytes:
    return keccak(CHAIN_SESSION_TYPEHASH + chain_id.to_bytes(32, "big") + bytes(session_digest))


def _digest_of(chain_hashes: Iterable[bytes]) -> HexData:
    struct_hash = keccak(MULTICHAIN_SESSION_TYPEHASH + keccak(b"".join(chain_hashes)))
    return HexBytes(keccak(b"\x19\x01" + SMART_SESSION_DOMAIN_SEPARATOR + struct_hash))


def hash_chain_digests(chain_digests: Sequence[ChainDigest]) -> HexData:
    """The multichain digest from ``(chainId, sessionDigest)`` pairs, as the contract recomputes it (§2.8)."""
    return _digest_of(_chain_session_hash(d.chain_id, d.session_digest) for d in chain_digests)


def hash_chain_sessions(chain_sessions: Sequence[ChainSession | dict[str, Any]]) -> HexData:
    """module-sdk ``hashChainSessions``: the EIP-712 digest of ``MultiChainSession`` (what the owner signs)."""
    parsed = [cs if isinstance(cs, ChainSession) else ChainSession.model_validate(cs) for cs in chain_sessions]
    return _digest_of(_chain_session_hash(cs.chain_id, hash_signed_session(cs.session)) for cs in parsed)


def multichain_session_typed_data(chain_sessions: Sequence[ChainSession]) -> dict[str, Any]:
    """The full typed-data message, for signers that only sign typed data (hardware wallets, remote signers)."""

    def policies(ps: Iterable[PolicyData]) -> list[dict[str, Any]]:
        return [{"policy": p.policy, "initData": bytes(p.init_data)} for p in ps]

    def erc7739(d: ERC7739Data) -> dict[str, Any]:
        return {
            "allowedERC7739Content": [
                {"appDomainSeparator": bytes(c.app_domain_separator), "contentName": list(c.content_name)}
                for c in d.allowed_erc7739_content
            ],
            "erc1271Policies": policies(d.erc1271_policies),
        }

    def session(s: SignedSession) -> dict[str, Any]:
        p = s.permissions
        return {
            "account": s.account,
            "permissions": {
                "permitGenericPolicy": p.permit_generic_policy,
                "permitAdminAccess": p.permit_admin_access,
                "ignoreSecurityAttestations": p.ignore_security_attestations,
                "permitERC4337Paymaster": p.permit_erc4337_paymaster,
                "userOpPolicies": policies(p.user_op_policies),
                "erc7739Policies": erc7739(p.erc7739_policies),
                "actions": [
                    {
                        "actionTargetSelector": bytes(a.action_target_selector),
                        "actionTarget": a.action_target,
                        "actionPolicies": policies(a.action_policies),
                    }
                    for a in p.actions
                ],
            },
            "sessionValidator": s.session_validator,
            "sessionValidatorInitData": bytes(s.session_validator_init_data),
            "salt": bytes(s.salt),
            "smartSession": s.smart_session,
            "nonce": s.nonce,
        }

    return {
        "domain": {"name": "SmartSession", "version": "1"},
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
            **EIP712_TYPES,
        },
        "primaryType": "MultiChainSession",
        "message": {
            "sessionsAndChainIds": [{"chainId": cs.chain_id, "session": session(cs.session)} for cs in chain_sessions]
        },
    }
