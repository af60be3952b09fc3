"""SmartSessions through the EntryPoint: enable, use, grant-and-enable-on-first-use, multichain, removal, and the
refusals with their exact errors."""

from __future__ import annotations

import pytest

from smartsessions import ActionData, EnableSessionData, PolicyData, Session, SmartSessionMode, get_sudo_policy
from smartsessions.account import Call, encode_execute
from smartsessions.devnet.deploy import TestKey
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.eip712 import get_session_digest
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from .flows import (
    COUNTER,
    INCREMENT,
    Account,
    counter_value,
    counterfactual,
    deployed_with_sessions_module,
    enable_sessions_call,
    grant,
    increment_call,
    owner_op_no_mee,
    session_for,
    session_op,
)
from .harness import Chain, RevertedError


def granted(chain: Chain) -> tuple[Account, TestKey, Session, EnableSessionData]:
    """A deployed account with SmartSessions, and a granted (not yet enabled) counter session for the session key."""
    redeemer = chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, chain.keys["owner"])
    session = session_for(redeemer)
    [data] = grant([(chain, session)], account)
    return account, redeemer, session, data


def enabled(chain: Chain, pid: bytes, account: str) -> bool:
    return bool(chain.call(SMART_SESSIONS_ADDRESS, "isPermissionEnabled(bytes32,address)", [pid, account], ["bool"]))


def test_session_digest_equals_the_offline_one(chain: Chain) -> None:
    account = deployed_with_sessions_module(chain, chain.keys["owner"])
    session = session_for(chain.keys["session_signer"])
    for mode in (1, 2):
        on_chain = chain.call(
            SMART_SESSIONS_ADDRESS,
            "getSessionDigest(bytes32,address,(address,bytes,bytes32,(address,bytes)[],((bytes32,string[])[],(address,bytes)[]),(bytes4,address,(address,bytes)[])[],bool),uint8)",
            [bytes(session.permission_id), account.address, session.to_abi(), mode],
            ["bytes32"],
        )
        assert on_chain == bytes(get_session_digest(session, account=account.address, mode=mode, nonce=0))


def test_enable_sessions_then_use(chain: Chain) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    session = session_for(redeemer)
    from smartsessions.account import encode_execute as execute

    call = execute([Call(to=SMART_SESSIONS_ADDRESS, data=enable_sessions_call([session]))])
    assert owner_op_no_mee(chain, account, bytes(call))[0].success
    assert enabled(chain, bytes(session.permission_id), account.address)

    before = counter_value(chain)
    op = session_op(chain, account, redeemer, increment_call(), session=session)
    [result] = chain.handle_ops([op])
    assert result.success, result.revert_message
    assert counter_value(chain) == before + 1


@pytest.mark.parametrize("variant", ["typed", "personal"])
def test_unsafe_enable_then_use(chain: Chain, variant: str) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    session = session_for(redeemer)
    [data] = grant([(chain, session)], account, variant=variant)
    pid = bytes(session.permission_id)
    assert not enabled(chain, pid, account.address)

    op = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    [result] = chain.handle_ops([op])
    assert result.success, result.revert_message
    assert enabled(chain, pid, account.address)
    assert chain.call(SMART_SESSIONS_ADDRESS, "getNonce(bytes32,address)", [pid, account.address], ["uint256"]) == 1
    assert counter_value(chain) == 1

    [again] = chain.handle_ops([session_op(chain, account, redeemer, increment_call(), session=session)])
    assert again.success
    assert counter_value(chain) == 2


def test_replayed_enable_signature_is_refused(chain: Chain) -> None:
    account, redeemer, session, data = granted(chain)
    first = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    assert chain.handle_ops([first])[0].success
    replay = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    with pytest.raises(RevertedError, match=r"AA23 reverted: HashMismatch"):
        chain.handle_ops([replay])


def test_multichain_grant_enables_on_each_chain_with_its_index(chain: Chain, chain10: Chain) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    a8453 = deployed_with_sessions_module(chain, owner)
    a10 = deployed_with_sessions_module(chain10, owner)
    assert a8453.address == a10.address
    s8453, s10 = session_for(redeemer, salt=7), session_for(redeemer, salt=8)
    d8453, d10 = grant([(chain, s8453), (chain10, s10)], a8453)
    for c, account, session, data in ((chain, a8453, s8453, d8453), (chain10, a10, s10, d10)):
        op = session_op(
            c, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
        )
        [result] = c.handle_ops([op])
        assert result.success, result.revert_message
        assert enabled(c, bytes(session.permission_id), account.address)


def test_wrong_chain_index_is_refused(chain: Chain, chain10: Chain) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    s8453, s10 = session_for(redeemer, salt=7), session_for(redeemer, salt=8)
    _d8453, d10 = grant([(chain, s8453), (chain10, s10)], account)
    # chain 10's enable data (index 1 names chain 10) used on chain 8453
    op = session_op(
        chain, account, redeemer, increment_call(), session=s10, mode=SmartSessionMode.UNSAFE_ENABLE, enable=d10
    )
    with pytest.raises(RevertedError, match=r"AA23 reverted: ChainIdMismatch"):
        chain.handle_ops([op])


def test_wrong_session_key_fails_validation(chain: Chain) -> None:
    account, redeemer, session, data = granted(chain)
    op = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data,
        sign_with=chain.keys["alice"],
    )  # fmt: skip
    with pytest.raises(RevertedError, match="AA24 signature error"):
        chain.handle_ops([op])
    assert not enabled(chain, bytes(session.permission_id), account.address)


