"""The K1MeeValidator's on-chain trigger mode (``0x177eee01``, spec §11.2/§11.4): the owner's EOA sends a transaction
whose data ends with the super-transaction root, and the signed transaction itself (RLP) authorises the userOps."""

from __future__ import annotations

from typing import Any

import pytest

from smartsessions import SmartSessionMode, encode_smart_session_signature
from smartsessions.devnet.deploy import TestKey, usdc_address
from smartsessions.devnet.validator_layouts import (
    encode_onchain_signature_full,
    encode_onchain_signature_short,
    encode_simple_signature_full,
    to_onchain_tx_payload,
)
from smartsessions.encoding import MerkleTree, get_mee_user_op_hash
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from .flows import (
    Account,
    counter_value,
    counterfactual,
    deployed_with_sessions_module,
    grant,
    increment_call,
    k1,
    owner_op_mee_onchain,
    owner_op_no_mee,
    session_for,
    session_op,
)
from .harness import Chain, RevertedError, error_data, failed_op, panic_data, sign_personal

PACKED = "(address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)"


def _approve(chain: Chain, spender: str, suffix: bytes, amount: int = 1) -> tuple[str, bytes]:
    return usdc_address(chain.chain_id), encode_function_call("approve(address,uint256)", [spender, amount]) + suffix


def _deployed(chain: Chain) -> Account:
    account = counterfactual(chain, chain.keys["owner"])
    [result] = owner_op_no_mee(chain, account, increment_call(), deploy=True)
    assert result.success, result.revert_message
    return account


@pytest.mark.parametrize("extra", [0, 3])
@pytest.mark.parametrize("tx_type", [0, 2], ids=["legacy", "eip1559"])
def test_owner_op_in_onchain_mode(chain: Chain, tx_type: int, extra: int) -> None:
    """One leaf (root = leaf, empty proof) and several; a legacy (EIP-155) and an EIP-1559 approve, mined first."""
    account = counterfactual(chain, chain.keys["owner"])
    before = counter_value(chain)
    others = [bytes([k + 7]) * 32 for k in range(extra)]
    _op, [result] = owner_op_mee_onchain(
        chain, account, increment_call(), tx_type=tx_type, extra_leaves=others, deploy=True, approve=5_000
    )
    assert result.success, result.revert_message
    assert counter_value(chain) == before + 1
    usdc = usdc_address(chain.chain_id)
    owner = account.owner.address
    assert chain.call(usdc, "allowance(address,address)", [owner, account.address], ["uint256"]) == 5_000


def _onchain_op(
    chain: Chain,
    account: Account,
    *,
    sender: TestKey | None = None,
    suffix: bytes | None = None,
    window: tuple[int, int] | None = None,
    extra_leaves: int = 2,
    bad_proof: bool = False,
    tx_type: int = 2,
) -> PackedUserOperation:
    now = chain.timestamp()
    lower, upper = window or (now - 10, now + 180)
    op = chain.user_op(sender=account.address, call_data=increment_call())
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, *[bytes([k + 1]) * 32 for k in range(extra_leaves)]])
    proof = [bytes(p) for p in tree.proof(leaf)]
    if bad_proof:
        proof[0] = bytes(32 - len(b"x")) + b"x"
    to, data = _approve(chain, account.address, bytes(tree.root) if suffix is None else suffix)
    raw = chain.sign_tx(sender or account.owner, to=to, data=data, tx_type=tx_type)
    signature = encode_onchain_signature_full(
        signed_transaction=raw, proof=proof, lower_bound_timestamp=lower, upper_bound_timestamp=upper
    )
    return op.model_copy(update={"signature": signature})


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"sender": "alice"}, "AA24 signature error"),
        ({"suffix": b"\x42" * 32}, "AA24 signature error"),
        ({"bad_proof": True}, "AA24 signature error"),
        ({"window": "expired"}, "AA22 expired or not due"),
        ({"window": "not due"}, "AA22 expired or not due"),
        ({"sender": "alice", "tx_type": 0}, "AA24 signature error"),
    ],
    ids=["another-key", "data-not-ending-with-root", "wrong-proof", "expired", "not-due", "another-key-legacy"],
)
def test_onchain_mode_refusals(chain: Chain, change: dict[str, Any], error: str) -> None:
    account = _deployed(chain)
    kwargs = dict(change)
    if "sender" in kwargs:
        kwargs["sender"] = chain.keys[kwargs["sender"]]
    now = chain.timestamp()
    if kwargs.get("window") == "expired":
        kwargs["window"] = (now - 100, now - 50)
    elif kwargs.get("window") == "not due":
        kwargs["window"] = (now + 3_600, now + 7_200)
    op = _onchain_op(chain, account, **kwargs)
    before = counter_value(chain)
    with pytest.raises(RevertedError, match=error):
        chain.handle_ops([op])
    assert counter_value(chain) == before


