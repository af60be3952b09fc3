"""The Nexus-compatible account stack and the K1MeeValidator, through real EntryPoint bundles."""

from __future__ import annotations

import pytest

from smartsessions import get_user_op_hash
from smartsessions.account import to_init_data
from smartsessions.encoding import get_mee_user_op_hash
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS, SMART_SESSIONS_ADDRESS

from .flows import (
    counter_value,
    counterfactual,
    increment_call,
    install_smart_sessions_call,
    k1,
    owner_op_mee_simple,
    owner_op_no_mee,
)
from .harness import Chain, RevertedError, sign_raw


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0"])
def test_account_is_created_by_init_code_at_the_factory_address(chain: Chain, version: str) -> None:
    account = counterfactual(chain, chain.keys["owner"], version=version)
    assert chain.code(account.address) == b""
    before = counter_value(chain)
    [result] = owner_op_no_mee(chain, account, increment_call(), deploy=True)
    assert result.success, result.revert_message
    assert result.sender == account.address
    assert chain.code(account.address) != b""
    assert counter_value(chain) == before + 1
    assert chain.call(account.address, "accountId()", [], ["string"]) == "biconomy.nexus.1.2.0"
    assert chain.call(k1(version), "isInitialized(address)", [account.address], ["bool"])


def test_address_depends_on_owner_and_index(chain: Chain) -> None:
    a = counterfactual(chain, chain.keys["owner"])
    b = counterfactual(chain, chain.keys["owner"], index=1)
    c = counterfactual(chain, chain.keys["alice"])
    assert len({a.address, b.address, c.address}) == 3
    init = bytes(to_init_data(owner=chain.keys["owner"].address, version="2.0.0"))
    assert chain.account_address(init, 0) == a.address


def test_owner_op_no_mee_and_wrong_key(chain: Chain) -> None:
    account = counterfactual(chain, chain.keys["owner"])
    assert owner_op_no_mee(chain, account, increment_call(), deploy=True)[0].success
    before = counter_value(chain)
    op = chain.user_op(sender=account.address, call_data=increment_call())
    forged = op.model_copy(update={"signature": sign_raw(chain.keys["alice"], chain.user_op_hash(op))})
    with pytest.raises(RevertedError, match="AA24 signature error"):
        chain.handle_ops([forged])
    assert counter_value(chain) == before


@pytest.mark.parametrize("extra", [0, 3])
def test_owner_op_mee_simple(chain: Chain, extra: int) -> None:
    account = counterfactual(chain, chain.keys["owner"])
    others = [bytes([k + 1]) * 32 for k in range(extra)]
    before = counter_value(chain)
    [result] = owner_op_mee_simple(chain, account, increment_call(), extra_leaves=others, deploy=True)
    assert result.success, result.revert_message
    assert counter_value(chain) == before + 1


def test_mee_simple_signature_outside_its_window_is_refused(chain: Chain) -> None:
    from smartsessions.devnet.validator_layouts import encode_simple_signature_full
    from smartsessions.encoding import MerkleTree

    from .harness import sign_personal

    account = counterfactual(chain, chain.keys["owner"])
    owner_op_no_mee(chain, account, increment_call(), deploy=True)
    now = chain.timestamp()
    op = chain.user_op(sender=account.address, call_data=increment_call())
    lower, upper = now - 100, now - 50  # already expired
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf])
    sig = encode_simple_signature_full(
        super_tx_hash=tree.root,
        lower_bound_timestamp=lower,
        upper_bound_timestamp=upper,
        proof=[],
        signature=sign_personal(account.owner, bytes(tree.root)),
    )
    with pytest.raises(RevertedError, match="AA22 expired or not due"):
        chain.handle_ops([op.model_copy(update={"signature": sig})])


def test_install_smart_sessions_and_safe_sender(chain: Chain) -> None:
    account = counterfactual(chain, chain.keys["owner"])
    [result] = owner_op_no_mee(chain, account, install_smart_sessions_call(account), deploy=True)
    assert result.success, result.revert_message
    assert chain.call(
        account.address, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""], ["bool"]
    )
    assert chain.call(k1(), "isSafeSender(address,address)", [SMART_SESSIONS_ADDRESS, account.address], ["bool"])


