"""Every refusal a bot can meet (issue 13, item 2; the time frame aside), observed for real on the devnet and the
local node, one test each: the typed error, its key attributes, and for the refusals decided before anything is
submitted, that nothing was (no super-transaction at the node, no balance or counter moved).

The owner's account is prepared once for the module (deployed, SmartSessions installed, funded with the permit's
10 USDC); every test starts from that state (the chains are reverted after each, see tests/sdk/conftest.py) and makes
its own grants, which cost a signature each."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from smartsessions import (
    ActionConfig,
    ActionNotPermittedError,
    ChainNotConfiguredError,
    ChainNotSupportedError,
    EnableSignatureUsedError,
    FeeAboveCapError,
    GrantAccountMismatchError,
    InsufficientBalanceError,
    LimitUsage,
    MeeApiError,
    ParamCondition,
    ParamRule,
    PolicyLimitError,
    PolicyViolationError,
    SessionClient,
    SessionDetails,
    SessionNotEnabledError,
    SessionSignerMismatchError,
    SpendingLimit,
    SupertransactionFailedError,
    create_mee_client,
    get_spending_limits_policy,
    get_sudo_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
    to_multichain_nexus_account,
)
from smartsessions.devnet.deploy import COUNTER_ADDRESS, usdc_address
from smartsessions.devnet.network import Devnet
from smartsessions.devnet.node import NodeServer, devnet_node_config
from smartsessions.encoding.abi import encode_function_call, selector
from smartsessions.policies import (
    SPENDING_LIMITS_POLICY_ADDRESS,
    UNIVERSAL_ACTION_POLICY_ADDRESS,
    USAGE_LIMIT_POLICY_ADDRESS,
    VALUE_LIMIT_POLICY_ADDRESS,
)
from smartsessions.testing import catch_up_with_real_time
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from .conftest import API_KEY, CHAINS, INCREMENT, SET_NUMBER, Sdk, increment, increment_action, set_number
from .test_mee_flows import prepared

INCREMENT_BY = selector("incrementBy(uint256)")
TRANSFER = selector("transfer(address,uint256)")


@pytest.fixture(scope="module", autouse=True)
def prepared_account(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The owner's account, prepared once for the module's tests (reverted after the last)."""
    rpcs = {c: devnet.rpc(c) for c in CHAINS}
    snapshots = {}
    for chain_id, rpc in rpcs.items():
        catch_up_with_real_time(rpc)
        snapshots[chain_id] = rpc.request("evm_snapshot")
    try:
        config = devnet_node_config(devnet, database=tmp_path_factory.mktemp("node") / "n.sqlite", api_key=API_KEY)
        with NodeServer(config) as node:
            helper = Sdk(devnet, node, {})

            async def prepare() -> None:
                try:
                    await prepared(helper)
                finally:
                    await helper.aclose()

            asyncio.run(prepare())
        yield
    finally:
        for chain_id, rpc in rpcs.items():
            assert rpc.request("evm_revert", [snapshots[chain_id]]) is True
            rpc.close()


async def grant(sdk: Sdk, actions: list[ActionConfig], **kwargs: Any) -> tuple[SessionClient, list[SessionDetails]]:
    """The owner's client (its account is prepared) and a grant of ``actions`` to the session signer."""
    owner = await sdk.owner_client()
    kwargs.setdefault("fee_token", sdk.fee())
    details = await owner.grant_permission_typed_data_sign(redeemer=sdk.signer.address, actions=actions, **kwargs)
    return owner, details


def super_transactions(sdk: Sdk) -> int:
    """How many super-transactions the node accepted (its SQLite store)."""
    with sqlite3.connect(sdk.node.config.database) as db:
        [(count,)] = db.execute("SELECT COUNT(*) FROM super_txs").fetchall()
    return int(count)


class Unchanged:
    """The chain state a refusal must leave as it was: the account's USDC, the counter, the node's
    super-transactions (those ``before`` it are allowed: the test's own setup)."""

    def __init__(self, sdk: Sdk, account: str) -> None:
        self.sdk, self.account = sdk, account
        self.state = self.read()

    def read(self) -> tuple[int, int, int]:
        return self.sdk.usdc(self.account), self.sdk.counter(), super_transactions(self.sdk)

    def check(self) -> None:
        assert self.read() == self.state


