"""The dry run of a session's use (issue 15, item 3) on the devnet: for every call, ``dry_run_use``'s verdict is the
one the real use gets (sponsored, through the node): allowed and it runs, or refused with the same error class, the
same policy and the same rule. Nothing the dry run does changes the chain."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    ActionConfig,
    ActionNotPermittedError,
    DryRunResult,
    OutsideTimeFrameError,
    ParamCondition,
    PolicyLimitError,
    PolicyViolationError,
    SessionClient,
    SessionDetails,
    SessionNotEnabledError,
    SessionSignerMismatchError,
    SmartSessionsError,
    get_spending_limits_policy,
    get_time_frame_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.encoding.abi import selector
from smartsessions.policies import (
    SPENDING_LIMITS_POLICY_ADDRESS,
    TIME_FRAME_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
)
from smartsessions.rpc import RpcClient, RpcRevertError

from .conftest import INCREMENT, SET_NUMBER, Sdk, increment, increment_action, set_number
from .test_mee_flows import prepared
from .test_session_quote import prepare

pytestmark = pytest.mark.slow  # a prepare, then uses
DAY = 86_400
INCREMENT_BY = selector("incrementBy(uint256)")
TRANSFER = selector("transfer(address,uint256)")
APPROVE = selector("approve(address,uint256)")
USDC = usdc_address(8453)
#: The session's limits (see :func:`_every_policy`).
SET_NUMBER_MAX, SET_NUMBER_TOTAL = 1_000, 2_500
VALUE_PER_USE, VALUE_OF_ACTION, VALUE_OF_PERMISSION = 20, 50, 40
SPENDING = 5 * 10**6
USES = 2


def _rule(condition: ParamCondition, ref: int, total: int = 0) -> dict[str, Any]:
    usage = {"limit": total, "used": 0}
    return {"condition": condition, "offset": 0, "ref": ref, "is_limited": total > 0, "usage": usage}


def _every_policy(now: int, uses: int) -> dict[str, Any]:
    """PREPARE's enable params of a session with every policy type, on 8453:

    * ``increment()``: sudo;
    * ``setNumber(n)``: the universal action policy, ``n <= 1000`` with a cumulative limit of 2,500 over the uses;
    * ``incrementBy(by)`` (payable): ``by <= 5`` and at most 20 wei per use (universal action), 50 wei in all (value
      limit);
    * ``USDC.transfer``: a spending limit of 5 USDC, within an open time frame;
    * ``USDC.approve``: a time frame that opens in a day;
    * the permission's userOps: at most ``uses`` userOps and 40 wei of native value in all.
    """
    actions = [
        increment_action(),
        ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=SET_NUMBER,
                     action_policies=[get_universal_action_policy(param_rules=[
                         _rule(ParamCondition.LESS_THAN_OR_EQUAL, SET_NUMBER_MAX, SET_NUMBER_TOTAL)])]),
        ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=INCREMENT_BY,
                     action_policies=[get_value_limit_policy(limit=VALUE_OF_ACTION), get_universal_action_policy(
                         value_limit_per_use=VALUE_PER_USE,
                         param_rules=[_rule(ParamCondition.LESS_THAN_OR_EQUAL, 5)])]),
        ActionConfig(chain_id=8453, action_target=USDC, action_target_selector=TRANSFER,
                     action_policies=[get_spending_limits_policy([{"token": USDC, "limit": SPENDING}]),
                                      get_time_frame_policy(valid_until=now + 30 * DAY)]),
        ActionConfig(chain_id=8453, action_target=USDC, action_target_selector=APPROVE,
                     action_policies=[get_time_frame_policy(valid_until=now + 30 * DAY, valid_after=now + DAY)]),
    ]  # fmt: skip
    limits = [get_usage_limit_policy(limit=uses), get_value_limit_policy(limit=VALUE_OF_PERMISSION)]
    return {"actions": actions, "user_op_policies": limits}


async def _session(sdk: Sdk, uses: int) -> tuple[SessionClient, SessionDetails, str]:
    owner, quote = await prepare(sdk, **_every_policy(sdk.chains[8453].timestamp(), uses))
    account = owner.account.address
    sdk.chains[8453].set_balance(account, 10**18)
    assert quote.session_details is not None
    [details] = [d for d in quote.session_details if d.chain_id == 8453]
    return await sdk.redeemer_client(account, chain_ids=(8453,)), details, account


async def _real_use(
    bot: SessionClient, details: SessionDetails | list[SessionDetails], instructions: list[Any], fee: Any = None
) -> SmartSessionsError | None:
    """What the real use does (sponsored, or paid in ``fee``): None when it runs, else the error it raises."""
    try:
        result = await bot.use_permission(
            session_details=details, mode="USE", instructions=instructions, fee_token=fee, sponsorship=fee is None
        )
    except (PolicyViolationError, SessionNotEnabledError, SessionSignerMismatchError) as exc:
        return exc
    receipt = await bot.wait_for_supertransaction_receipt(result.hash, mode="fast-block")  # mined: enough here
    assert receipt.status == "MINED_SUCCESS"
    return None


def _what(error: SmartSessionsError | None) -> tuple[Any, ...]:
    """What must agree between two verdicts: allowed, or the error class, the policy, its rule, and what it names."""
    if error is None:
        return ("allowed",)
    if isinstance(error, PolicyViolationError):
        return (type(error).__name__, error.policy, error.rule, error.permission_wide, error.action_target,
                error.action_selector, error.chain_id, str(error.permission_id))  # fmt: skip
    return (type(error).__name__, getattr(error, "permission_id", None), getattr(error, "chain_id", None))


async def _agree(bot: SessionClient, details: SessionDetails, instructions: list[Any]) -> DryRunResult:
    """The dry run's verdict, then the real use's: they must be the same."""
    dry = await bot.dry_run_use(session_details=[details], instructions=instructions)
    real = await _real_use(bot, details, instructions)
    assert _what(dry.error) == _what(real), (instructions, dry.error, real)
    return dry


def _call(to: str, data: bytes, value: int = 0) -> dict[str, Any]:
    return {"chain_id": 8453, "calls": [{"to": to, "data": data, "value": value}]}


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


async def test_the_dry_run_says_allowed_and_changes_nothing(sdk: Sdk) -> None:
    bot, details, account = await _session(sdk, uses=10)
    before = (sdk.counter(), sdk.usdc(account), sdk.chains[8453].timestamp())
    for instructions in (
        [increment()],
        [set_number(SET_NUMBER_MAX)],
        [_call(COUNTER_ADDRESS, INCREMENT_BY + _word(5), 20)],
    ):
        verdict = await bot.dry_run_use(session_details=details, instructions=instructions)
        assert verdict.allowed and verdict.error is None and not verdict.call_reverted
        assert [(op.chain_id, op.error) for op in verdict.user_ops] == [(8453, None)]
        verdict.raise_for_refusal()  # nothing to raise
    assert (sdk.counter(), sdk.usdc(account), sdk.chains[8453].timestamp()) == before  # nothing ran, no block mined
    await _agree(bot, details, [increment()])
    assert sdk.counter() == before[0] + 1


async def test_the_userops_a_dry_run_signs_cannot_run_for_real(sdk: Sdk, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the dry run sends the RPC endpoint holds userOps signed by the session key: passed to handleOps on the
    real chain (no state override), each is refused for its nonce, and nothing runs."""
    bot, details, _account = await _session(sdk, uses=10)
    sent: list[Any] = []
    real_batch = RpcClient.batch

    async def spy(self: RpcClient, calls: Any, **kwargs: Any) -> Any:
        sent.extend(params for method, params in calls if method == "eth_simulateV1")
        return await real_batch(self, calls, **kwargs)

    monkeypatch.setattr(RpcClient, "batch", spy)
    verdict = await bot.dry_run_use(session_details=details, instructions=[increment()])
    monkeypatch.undo()
    assert verdict.allowed and len(sent) == 1
    [[simulation, _tag]] = sent
    [block] = simulation["blockStateCalls"]
    [call] = block["calls"]
    before = sdk.counter()
    with pytest.raises(RpcRevertError) as refused:
        await bot.account.deployment_on(8453).rpc.request(
            "eth_call", [{k: call[k] for k in ("from", "to", "data")}, "latest"]
        )
    assert b"AA25 invalid account nonce" in refused.value.revert_data
    assert sdk.counter() == before


