"""The node paymaster against the production MEE NodePaymaster's rules (BaseNodePaymaster with refund and premium
modes), through real EntryPoint bundles: the layouts the node sends are sponsored and refunded as production
refunds them, and everything production refuses is refused with the same error."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode as abi_decode

from smartsessions._coerce import keccak, to_address
from smartsessions.devnet.deploy import NODE_PAYMASTER_ADDRESS
from smartsessions.devnet.entrypoint import UserOpResult, encode_handle_ops, parse_user_op_results
from smartsessions.devnet.node.quote_request import (
    PAYMASTER_POST_OP_GAS_LIMIT,
    PAYMASTER_VERIFICATION_GAS_LIMIT,
    paymaster_and_data,
)
from smartsessions.encoding.abi import selector
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS

from .flows import Account, counter_value, counterfactual, increment_call, owner_op_no_mee
from .harness import Chain, RevertedError, sign_raw

USER, DAPP, KEEP = bytes.fromhex("170de000"), bytes.fromhex("170de001"), bytes.fromhex("170de002")
PERCENT, FIXED = bytes.fromhex("9ee4ce00"), bytes.fromhex("9ee4ce01")
PREMIUM_BASE = 10_000_000
WITHDRAWN_TOPIC = keccak(b"Withdrawn(address,address,uint256)")
CALL_GAS = 80_000  # tight, so that the EntryPoint's penalty on unused call gas stays small
VERIFICATION_GAS = 300_000


def pm(data: bytes, *, verification: int = PAYMASTER_VERIFICATION_GAS_LIMIT, post_op: int = 50_000) -> bytes:
    limits = verification.to_bytes(16, "big") + post_op.to_bytes(16, "big")
    return bytes.fromhex(NODE_PAYMASTER_ADDRESS[2:]) + limits + data


def deployed(chain: Chain) -> Account:
    account = counterfactual(chain, chain.keys["owner"])
    assert owner_op_no_mee(chain, account, increment_call(), deploy=True)[0].success
    chain.set_balance(account.address, 0)  # nothing to pay with: only the paymaster can
    return account


def sponsored_op(chain: Chain, account: Account, paymaster_and_data: bytes) -> PackedUserOperation:
    op = chain.user_op(
        sender=account.address,
        call_data=increment_call(),
        paymaster_and_data=paymaster_and_data,
        call_gas_limit=CALL_GAS,
        verification_gas_limit=VERIFICATION_GAS,
    )
    return op.model_copy(update={"signature": sign_raw(account.owner, chain.user_op_hash(op))})


def max_cost(op: PackedUserOperation) -> int:
    """The EntryPoint's prefund, which the paymaster gets as ``maxCost``."""
    pm_verification = int.from_bytes(bytes(op.paymaster_and_data)[20:36], "big")
    post_op = int.from_bytes(bytes(op.paymaster_and_data)[36:52], "big")
    gas = op.verification_gas_limit + op.call_gas_limit + op.pre_verification_gas + pm_verification + post_op
    return gas * op.max_fee_per_gas


def deposit(chain: Chain) -> int:
    return int(chain.call(ENTRY_POINT_V07_ADDRESS, "balanceOf(address)", [NODE_PAYMASTER_ADDRESS], ["uint256"]))


def balance(chain: Chain, address: str) -> int:
    return int(chain.rpc.request("eth_getBalance", [address, "latest"]), 16)


def submit(chain: Chain, op: PackedUserOperation) -> tuple[UserOpResult, list[tuple[str, int]]]:
    """One bundle from the node's EOA: the userOp's result and the ``(receiver, amount)`` of every withdrawal from
    the paymaster's deposit (its refunds)."""
    node = chain.keys["node"].address
    receipt = chain.transact(node, ENTRY_POINT_V07_ADDRESS, encode_handle_ops([op], node), gas=2_000_000)
    withdrawals = []
    for log in receipt["logs"]:
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        if log["address"].lower() == ENTRY_POINT_V07_ADDRESS.lower() and topics[0] == WITHDRAWN_TOPIC:
            assert to_address(topics[1][12:], field="account") == NODE_PAYMASTER_ADDRESS
            receiver, amount = abi_decode(["address", "uint256"], bytes.fromhex(log["data"][2:]))
            withdrawals.append((to_address(receiver, field="receiver"), int(amount)))
    [result] = parse_user_op_results(receipt)
    return result, withdrawals