def test_user_op_hash_matches_the_entry_point(chain: Chain) -> None:
    account = counterfactual(chain, chain.keys["owner"])
    op = chain.user_op(sender=account.address, call_data=increment_call(), init_code=account.init_code)
    on_chain = chain.call(
        ENTRY_POINT_V07_ADDRESS,
        "getUserOpHash((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes))",
        [op.to_abi()],
        ["bytes32"],
    )
    assert on_chain == bytes(get_user_op_hash(op, chain_id=chain.chain_id))


def test_owner_op_in_permit_mode_pulls_the_permitted_tokens(chain: Chain) -> None:
    """A fusion permit: the owner's EIP-2612 signature over the super-transaction hash both authorises the userOp and,
    submitted by the validator, lets the account pull the owner's USDC."""
    from eth_account import Account as EthAccount

    from smartsessions.account import Call, encode_execute
    from smartsessions.devnet.deploy import usdc_address
    from smartsessions.devnet.validator_layouts import encode_permit_signature_full
    from smartsessions.encoding import MerkleTree
    from smartsessions.encoding.abi import encode_function_call
    from smartsessions.encoding.quote import get_permit_digest

    usdc = usdc_address(chain.chain_id)
    owner = chain.keys["owner"]
    account = counterfactual(chain, owner)
    amount = 25 * 10**6
    pull = encode_execute(
        [
            Call(
                to=usdc,
                data=encode_function_call(
                    "transferFrom(address,address,uint256)", [owner.address, account.address, amount]
                ),
            )
        ]
    )
    now = chain.timestamp()
    lower, upper = now - 10, now + 180
    op = chain.user_op(sender=account.address, call_data=bytes(pull), init_code=account.init_code)
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, b"\x42" * 32])
    domain = chain.call(usdc, "DOMAIN_SEPARATOR()", [], ["bytes32"])
    nonce = chain.call(usdc, "nonces(address)", [owner.address], ["uint256"])
    digest = get_permit_digest(
        domain_separator=domain, owner=owner.address, spender=account.address, value=amount, nonce=nonce,
        deadline=int.from_bytes(bytes(tree.root), "big"),
    )  # fmt: skip
    permit_sig = bytes(EthAccount.unsafe_sign_hash(bytes(digest), owner.private_key).signature)
    signature = encode_permit_signature_full(
        token=usdc, spender=account.address, domain_separator=domain, amount=amount, nonce=nonce, is_permit_tx=True,
        super_tx_hash=tree.root, lower_bound_timestamp=lower, upper_bound_timestamp=upper, signature=permit_sig,
        proof=tree.proof(leaf),
    )  # fmt: skip
    before = chain.call(usdc, "balanceOf(address)", [account.address], ["uint256"])
    [result] = chain.handle_ops([op.model_copy(update={"signature": signature})])
    assert result.success, result.revert_message
    assert chain.call(usdc, "balanceOf(address)", [account.address], ["uint256"]) == before + amount
    assert chain.call(usdc, "nonces(address)", [owner.address], ["uint256"]) == nonce + 1

    # a permit signed by someone else does not validate
    op2 = chain.user_op(sender=account.address, call_data=bytes(pull))
    leaf2 = bytes(
        get_mee_user_op_hash(chain.user_op_hash(op2), lower_bound_timestamp=lower, upper_bound_timestamp=upper)
    )
    forged = bytes(EthAccount.unsafe_sign_hash(bytes(digest), chain.keys["alice"].private_key).signature)
    bad = encode_permit_signature_full(
        token=usdc, spender=account.address, domain_separator=domain, amount=amount, nonce=nonce + 1,
        is_permit_tx=False, super_tx_hash=leaf2, lower_bound_timestamp=lower, upper_bound_timestamp=upper,
        signature=forged, proof=[],
    )  # fmt: skip
    with pytest.raises(RevertedError, match="AA24 signature error"):
        chain.handle_ops([op2.model_copy(update={"signature": bad})])