async def test_each_policy_refuses_in_the_dry_run_as_in_the_real_use(sdk: Sdk) -> None:
    """One refusal per policy type, each compared with the real use's (class, policy, rule, action)."""
    bot, details, _account = await _session(sdk, uses=USES + 4)
    refusals: list[tuple[list[Any], type[SmartSessionsError], str | None]] = [
        ([set_number(SET_NUMBER_MAX + 1)], PolicyViolationError, UNIVERSAL_ACTION_POLICY_ADDRESS),
        # UniActionPolicy reverts (ValueLimitExceeded) instead of refusing: SmartSessions' PolicyCheckReverted names
        # no policy, in the dry run as in the real use
        ([_call(COUNTER_ADDRESS, INCREMENT_BY + _word(1), VALUE_PER_USE + 1)], PolicyViolationError, None),
        ([_call(USDC, TRANSFER + _word(int(sdk.owner.address, 16)) + _word(SPENDING + 1))], PolicyLimitError,
         SPENDING_LIMITS_POLICY_ADDRESS),
        ([_call(USDC, APPROVE + _word(1) + _word(1))], OutsideTimeFrameError, TIME_FRAME_POLICY_ADDRESS),
        ([_call(COUNTER_ADDRESS, selector("number()"))], ActionNotPermittedError, None),
        ([_call(USDC, INCREMENT)], ActionNotPermittedError, None),
    ]  # fmt: skip
    for instructions, kind, policy in refusals:
        dry = await _agree(bot, details, instructions)
        assert type(dry.error) is kind, dry.error
        if policy is not None:
            assert isinstance(dry.error, PolicyViolationError) and str(dry.error.policy).lower() == policy.lower()
        with pytest.raises(kind):
            dry.raise_for_refusal()
        assert dry.user_ops == () if kind is OutsideTimeFrameError else dry.user_ops[-1].error is dry.error

    # the cumulative limit of setNumber: 1,000 + 1,000 pass, the next 1,000 is beyond 2,500
    for _ in range(2):
        await _agree(bot, details, [set_number(SET_NUMBER_MAX)])
    dry = await _agree(bot, details, [set_number(SET_NUMBER_MAX)])
    assert (
        isinstance(dry.error, PolicyLimitError)
        and str(dry.error.policy).lower() == UNIVERSAL_ACTION_POLICY_ADDRESS.lower()
    )
    assert (dry.error.limit, dry.error.requested) == (SET_NUMBER_TOTAL, SET_NUMBER_MAX)

    # the value limits: 20 + 20 wei pass; then the permission-wide 40 (before the action's own 50) refuses
    for _ in range(2):
        await _agree(bot, details, [_call(COUNTER_ADDRESS, INCREMENT_BY + _word(1), VALUE_PER_USE)])
    dry = await _agree(bot, details, [_call(COUNTER_ADDRESS, INCREMENT_BY + _word(1), 1)])
    assert (
        isinstance(dry.error, PolicyLimitError) and str(dry.error.policy).lower() == VALUE_LIMIT_POLICY_ADDRESS.lower()
    )

    # the permission-wide usage limit: 4 uses above, USES more pass, then the next is refused
    for _ in range(USES):
        await _agree(bot, details, [increment()])
    dry = await _agree(bot, details, [increment()])
    assert isinstance(dry.error, PolicyLimitError) and dry.error.permission_wide
    assert str(dry.error.policy).lower() == USAGE_LIMIT_POLICY_ADDRESS.lower()


