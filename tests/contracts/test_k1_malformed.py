"""The K1MeeValidator on signatures that are not what they should be, as production's K1MeeValidator 1.0.1 answers
them (spec §11): simple and permit layouts with broken offsets, lengths or dirty words, signatures shorter than the
type prefix, high-s ECDSA, a zero session signer and ERC-6492 wrappers that lie. Each expectation was checked against
the production bytecode (differential tests, outside the repository).

What a refusal looks like matters to the node and the SDK: a malformed signature makes validation revert (the userOp
fails with ``AA23 reverted`` and the revert data, ERC-1271 and session validation revert), while a well-formed one by
the wrong key is reported (``AA24 signature error``, 0xffffffff, false), which keeps gas estimation with placeholder
signatures working. Production copies signature parts from calldata to memory with Solidity's ABI decoder, so an
absurd length panics (``Panic(0x41)``) or, when the part would run past the end of the calldata, reverts with empty
revert data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from eth_account import Account as EthAccount

from smartsessions._coerce import keccak
from smartsessions.devnet.artifacts import decode_revert
from smartsessions.devnet.deploy import usdc_address
from smartsessions.devnet.validator_layouts import encode_permit_signature_full, encode_simple_signature_full
from smartsessions.encoding import MerkleTree, get_mee_user_op_hash
from smartsessions.encoding.abi import abi_encode, encode_function_call
from smartsessions.encoding.quote import get_permit_digest
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.rpc import RpcRevertError

from .flows import Account, counter_value, counterfactual, increment_call, k1, owner_op_no_mee
from .harness import Chain, RevertedError, failed_op, panic_data, sign_personal, sign_raw

SIMPLE, PERMIT = bytes.fromhex("177eee00"), bytes.fromhex("177eee02")
MAGIC, INVALID = bytes.fromhex("1626ba7e"), bytes.fromhex("ffffffff")
ALLOCATION = panic_data(0x41)
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DIGEST = b"\x11" * 32
#: ``InvalidSignature()`` of the ERC-7739 branch (high s).
INVALID_SIGNATURE = bytes.fromhex("8baa579f")
#: how a case breaks a well-formed signature
Tamper = Callable[[bytes], bytes]


def _deployed(chain: Chain) -> Account:
    account = counterfactual(chain, chain.keys["owner"])
    [result] = owner_op_no_mee(chain, account, increment_call(), deploy=True)
    assert result.success, result.revert_message
    return account


def _word(value: int) -> bytes:
    return (value % 2**256).to_bytes(32, "big")


def _set_word(signature: bytes, at: int, value: int) -> bytes:
    """``signature`` with the 32 bytes at ``at`` (counted after the 4-byte type) replaced by ``value``."""
    at += 4
    return signature[:at] + _word(value) + signature[at + 32 :]


def _high_s(sig65: bytes) -> bytes:
    """The other signature of the same key over the same digest: s → n − s, v flipped."""
    s = int.from_bytes(sig65[32:64], "big")
    return sig65[:32] + (N - s).to_bytes(32, "big") + bytes([55 - sig65[64]])


def _validate_with_data(chain: Chain, digest: bytes, signature: bytes, signer: bytes) -> bool:
    return bool(
        chain.call(k1(), "validateSignatureWithData(bytes32,bytes,bytes)", [digest, signature, signer], ["bool"])
    )


def _is_valid_signature(chain: Chain, account: str, digest: bytes, signature: bytes) -> bytes:
    """``isValidSignatureWithSender`` called by the account, with a gas price as on chain: at gas price zero (an
    off-chain ``eth_call``) production's ERC-7739 branch takes an RPC-only path that the devnet does not have."""
    data = encode_function_call("isValidSignatureWithSender(address,bytes32,bytes)", [account, digest, signature])
    call = {"from": account, "to": k1(), "data": "0x" + data.hex(), "gasPrice": hex(10**9)}
    try:
        answer = chain.rpc.request("eth_call", [call, "latest"])
    except RpcRevertError as exc:
        raise RevertedError(decode_revert(exc.revert_data), exc.revert_data) from exc
    return bytes.fromhex(answer[2:])[:4]