def _validate_with_data(chain: Chain, digest: bytes, signature: bytes, owner: str) -> bool:
    return bool(
        chain.call(
            k1(),
            "validateSignatureWithData(bytes32,bytes,bytes)",
            [digest, signature, bytes.fromhex(owner[2:])],
            ["bool"],
        )
    )


# -- malformed layouts: the reverts of production's K1MeeValidator 1.0.1 (spec §11.2) ------------------------------

PREFIX = bytes.fromhex("177eee01")
#: The proof of a two-leaf tree is the other leaf itself, so its bytes are known: 0x44 read as a count is 68 items,
#: read as RLP it is a one-byte item.
SIBLING = b"\x44" * 32
UNSUPPORTED_TYPE = "TxValidatorLib:: unsupported evm tx type"
SHORT_DATA = "TxDecoder:: callData length too short"
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


TX_KINDS = pytest.mark.parametrize(
    ("tx_type", "eip155"), [(2, True), (0, True), (0, False)], ids=["eip1559", "legacy-eip155", "legacy-unprotected"]
)


@TX_KINDS
def test_short_layout_for_sessions_and_erc1271(chain: Chain, tx_type: int, eip155: bool) -> None:
    """``validateSignatureWithData`` (the session path; leaf = the hash) and the ERC-1271 MEE flow (leaf =
    ``keccak256(hash ‖ account)``) with the short layout. A well-formed signature that does not prove the hash
    (another signer, another hash) answers false; a malformed one reverts as production does
    (``test_malformed_short_layout``)."""
    from smartsessions._coerce import keccak

    owner, alice = chain.keys["owner"], chain.keys["alice"]
    account = _deployed(chain)
    digest = b"\x11" * 32
    tree = MerkleTree([digest, b"\x22" * 32, b"\x33" * 32])
    to, data = _approve(chain, account.address, bytes(tree.root))
    # not sent: the validator checks the signed bytes, not their inclusion
    raw = chain.sign_tx(owner, to=to, data=data, tx_type=tx_type, eip155=eip155)
    short = bytes(encode_onchain_signature_short(signed_transaction=raw, proof=tree.proof(digest)))
    assert _validate_with_data(chain, digest, short, owner.address)
    assert not _validate_with_data(chain, digest, short, alice.address)
    assert not _validate_with_data(chain, b"\x22" * 32, short, owner.address)
    with pytest.raises(RevertedError) as refused:
        _validate_with_data(chain, digest, short[:-1], owner.address)
    assert refused.value.data == panic_data(0x11)

    # ERC-1271 from the account: the MEE flow hashes the account in
    account_leaf = keccak(digest + bytes.fromhex(account.address[2:]))
    tree = MerkleTree([account_leaf, b"\x44" * 32])
    to, data = _approve(chain, account.address, bytes(tree.root))
    raw = chain.sign_tx(owner, to=to, data=data, tx_type=tx_type, eip155=eip155)
    short = bytes(encode_onchain_signature_short(signed_transaction=raw, proof=tree.proof(account_leaf)))
    assert _is_valid_signature(chain, account.address, digest, short) == ERC1271_MAGIC


# -- malformed layouts ----------------------------------------------------------------------------------------------


def _rlp_list(items: list[bytes]) -> bytes:
    payload = b"".join(items)
    if len(payload) < 56:
        return bytes([0xC0 + len(payload)]) + payload
    size = len(payload).to_bytes((len(payload).bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(size)]) + size + payload


