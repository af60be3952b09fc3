"""Each policy's accept and reject paths, enforced on chain during a session userOp's validation."""

from __future__ import annotations

import pytest

from smartsessions import (
    SPENDING_LIMITS_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
    ActionData,
    LimitUsage,
    ParamCondition,
    ParamRule,
    SmartSessionMode,
    get_spending_limits_policy,
    get_time_frame_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions.account import Call, encode_execute
from smartsessions.devnet.deploy import usdc_address
from smartsessions.encoding.abi import encode_function_call
from smartsessions.policies.payment import payment_action

from .flows import COUNTER, Account, counter_value, deployed_with_sessions_module, grant, session_for, session_op
from .harness import Chain, RevertedError

SET_NUMBER = bytes.fromhex(encode_function_call("setNumber(uint256)", [0])[:4].hex())
INCREMENT_BY = encode_function_call("incrementBy(uint256)", [0])[:4]
TRANSFER = bytes.fromhex("a9059cbb")


class Session:
    """One granted session on a fresh account: the first use enables it, later ones are plain USE."""

    def __init__(self, chain: Chain, actions: list[ActionData]) -> None:
        self.chain = chain
        self.redeemer = chain.keys["session_signer"]
        self.account: Account = deployed_with_sessions_module(chain, chain.keys["owner"])
        self.session = session_for(self.redeemer, actions)
        [self.enable] = grant([(chain, self.session)], self.account)
        self.enabled = False

    def use(self, *calls: Call) -> None:
        """Send one session userOp; raises RevertedError when validation refuses it."""
        call_data = bytes(encode_execute(list(calls)))
        mode = SmartSessionMode.USE if self.enabled else SmartSessionMode.UNSAFE_ENABLE
        op = session_op(
            self.chain, self.account, self.redeemer, call_data, session=self.session, mode=mode,
            enable=None if self.enabled else self.enable,
        )  # fmt: skip
        [result] = self.chain.handle_ops([op])
        assert result.success, result.revert_message
        self.enabled = True


def violation(policy: str) -> str:
    """The revert of a policy that said no: SmartSession names the policy."""
    return rf"AA23 reverted: PolicyViolation\(permissionId=0x[0-9a-f]{{64}}, policy={policy.lower()}\)"


def set_number(n: int) -> Call:
    return Call(to=COUNTER, data=encode_function_call("setNumber(uint256)", [n]))


def rule(condition: ParamCondition, ref: int, **extra: object) -> ParamRule:
    return ParamRule(condition=condition, offset=0, ref=ref, **extra)


CASES = [
    (ParamCondition.EQUAL, 5, [5], [4, 6]),
    (ParamCondition.GREATER_THAN, 5, [6, 2**200], [5, 0]),
    (ParamCondition.LESS_THAN, 5, [4, 0], [5, 6]),
    (ParamCondition.GREATER_THAN_OR_EQUAL, 5, [5, 6], [4]),
    (ParamCondition.LESS_THAN_OR_EQUAL, 5, [5, 0], [6]),
    (ParamCondition.NOT_EQUAL, 5, [4, 6], [5]),
    (ParamCondition.IN_RANGE, (3 << 128) | 7, [3, 5, 7], [2, 8]),
]


@pytest.mark.parametrize(("condition", "ref", "accepted", "refused"), CASES, ids=[c[0].name for c in CASES])
def test_universal_action_conditions(
    chain: Chain, condition: ParamCondition, ref: int, accepted: list[int], refused: list[int]
) -> None:
    policy = get_universal_action_policy(param_rules=[rule(condition, ref)])
    s = Session(chain, [ActionData(action_target_selector=SET_NUMBER, action_target=COUNTER, action_policies=[policy])])
    for n in accepted:
        s.use(set_number(n))
        assert counter_value(chain) == n
    for n in refused:
        with pytest.raises(RevertedError, match=violation(UNIVERSAL_ACTION_POLICY_ADDRESS)):
            s.use(set_number(n))
        assert counter_value(chain) == accepted[-1]


def test_universal_action_cumulative_usage(chain: Chain) -> None:
    limited = rule(ParamCondition.LESS_THAN_OR_EQUAL, 10, is_limited=True, usage=LimitUsage(limit=15))
    policy = get_universal_action_policy(param_rules=[limited])
    s = Session(chain, [ActionData(action_target_selector=SET_NUMBER, action_target=COUNTER, action_policies=[policy])])
    s.use(set_number(10))  # used 10 of 15
    s.use(set_number(5))  # used 15 of 15
    with pytest.raises(RevertedError, match=violation(UNIVERSAL_ACTION_POLICY_ADDRESS)):
        s.use(set_number(1))
    assert counter_value(chain) == 5


def test_universal_action_value_limit_per_use(chain: Chain) -> None:
    policy = get_universal_action_policy(
        value_limit_per_use=100, param_rules=[rule(ParamCondition.LESS_THAN_OR_EQUAL, 2**255)]
    )
    s = Session(
        chain, [ActionData(action_target_selector=INCREMENT_BY, action_target=COUNTER, action_policies=[policy])]
    )
    inc = encode_function_call("incrementBy(uint256)", [1])
    s.use(Call(to=COUNTER, data=inc, value=100))
    # The policy reverts (ValueLimitExceeded) rather than answering "no"; SmartSession wraps it.
    with pytest.raises(RevertedError, match=r"AA23 reverted: PolicyCheckReverted\(reason=0x[0-9a-f]{64}\)"):
        s.use(Call(to=COUNTER, data=inc, value=101))
    assert counter_value(chain) == 1


# A rule's word is `data[4 + offset : 36 + offset]`, the bounds summed in uint64 as in the original policy: from
# 2^64 - 36 on the sum overflows (Panic(0x11)); below, a word past the end of the calldata is an out-of-range slice
# (no revert data). Both are refusals; the revert data is the original's.
PANIC_ARITHMETIC = bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")
ARGS = encode_function_call("setNumber(uint256)", [7])  # 36 bytes: the selector and one word


@pytest.mark.parametrize(
    ("offset", "data", "expected"),
    [
        (0, ARGS, 0),
        (0, ARGS[:35], b""),
        (1, ARGS, b""),
        (32, ARGS + bytes(32), 1),  # the second word, 0, is not 7
        (33, ARGS + bytes(32), b""),
        (0, b"", b""),
        (2**63, ARGS, b""),
        (2**64 - 37, ARGS, b""),  # 4 + offset + 32 = 2^64 - 1: still a uint64
        (2**64 - 36, ARGS, PANIC_ARITHMETIC),
        (2**64 - 35, ARGS, PANIC_ARITHMETIC),
        (2**64 - 5, ARGS, PANIC_ARITHMETIC),
        (2**64 - 4, ARGS, PANIC_ARITHMETIC),  # 4 + offset overflows too
        (2**64 - 1, ARGS, PANIC_ARITHMETIC),
    ],
    ids=[
        "0-fits",
        "0-one-byte-short",
        "1-one-past-the-end",
        "32-second-word",
        "33-one-past-the-end",
        "0-empty-calldata",
        "2^63",
        "2^64-37",
        "2^64-36",
        "2^64-35",
        "2^64-5",
        "2^64-4",
        "2^64-1",
    ],
)
def test_universal_action_word_out_of_calldata(chain: Chain, offset: int, data: bytes, expected: int | bytes) -> None:
    """``checkAction`` with one EQUAL(7) rule at ``offset``: the verdict, or the revert data of the original."""
    multiplexer, account = chain.keys["deployer"].address, chain.keys["alice"].address
    config_id = b"\x01" * 32
    init = get_universal_action_policy(param_rules=[ParamRule(condition=ParamCondition.EQUAL, offset=offset, ref=7)])
    chain.transact(
        multiplexer,
        UNIVERSAL_ACTION_POLICY_ADDRESS,
        encode_function_call(
            "initializeWithMultiplexer(address,bytes32,bytes)", [account, config_id, bytes(init.init_data)]
        ),
    )
    check = ("checkAction(bytes32,address,address,uint256,bytes)", [config_id, account, COUNTER, 0, data])
    if isinstance(expected, int):
        assert chain.call(UNIVERSAL_ACTION_POLICY_ADDRESS, *check, ["uint256"], sender=multiplexer) == expected
        return
    with pytest.raises(RevertedError) as refused:
        chain.call(UNIVERSAL_ACTION_POLICY_ADDRESS, *check, sender=multiplexer)
    assert refused.value.data == expected


@pytest.mark.parametrize(
    ("offset", "reason"), [(2**64 - 36, PANIC_ARITHMETIC[:32]), (2**64 - 37, bytes(32))], ids=["2^64-36", "2^64-37"]
)
def test_universal_action_offset_overflow_in_a_userop(chain: Chain, offset: int, reason: bytes) -> None:
    """In a session userOp SmartSession wraps the policy's revert into PolicyCheckReverted(first revert word), as the
    original does: the Panic selector for an overflowing offset, zero for a word past the calldata."""
    rules = [ParamRule(condition=ParamCondition.EQUAL, offset=offset, ref=7)]
    policy = get_universal_action_policy(param_rules=rules)
    s = Session(chain, [ActionData(action_target_selector=SET_NUMBER, action_target=COUNTER, action_policies=[policy])])
    with pytest.raises(RevertedError, match=rf"AA23 reverted: PolicyCheckReverted\(reason=0x{reason.hex()}\)"):
        s.use(set_number(7))
    assert counter_value(chain) == 0


def test_time_frame_edges(chain: Chain) -> None:
    now = chain.timestamp()
    policy = get_time_frame_policy(valid_after=now + 100, valid_until=now + 200)
    s = Session(chain, [ActionData(action_target_selector=SET_NUMBER, action_target=COUNTER, action_policies=[policy])])
    with pytest.raises(RevertedError, match="AA22 expired or not due"):
        s.use(set_number(1))
    chain.warp(now + 100)
    s.use(set_number(2))
    chain.warp(now + 201)
    with pytest.raises(RevertedError, match="AA22 expired or not due"):
        s.use(set_number(3))
    assert counter_value(chain) == 2


def test_usage_limit_exhaustion(chain: Chain) -> None:
    s = Session(
        chain,
        [
            ActionData(
                action_target_selector=SET_NUMBER,
                action_target=COUNTER,
                action_policies=[get_usage_limit_policy(limit=2)],
            )
        ],
    )
    s.use(set_number(1))
    s.use(set_number(2))
    with pytest.raises(RevertedError, match=violation(USAGE_LIMIT_POLICY_ADDRESS)):
        s.use(set_number(3))
    assert counter_value(chain) == 2


def test_value_limit_is_cumulative(chain: Chain) -> None:
    s = Session(
        chain,
        [
            ActionData(
                action_target_selector=INCREMENT_BY,
                action_target=COUNTER,
                action_policies=[get_value_limit_policy(limit=150)],
            )
        ],
    )
    inc = encode_function_call("incrementBy(uint256)", [1])
    s.use(Call(to=COUNTER, data=inc, value=100))
    with pytest.raises(RevertedError, match=violation(VALUE_LIMIT_POLICY_ADDRESS)):
        s.use(Call(to=COUNTER, data=inc, value=51))
    s.use(Call(to=COUNTER, data=inc, value=50))
    assert counter_value(chain) == 2


def transfer(token: str, to: str, amount: int) -> Call:
    return Call(to=token, data=encode_function_call("transfer(address,uint256)", [to, amount]))


def fund(chain: Chain, account: str, amount: int) -> None:
    usdc = usdc_address(chain.chain_id)
    chain.transact(
        chain.keys["deployer"].address, usdc, encode_function_call("mint(address,uint256)", [account, amount])
    )


def test_spending_limits(chain: Chain) -> None:
    usdc = usdc_address(chain.chain_id)
    policy = get_spending_limits_policy([{"token": usdc, "limit": 1_000}])
    s = Session(chain, [ActionData(action_target_selector=TRANSFER, action_target=usdc, action_policies=[policy])])
    fund(chain, s.account.address, 10_000)
    bob = chain.keys["bob"].address
    s.use(transfer(usdc, bob, 600))
    with pytest.raises(RevertedError, match=violation(SPENDING_LIMITS_POLICY_ADDRESS)):
        s.use(transfer(usdc, bob, 401))
    s.use(transfer(usdc, bob, 400))


def test_fee_token_payment_rule_accepts_5_usdc_and_refuses_one_wei_more(chain: Chain) -> None:
    usdc = usdc_address(chain.chain_id)
    s = Session(chain, [payment_action(fee_token=usdc, max_payment_amount=5_000_000)])
    fund(chain, s.account.address, 20_000_000)
    node = chain.keys["node"].address
    with pytest.raises(RevertedError, match=violation(UNIVERSAL_ACTION_POLICY_ADDRESS)):
        s.use(transfer(usdc, node, 5_000_001))
    s.use(transfer(usdc, node, 5_000_000))
    balance = chain.call(usdc, "balanceOf(address)", [node], ["uint256"])
    assert balance == 1_000_000 * 10**6 + 5_000_000