def _revert_data(call: Callable[[], object]) -> bytes:
    with pytest.raises(RevertedError) as refused:
        call()
    return refused.value.data


def _refusal(chain: Chain, op: PackedUserOperation) -> tuple[str, bytes]:
    """How the EntryPoint refuses ``op``: ``("AA23 reverted", revert data)`` or ``("AA24 signature error", b"")``."""
    before = counter_value(chain)
    with pytest.raises(RevertedError) as refused:
        chain.handle_ops([op])
    assert counter_value(chain) == before
    if "AA24 signature error" in refused.value.message:
        return "AA24 signature error", b""
    return failed_op(refused.value)


# -- shorter than the type prefix -----------------------------------------------------------------------------------


def test_signatures_shorter_than_the_type_revert(chain: Chain) -> None:
    """Production reads the type as ``signature[0:4]`` (``[0:3]`` first in ERC-1271): a shorter signature is an
    out-of-range slice, empty revert data, in every entry point. So the ERC-7739 detection request (empty signature)
    reverts too, in the validator and through the account."""
    account = _deployed(chain)
    owner = chain.keys["owner"]
    for signature in (b"", b"\x17\x7e\xee"):
        op = chain.user_op(sender=account.address, call_data=increment_call())
        assert _refusal(chain, op.model_copy(update={"signature": signature})) == ("AA23 reverted", b"")
    signer = bytes.fromhex(owner.address[2:])
    for signature in (b"", b"\x01", b"\x17\x7e", b"\x17\x7e\xee", b"\x00\x00\x00"):
        assert _revert_data(partial(_validate_with_data, chain, DIGEST, signature, signer)) == b""
    for signature in (b"", b"\x01", b"\x17\x7e", b"\x17\x7e\xee"):
        assert _revert_data(partial(_is_valid_signature, chain, account.address, DIGEST, signature)) == b""
    detection = bytes.fromhex("7739" * 16)
    assert _revert_data(lambda: _is_valid_signature(chain, account.address, detection, b"")) == b""
    assert _revert_data(
        lambda: chain.call(account.address, "isValidSignature(bytes32,bytes)", [detection, b""], ["bytes4"])
    ) == b""  # fmt: skip


# -- simple mode (0x177eee00) ---------------------------------------------------------------------------------------
#
# Full layout after the type: root (0x00), lower (0x20), upper (0x40), proof offset (0x60) = 0xa0, proof length
# (0xa0) = 1, one proof item (0xc0), signature length (0xe0) = 65, signature (0x100). Production follows the offsets
# with unchecked arithmetic, copies the signature to memory, checks it, and only then copies the proof.


def _simple_op(
    chain: Chain, account: Account, *, signer: str = "owner", lower: int | None = None, upper: int | None = None
) -> tuple[PackedUserOperation, int, int]:
    now = chain.timestamp()
    lower = now - 10 if lower is None else lower
    upper = now + 180 if upper is None else upper
    op = chain.user_op(sender=account.address, call_data=increment_call())
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, b"\x44" * 32])
    signature = encode_simple_signature_full(
        super_tx_hash=tree.root, lower_bound_timestamp=lower, upper_bound_timestamp=upper, proof=tree.proof(leaf),
        signature=sign_personal(chain.keys[signer], bytes(tree.root)),
    )  # fmt: skip
    return op.model_copy(update={"signature": bytes(signature)}), lower, upper


