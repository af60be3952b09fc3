"""``session_status`` (issue 15, item 2) on the devnet: a session with every kind of limit is spent down step by step,
and after every step the status must equal the policy contracts' own state (read here through other getters, with
config ids computed here) and say what the contracts then do: 0 left is refused, 1 left passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from smartsessions import (
    SMART_SESSIONS_ADDRESS,
    ActionConfig,
    OutsideTimeFrameError,
    PolicyLimitError,
    SessionClient,
    SessionStatus,
    get_action_id,
    get_spending_limits_policy,
    get_sudo_policy,
    get_time_frame_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions._coerce import keccak
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.encoding.abi import encode_function_call, selector
from smartsessions.policies import (
    SPENDING_LIMITS_POLICY_ADDRESS,
    TIME_FRAME_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
    ParamCondition,
    ParamRule,
    decode_action_config,
)
from smartsessions.rpc import RpcClient

from .conftest import INCREMENT, SET_NUMBER, Sdk, increment, set_number
from .test_mee_flows import prepared

pytestmark = pytest.mark.slow  # a prepare, a grant, then a dozen super-transactions
USDC = 10**6
HOUR = 3_600
INCREMENT_BY = selector("incrementBy(uint256)")
TRANSFER = selector("transfer(address,uint256)")
MAX_FEE = 5 * USDC
STRANGER = "0x000000000000000000000000000000000000dEaD"


def _increment_by(n: int, wei: int) -> dict[str, Any]:
    return {"chain_id": 8453, "calls": [{"to": COUNTER_ADDRESS, "data": INCREMENT_BY + n.to_bytes(32, "big"),
                                         "value": wei}]}  # fmt: skip


def _transfer(amount: int) -> dict[str, Any]:
    data = encode_function_call("transfer(address,uint256)", [STRANGER, amount])
    return {"chain_id": 10, "calls": [{"to": usdc_address(10), "data": data}]}


class _Contracts:
    """The policies' own state for the session's account, read with getters the status does not use where there are
    others (``getUsed``/``getUsageLimit``, ``getUsed``/``getValueLimit``), config ids computed here."""

    def __init__(self, sdk: Sdk, account: str, pids: dict[int, bytes]) -> None:
        self.sdk, self.account, self.pids = sdk, account, pids

    def _config(self, chain_id: int, target: str | None = None, sel: bytes = b"") -> bytes:
        pid = self.pids[chain_id]
        key = pid if target is None else keccak(pid + bytes(get_action_id(target=target, selector=sel)))
        return keccak(bytes.fromhex(self.account[2:]) + key)

    def _call(self, chain_id: int, to: str, sig: str, config: bytes, returns: list[str], *extra: str) -> Any:
        args = [config, SMART_SESSIONS_ADDRESS, *extra, self.account]
        return self.sdk.chains[chain_id].call(to, sig, args, returns)

    def usage(self, chain_id: int, target: str | None = None, sel: bytes = b"") -> tuple[int, int]:
        """(limit, used) of a UsageLimitPolicy: the action's, or the permission's (``target`` None)."""
        c = self._config(chain_id, target, sel)
        limit = self._call(
            chain_id, USAGE_LIMIT_POLICY_ADDRESS, "getUsageLimit(bytes32,address,address)", c, ["uint128"]
        )
        used = self._call(chain_id, USAGE_LIMIT_POLICY_ADDRESS, "getUsed(bytes32,address,address)", c, ["uint128"])
        return int(limit), int(used)

    def value(self) -> tuple[int, int]:
        c = self._config(8453, COUNTER_ADDRESS, INCREMENT_BY)
        limit = self._call(8453, VALUE_LIMIT_POLICY_ADDRESS, "getValueLimit(bytes32,address,address)", c, ["uint256"])
        used = self._call(8453, VALUE_LIMIT_POLICY_ADDRESS, "getUsed(bytes32,address,address)", c, ["uint256"])
        return int(limit), int(used)

    def rules(self, target: str, sel: bytes) -> list[tuple[int, int]]:
        """(limit, used) of each limited rule of the action's UniActionPolicy."""
        c = self._config(8453, target, sel)
        raw = self.sdk.chains[8453].rpc.call(
            UNIVERSAL_ACTION_POLICY_ADDRESS,
            encode_function_call("actionConfigs(bytes32,address,address)", [c, SMART_SESSIONS_ADDRESS, self.account]),
        )
        rules = decode_action_config(raw).param_rules
        return [(r.usage.limit, r.usage.used) for r in rules.rules[: rules.length] if r.is_limited]

    def spending(self) -> tuple[int, int, int]:
        c = self._config(10, usdc_address(10), TRANSFER)
        sig = "getPolicyData(bytes32,address,address,address)"
        out = self._call(10, SPENDING_LIMITS_POLICY_ADDRESS, sig, c, ["uint256"] * 3, usdc_address(10))
        return tuple(int(v) for v in out)  # type: ignore[return-value]

    def window(self) -> tuple[int, int]:
        c = self._config(8453, COUNTER_ADDRESS, SET_NUMBER)
        packed = int(self._call(8453, TIME_FRAME_POLICY_ADDRESS, "getTimeFrameConfig(bytes32,address,address)", c,
                                ["uint256"]))  # fmt: skip
        return packed & (2**48 - 1), packed >> 48  # (validAfter, validUntil)