async def test_session_state_and_signer_refusals_are_the_real_uses(sdk: Sdk) -> None:
    """A permission never enabled (grant-flow details in mode USE), and a client that is not the session key."""
    owner = await prepared(sdk)
    account = owner.account.address
    [details] = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action()]
    )
    bot = await sdk.redeemer_client(account, chain_ids=(8453,))
    dry = await _agree(bot, details, [increment()])
    assert isinstance(dry.error, SessionNotEnabledError)
    # ENABLE_AND_USE with the grant's details: allowed (the enable data passes), as the real use
    enabling = await bot.dry_run_use(session_details=details, instructions=[increment()], mode="ENABLE_AND_USE")
    assert enabling.allowed, enabling.error

    stranger = await sdk.client(Account.create(), account_address=account, chain_ids=(8453,))
    dry = await stranger.dry_run_use(session_details=details, instructions=[increment()], mode="ENABLE_AND_USE")
    assert isinstance(dry.error, SessionSignerMismatchError) and dry.user_ops == ()


# -- the randomized agreement ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draw:
    """One random use: its calls (one userOp)."""

    calls: tuple[tuple[str, bytes, int], ...]

    def instructions(self) -> list[Any]:
        return [{"chain_id": 8453, "calls": [{"to": t, "data": d, "value": v} for t, d, v in self.calls]}]