SIMPLE_FULL_CASES: dict[str, tuple[Tamper, bytes | None]] = {
    # the signature's length word: above 2^64 - 1, or an allocation ending past 2^64 - 1 (production's free-memory
    # pointer is 0x140 there), panics; one byte less is a signature running past the calldata
    "signature-length-2^64": (lambda s: _set_word(s, 0xE0, 2**64), ALLOCATION),
    "signature-length-2^64-0x17f": (lambda s: _set_word(s, 0xE0, 2**64 - 0x17F), ALLOCATION),
    "signature-length-2^64-0x180": (lambda s: _set_word(s, 0xE0, 2**64 - 0x180), b""),
    "signature-length-66": (lambda s: _set_word(s, 0xE0, 66), None),
    # the signature is the last thing in the calldata: cut, it runs past its end
    "truncated": (lambda s: s[:-40], b""),
    # the proof offset points past the calldata: the signature's length word reads as zero, far away
    "proof-offset-past-calldata": (lambda s: _set_word(s, 0x60, 2**40), b""),
    "proof-offset-2^256-1": (lambda s: _set_word(s, 0x60, 2**256 - 1), b""),
    # 2^251 + 1 items of 32 bytes wrap around to one item, so the signature is found where it is, and checks; then
    # the proof can not be copied
    "proof-length-2^251+1": (lambda s: _set_word(s, 0xA0, 2**251 + 1), ALLOCATION),
    # zero items: the signature's length word is then read from the proof item (0x44…44), an absurd length
    "proof-length-0": (lambda s: _set_word(s, 0xA0, 0), ALLOCATION),
    # another root: a well-formed signature of the wrong message
    "root": (lambda s: _set_word(s, 0x00, 0x55), None),
}


@pytest.mark.parametrize("case", list(SIMPLE_FULL_CASES))
def test_malformed_simple_full_layout(chain: Chain, case: str) -> None:
    """Owner userOps: a malformed simple layout fails with AA23 and production's revert data, or with AA24 where
    production reads it as a signature that does not validate (None)."""
    account = _deployed(chain)
    op, _, _ = _simple_op(chain, account)
    tamper, expected = SIMPLE_FULL_CASES[case]
    bad = op.model_copy(update={"signature": tamper(bytes(op.signature))})
    assert _refusal(chain, bad) == (("AA24 signature error", b"") if expected is None else ("AA23 reverted", expected))
    [result] = chain.handle_ops([op])
    assert result.success, result.revert_message


def test_simple_layout_checks_the_signature_before_copying_the_proof(chain: Chain) -> None:
    """With another key's signature, the proof that can not be copied is never reached: AA24, not AA23."""
    account = _deployed(chain)
    op, _, _ = _simple_op(chain, account, signer="alice")
    bad = op.model_copy(update={"signature": _set_word(bytes(op.signature), 0xA0, 2**251 + 1)})
    assert _refusal(chain, bad) == ("AA24 signature error", b"")


def test_simple_full_layout_keeps_the_low_48_bits_of_the_timestamps(chain: Chain) -> None:
    """Production holds the timestamps in uint48 variables: bits above 48 in their words are ignored, both in the
    leaf and in the validity window."""
    account = _deployed(chain)
    op, lower, upper = _simple_op(chain, account)
    dirty = _set_word(bytes(op.signature), 0x20, lower | 1 << 200)
    dirty = _set_word(dirty, 0x40, upper | 0xFF << 248)
    before = counter_value(chain)
    [result] = chain.handle_ops([op.model_copy(update={"signature": dirty})])
    assert result.success, result.revert_message
    assert counter_value(chain) == before + 1
    # and the window is the truncated one: an expired upper bound stays expired whatever its high bits say
    now = chain.timestamp()
    expired, _, _ = _simple_op(chain, account, lower=now - 100, upper=now - 50)
    dirty = _set_word(bytes(expired.signature), 0x40, (now - 50) | 1 << 100)
    with pytest.raises(RevertedError, match="AA22 expired or not due"):
        chain.handle_ops([expired.model_copy(update={"signature": dirty})])