def _spy_posts(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, int]]:
    """Counts the HTTP requests each RpcClient (by URL) sends from now on."""
    posts: dict[str, int] = {}
    original = RpcClient._post

    async def counting(self: RpcClient, payload: Any) -> Any:
        posts[self.url] = posts.get(self.url, 0) + 1
        return await original(self, payload)

    monkeypatch.setattr(RpcClient, "_post", counting)

    def taken() -> dict[str, int]:
        out = dict(posts)
        posts.clear()
        return out

    return taken


async def test_session_status_follows_a_session_spent_down_to_what_the_contracts_enforce(
    sdk: Sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await prepared(sdk)
    account = owner.account.address
    sdk.fund(account, 10 * USDC, chain_id=10)
    sdk.chains[8453].set_balance(account, 10**18)
    base = sdk.chains[8453]
    start = base.timestamp()
    window = (start - 60, start + HOUR)
    rule = ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=0, ref=5, is_limited=True,
                     usage={"limit": 7, "used": 0})  # fmt: skip
    actions = [
        ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=INCREMENT,
                     action_policies=[get_usage_limit_policy(limit=2)]),
        ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=INCREMENT_BY,
                     action_policies=[get_universal_action_policy(value_limit_per_use=10, param_rules=[rule]),
                                      get_value_limit_policy(limit=10)]),
        ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=SET_NUMBER,
                     action_policies=[get_sudo_policy(),
                                      get_time_frame_policy(valid_after=window[0], valid_until=window[1])]),
        ActionConfig(chain_id=10, action_target=usdc_address(10), action_target_selector=TRANSFER,
                     action_policies=[get_spending_limits_policy([{"token": usdc_address(10), "limit": 3 * USDC}])]),
    ]  # fmt: skip
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address,
        actions=actions,
        fee_token=sdk.fee(),
        max_payment_amount=MAX_FEE,
        user_op_policies={8453: [get_usage_limit_policy(limit=8)], 10: [get_usage_limit_policy(limit=3)]},
    )
    contracts = _Contracts(sdk, account, {d.chain_id or 0: bytes(d.permission_id) for d in details})
    bot = await sdk.redeemer_client(account)
    posts = _spy_posts(monkeypatch)
    usdc_start = sdk.usdc(account)
    paid_out = 0  # USDC the session sent on purpose on 8453 (none: only fees leave there)

    async def status() -> SessionStatus:
        got = await bot.session_status(session_details=details, fee_token=sdk.fee())
        assert sorted(posts().items()) == sorted({sdk.net.url(8453): 1, sdk.net.url(10): 1}.items())
        return got

    def figures(s: SessionStatus) -> dict[str, Any]:
        """What the status says, in the shape the contracts are read in."""
        b, o = s.on(8453), s.on(10)
        inc, by, setn = (b.action(COUNTER_ADDRESS, sel) for sel in (INCREMENT, INCREMENT_BY, SET_NUMBER))
        xfer = o.action(usdc_address(10), TRANSFER)
        assert inc and by and setn and xfer
        spend = xfer.policy("spending_limits").tokens[0]
        return {
            "increment": (inc.policy("usage_limit").limit, inc.policy("usage_limit").used),
            "wide8453": (b.permission_wide_policy("usage_limit").limit, b.permission_wide_policy("usage_limit").used),
            "wide10": (o.permission_wide_policy("usage_limit").limit, o.permission_wide_policy("usage_limit").used),
            "value": (by.policy("value_limit").limit, by.policy("value_limit").used),
            "rules": [(r.limit, r.used) for r in by.policy("universal_action").rules],
            "spending": (spend.limit, spend.spent, spend.approved),
            "window": (setn.policy("time_frame").valid_after, setn.policy("time_frame").valid_until),
        }

    def on_chain() -> dict[str, Any]:
        return {
            "increment": contracts.usage(8453, COUNTER_ADDRESS, INCREMENT),
            "wide8453": contracts.usage(8453),
            "wide10": contracts.usage(10),
            "value": contracts.value(),
            "rules": contracts.rules(COUNTER_ADDRESS, INCREMENT_BY),
            "spending": contracts.spending(),
            "window": contracts.window(),
        }

    def check(s: SessionStatus) -> None:
        """The figures are the contracts' state, every ``left`` is limit - used, the fee used is what was paid."""
        assert figures(s) == on_chain()
        b = s.on(8453)
        for a in [*(b.actions or ()), *(s.on(10).actions or ())]:
            for p in a.policies:
                if p.kind in ("usage_limit", "value_limit"):
                    assert p.left == p.limit - p.used
        assert b.fee is not None and b.fee.limit == MAX_FEE
        assert b.fee.used == usdc_start - sdk.usdc(account) - paid_out  # every fee the node took, and no more
        assert b.fee.left == MAX_FEE - b.fee.used and b.fee.per_payment == MAX_FEE
        tf = b.action(COUNTER_ADDRESS, SET_NUMBER).policy("time_frame")  # type: ignore[union-attr]
        assert tf.now == base.timestamp() and b.block_timestamp == tf.now  # the chain's clock, not the wall clock

    async def use(instructions: list[Any], *, sponsored: bool = False, mode: Any = "USE") -> None:
        pay: dict[str, Any] = {"sponsorship": True} if sponsored else {"fee_token": sdk.fee()}
        used = await bot.use_permission(session_details=details, mode=mode, instructions=instructions, **pay)
        assert (await bot.wait_for_supertransaction_receipt(used.hash)).status == "MINED_SUCCESS"
        posts()

    async def refused(instructions: list[Any], error: type[Exception] = PolicyLimitError, **pay: Any) -> None:
        pay = pay or {"fee_token": sdk.fee()}
        with pytest.raises(error):
            await bot.use_permission(mode="USE", session_details=details, instructions=instructions, **pay)
        posts()

    # 0. Granted, not enabled: the grant's figures, nothing used, and no policy state on chain yet.
    s = await status()
    b, o = s.on(8453), s.on(10)
    assert (b.enabled, b.enable_pending, o.enabled, o.enable_pending) == (False, True, False, True)
    assert figures(s) == {"increment": (2, 0), "wide8453": (8, 0), "wide10": (3, 0), "value": (10, 0),
                          "rules": [(7, 0)], "spending": (3 * USDC, 0, 0), "window": window}  # fmt: skip
    assert contracts.usage(8453, COUNTER_ADDRESS, INCREMENT) == (0, 0)  # nothing on chain yet
    assert b.fee is not None and (b.fee.limit, b.fee.used, b.fee.left) == (MAX_FEE, 0, MAX_FEE)
    tf = b.action(COUNTER_ADDRESS, SET_NUMBER).policy("time_frame")  # type: ignore[union-attr]
    assert tf.open and tf.seconds_left == window[1] - base.timestamp() and tf.opens_in == 0
    assert "not enabled yet (its grant enables it)" in str(s)

    # 1. ENABLE_AND_USE, paid: increment on 8453 (its payment is a userOp there too), 1 USDC sent on 10.
    await use([increment(8453), _transfer(1 * USDC)], mode="ENABLE_AND_USE")
    s = await status()
    assert s.on(8453).enabled and s.on(10).enabled and not s.on(8453).enable_pending
    check(s)
    f = figures(s)
    assert (f["increment"], f["wide8453"], f["wide10"], f["spending"]) == ((2, 1), (8, 2), (3, 1), (3 * USDC, USDC, 0))
    fee = s.on(8453).fee
    assert fee is not None and fee.used is not None and 0 < fee.used < MAX_FEE  # the fee of one use, paid

    # 2. Spending on 10 (sponsored): 2 USDC left, so 3 is refused and 2 passes; then 0 left refuses 1 base unit.
    await refused([_transfer(3 * USDC)], sponsorship=True)
    await use([_transfer(2 * USDC)], sponsored=True)
    s = await status()
    check(s)
    spend = s.on(10).action(usdc_address(10), TRANSFER).policy("spending_limits").tokens[0]  # type: ignore[union-attr]
    assert (spend.spent, spend.left) == (3 * USDC, 0) and figures(s)["wide10"] == (3, 2)
    await refused([_transfer(1)], sponsorship=True)

    # 3. The universal rule's budget (7) and the value limit (10 wei): 3 + 4 wei, then 4 + 6 wei, to 0 left of both.
    await use([_increment_by(3, 4)])
    s = await status()
    check(s)
    by = s.on(8453).action(COUNTER_ADDRESS, INCREMENT_BY)
    assert by is not None and by.policy("universal_action").rules[0].left == 4 and by.policy("value_limit").left == 6
    await refused([_increment_by(5, 4)])  # 5 > 4 left of the rule's budget (the value would fit)
    await refused([_increment_by(4, 7)])  # 7 wei > 6 left (the rule would fit)
    await use([_increment_by(4, 6)])
    s = await status()
    check(s)
    by = s.on(8453).action(COUNTER_ADDRESS, INCREMENT_BY)
    assert by is not None and by.policy("universal_action").rules[0].left == 0 and by.policy("value_limit").left == 0
    await refused([_increment_by(1, 0)])  # the rule's budget is spent
    await refused([_increment_by(0, 1)])  # the value is spent
    assert figures(s)["wide8453"] == (8, 6)  # refusals at the quote use nothing

    # 4. The time frame on setNumber, as of the chain's clock: open now, over once the chain is past it.
    base.warp(window[1] + 1)
    s = await status()
    check(s)
    tf = s.on(8453).action(COUNTER_ADDRESS, SET_NUMBER).policy("time_frame")  # type: ignore[union-attr]
    assert (tf.open, tf.seconds_left, tf.opens_in) == (False, 0, 0)
    await refused([set_number(1)], OutsideTimeFrameError)

    # 5. increment has 1 left and the permission 2 on 8453: a paid increment (2 userOps) passes, then nothing does.
    assert figures(s)["increment"] == (2, 1) and figures(s)["wide8453"] == (8, 6)
    await use([increment(8453)])
    s = await status()
    check(s)
    assert figures(s)["increment"] == (2, 2) and figures(s)["wide8453"] == (8, 8)
    assert s.on(8453).action(COUNTER_ADDRESS, INCREMENT).policy("usage_limit").left == 0  # type: ignore[union-attr]
    await refused([increment(8453)], sponsorship=True)
    assert sdk.counter() == 1 + 3 + 4 + 1
    text = str(s)
    assert "usage limit: 0 of 2 left (2 used)" in text and f"fees in {usdc_address(8453)}" in text