def _malformed(tx: bytes, short_data_tx: bytes) -> dict[str, tuple[bytes, bytes | None]]:
    """Malformed short layouts built from a well-formed ``tx`` (``txType ‖ rlp``) whose proof is ``[SIBLING]``, each
    with the revert data production answers (None: no revert, the signature is just not valid)."""
    t = tx[:1]
    v_index = 9 if t == b"\x02" else 6
    return {
        # the last proof byte becomes the count: 68 items, more than there are (underflow)
        "dropped-last-byte": (PREFIX + tx + SIBLING, panic_data(0x11)),
        "count-255": (PREFIX + tx + SIBLING + b"\xff", panic_data(0x11)),
        # one item too many: the transaction loses its last 32 bytes, so s (33 bytes with its header) runs past the
        # end; only an s of exactly 31 bytes would leave r ending there, and then s is missing
        "count-one-too-many": (PREFIX + tx + SIBLING + b"\x02", panic_data(0x32) if tx[-32] == 0x9F else b""),
        # no proof: the proof bytes are read as 32 more one-byte list items, which is no transaction (false)
        "count-zero": (PREFIX + tx + SIBLING + b"\x00", None),
        "truncated-transaction": (PREFIX + tx[:-1] + SIBLING + b"\x01", b""),
        # the type byte is also the count: 2 proof items (underflow); 0 leaves nothing for the transaction
        "type-byte-only": (PREFIX + t, panic_data(0x11) if t == b"\x02" else b""),
        "prefix-only": (PREFIX, panic_data(0x32)),
        "not-a-list": (PREFIX + t + b"\x80" + tx[2:] + SIBLING + b"\x01", b""),
        "type-0x01": (PREFIX + b"\x01" + tx[1:] + SIBLING + b"\x01", error_data(UNSUPPORTED_TYPE)),
        "type-0x04": (PREFIX + b"\x04" + tx[1:] + SIBLING + b"\x01", error_data(UNSUPPORTED_TYPE)),
        "empty-list": (PREFIX + t + b"\xc0" + b"\x00", panic_data(0x32)),
        "no-s": (PREFIX + t + _rlp_list([b"\x01"] * (v_index + 2)) + b"\x00", panic_data(0x32)),
        # a 34-byte v (35 bytes with its header): more than a uint
        "oversized-v": (
            PREFIX + t + _rlp_list([b"\x01"] * v_index + [b"\xa2" + bytes(34), b"\x01", b"\x01"]) + b"\x00",
            b"",
        ),
        "data-shorter-than-root": (PREFIX + short_data_tx + SIBLING + b"\x01", error_data(SHORT_DATA)),
    }


def _is_valid_signature(chain: Chain, account: str, digest: bytes, signature: bytes) -> bytes:
    return bytes(
        chain.call(
            k1(), "isValidSignatureWithSender(address,bytes32,bytes)", [account, digest, signature], ["bytes4"],
            sender=account,
        )
    )  # fmt: skip


@TX_KINDS
def test_malformed_short_layout(chain: Chain, tx_type: int, eip155: bool) -> None:
    """Production reverts on a malformed short ``0x177eee01`` layout (checked-arithmetic and index panics, empty revert
    data, two error strings; spec §11.2), in the session path and the ERC-1271 path alike; ours gives the same revert
    data, so that a session userOp carrying one fails with AA23 as in production."""
    from smartsessions._coerce import keccak

    owner = chain.keys["owner"]
    account = _deployed(chain)
    digest = b"\x11" * 32
    for path, leaf in (("session", digest), ("erc1271", keccak(digest + bytes.fromhex(account.address[2:])))):
        tree = MerkleTree([leaf, SIBLING])
        to, data = _approve(chain, account.address, bytes(tree.root))
        tx = to_onchain_tx_payload(chain.sign_tx(owner, to=to, data=data, tx_type=tx_type, eip155=eip155))
        short_data = to_onchain_tx_payload(
            chain.sign_tx(owner, to=to, data=b"\x01" * 31, tx_type=tx_type, eip155=eip155)
        )

        def check(signature: bytes, path: str = path) -> bool:
            if path == "session":
                return _validate_with_data(chain, digest, signature, owner.address)
            return _is_valid_signature(chain, account.address, digest, signature) == ERC1271_MAGIC

        assert check(PREFIX + tx + SIBLING + b"\x01")  # the well-formed signature the cases are cut from
        for name, (signature, expected) in _malformed(tx, short_data).items():
            if expected is None:
                assert not check(signature), (path, name)
                continue
            with pytest.raises(RevertedError) as refused:
                check(signature)
            assert refused.value.data == expected, (path, name, refused.value.message)