def _short_simple(chain: Chain, leaf: bytes, signer: str = "owner", sig: bytes | None = None) -> bytes:
    """``0x177eee00 ‖ abi.encode(root, proof, sig)`` over a two-leaf tree: root (0x00), proof offset (0x20) = 0x60,
    proof length (0x60) = 1, the item (0x80), signature length (0xa0), signature (0xc0)."""
    tree = MerkleTree([leaf, b"\x44" * 32])
    ecdsa = sig if sig is not None else sign_personal(chain.keys[signer], bytes(tree.root))
    return SIMPLE + abi_encode(
        ["bytes32", "bytes32[]", "bytes"], [bytes(tree.root), [bytes(p) for p in tree.proof(leaf)], ecdsa], what="sig"
    )


def test_malformed_simple_short_layout(chain: Chain) -> None:
    """Session validation and the ERC-1271 MEE flow: the same reading, with production's free-memory pointer at 0x80
    and 0xe0 respectively (after the ``abi.encodePacked(hash, account)`` of ERC-1271)."""
    account = _deployed(chain)
    owner = bytes.fromhex(chain.keys["owner"].address[2:])
    session = _short_simple(chain, DIGEST)
    assert _validate_with_data(chain, DIGEST, session, owner)
    for length, expected in ((2**64 - 0xBF, ALLOCATION), (2**64 - 0xC0, b""), (2**64, ALLOCATION)):
        bad = _set_word(session, 0xA0, length)
        assert _revert_data(partial(_validate_with_data, chain, DIGEST, bad, owner)) == expected, hex(length)
    # cut short, the signature reads on into the next argument (the session data), still inside the calldata: no
    # fault, just no valid signature
    assert not _validate_with_data(chain, DIGEST, session[:-40], owner)
    # another key: reported, even with a proof that can not be copied
    alice = _short_simple(chain, DIGEST, signer="alice")
    assert not _validate_with_data(chain, DIGEST, alice, owner)
    assert not _validate_with_data(chain, DIGEST, _set_word(alice, 0x60, 2**251 + 1), owner)
    assert _revert_data(lambda: _validate_with_data(chain, DIGEST, _set_word(session, 0x60, 2**251 + 1), owner)) == (
        ALLOCATION
    )

    leaf = keccak(DIGEST + bytes.fromhex(account.address[2:]))
    erc1271 = _short_simple(chain, leaf)
    assert _is_valid_signature(chain, account.address, DIGEST, erc1271) == MAGIC
    for length, expected in ((2**64 - 0x11F, ALLOCATION), (2**64 - 0x120, b"")):
        bad = _set_word(erc1271, 0xA0, length)
        assert _revert_data(partial(_is_valid_signature, chain, account.address, DIGEST, bad)) == expected
    assert _is_valid_signature(chain, account.address, DIGEST, _short_simple(chain, leaf, signer="alice")) == INVALID


# -- permit mode (0x177eee02) ---------------------------------------------------------------------------------------
#
# Production decodes the whole tuple first (Solidity's ABI decoder, against the end of the calldata): a head that
# runs past it, a dirty address, bool, uint48 or uint8 word, or a proof offset or length out of range revert with
# empty revert data; a proof too long to allocate panics. Tuple words after the type: 0x00 the tuple offset (0x20),
# then the head from 0x20.


def _permit_short(chain: Chain, leaf: bytes, signer: str = "owner", high_s: bool = False) -> bytes:
    """``0x177eee02 ‖ abi.encode((spender, domainSeparator, amount, nonce, root, v, r, s, proof))``, head words at
    0x20 + 32·k: spender (0x20), v (0xc0), proof offset (0x120); proof length at 0x140."""
    tree = MerkleTree([leaf, b"\x44" * 32])
    owner = chain.keys["owner"].address
    digest = get_permit_digest(
        domain_separator=b"\x77" * 32, owner=owner, spender=owner, value=5, nonce=0,
        deadline=int.from_bytes(bytes(tree.root), "big"),
    )  # fmt: skip
    sig = bytes(EthAccount.unsafe_sign_hash(bytes(digest), chain.keys[signer].private_key).signature)
    if high_s:
        sig = _high_s(sig)
    fields = (owner, b"\x77" * 32, 5, 0, bytes(tree.root), sig[64], sig[:32], sig[32:64], tree.proof(leaf))
    return PERMIT + abi_encode(
        ["(address,bytes32,uint256,uint256,bytes32,uint8,bytes32,bytes32,bytes32[])"], [fields], what="permit"
    )


