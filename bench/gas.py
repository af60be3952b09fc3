"""Gas of our devnet contracts, next to the production stack's figures (shared/design/gas-targets.md).

    .venv/bin/python bench/gas.py          # or: make bench-gas

Method, as in the targets: one userOp per ``handleOps`` bundle, ``actualGasUsed`` from the ``UserOperationEvent``,
a fresh nonce lane per userOp, preVerificationGas 0, the account paying from an EntryPoint deposit, and the smallest
``callGasLimit`` with which the op succeeds (bisection on snapshots), which keeps EntryPoint v0.7's 10 % penalty on
unused call gas out of the figure. The counter and token balances are warm (nonzero slots) as in the targets' steady
state. The userOps are built by the same code as the contract tests (``tests/contracts/flows.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.contracts.flows import (
    Account,
    counterfactual,
    enable_sessions_call,
    grant,
    increment_call,
    install_smart_sessions_call,
    session_for,
    session_op,
)
from tests.contracts.harness import ZERO, Chain, RevertedError, sign_raw

from smartsessions import (
    ActionData,
    EnableSessionData,
    ParamCondition,
    ParamRule,
    Session,
    SmartSessionMode,
    get_universal_action_policy,
)
from smartsessions.account import Call, encode_execute
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.versions import ENTRY_POINT_V07_ADDRESS, SMART_SESSIONS_ADDRESS

# Production actualGasUsed for the same operations (gas-targets.md, rows named in brackets).
TARGETS = {
    "deploy + first owner op, no-MEE [1]": 240_215,
    "owner op, deployed, no-MEE [2a]": 67_588,
    "install SmartSessions + safe sender + enableSessions [3]": 574_999,
    "enableSessions, Sudo session, alone [§2]": 441_488,
    "session USE, Sudo, counter [4a]": 109_980,
    "session UNSAFE_ENABLE, 1 chain, second session [§2]": 550_289,
    "session USE, ERC-20 transfer, UniActionPolicy, steady [6b]": 144_970,
}

Builder = Callable[[int], PackedUserOperation]


def min_call_gas(chain: Chain, build: Builder) -> int:
    lo, hi = 10_000, 3_000_000
    while lo < hi:
        mid = (lo + hi) // 2
        snap = chain.rpc.request("evm_snapshot")
        try:
            ok = chain.handle_ops([build(mid)])[0].success
        except RevertedError:
            ok = False
        chain.rpc.request("evm_revert", [snap])
        lo, hi = (lo, mid) if ok else (mid + 1, hi)
    return lo


def measure(chain: Chain, build: Builder) -> int:
    [result] = chain.handle_ops([build(min_call_gas(chain, build))])
    assert result.success, result.revert_message
    return result.actual_gas_used


def owner_op(chain: Chain, account: Account, call_data: bytes, *, deploy: bool = False) -> Builder:
    nonce = chain.next_nonce(account.address, ZERO)

    def build(call_gas: int) -> PackedUserOperation:
        op = chain.user_op(
            sender=account.address,
            call_data=call_data,
            init_code=account.init_code if deploy else b"",
            nonce=nonce,
            call_gas_limit=call_gas,
        )
        return op.model_copy(update={"signature": sign_raw(account.owner, chain.user_op_hash(op))})

    return build


def session_use(
    chain: Chain,
    account: Account,
    call_data: bytes,
    session: Session,
    *,
    mode: SmartSessionMode = SmartSessionMode.USE,
    enable: EnableSessionData | None = None,
) -> Builder:
    nonce = chain.next_nonce(account.address, SMART_SESSIONS_ADDRESS)
    redeemer = chain.keys["session_signer"]
    return lambda call_gas: session_op(
        chain,
        account,
        redeemer,
        call_data,
        session=session,
        nonce=nonce,
        call_gas_limit=call_gas,
        mode=mode,
        enable=enable,
    )


def main() -> None:
    rows: list[tuple[str, int]] = []
    with Devnet.start((8453,)) as net:
        chain = Chain(
            chain_id=8453, rpc=net.rpc(8453), contracts=net.chains[8453].contracts, keys={k.role: k for k in net.keys}
        )
        deployer = chain.keys["deployer"].address
        chain.transact(deployer, COUNTER_ADDRESS, encode_function_call("setNumber(uint256)", [1]))  # warm counter slot

        account = counterfactual(chain, chain.keys["owner"])
        chain.transact(
            deployer,
            ENTRY_POINT_V07_ADDRESS,
            encode_function_call("depositTo(address)", [account.address]),
            value=10**18,
        )
        rows.append(
            (
                "deploy + first owner op, no-MEE [1]",
                measure(chain, owner_op(chain, account, increment_call(), deploy=True)),
            )
        )
        rows.append(("owner op, deployed, no-MEE [2a]", measure(chain, owner_op(chain, account, increment_call()))))

        redeemer = chain.keys["session_signer"]
        first = session_for(redeemer, salt=1)
        rows.append(
            (
                "install SmartSessions + safe sender + enableSessions [3]",
                measure(chain, owner_op(chain, account, install_smart_sessions_call(account, [first]))),
            )
        )
        second = session_for(redeemer, salt=2)
        enable_alone = bytes(encode_execute([Call(to=SMART_SESSIONS_ADDRESS, data=enable_sessions_call([second]))]))
        rows.append(
            ("enableSessions, Sudo session, alone [§2]", measure(chain, owner_op(chain, account, enable_alone)))
        )

        rows.append(
            ("session USE, Sudo, counter [4a]", measure(chain, session_use(chain, account, increment_call(), first)))
        )

        third = session_for(redeemer, salt=3)
        [data] = grant([(chain, third)], account)
        unsafe = session_use(chain, account, increment_call(), third, mode=SmartSessionMode.UNSAFE_ENABLE, enable=data)
        rows.append(("session UNSAFE_ENABLE, 1 chain, second session [§2]", measure(chain, unsafe)))

        usdc, bob = usdc_address(8453), chain.keys["bob"].address
        amount_rule = ParamRule(
            condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=32, ref=10**6, is_limited=True, usage={"limit": 10**9}
        )
        uni = get_universal_action_policy(
            param_rules=[ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=bob), amount_rule]
        )
        token = session_for(
            redeemer,
            [ActionData(action_target_selector="0xa9059cbb", action_target=usdc, action_policies=[uni])],
            salt=4,
        )
        [tdata] = grant([(chain, token)], account)
        chain.transact(deployer, usdc, encode_function_call("mint(address,uint256)", [account.address, 10**9]))
        pay = bytes(
            encode_execute([Call(to=usdc, data=encode_function_call("transfer(address,uint256)", [bob, 1000]))])
        )
        [enabled] = chain.handle_ops(
            [session_use(chain, account, pay, token, mode=SmartSessionMode.UNSAFE_ENABLE, enable=tdata)(300_000)]
        )
        assert enabled.success, enabled.revert_message
        rows.append(
            (
                "session USE, ERC-20 transfer, UniActionPolicy, steady [6b]",
                measure(chain, session_use(chain, account, pay, token)),
            )
        )
        chain.rpc.close()

    print(f"\n{'operation (actualGasUsed)':<60} {'ours':>9} {'production':>11} {'ratio':>7}")
    print("-" * 90)
    for name, gas in rows:
        print(f"{name:<60} {gas:>9,} {TARGETS[name]:>11,} {gas / TARGETS[name]:>6.2f}x")


if __name__ == "__main__":
    main()