@pytest.mark.parametrize("case", ["dropped-last-byte", "truncated-transaction", "type-0x01", "count-zero"])
def test_session_userop_with_malformed_onchain_signature(chain: Chain, case: str) -> None:
    """A session USE userOp whose session signature is a short on-chain layout: well-formed it passes; malformed it
    fails with AA23 and production's revert data (a malformed layout that still reads as RLP fails with AA24)."""
    redeemer = chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, chain.keys["owner"])
    session = session_for(redeemer)
    [enable] = grant([(chain, session)], account)
    first = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=enable
    )
    [result] = chain.handle_ops([first])
    assert result.success, result.revert_message

    def use(tamper: str | None) -> tuple[PackedUserOperation, bytes | None]:
        op = chain.user_op(sender=account.address, call_data=increment_call(), validator=SMART_SESSIONS_ADDRESS)
        leaf = chain.user_op_hash(op)
        tree = MerkleTree([leaf, SIBLING])
        to, data = _approve(chain, account.address, bytes(tree.root))
        tx = to_onchain_tx_payload(chain.sign_tx(redeemer, to=to, data=data))
        signature, expected = (PREFIX + tx + SIBLING + b"\x01", None) if tamper is None else _malformed(tx, b"")[tamper]
        wrapped = encode_smart_session_signature(
            mode=SmartSessionMode.USE, permission_id=session.permission_id, signature=signature
        )
        return op.model_copy(update={"signature": wrapped}), expected

    before = counter_value(chain)
    [result] = chain.handle_ops([use(None)[0]])
    assert result.success, result.revert_message
    assert counter_value(chain) == before + 1

    op, expected = use(case)
    with pytest.raises(RevertedError) as refused:
        chain.handle_ops([op])
    if expected is None:
        assert "AA24 signature error" in refused.value.message
    else:
        assert failed_op(refused.value) == ("AA23 reverted", expected)
    assert counter_value(chain) == before + 1


def _cut_last_tx_byte(signature: bytes) -> bytes:
    """A full layout without the last byte of its transaction (the proof count is the 13th byte from the end)."""
    cut = len(signature) - 13 - 32 * signature[-13] - 1
    return signature[:cut] + signature[cut + 1 :]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        # the count byte (13th from the end) says 255 proof items
        (lambda s: s[:-13] + b"\xff" + s[-12:], panic_data(0x11)),
        (lambda s: PREFIX + b"\x01" + s[5:], error_data(UNSUPPORTED_TYPE)),
        # shorter than the 13-byte trailer
        (lambda s: PREFIX + s[4:16], panic_data(0x11)),
        (lambda s: PREFIX, panic_data(0x32)),
        (_cut_last_tx_byte, b""),
    ],
    ids=["count-255", "type-0x01", "shorter-than-trailer", "prefix-only", "truncated-transaction"],
)
def test_owner_userop_with_malformed_full_onchain_signature(chain: Chain, tamper: Any, expected: bytes) -> None:
    """The full layout (owner userOps) reverts like production's too: AA23 with its revert data, not AA24."""
    account = _deployed(chain)
    op = _onchain_op(chain, account)
    bad = op.model_copy(update={"signature": tamper(bytes(op.signature))})
    before = counter_value(chain)
    with pytest.raises(RevertedError) as refused:
        chain.handle_ops([bad])
    assert failed_op(refused.value) == ("AA23 reverted", expected)
    [result] = chain.handle_ops([op])
    assert result.success, result.revert_message
    assert counter_value(chain) == before + 1


def _validation_gas(chain: Chain, op: PackedUserOperation) -> int:
    data = encode_function_call(f"validateUserOp({PACKED},bytes32)", [op.to_abi(), chain.user_op_hash(op)])
    estimate = chain.rpc.request("eth_estimateGas", [{"from": op.sender, "to": k1(), "data": "0x" + data.hex()}])
    return int(estimate, 16)


def test_onchain_validation_gas_is_close_to_simple_mode(chain: Chain) -> None:
    """The RLP walk and the rebuilt signing hash cost a few thousand gas over simple mode (4-leaf tree each)."""
    account = _deployed(chain)
    onchain = _onchain_op(chain, account, extra_leaves=3)
    now = chain.timestamp()
    lower, upper = now - 10, now + 180
    op = chain.user_op(sender=account.address, call_data=increment_call())
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, *[bytes([k + 1]) * 32 for k in range(3)]])
    simple = op.model_copy(
        update={
            "signature": encode_simple_signature_full(
                super_tx_hash=tree.root, lower_bound_timestamp=lower, upper_bound_timestamp=upper,
                proof=tree.proof(leaf), signature=sign_personal(account.owner, bytes(tree.root)),
            )
        }
    )  # fmt: skip
    onchain_gas, simple_gas = _validation_gas(chain, onchain), _validation_gas(chain, simple)
    print(f"validateUserOp gas: on-chain {onchain_gas}, simple {simple_gas}")
    assert onchain_gas < simple_gas + 15_000