PERMIT_SHORT_CASES: dict[str, tuple[Tamper, bytes]] = {
    "dirty-spender": (lambda s: _set_word(s, 0x20, 1 << 160 | 0xBEEF), b""),
    "dirty-v": (lambda s: _set_word(s, 0xC0, 0x11B), b""),
    "proof-offset-2^64": (lambda s: _set_word(s, 0x120, 2**64), b""),
    "proof-offset-past-calldata": (lambda s: _set_word(s, 0x120, 0x1000), b""),
    # past the end of the calldata (in session validation the session data follows the signature: 0x40 bytes)
    "proof-length-8": (lambda s: _set_word(s, 0x140, 8), b""),
    "head-cut": (lambda s: s[: 4 + 0x20 + 0x40], b""),
}


@pytest.mark.parametrize("case", list(PERMIT_SHORT_CASES))
def test_malformed_permit_short_layout(chain: Chain, case: str) -> None:
    account = _deployed(chain)
    owner = bytes.fromhex(chain.keys["owner"].address[2:])
    tamper, expected = PERMIT_SHORT_CASES[case]
    session = _permit_short(chain, DIGEST)
    assert _validate_with_data(chain, DIGEST, session, owner)
    assert _revert_data(lambda: _validate_with_data(chain, DIGEST, tamper(session), owner)) == expected
    erc1271 = _permit_short(chain, keccak(DIGEST + bytes.fromhex(account.address[2:])))
    assert _is_valid_signature(chain, account.address, DIGEST, erc1271) == MAGIC
    assert _revert_data(lambda: _is_valid_signature(chain, account.address, DIGEST, tamper(erc1271))) == expected


def test_permit_short_layout_proof_allocation_and_signers(chain: Chain) -> None:
    """A proof length whose allocation ends past 2^64 - 1 panics (production's free-memory pointer: 0x1a0 in session
    validation, 0x200 in ERC-1271), decoded before the signature is checked, so also for another key. A well-formed
    permit by another key is reported; a high-s one by the owner is accepted."""
    account = _deployed(chain)
    owner = bytes.fromhex(chain.keys["owner"].address[2:])
    session = _permit_short(chain, DIGEST)
    for length, expected in ((2**59 - 0xE, ALLOCATION), (2**59 - 0xF, b"")):
        bad = _set_word(session, 0x140, length)
        assert _revert_data(partial(_validate_with_data, chain, DIGEST, bad, owner)) == expected
    alice = _permit_short(chain, DIGEST, signer="alice")
    assert not _validate_with_data(chain, DIGEST, alice, owner)
    assert _revert_data(lambda: _validate_with_data(chain, DIGEST, _set_word(alice, 0x140, 2**64), owner)) == (
        ALLOCATION
    )
    assert _validate_with_data(chain, DIGEST, _permit_short(chain, DIGEST, high_s=True), owner)

    leaf = keccak(DIGEST + bytes.fromhex(account.address[2:]))
    erc1271 = _permit_short(chain, leaf)
    for length, expected in ((2**59 - 0x11, ALLOCATION), (2**59 - 0x12, b"")):
        bad = _set_word(erc1271, 0x140, length)
        assert _revert_data(partial(_is_valid_signature, chain, account.address, DIGEST, bad)) == expected
    assert _is_valid_signature(chain, account.address, DIGEST, _permit_short(chain, leaf, signer="alice")) == INVALID