def test_missing_safe_sender_refuses_enable(chain: Chain) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = counterfactual(chain, owner)
    install_only = encode_execute(
        [
            Call(
                to=account.address,
                data=encode_function_call("installModule(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""]),
            )
        ]
    )
    assert owner_op_no_mee(chain, account, bytes(install_only), deploy=True)[0].success
    session = session_for(redeemer)
    [data] = grant([(chain, session)], account)
    op = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    with pytest.raises(RevertedError, match=r"AA23 reverted: InvalidEnableSignature"):
        chain.handle_ops([op])


def test_selector_outside_the_session_is_refused(chain: Chain) -> None:
    account, redeemer, session, data = granted(chain)
    set_number = encode_execute([Call(to=COUNTER, data=encode_function_call("setNumber(uint256)", [42]))])
    op = session_op(
        chain, account, redeemer, bytes(set_number), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    with pytest.raises(RevertedError, match=r"AA23 reverted: NoPoliciesSet"):  # no policy for (counter, setNumber)
        chain.handle_ops([op])
    assert counter_value(chain) == 0


def test_delegatecall_is_refused(chain: Chain) -> None:
    account, redeemer, session, data = granted(chain)
    mode = b"\xff" + bytes(31)
    call = bytes.fromhex("e9ae5c53") + __import__("smartsessions").encoding.abi.abi_encode(
        ["bytes32", "bytes"], [mode, bytes.fromhex(COUNTER[2:]) + INCREMENT], what="delegatecall"
    )
    op = session_op(chain, account, redeemer, call, session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data)
    with pytest.raises(RevertedError, match=r"AA23 reverted: UnsupportedCallType\(callType=0xff\)"):
        chain.handle_ops([op])


@pytest.mark.parametrize(
    ("permit_paymaster", "user_op_policies", "error"),
    [
        # the session does not allow paymasters at all
        (False, None, "PaymasterValidationNotEnabled"),
        # it does, but a paymaster needs at least one userOp policy to run (the spec's §3.5 folds both into one)
        (True, [], "NoPoliciesSet"),
    ],
)
def test_paymaster_needs_permission_and_a_user_op_policy(
    chain: Chain, permit_paymaster: bool, user_op_policies: list[PolicyData] | None, error: str
) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    session = session_for(redeemer, user_op_policies=user_op_policies, permit_paymaster=permit_paymaster)
    [data] = grant([(chain, session)], account)
    from smartsessions.devnet.node.quote_request import paymaster_and_data

    pm = paymaster_and_data()  # what the node sends (the session refuses before the paymaster is asked)
    op = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data,
        paymaster_and_data=pm,
    )  # fmt: skip
    with pytest.raises(
        RevertedError, match=rf"AA23 reverted: {error}\(permissionId=0x{bytes(session.permission_id).hex()}\)"
    ):
        chain.handle_ops([op], bundler=chain.keys["node"].address)
    assert counter_value(chain) == 0


def test_session_with_the_node_paymaster_is_sponsored(chain: Chain) -> None:
    account, redeemer, session, data = granted(chain)
    from smartsessions.devnet.deploy import NODE_PAYMASTER_ADDRESS
    from smartsessions.devnet.node.quote_request import paymaster_and_data

    chain.set_balance(account.address, 0)  # nothing to pay with: the paymaster pays
    pm = paymaster_and_data()  # the node's layout: refund mode USER, fixed premium (see test_paymaster.py)
    op = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data,
        paymaster_and_data=pm,
    )  # fmt: skip
    [result] = chain.handle_ops([op], bundler=chain.keys["node"].address)
    assert result.success and result.paymaster == NODE_PAYMASTER_ADDRESS
    assert counter_value(chain) == 1
    # the node paymaster sponsors only bundles the node itself submits
    op2 = session_op(chain, account, redeemer, increment_call(), session=session, paymaster_and_data=pm)
    with pytest.raises(RevertedError, match="AA34 signature error"):
        chain.handle_ops([op2], bundler=chain.keys["alice"].address)


def test_remove_session_then_use_is_refused(chain: Chain) -> None:
    account, redeemer, session, data = granted(chain)
    op = session_op(
        chain, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    assert chain.handle_ops([op])[0].success
    pid = bytes(session.permission_id)
    remove = encode_execute(
        [Call(to=SMART_SESSIONS_ADDRESS, data=encode_function_call("removeSession(bytes32)", [pid]))]
    )
    assert owner_op_no_mee(chain, account, bytes(remove))[0].success
    assert not enabled(chain, pid, account.address)
    with pytest.raises(RevertedError, match=r"AA23 reverted: InvalidPermissionId"):
        chain.handle_ops([session_op(chain, account, redeemer, increment_call(), session=session)])


def test_two_actions_batch_each_checked(chain: Chain) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    session = session_for(
        redeemer,
        [ActionData(action_target_selector=INCREMENT, action_target=COUNTER, action_policies=[get_sudo_policy()])],
    )
    [data] = grant([(chain, session)], account)
    batch = encode_execute([Call(to=COUNTER, data=INCREMENT), Call(to=COUNTER, data=INCREMENT)])
    op = session_op(
        chain, account, redeemer, bytes(batch), session=session, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data
    )
    assert chain.handle_ops([op])[0].success
    assert counter_value(chain) == 2
