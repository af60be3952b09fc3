"""The K1MeeValidator's on-chain trigger mode (``0x177eee01``, spec §11.2/§11.4): the owner's EOA sends a transaction
whose data ends with the super-transaction root, and the signed transaction itself (RLP) authorises the userOps."""

from __future__ import annotations

from typing import Any

import pytest

from smartsessions.devnet.deploy import TestKey, usdc_address
from smartsessions.encoding import MerkleTree, get_mee_user_op_hash
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.mee.quote import (
    encode_onchain_signature_full,
    encode_onchain_signature_short,
    encode_simple_signature_full,
)

from .flows import (
    Account,
    counter_value,
    counterfactual,
    increment_call,
    k1,
    owner_op_mee_onchain,
    owner_op_no_mee,
)
from .harness import Chain, RevertedError, sign_personal

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


@pytest.mark.parametrize(
    ("tx_type", "eip155"), [(2, True), (0, True), (0, False)], ids=["eip1559", "legacy-eip155", "legacy-unprotected"]
)
def test_short_layout_for_sessions_and_erc1271(chain: Chain, tx_type: int, eip155: bool) -> None:
    """``validateSignatureWithData`` (the session path; leaf = the hash) and the ERC-1271 MEE flow (leaf =
    ``keccak256(hash ‖ account)``) with the short layout; malformed signatures answer false, never revert."""
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
    for bad in (short[:-1], short[:-33] + b"\x00", short[:4] + b"\x01" + short[5:], short[:6], short[:-1] + b"\xff"):
        assert not _validate_with_data(chain, digest, bad, owner.address)

    # ERC-1271 from the account: the MEE flow hashes the account in
    account_leaf = keccak(digest + bytes.fromhex(account.address[2:]))
    tree = MerkleTree([account_leaf, b"\x44" * 32])
    to, data = _approve(chain, account.address, bytes(tree.root))
    raw = chain.sign_tx(owner, to=to, data=data, tx_type=tx_type, eip155=eip155)
    short = bytes(encode_onchain_signature_short(signed_transaction=raw, proof=tree.proof(account_leaf)))
    magic = chain.call(
        k1(), "isValidSignatureWithSender(address,bytes32,bytes)", [account.address, digest, short], ["bytes4"],
        sender=account.address,
    )  # fmt: skip
    assert magic == bytes.fromhex("1626ba7e")


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