def _permit_op(
    chain: Chain, account: Account, *, signer: str = "owner", token: str | None = None, is_permit_tx: bool = False
) -> PackedUserOperation:
    """An owner userOp in the full permit layout; head words at 0x20 + 32·k: token (0x20), spender (0x40),
    isPermitTx (0xc0), lower (0x100), upper (0x120), v (0x140), proof offset (0x1a0); proof length at 0x1c0."""
    usdc = usdc_address(chain.chain_id)
    owner = chain.keys["owner"]
    now = chain.timestamp()
    lower, upper = now - 10, now + 180
    op = chain.user_op(sender=account.address, call_data=increment_call())
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, b"\x44" * 32])
    domain = chain.call(usdc, "DOMAIN_SEPARATOR()", [], ["bytes32"])
    nonce = chain.call(usdc, "nonces(address)", [owner.address], ["uint256"])
    digest = get_permit_digest(
        domain_separator=domain, owner=owner.address, spender=account.address, value=1, nonce=nonce,
        deadline=int.from_bytes(bytes(tree.root), "big"),
    )  # fmt: skip
    sig = bytes(EthAccount.unsafe_sign_hash(bytes(digest), chain.keys[signer].private_key).signature)
    signature = encode_permit_signature_full(
        token=token or usdc, spender=account.address, domain_separator=domain, amount=1, nonce=nonce,
        is_permit_tx=is_permit_tx, super_tx_hash=tree.root, lower_bound_timestamp=lower, upper_bound_timestamp=upper,
        signature=sig, proof=tree.proof(leaf),
    )  # fmt: skip
    return op.model_copy(update={"signature": bytes(signature)})


PERMIT_FULL_CASES: dict[str, tuple[Tamper, bytes]] = {
    "dirty-token": (lambda s: _set_word(s, 0x20, int.from_bytes(s[0x24:0x44], "big") | 1 << 200), b""),
    "dirty-is-permit-tx": (lambda s: _set_word(s, 0xC0, 2), b""),
    "dirty-lower": (lambda s: _set_word(s, 0x100, int.from_bytes(s[0x104:0x124], "big") | 1 << 48), b""),
    "dirty-v": (lambda s: _set_word(s, 0x140, 0x100 + s[0x163]), b""),
    "proof-offset-2^64": (lambda s: _set_word(s, 0x1A0, 2**64), b""),
    "proof-length-2": (lambda s: _set_word(s, 0x1C0, 2), b""),
    # production's free-memory pointer is 0x220 there (after the decoded tuple)
    "proof-length-2^59-0x12": (lambda s: _set_word(s, 0x1C0, 2**59 - 0x12), ALLOCATION),
    "proof-length-2^59-0x13": (lambda s: _set_word(s, 0x1C0, 2**59 - 0x13), b""),
    "head-cut": (lambda s: s[: 4 + 0x20 + 0x180], b""),
}


@pytest.mark.parametrize("case", list(PERMIT_FULL_CASES))
def test_malformed_permit_full_layout(chain: Chain, case: str) -> None:
    """Owner userOps in the full permit layout: the tuple is decoded first, so a malformed one fails with AA23 and
    production's revert data whoever signed it."""
    account = _deployed(chain)
    tamper, expected = PERMIT_FULL_CASES[case]
    for signer in ("owner", "alice"):
        op = _permit_op(chain, account, signer=signer)
        bad = op.model_copy(update={"signature": tamper(bytes(op.signature))})
        assert _refusal(chain, bad) == ("AA23 reverted", expected), signer
    assert _refusal(chain, _permit_op(chain, account, signer="alice")) == ("AA24 signature error", b"")
    [result] = chain.handle_ops([_permit_op(chain, account)])
    assert result.success, result.revert_message


def test_permit_full_layout_on_a_token_without_code(chain: Chain) -> None:
    """``isPermitTx`` with a token that has no code: production's ``try token.permit(...)`` fails Solidity's code
    check before the call, which ``catch`` does not catch: AA23 with empty revert data. Without ``isPermitTx`` the
    token is never called."""
    account = _deployed(chain)
    nowhere = "0x000000000000000000000000000000000000dEaD"
    op = _permit_op(chain, account, token=nowhere, is_permit_tx=True)
    assert _refusal(chain, op) == ("AA23 reverted", b"")
    [result] = chain.handle_ops([_permit_op(chain, account, token=nowhere)])
    assert result.success, result.revert_message