def _random_call(rng: random.Random, stranger: str) -> tuple[str, bytes, int]:
    kind = rng.choices(["increment", "set", "by", "transfer", "approve", "selector", "target"], [3, 4, 4, 4, 1, 1, 1])[
        0
    ]
    if kind == "increment":
        return COUNTER_ADDRESS, INCREMENT, 0
    if kind == "set":
        return COUNTER_ADDRESS, SET_NUMBER + _word(rng.choice([rng.randrange(0, 400), rng.randrange(0, 1_300)])), 0
    if kind == "by":
        return COUNTER_ADDRESS, INCREMENT_BY + _word(rng.randrange(0, 8)), rng.choice([0, 0, rng.randrange(0, 24)])
    if kind == "transfer":
        return USDC, TRANSFER + _word(int(stranger, 16)) + _word(rng.randrange(0, 1_500_000)), 0
    if kind == "approve":
        return USDC, APPROVE + _word(int(stranger, 16)) + _word(rng.randrange(0, 10)), 0
    if kind == "selector":
        return COUNTER_ADDRESS, rng.randbytes(4) + _word(rng.randrange(0, 10)), 0
    return rng.choice([USDC, stranger]), rng.choice([INCREMENT, SET_NUMBER + _word(1)]), 0


def _draws(seed: int, count: int, stranger: str) -> list[_Draw]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = 1 if rng.random() < 0.85 else 2  # now and then two calls in one userOp
        out.append(_Draw(tuple(_random_call(rng, stranger) for _ in range(n))))
    return out


SEED, CALLS, USES_IN_ALL = 20261205, 400, 100


async def test_random_calls_get_the_same_verdict_from_the_dry_run_and_the_devnet(sdk: Sdk) -> None:
    """CALLS random uses (SEED) of the session with every policy type: the dry run's verdict first, then the real use
    (sponsored, through the node, mined when allowed); they agree on every call: allowed, or the same error class
    naming the same policy, rule and action. The usage limit (USES_IN_ALL userOps) runs out along the way, as do the
    cumulative, value and spending limits."""
    bot, details, account = await _session(sdk, uses=USES_IN_ALL)
    draws = _draws(SEED, CALLS, "0x" + "5a" * 20)
    usdc = sdk.usdc(account)
    started = time.monotonic()
    verdicts: dict[tuple[str, str | None], int] = {}
    for k, draw in enumerate(draws):
        dry = await bot.dry_run_use(session_details=[details], instructions=draw.instructions())
        counter = sdk.counter()
        real = await _real_use(bot, details, draw.instructions())
        assert _what(dry.error) == _what(real), (k, draw, dry.error, real)
        assert real is None or sdk.counter() == counter  # a refused use changed nothing
        policy = getattr(real, "policy_name", None)
        name = ("allowed", None) if real is None else (type(real).__name__, policy)
        verdicts[name] = verdicts.get(name, 0) + 1
    shown = ", ".join(f"{n}{'' if p is None else f' ({p})'}: {c}" for (n, p), c in sorted(verdicts.items()))
    print(f"{CALLS} calls, seed {SEED}, {time.monotonic() - started:.1f} s: {shown}")
    # the draw covers every verdict: allowed, refused by each policy type, and for unknown actions
    policies = {p for (_, p) in verdicts if p is not None}
    assert {"UsageLimitPolicy", "ERC20SpendingLimitPolicy", "UniActionPolicy", "ValueLimitPolicy"} <= {
        p.split(" ")[0] for p in policies
    }, verdicts
    assert {"ActionNotPermittedError", "OutsideTimeFrameError"} <= {n for (n, _) in verdicts}
    assert verdicts["allowed", None] == USES_IN_ALL  # the usage limit ran out
    assert SPENDING - 1_500_000 < usdc - sdk.usdc(account) <= SPENDING  # transfers of up to 1.5 USDC, until refused


