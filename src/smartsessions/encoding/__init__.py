"""Pure protocol encodings: structs, ids, EIP-712 digests, signatures, FastLZ, Merkle trees, userOp hashes.

Nothing here does I/O; every function is deterministic and checked byte for byte against the TypeScript reference
(``tests/vectors``).
"""

from .eip712 import get_session_digest, hash_chain_digests, hash_chain_sessions, to_signed_session
from .flz import flz_compress, flz_decompress
from .merkle import MerkleTree, verify_proof
from .session import (
    ActionData,
    ChainDigest,
    ChainSession,
    EnableSession,
    EnableSessionData,
    ERC7739Context,
    ERC7739Data,
    PolicyData,
    Session,
    SignedPermissions,
    SignedSession,
    SmartSessionMode,
    get_action_id,
    get_permission_id,
)
from .signature import (
    DecodedSmartSessionSignature,
    decode_mee_short_signature,
    decode_smart_session_signature,
    encode_mee_short_signature,
    encode_smart_session_signature,
)
from .userop import PackedUserOperation, get_mee_user_op_hash, get_nonce_key, get_user_op_hash, to_nonce

__all__ = [
    "ActionData",
    "ChainDigest",
    "ChainSession",
    "DecodedSmartSessionSignature",
    "ERC7739Context",
    "ERC7739Data",
    "EnableSession",
    "EnableSessionData",
    "MerkleTree",
    "PackedUserOperation",
    "PolicyData",
    "Session",
    "SignedPermissions",
    "SignedSession",
    "SmartSessionMode",
    "decode_mee_short_signature",
    "decode_smart_session_signature",
    "encode_mee_short_signature",
    "encode_smart_session_signature",
    "flz_compress",
    "flz_decompress",
    "get_action_id",
    "get_mee_user_op_hash",
    "get_nonce_key",
    "get_permission_id",
    "get_session_digest",
    "get_user_op_hash",
    "hash_chain_digests",
    "hash_chain_sessions",
    "to_nonce",
    "to_signed_session",
    "verify_proof",
]