# -- ECDSA: high s, 64 bytes, zero signer ---------------------------------------------------------------------------


def test_high_s_signatures_are_accepted_as_in_production(chain: Chain) -> None:
    """Production checks ECDSA with Solady's ``tryRecover``, which accepts a high s (the twin of a valid signature
    recovers the same key): for the owner's userOps (the EntryPoint nonce prevents any replay), session validation and
    the ERC-1271 MEE flow. The ERC-7739 branch of ERC-1271 still refuses it (``InvalidSignature``), as production."""
    account = _deployed(chain)
    owner = chain.keys["owner"]
    op = chain.user_op(sender=account.address, call_data=increment_call())
    high = _high_s(sign_raw(owner, chain.user_op_hash(op)))
    [result] = chain.handle_ops([op.model_copy(update={"signature": high})])
    assert result.success, result.revert_message
    signer = bytes.fromhex(owner.address[2:])
    assert _validate_with_data(chain, DIGEST, _high_s(sign_personal(owner, DIGEST)), signer)
    tree_leaf = keccak(DIGEST + bytes.fromhex(account.address[2:]))
    tree = MerkleTree([tree_leaf, b"\x44" * 32])
    mee = _short_simple(chain, tree_leaf, sig=_high_s(sign_personal(owner, bytes(tree.root))))
    assert _is_valid_signature(chain, account.address, DIGEST, mee) == MAGIC
    plain = _high_s(sign_raw(owner, DIGEST))
    assert _revert_data(lambda: _is_valid_signature(chain, account.address, DIGEST, plain)) == INVALID_SIGNATURE
    # and the simple full layout with a high-s signature over the root
    op2, _, _ = _simple_op(chain, account)
    sig = bytes(op2.signature)
    high_root_sig = sig[: 4 + 0x100] + _high_s(sig[4 + 0x100 : 4 + 0x141]) + sig[4 + 0x141 :]
    [result] = chain.handle_ops([op2.model_copy(update={"signature": high_root_sig})])
    assert result.success, result.revert_message


def test_zero_session_signer_accepts_what_does_not_recover(chain: Chain) -> None:
    """Production compares the recovered address with the signer, and a failed recovery is the zero address: session
    data that starts with 20 zero bytes accepts any signature that does not recover (a real one recovers its key)."""
    zero = bytes(20)
    assert _validate_with_data(chain, DIGEST, b"\x00" * 65, zero)
    assert _validate_with_data(chain, DIGEST, b"\x01\x02\x03\x04\x05", zero)
    assert not _validate_with_data(chain, DIGEST, sign_raw(chain.keys["alice"], DIGEST), zero)
    # in simple mode the proof still has to hold
    empty = SIMPLE + abi_encode(["bytes32", "bytes32[]", "bytes"], [DIGEST, [], b""], what="simple")
    assert _validate_with_data(chain, DIGEST, empty, zero)
    assert not _validate_with_data(chain, DIGEST, _short_simple(chain, b"\x55" * 32, sig=b""), zero)


# -- ERC-6492 wrappers ----------------------------------------------------------------------------------------------

MAGIC_6492 = bytes.fromhex("6492" * 16)