async def test_without_details_only_whether_each_permission_is_enabled_is_known(
    sdk: Sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By id, or the account's list: enabled or not, one round trip per chain, no figures claimed."""
    owner = await prepared(sdk)
    account = owner.account.address
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address,
        actions=[
            ActionConfig(
                chain_id=8453,
                action_target=COUNTER_ADDRESS,
                action_target_selector=INCREMENT,
                action_policies=[get_usage_limit_policy(limit=1)],
            )
        ],
        fee_token=sdk.fee(),
    )
    bot: SessionClient = await sdk.redeemer_client(account)
    posts = _spy_posts(monkeypatch)
    pid = details[0].permission_id
    before = await bot.session_status(permission_ids=[pid])
    assert [(c.chain_id, c.enabled, c.actions) for c in before.chains] == [(8453, False, None), (10, False, None)]
    assert sorted(posts().values()) == [1, 1]
    assert (await bot.session_status()).chains == ()  # nothing enabled on the account

    used = await bot.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment(8453)]
    )
    assert (await bot.wait_for_supertransaction_receipt(used.hash)).status == "MINED_SUCCESS"
    posts()
    listed = await bot.session_status()
    assert [(c.chain_id, c.permission_id, c.enabled, c.actions) for c in listed.chains] == [(8453, pid, True, None)]
    assert listed.chains[0].note is not None and "unknown" in listed.chains[0].note
    assert sorted(posts().values()) == [1, 1]
    # with the details: the action's 1 use is spent, as the contract says; a USE is refused
    full = await bot.session_status(session_details=details, chain_ids=[8453])
    assert posts() == {sdk.net.url(8453): 1}
    usage = full.on(8453).action(COUNTER_ADDRESS, INCREMENT).policy("usage_limit")  # type: ignore[union-attr]
    assert (usage.limit, usage.used, usage.left) == (1, 1, 0)
    with pytest.raises(PolicyLimitError):
        await bot.use_permission(mode="USE", session_details=details, instructions=[increment()], fee_token=sdk.fee())