def gas_before_post_op(refund: int, op: PackedUserOperation, price: int, premium: int | None = None) -> int:
    """Invert the production refund: the gas the EntryPoint had counted when it called postOp (validation and
    execution; the postOp limit is added on top). FIXED: ``maxCost − (gas + postOpLimit) × price``; PERCENT: the same
    on both sides with the premium, searched (floor divisions)."""
    limit = PAYMASTER_POST_OP_GAS_LIMIT
    if premium is None:
        spent = max_cost(op) - refund
        assert spent % price == 0
        return spent // price - limit
    top = max_cost(op) * (PREMIUM_BASE + premium) // PREMIUM_BASE
    found = [
        gas
        for gas in range(0, max_cost(op) // price)
        if top - (gas + limit) * price * (PREMIUM_BASE + premium) // PREMIUM_BASE == refund
    ]
    assert len(found) == 1, found
    return found[0]


# -- what the node sends -------------------------------------------------------------------------------------------


def test_the_node_builds_the_production_layouts() -> None:
    head = bytes.fromhex(NODE_PAYMASTER_ADDRESS[2:]) + (25_000).to_bytes(16, "big") + (50_000).to_bytes(16, "big")
    assert paymaster_and_data() == head + USER + FIXED
    assert paymaster_and_data(sponsored=True) == head + KEEP
    receiver = "0x00000000000000000000000000000000000000aB"
    assert paymaster_and_data(refund_receiver=receiver) == head + DAPP + FIXED + bytes.fromhex(receiver[2:])


# -- accepted: sponsored, and refunded as production refunds --------------------------------------------------------


def test_user_mode_refunds_the_unused_gas_to_the_sender(chain: Chain) -> None:
    account = deployed(chain)
    op = sponsored_op(chain, account, paymaster_and_data())
    before, deposit_before = counter_value(chain), deposit(chain)
    result, withdrawals = submit(chain, op)
    assert result.success and result.paymaster == NODE_PAYMASTER_ADDRESS
    assert counter_value(chain) == before + 1
    [(receiver, refund)] = withdrawals
    assert receiver == account.address and refund > 0
    assert balance(chain, account.address) == refund  # it had nothing: everything it holds now is the refund
    # the paymaster paid the gas and the refund, both from its deposit
    assert deposit(chain) == deposit_before - result.actual_gas_cost - refund
    price = result.actual_gas_cost // result.actual_gas_used
    counted = gas_before_post_op(refund, op, price)
    # what the EntryPoint had counted before postOp is the gas it charged, less postOp itself and its penalty
    assert 0 < result.actual_gas_used - counted < PAYMASTER_POST_OP_GAS_LIMIT


def test_dapp_mode_refunds_the_receiver_named_in_the_data(chain: Chain) -> None:
    account = deployed(chain)
    dapp = chain.keys["bob"].address
    op = sponsored_op(chain, account, paymaster_and_data(refund_receiver=dapp))
    dapp_before = balance(chain, dapp)
    result, withdrawals = submit(chain, op)
    assert result.success
    [(receiver, refund)] = withdrawals
    assert receiver == dapp and balance(chain, dapp) == dapp_before + refund
    assert balance(chain, account.address) == 0
    gas_before_post_op(refund, op, result.actual_gas_cost // result.actual_gas_used)


def test_percent_premium_refunds_with_the_premium_on_both_sides(chain: Chain) -> None:
    account = deployed(chain)
    premium = 1_500_000  # 15 %
    dapp = chain.keys["bob"].address
    data = DAPP + PERCENT + premium.to_bytes(24, "big") + bytes.fromhex(dapp[2:])
    op = sponsored_op(chain, account, pm(data))
    result, withdrawals = submit(chain, op)
    assert result.success
    [(receiver, refund)] = withdrawals
    assert receiver == dapp
    counted = gas_before_post_op(refund, op, result.actual_gas_cost // result.actual_gas_used, premium)
    assert 0 < result.actual_gas_used - counted < PAYMASTER_POST_OP_GAS_LIMIT


def test_keep_mode_refunds_nothing_and_runs_no_post_op(chain: Chain) -> None:
    account = deployed(chain)
    op = sponsored_op(chain, account, paymaster_and_data(sponsored=True))
    deposit_before = deposit(chain)
    result, withdrawals = submit(chain, op)
    assert result.success and withdrawals == []
    assert deposit(chain) == deposit_before - result.actual_gas_cost
    assert balance(chain, account.address) == 0


def test_keep_mode_reads_nothing_after_the_refund_mode(chain: Chain) -> None:
    account = deployed(chain)
    result, withdrawals = submit(chain, sponsored_op(chain, account, pm(KEEP + b"\xee" * 40, post_op=0)))
    assert result.success and withdrawals == []


def test_a_low_post_op_limit_is_accepted_but_the_refund_then_fails_and_rolls_the_call_back(chain: Chain) -> None:
    """This build has no PostOpGasLimitTooLow (the builds before the modes required more than 49,999): validation
    passes; postOp runs out of gas, so the EntryPoint reverts the userOp's call (postOpReverted) and charges it."""
    account = deployed(chain)
    before, deposit_before = counter_value(chain), deposit(chain)
    result, withdrawals = submit(chain, sponsored_op(chain, account, pm(USER + FIXED, post_op=3_000)))
    assert not result.success and withdrawals == []
    assert counter_value(chain) == before
    assert deposit(chain) == deposit_before - result.actual_gas_cost


# -- refused, with production's errors ----------------------------------------------------------------------------


def _inner_revert(exc: RevertedError) -> bytes:
    assert exc.data[:4] == selector("FailedOpWithRevert(uint256,string,bytes)")
    _index, reason, inner = abi_decode(["uint256", "string", "bytes"], exc.data[4:])
    assert reason == "AA33 reverted"
    return bytes(inner)


@pytest.mark.parametrize(
    ("data", "mode"),
    [
        (b"", "00000000"),  # the node's old layout: paymaster ‖ limits and nothing after
        (bytes.fromhex("170de003") + FIXED, "170de003"),
        (bytes.fromhex("deadbeef") + FIXED, "deadbeef"),
        (FIXED + USER, "9ee4ce01"),  # the modes swapped
    ],
)
def test_an_unknown_refund_mode_is_refused(chain: Chain, data: bytes, mode: str) -> None:
    account = deployed(chain)
    with pytest.raises(RevertedError, match=rf"AA33 reverted: InvalidNodePMRefundMode\(mode=0x{mode}\)") as caught:
        chain.handle_ops([sponsored_op(chain, account, pm(data))], bundler=chain.keys["node"].address)
    assert _inner_revert(caught.value) == selector("InvalidNodePMRefundMode(bytes4)") + bytes.fromhex(mode) + bytes(28)


@pytest.mark.parametrize(
    ("data", "mode"),
    [
        (USER, "00000000"),  # no premium mode at all
        (USER + bytes.fromhex("9ee4ce02"), "9ee4ce02"),  # the fixed mode of the builds before April 2025
        (DAPP + bytes.fromhex("12345678") + bytes(44), "12345678"),
    ],
)
def test_an_unknown_premium_mode_is_refused(chain: Chain, data: bytes, mode: str) -> None:
    account = deployed(chain)
    with pytest.raises(RevertedError, match=rf"AA33 reverted: InvalidNodePMPremiumMode\(mode=0x{mode}\)") as caught:
        chain.handle_ops([sponsored_op(chain, account, pm(data))], bundler=chain.keys["node"].address)
    assert _inner_revert(caught.value) == selector("InvalidNodePMPremiumMode(bytes4)") + bytes.fromhex(mode) + bytes(28)


@pytest.mark.parametrize("data", [USER + FIXED, KEEP, b""])
def test_a_bundle_not_sent_by_the_node_is_not_sponsored(chain: Chain, data: bytes) -> None:
    """The node check comes first (validationData 1 → AA34), whatever the node data says."""
    account = deployed(chain)
    with pytest.raises(RevertedError, match="AA34 signature error"):
        chain.handle_ops([sponsored_op(chain, account, pm(data))], bundler=chain.keys["alice"].address)


def test_the_production_verification_limit_is_enough(chain: Chain) -> None:
    """25,000 (the production node's default) covers validation in every mode; far less does not (AA36 or a revert
    out of gas, as with any paymaster)."""
    account = deployed(chain)
    for data in (USER + FIXED, DAPP + PERCENT + bytes(24) + bytes(20), KEEP):
        assert submit(chain, sponsored_op(chain, account, pm(data)))[0].success
    starved = sponsored_op(chain, account, pm(USER + FIXED, verification=3_000))
    with pytest.raises(RevertedError, match=r"AA3[36]"):
        chain.handle_ops([starved], bundler=chain.keys["node"].address)


def test_only_the_entry_point_may_call_it(chain: Chain) -> None:
    account = deployed(chain)
    op = sponsored_op(chain, account, paymaster_and_data())
    with pytest.raises(RevertedError, match="Sender not EntryPoint"):
        chain.call(
            NODE_PAYMASTER_ADDRESS,
            "validatePaymasterUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32,uint256)",
            [op.to_abi(), bytes(32), 0],
            sender=chain.keys["node"].address,
        )
    with pytest.raises(RevertedError, match="Sender not EntryPoint"):
        chain.call(NODE_PAYMASTER_ADDRESS, "postOp(uint8,bytes,uint256,uint256)", [0, bytes(84), 0, 0])


def test_post_op_refuses_a_context_validation_never_returns(chain: Chain) -> None:
    with pytest.raises(RevertedError, match=r"InvalidContext\(length=10\)"):
        chain.call(
            NODE_PAYMASTER_ADDRESS,
            "postOp(uint8,bytes,uint256,uint256)",
            [0, bytes(10), 0, 0],
            sender=ENTRY_POINT_V07_ADDRESS,
        )