async def use(
    client: SessionClient,
    sdk: Sdk,
    details: list[SessionDetails],
    mode: Literal["USE", "ENABLE_AND_USE"],
    *instructions: Any,
    **kw: Any,
) -> Any:
    if not kw.get("sponsorship"):
        kw.setdefault("fee_token", sdk.fee())
    return await client.use_permission(session_details=details, mode=mode, instructions=list(instructions), **kw)


def pid_of(details: list[SessionDetails]) -> str:
    return "0x" + bytes(details[0].permission_id).hex()


def calls(*items: tuple[str, bytes, int]) -> dict[str, Any]:
    return {"chain_id": 8453, "calls": [{"to": to, "data": data, "value": value} for to, data, value in items]}


# -- what the session grants ------------------------------------------------------------------------------------------


async def test_not_granted_target_or_selector(sdk: Sdk) -> None:
    owner, details = await grant(sdk, [increment_action()])
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    approve = calls((usdc_address(8453), selector("approve(address,uint256)") + bytes(64), 0))
    with pytest.raises(ActionNotPermittedError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", approve)
    err = refused.value
    assert (err.permission_id, err.chain_id, err.action_selector) == (pid_of(details), 8453, "0x095ea7b3")
    assert f"{COUNTER_ADDRESS}.0xd09de08a" in err.allowed
    assert isinstance(err.__cause__, MeeApiError) and err.__cause__.code == "ACTION_NOT_PERMITTED"  # at the quote
    kept.check()


async def test_usage_limit_used_up(sdk: Sdk) -> None:
    """One use allowed: the first goes through, the second is refused at the quote, naming the limit."""
    owner, details = await grant(sdk, [increment_action(policies=[get_usage_limit_policy(limit=1)])])
    redeemer = await sdk.redeemer_client(owner.account.address)
    first = await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    await redeemer.wait_for_supertransaction_receipt(first.hash)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(PolicyLimitError) as refused:
        await use(redeemer, sdk, details, "USE", increment())
    err = refused.value
    assert (err.policy, err.policy_name, err.limit, err.requested) == (USAGE_LIMIT_POLICY_ADDRESS, "UsageLimitPolicy",
                                                                       1, 1)  # fmt: skip
    assert (err.permission_id, err.action_target, err.action_selector) == (pid_of(details), COUNTER_ADDRESS,
                                                                           "0x" + INCREMENT.hex())  # fmt: skip
    assert "at most 1 use in all" in str(err) and "grant a new permission" in str(err)
    assert isinstance(err.__cause__, MeeApiError) and err.__cause__.code == "POLICY_VIOLATION"
    kept.check()


async def test_value_limit(sdk: Sdk) -> None:
    action = ActionConfig(chain_id=8453, action_target=COUNTER_ADDRESS, action_target_selector=INCREMENT_BY,
                          action_policies=[get_value_limit_policy(limit=10)])  # fmt: skip
    owner, details = await grant(sdk, [action])
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(PolicyLimitError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", calls((COUNTER_ADDRESS, INCREMENT_BY + bytes(32), 11)))
    err = refused.value
    assert (err.policy, err.limit, err.requested, err.token) == (VALUE_LIMIT_POLICY_ADDRESS, 10, 11, None)
    assert "at most 10 wei" in str(err)
    kept.check()


async def test_spending_limit(sdk: Sdk) -> None:
    """At most 1 USDC; a transfer of 2 is refused, naming the token, the limit and what is asked."""
    usdc = usdc_address(8453)
    limit = get_spending_limits_policy([SpendingLimit(token=usdc, limit=1_000_000)])
    action = ActionConfig(chain_id=8453, action_target=usdc, action_target_selector=TRANSFER, action_policies=[limit])
    owner, details = await grant(sdk, [action])
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    two = encode_function_call("transfer(address,uint256)", [sdk.net.key("alice").address, 2_000_000])
    with pytest.raises(PolicyLimitError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", calls((usdc, two, 0)))
    err = refused.value
    assert (err.policy or "").lower() == SPENDING_LIMITS_POLICY_ADDRESS.lower()
    assert err.policy_name == "ERC20SpendingLimitPolicy"
    assert (err.token, err.limit, err.requested) == (usdc, 1_000_000, 2_000_000)
    kept.check()


async def test_universal_rule_per_call(sdk: Sdk) -> None:
    """A rule the call breaks by itself is a PolicyViolationError naming the rule, not a limit."""
    rule = ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=0, ref=10)
    action = increment_action(policies=[get_universal_action_policy(param_rules=[rule])])
    owner, details = await grant(sdk, [action.model_copy(update={"action_target_selector": SET_NUMBER})])
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(PolicyViolationError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", set_number(11))
    err = refused.value
    assert not isinstance(err, PolicyLimitError) and err.policy == UNIVERSAL_ACTION_POLICY_ADDRESS
    assert err.rule == "rule 0: argument 1 (offset 0) must be <= 10, got 11"
    kept.check()


async def test_universal_rule_cumulative(sdk: Sdk) -> None:
    """Each call within its rule (<= 10), but at most 15 in all: two of 10 in one userOp pass the limit."""
    rule = ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=0, ref=10, is_limited=True,
                     usage=LimitUsage(limit=15))  # fmt: skip
    action = increment_action(policies=[get_universal_action_policy(param_rules=[rule])])
    owner, details = await grant(sdk, [action.model_copy(update={"action_target_selector": SET_NUMBER})])
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    ten = SET_NUMBER + (10).to_bytes(32, "big")
    with pytest.raises(PolicyLimitError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", calls((COUNTER_ADDRESS, ten, 0), (COUNTER_ADDRESS, ten, 0)))
    err = refused.value
    assert (err.policy, err.limit, err.requested) == (UNIVERSAL_ACTION_POLICY_ADDRESS, 15, 20)
    assert "rule 0: at most 15 in total on argument 1" in str(err)
    kept.check()


async def test_fee_above_the_cap(sdk: Sdk) -> None:
    owner, details = await grant(sdk, [increment_action()], max_payment_amount=1_000)
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(FeeAboveCapError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    err = refused.value
    assert (err.cap_per_payment, err.cap_in_total, err.limit, err.token) == (1_000, 1_000, 1_000, sdk.fee().address)
    assert err.fee is not None and err.fee > 1_000 and err.requested == err.fee
    assert (err.permission_id, err.chain_id, err.policy) == (pid_of(details), 8453, UNIVERSAL_ACTION_POLICY_ADDRESS)
    assert "max_payment_amount" in str(err) and isinstance(err, PolicyLimitError)
    kept.check()


# -- the permission's state -------------------------------------------------------------------------------------------


async def test_not_enabled(sdk: Sdk) -> None:
    owner, details = await grant(sdk, [increment_action()])
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(SessionNotEnabledError) as refused:
        await use(redeemer, sdk, details, "USE", increment())
    err = refused.value
    assert (err.permission_id, err.chain_id) == (pid_of(details), 8453)
    assert "ever used on this account" in str(err) and "removed" not in str(err)
    assert err.__cause__ is None  # the SDK's own reads: no quote was asked for
    kept.check()


async def test_enabled_then_revoked(sdk: Sdk) -> None:
    owner, details = await grant(sdk, [increment_action()])
    redeemer = await sdk.redeemer_client(owner.account.address)
    used = await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    revoked = await owner.revoke_permission(permission_id=pid_of(details), chain_id=8453, fee_token=sdk.fee())
    await owner.wait_for_supertransaction_receipt(revoked.hash)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(SessionNotEnabledError) as refused:
        await use(redeemer, sdk, details, "USE", increment())
    assert "since been removed" in str(refused.value) and refused.value.permission_id == pid_of(details)
    with pytest.raises(EnableSignatureUsedError) as again:  # the grant cannot enable it again
        await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    assert "has since been removed" in str(again.value) and again.value.__cause__ is None
    kept.check()


async def test_wrong_account(sdk: Sdk) -> None:
    """The owner's grant used from another account: named as such in both modes (the grant's digest matches none of
    this account's SmartSessions nonces)."""
    owner, details = await grant(sdk, [increment_action()])
    other = (await sdk.owner_client(index=5)).account.address
    stranger = await sdk.redeemer_client(other)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(GrantAccountMismatchError) as enable:
        await use(stranger, sdk, details, "ENABLE_AND_USE", increment())
    assert (enable.value.account, enable.value.chain_id, enable.value.permission_id) == (other, 8453, pid_of(details))
    with pytest.raises(GrantAccountMismatchError) as use_:
        await use(stranger, sdk, details, "USE", increment())
    assert use_.value.account == other and "another account" in str(use_.value) and "removed" not in str(use_.value)
    kept.check()


async def test_wrong_signer(sdk: Sdk) -> None:
    """A client that signs with the owner's key instead of the session's: refused before anything is asked; and a
    quote signed by hand with it is refused by the node at /exec, as the same error."""
    owner, details = await grant(sdk, [increment_action()])
    wrong = await sdk.client(sdk.owner, account_address=owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(SessionSignerMismatchError) as early:
        await use(wrong, sdk, details, "ENABLE_AND_USE", increment())
    err = early.value
    assert (err.redeemer, err.signer, err.permission_id) == (sdk.signer.address, sdk.owner.address, pid_of(details))
    assert err.__cause__ is None
    quote = await wrong.get_quote(
        instructions=[increment()],
        module_address=SMART_SESSIONS_ADDRESS,
        short_encoding_super_txn=True,
        session_details=details,
        smart_session_mode="ENABLE_AND_USE",
        fee_token=sdk.fee(),
    )
    with pytest.raises(SessionSignerMismatchError) as at_exec:
        await wrong.execute_signed_quote(await wrong.sign_quote(quote))
    err = at_exec.value
    assert (err.redeemer, err.signer, err.chain_id, err.permission_id) == (sdk.signer.address, sdk.owner.address,
                                                                           8453, pid_of(details))  # fmt: skip
    assert isinstance(err.__cause__, MeeApiError) and err.__cause__.code == "SIGNATURE_INVALID"
    kept.check()


async def test_enable_signature_already_used(sdk: Sdk) -> None:
    owner, details = await grant(sdk, [increment_action()])
    redeemer = await sdk.redeemer_client(owner.account.address)
    used = await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    kept = Unchanged(sdk, owner.account.address)
    with pytest.raises(EnableSignatureUsedError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    assert refused.value.permission_id == pid_of(details) and "mode='USE'" in str(refused.value)
    kept.check()


# -- balances and chains ----------------------------------------------------------------------------------------------


async def test_insufficient_balance_for_the_fee(sdk: Sdk) -> None:
    owner = await sdk.owner_client(index=7)  # a fresh account without any USDC
    with pytest.raises(InsufficientBalanceError) as refused:
        await owner.get_quote(instructions=[increment()], fee_token=sdk.fee())
    err = refused.value
    assert (err.holder, err.balance, err.token, err.chain_id) == (owner.account.address, 0, sdk.fee().address, 8453)
    assert super_transactions(sdk) == 0


async def test_insufficient_balance_for_a_transfer(sdk: Sdk) -> None:
    """A sponsored session may transfer any USDC; the account holds less than it transfers: refused at the quote,
    naming the holder, the token, the balance and the amount."""
    usdc = usdc_address(8453)
    action = ActionConfig(chain_id=8453, action_target=usdc, action_target_selector=TRANSFER,
                          action_policies=[get_sudo_policy()])  # fmt: skip
    owner, details = await grant(sdk, [action], fee_token=None)
    redeemer = await sdk.redeemer_client(owner.account.address)
    kept = Unchanged(sdk, owner.account.address)
    balance = sdk.usdc(owner.account.address)
    much = encode_function_call("transfer(address,uint256)", [sdk.net.key("alice").address, balance + 1])
    with pytest.raises(InsufficientBalanceError) as refused:
        await use(redeemer, sdk, details, "ENABLE_AND_USE", calls((usdc, much, 0)), sponsorship=True)
    err = refused.value
    assert (err.holder, err.token, err.balance, err.needed, err.chain_id) == (owner.account.address, usdc, balance,
                                                                              balance + 1, 8453)  # fmt: skip
    assert isinstance(err.__cause__, MeeApiError) and err.__cause__.code == "USER_OP_CALL_REVERTED"
    kept.check()


async def test_chain_not_configured(sdk: Sdk) -> None:
    owner = await sdk.owner_client(chain_ids=(8453,))
    with pytest.raises(ChainNotConfiguredError, match="not configured on chain 10"):
        await owner.get_quote(instructions=[increment(10)], fee_token=sdk.fee())
    assert super_transactions(sdk) == 0


async def test_chain_not_served(sdk: Sdk, devnet: Devnet, tmp_path: Path) -> None:
    """A node that does not serve chain 10: the client refuses it at creation (from /info); a client made while the
    node at its URL still served it (the node was restarted since, without chain 10) learns it from the node's code
    at the quote."""
    both = NodeServer(devnet_node_config(devnet, database=tmp_path / "both.sqlite", api_key=API_KEY)).start()
    try:
        owner = await _client_of(sdk, both.url)
    finally:
        both.stop()
    config = devnet_node_config({8453: devnet.url(8453)}, database=tmp_path / "one.sqlite", api_key=API_KEY)
    with NodeServer(config, port=both.port) as one_chain:
        with pytest.raises(ChainNotSupportedError) as at_creation:
            await _client_of(sdk, one_chain.url)
        assert at_creation.value.chain_ids == (10,)
        with pytest.raises(ChainNotSupportedError) as at_quote:
            await owner.get_quote(instructions=[increment(10)], fee_token=sdk.fee())
        assert at_quote.value.chain_ids == (10,) and "8453" in str(at_quote.value)
        cause = at_quote.value.__cause__
        assert isinstance(cause, MeeApiError) and cause.code == "CHAIN_NOT_SERVED"


async def _client_of(sdk: Sdk, url: str) -> Any:
    """The owner's MEE client of the node at ``url`` (closed with the test's other clients)."""
    account = await to_multichain_nexus_account(signer=sdk.owner, chain_configurations=sdk.configs())
    sdk._open.append(account)
    client = await create_mee_client(account=account, url=url, api_key=API_KEY)
    sdk._open.append(client)
    return client


# -- what only execution reveals --------------------------------------------------------------------------------------


async def test_a_refusal_only_execution_reveals_comes_from_the_receipt_by_code(sdk: Sdk) -> None:
    """A userOp scheduled for later (its window opens in 100 s) passes every check at the quote and at /exec; the
    permission is removed before it runs. The receipt names the cause by the node's code (the explorer's
    ``executionErrorCode`` and facts, not its text), as the same typed error a quote would give."""
    owner, details = await grant(sdk, [increment_action()])
    redeemer = await sdk.redeemer_client(owner.account.address)
    first = await use(redeemer, sdk, details, "ENABLE_AND_USE", increment())
    await redeemer.wait_for_supertransaction_receipt(first.hash)
    chain, account = sdk.chains[8453], owner.account.address
    now = int(chain.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    later = increment() | {"lower_bound_timestamp": now + 100, "upper_bound_timestamp": now + 200}
    scheduled = await use(redeemer, sdk, details, "USE", later)
    for _ in range(150):  # the fee is paid now (a block or two); the increment waits for its window
        answer = await redeemer.request(f"explorer/{scheduled.hash}", method="GET")
        if answer["userOps"][0]["executionStatus"] == "MINED_SUCCESS":
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"the fee payment was not mined: {answer['userOps'][0]}")
    counter = sdk.counter()
    # the account removes the permission itself (as the owner's revoke_permission would, without the node)
    chain.rpc.request("anvil_impersonateAccount", [account])
    chain.rpc.request("anvil_setBalance", [account, hex(10**18)])
    remove = encode_function_call("removeSession(bytes32)", [details[0].permission_id])
    chain.rpc.request(
        "eth_sendTransaction", [{"from": account, "to": SMART_SESSIONS_ADDRESS, "data": "0x" + remove.hex()}]
    )
    chain.rpc.request("anvil_stopImpersonatingAccount", [account])
    chain.rpc.request("evm_increaseTime", [hex(110)])  # the window opens: the node tries, and is refused
    chain.rpc.request("evm_mine", [])
    await asyncio.sleep(2)
    chain.rpc.request("evm_increaseTime", [hex(100)])  # and ends
    chain.rpc.request("evm_mine", [])
    with pytest.raises(SessionNotEnabledError) as refused:
        await redeemer.wait_for_supertransaction_receipt(scheduled.hash)
    err = refused.value
    assert (err.permission_id, err.chain_id) == (pid_of(details), 8453)
    failed = err.__cause__
    assert isinstance(failed, SupertransactionFailedError) and failed.status == "FAILED"
    assert [(f.index, f.status) for f in failed.failures] == [(1, "FAILED")]
    assert "Execution deadline limit exceeded" in failed.failures[0].error
    op = failed.receipt["userOps"][1]  # type: ignore[index]
    assert op["executionErrorCode"] == "SESSION_NOT_ENABLED"
    assert op["executionErrorFacts"]["permissionId"] == pid_of(details)
    assert sdk.counter() == counter