async def test_a_two_chain_use_is_judged_on_each_chain(sdk: Sdk) -> None:
    """Counter.increment on 8453 (sudo) and on 10 (a usage limit of 1): both pass once; then 10 refuses, named by
    its chain, in the dry run as in the real use, while 8453 alone still passes."""
    owner, quote = await prepare(
        sdk, actions=[increment_action(8453), increment_action(10, [get_usage_limit_policy(limit=1)])]
    )
    assert quote.session_details is not None
    details = list(quote.session_details)
    bot = await sdk.redeemer_client(owner.account.address)
    both = [increment(8453), increment(10)]
    dry = await bot.dry_run_use(session_details=details, instructions=both)
    assert dry.allowed and [op.chain_id for op in dry.user_ops] == [8453, 10]
    assert await _real_use(bot, details, both) is None
    assert (sdk.counter(8453), sdk.counter(10)) == (1, 1)

    dry = await bot.dry_run_use(session_details=details, instructions=both)
    real = await _real_use(bot, details, both)
    assert _what(dry.error) == _what(real)
    assert isinstance(dry.error, PolicyLimitError) and dry.error.chain_id == 10 and not dry.error.permission_wide
    assert [(op.chain_id, op.error is None) for op in dry.user_ops] == [(8453, True), (10, False)]
    assert (await bot.dry_run_use(session_details=details, instructions=[increment(8453)])).allowed


async def test_a_paid_use_is_judged_with_its_fee_payment(sdk: Sdk) -> None:
    """A permission-wide usage limit of 3: a paid use takes 2 (the payment userOp and the call's). After one, the paid
    dry run is refused as the paid use is (the payment passes, the call's userOp does not), while the sponsored one
    is still allowed, as the sponsored use is."""
    owner, quote = await prepare(sdk, actions=[increment_action()], user_op_policies=[get_usage_limit_policy(limit=3)])
    assert quote.session_details is not None
    details = [d for d in quote.session_details if d.chain_id == 8453]
    bot = await sdk.redeemer_client(owner.account.address, chain_ids=(8453,))
    paid: dict[str, Any] = {"fee_token": sdk.fee(), "fee_amount": 10**5}
    dry = await bot.dry_run_use(session_details=details, instructions=[increment()], **paid)
    assert dry.allowed and [op.calls[0].to for op in dry.user_ops] == [USDC, COUNTER_ADDRESS]
    assert await _real_use(bot, details, [increment()], sdk.fee()) is None

    dry = await bot.dry_run_use(session_details=details, instructions=[increment()], **paid)
    real = await _real_use(bot, details, [increment()], sdk.fee())
    assert _what(dry.error) == _what(real)
    assert isinstance(dry.error, PolicyLimitError) and dry.error.permission_wide
    assert [op.error is None for op in dry.user_ops] == [True, False]
    sponsored = await bot.dry_run_use(session_details=details, instructions=[increment()])
    assert sponsored.allowed
    assert await _real_use(bot, details, [increment()]) is None