def test_erc6492_unwrapping_is_unbounded_as_in_production(chain: Chain) -> None:
    """Production strips any signature that ends with the ERC-6492 magic, reading the inner signature's offset (third
    word) and length without bounds; the MEE prefix is read from the wrapper. The inner signature may then claim any
    length: its copy to memory faults as the ABI decoder does."""
    account = _deployed(chain)
    leaf = keccak(DIGEST + bytes.fromhex(account.address[2:]))
    inner = _short_simple(chain, leaf)

    def wrapped(length: int, signature: bytes = inner) -> bytes:
        """``0x177eee00 …`` (read as the MEE prefix), the offset 0x60 as third word, then a length word and
        ``signature``, then the magic."""
        padding = b"\x00" * (-len(signature) % 32)
        return SIMPLE.ljust(0x40, b"\x00") + _word(0x60) + _word(length) + signature + padding + MAGIC_6492

    # a well-formed wrapper never starts with the MEE prefix (its first word is the factory address), so it goes to
    # the ERC-7739 branch, where the inner MEE signature is no plain signature
    factory_first = _word(0xFAC) + _word(0x60) + _word(0x80) + _word(0) + _word(len(inner)) + inner
    assert _is_valid_signature(chain, account.address, DIGEST, factory_first + b"\x00" * 4 + MAGIC_6492) == INVALID
    assert _is_valid_signature(chain, account.address, DIGEST, wrapped(len(inner))) == MAGIC
    # simple mode follows its offsets and never reads the length
    assert _is_valid_signature(chain, account.address, DIGEST, wrapped(2**40)) == MAGIC
    assert _revert_data(lambda: _is_valid_signature(chain, account.address, DIGEST, wrapped(3))) == b""
    # an unknown MEE type is a plain signature, copied whole first: an absurd length panics or, one byte less, runs
    # past the calldata (production's free-memory pointer is 0xe0 there)
    unknown = bytes.fromhex("177eee07") + b"\x00" * 61
    for length, expected in ((2**64 - 0x11F, ALLOCATION), (2**64 - 0x120, b""), (2**40, b"")):
        bad = wrapped(length, unknown)
        assert _revert_data(partial(_is_valid_signature, chain, account.address, DIGEST, bad)) == expected
    assert _is_valid_signature(chain, account.address, DIGEST, wrapped(len(unknown), unknown)) == INVALID


# -- on-chain mode (0x177eee01): v as production reads it -------------------------------------------------------------


def _with_v(raw: bytes, new_v: Callable[[int], int]) -> bytes:
    """The signed transaction ``raw`` with its v (yParity) replaced by ``new_v(v)``."""
    import rlp  # type: ignore[import-untyped]  # pyrlp (an eth-account dependency) ships no type information

    typed = raw[0] == 2
    items = rlp.decode(raw[1:] if typed else raw)
    v = new_v(int.from_bytes(items[-3], "big"))
    items[-3] = v.to_bytes((v.bit_length() + 7) // 8, "big")
    encoded = bytes(rlp.encode(items))
    return b"\x02" + encoded if typed else encoded


@pytest.mark.parametrize(
    ("tx_type", "eip155", "new_v", "valid"),
    [
        (2, True, lambda v: v + 27, True),
        (0, False, lambda v: v - 27, True),
        (2, True, lambda v: v + 2, False),
        (0, True, lambda v: 35 + (v - 35) % 2, False),
    ],
    ids=["eip1559-v-27-28", "legacy-v-0-1", "eip1559-v-2-3", "legacy-v-35-36"],
)
def test_onchain_v_is_read_as_production_reads_it(
    chain: Chain, tx_type: int, eip155: bool, new_v: Callable[[int], int], valid: bool
) -> None:
    """Production's ``_adjustV`` takes v the same way for both types: 0 and 1 are the parity, 37 and above EIP-155,
    anything else as it is. So an EIP-1559 transaction written with v 27/28 and an unprotected legacy one with v 0/1
    still recover the owner; v 2/3 or 35/36 recover no one (not valid, no revert)."""
    from smartsessions.devnet.validator_layouts import encode_onchain_signature_short

    account = _deployed(chain)
    owner = chain.keys["owner"]
    tree = MerkleTree([DIGEST, b"\x44" * 32])
    data = encode_function_call("approve(address,uint256)", [account.address, 1]) + bytes(tree.root)
    raw = chain.sign_tx(owner, to=usdc_address(chain.chain_id), data=data, tx_type=tx_type, eip155=eip155)
    signature = bytes(encode_onchain_signature_short(signed_transaction=_with_v(raw, new_v), proof=tree.proof(DIGEST)))
    assert _validate_with_data(chain, DIGEST, signature, bytes.fromhex(owner.address[2:])) is valid
