"""Issue 13: a quote changed between the node and the SDK is never signed, and the chains show that nothing moved.

An attacker sits between the SDK and the node (``tests/sdk/tamper.py``: a real HTTP proxy) and rewrites the node's
answer, or the client's request, with every hash of the quote worked out again and a commitment of its own. Each
attack is tried on an owner's super-transaction and on a session's; the SDK must refuse every one
(``QuoteMismatchError`` naming the field) before its signer is asked for anything, so no signature exists that anyone
could submit to the EntryPoint. Then the same flow, untouched, goes through the same proxy, to show the refusals came
from the changes and not from the proxy.

Two positions of the attacker:

* **Impersonating the node from the start**: it answers ``/info`` with its own address, so the quotes it signs pass
  the commitment check and name the node the client knows. Only the SDK's comparison of the quote with what it asked
  for stands between the attacker and a signature. (Its fee, paid to itself, is what a node may ask: a client that
  pins the node's address refuses it at creation, and a session granted with ``fee_recipient`` refuses to pay it.)
* **Joining later** (``/info`` passes through): a quote it signs names another node than the client's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    ConfigurationError,
    PolicyViolationError,
    QuoteMismatchError,
    create_mee_client,
    mee_session_actions,
    to_multichain_nexus_account,
)
from smartsessions.account.calls import Call, encode_execute_single
from smartsessions.devnet.deploy import usdc_address
from smartsessions.encoding.abi import encode_function_call

from ..signers import RemoteSigner
from .conftest import API_KEY, CHAINS, Sdk, increment, increment_action
from .tamper import Rewrite, TamperProxy, rehashed
from .test_mee_flows import prepared

pytestmark = pytest.mark.slow  # a prepared account, then a dozen refused quotes per flow

ATTACKER = Account.from_key("0x" + "a7" * 32)
STRANGER = Account.from_key("0x" + "b8" * 32)
USDC = usdc_address(8453)


def _steal(amount: int = 1_000_000) -> str:
    """An account call that sends ``amount`` of the fee token to the attacker."""
    data = encode_function_call("transfer(address,uint256)", [ATTACKER.address, amount])
    return "0x" + bytes(encode_execute_single(Call(to=USDC, data=data))).hex()


def _payment(to: str, amount: int) -> str:
    data = encode_function_call("transfer(address,uint256)", [to, amount])
    return "0x" + bytes(encode_execute_single(Call(to=USDC, data=data))).hex()


def _answer(change: Callable[[dict[str, Any]], None]) -> Rewrite:
    """Rewrite the node's quote as the node's impersonator: its fee paid to itself, then ``change``, then every hash
    and the commitment made whole again."""

    def rewrite(quote: dict[str, Any]) -> dict[str, Any]:
        quote["userOps"][0]["userOp"]["callData"] = _payment(ATTACKER.address, _fee(quote))
        change(quote)
        return rehashed(quote, ATTACKER)

    return rewrite


def _fee(quote: dict[str, Any]) -> int:
    return int(quote["paymentInfo"]["tokenWeiAmount"])


def _another_root(quote: dict[str, Any]) -> dict[str, Any]:
    from smartsessions.signer import personal_sign

    root = bytes.fromhex("99" * 32)
    return {**quote, "hash": "0x" + root.hex(), "node": ATTACKER.address,
            "commitment": "0x" + bytes(personal_sign(ATTACKER, root)).hex()}  # fmt: skip


def _extra_user_op(quote: dict[str, Any]) -> None:
    extra = json.loads(json.dumps(quote["userOps"][1]))
    extra["userOp"]["callData"] = _steal()
    extra["userOp"]["nonce"] = str(int(extra["userOp"]["nonce"]) + 1)
    quote["userOps"].append(extra)


def _no_paymaster(quote: dict[str, Any]) -> None:
    """The account, not the node's paymaster, pays the gas, at a price the attacker (the bundle's beneficiary) sets."""
    op = quote["userOps"][1]["userOp"]
    op.update(paymasterAndData="0x", maxFeePerGas=str(10**12), maxPriorityFeePerGas=str(10**12))


def _wider_window(quote: dict[str, Any]) -> None:
    op = quote["userOps"][1]
    op["upperBoundTimestamp"] = str(int(op["upperBoundTimestamp"]) + 10**6)


#: What the impersonating attacker does to the node's quote, and the field the SDK names.
ANSWER_ATTACKS: dict[str, tuple[Rewrite, str]] = {
    "another root": (_another_root, "hash"),
    "call data": (_answer(lambda q: q["userOps"][1]["userOp"].update(callData=_steal())), "userOps[1].callData"),
    "an extra userOp": (_answer(_extra_user_op), "userOps"),
    "a larger payment than the fee": (
        _answer(lambda q: q["userOps"][0]["userOp"].update(callData=_payment(ATTACKER.address, 100 * _fee(q)))),
        "userOps[0].callData",
    ),
    "the fee paid to a stranger": (
        _answer(lambda q: q["userOps"][0]["userOp"].update(callData=_payment(STRANGER.address, _fee(q)))),
        "userOps[0].callData",
    ),
    "no paymaster": (_answer(_no_paymaster), "userOps[1].paymasterAndData"),
    "a wider window": (_answer(_wider_window), "userOps[1].upperBoundTimestamp"),
    "another nonce": (
        _answer(lambda q: q["userOps"][1]["userOp"].update(nonce=str(int(q["userOps"][1]["userOp"]["nonce"]) + 1))),
        "userOps[1].nonce",
    ),
}  # fmt: skip


def _request(change: Callable[[dict[str, Any]], None]) -> Rewrite:
    """Rewrite the client's request with ``change``; the attacker also turns the node's simulation off, so that the
    node quotes what it is sent even where it could not pass now."""

    def rewrite(body: dict[str, Any]) -> dict[str, Any]:
        change(body)
        body["simulation"] = {"simulate": False}
        return body

    return rewrite


def _request_extra(body: dict[str, Any]) -> None:
    body["userOps"].append(
        {**body["userOps"][0], "callData": _steal(), "nonce": str(int(body["userOps"][0]["nonce"]) + 1)}
    )


def _request_later(body: dict[str, Any]) -> None:
    op = body["userOps"][0]
    op["lowerBoundTimestamp"] = int(op["lowerBoundTimestamp"]) + 3_600
    op["upperBoundTimestamp"] = int(op["upperBoundTimestamp"]) + 3_600


#: What the attacker does to the client's request on its way to the node.
REQUEST_ATTACKS: dict[str, tuple[Rewrite, str]] = {
    "call data asked for": (_request(lambda b: b["userOps"][0].update(callData=_steal())), "userOps[1].callData"),
    "an extra userOp asked for": (_request(_request_extra), "userOps"),
    "another window asked for": (_request(_request_later), "userOps[1].lowerBoundTimestamp"),
    "another payment nonce": (
        _request(lambda b: b["paymentInfo"].update(nonce=str(int(b["paymentInfo"]["nonce"]) + 7))),
        "userOps[0]",
    ),
}


@dataclass
class Flow:
    """One flow through the proxy: ``run()`` asks for a quote and executes it; ``signer`` counts signatures."""

    proxy: TamperProxy
    signer: RemoteSigner
    run: Callable[[], Awaitable[Any]]


@pytest.fixture
def proxy(sdk: Sdk) -> Iterator[TamperProxy]:
    p = TamperProxy(sdk.node.url)
    yield p
    p.close()


def _impersonate(proxy: TamperProxy) -> None:
    proxy.on_answer["info"] = lambda info: {**info, "node": ATTACKER.address}


async def _through(sdk: Sdk, proxy: TamperProxy, signer: RemoteSigner, account_address: str | None = None) -> Any:
    """A client of the node through the proxy, made anew for each attempt (each reads /info as the attacker has it)."""
    configs = sdk.configs(account_address=account_address)
    account = await to_multichain_nexus_account(signer=signer, chain_configurations=configs)
    client = (await create_mee_client(account=account, url=proxy.url, api_key=API_KEY)).extend(mee_session_actions)
    sdk._open.append(client)
    return client


async def _owner_flow(sdk: Sdk, proxy: TamperProxy) -> Flow:
    await prepared(sdk)
    signer = RemoteSigner(sdk.owner)

    async def run() -> Any:
        client = await _through(sdk, proxy, signer)
        return await client.execute(instructions=[increment(8453), increment(10)], fee_token=sdk.fee())

    return Flow(proxy, signer, run)


async def _session_flow(sdk: Sdk, proxy: TamperProxy, **grant: Any) -> Flow:
    owner = await prepared(sdk)
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address, fee_token=sdk.fee(), actions=[increment_action(c) for c in CHAINS], **grant
    )
    signer = RemoteSigner(sdk.signer)

    async def run() -> Any:
        client = await _through(sdk, proxy, signer, owner.account.address)
        return await client.use_permission(
            session_details=details,
            mode="ENABLE_AND_USE",
            fee_token=sdk.fee(),
            instructions=[increment(8453), increment(10)],
        )

    return Flow(proxy, signer, run)


def _state(sdk: Sdk, account: str) -> dict[str, int]:
    out = {f"counter {c}": sdk.counter(c) for c in CHAINS}
    for who, address in (("account", account), ("attacker", ATTACKER.address), ("stranger", STRANGER.address)):
        out[f"USDC of the {who}"] = sdk.usdc(address)
    out["ETH of the account"] = int(sdk.chains[8453].rpc.request("eth_getBalance", [account, "latest"]), 16)
    return out


async def _every_attack_refused(
    sdk: Sdk, flow: Flow, account: str, attacks: dict[str, tuple[Rewrite, str]], *, impersonating: bool
) -> None:
    """Each attack in turn, then the flow untouched. An impersonator that rewrites the request also answers the
    node's quote as its own (its fee to itself, its commitment)."""
    before = _state(sdk, account)
    outcome = {}
    for name, (rewrite, field) in attacks.items():
        if name in REQUEST_ATTACKS:
            flow.proxy.on_request["quote"] = rewrite
            if impersonating:
                flow.proxy.on_answer["quote"] = _answer(lambda q: None)
        else:
            flow.proxy.on_answer["quote"] = rewrite
        try:
            await flow.run()
            outcome[name] = "executed"
        except QuoteMismatchError as refused:
            outcome[name] = "refused" if refused.field == field else f"refused naming {refused.field}, not {field}"
        finally:
            flow.proxy.on_request.pop("quote", None)
            flow.proxy.on_answer.pop("quote", None)
    assert outcome == dict.fromkeys(attacks, "refused")
    assert flow.signer.calls == 0, "the signer was asked to sign a changed quote"
    assert flow.proxy.posts.get("exec", 0) == 0
    assert _state(sdk, account) == before
    # the same flow, untouched, through the same attacker: the refusals were the changes'
    flow.proxy.on_answer.pop("info", None)
    result = await flow.run()
    receipt = await _wait(sdk, result.hash)
    assert receipt == "MINED_SUCCESS" and flow.signer.calls > 0
    assert _state(sdk, account)["counter 10"] == before["counter 10"] + 1


async def _wait(sdk: Sdk, hash: str) -> str:
    client = await sdk.owner_client()
    return (await client.wait_for_supertransaction_receipt(hash)).status


async def test_an_owners_quote_changed_by_an_impersonator_is_never_signed(sdk: Sdk, proxy: TamperProxy) -> None:
    _impersonate(proxy)
    flow = await _owner_flow(sdk, proxy)
    account = (await sdk.owner_client()).account.address
    await _every_attack_refused(sdk, flow, account, ANSWER_ATTACKS | REQUEST_ATTACKS, impersonating=True)


async def test_a_sessions_quote_changed_by_an_impersonator_is_never_signed(sdk: Sdk, proxy: TamperProxy) -> None:
    _impersonate(proxy)
    flow = await _session_flow(sdk, proxy)
    account = (await sdk.owner_client()).account.address
    await _every_attack_refused(sdk, flow, account, ANSWER_ATTACKS | REQUEST_ATTACKS, impersonating=True)


@pytest.mark.parametrize("flow_of", ["owner", "session"])
async def test_an_attacker_that_joined_later_is_refused(sdk: Sdk, proxy: TamperProxy, flow_of: str) -> None:
    flow = await _owner_flow(sdk, proxy) if flow_of == "owner" else await _session_flow(sdk, proxy)
    account = (await sdk.owner_client()).account.address
    signed_by_it = {name: (rewrite, "node") for name, (rewrite, _) in ANSWER_ATTACKS.items() if name != "another root"}
    await _every_attack_refused(sdk, flow, account, signed_by_it | REQUEST_ATTACKS, impersonating=False)


async def test_a_pinned_node_address_refuses_an_impersonator_at_once(sdk: Sdk, proxy: TamperProxy) -> None:
    _impersonate(proxy)
    account = await to_multichain_nexus_account(signer=sdk.owner, chain_configurations=sdk.configs())
    sdk._open.append(account)
    with pytest.raises(ConfigurationError) as refused:
        await create_mee_client(account=account, url=proxy.url, api_key=API_KEY, node_address=sdk.node.address)
    assert refused.value.field == "node_address" and ATTACKER.address in str(refused.value)


async def test_a_session_granted_with_fee_recipient_pays_no_impersonator(sdk: Sdk, proxy: TamperProxy) -> None:
    """The impersonator's own fee, paid to itself as "the node": the SDK of a session whose grant pinned the fee's
    recipient to the real node refuses it (and the chain would too); then the real node is paid."""
    flow = await _session_flow(sdk, proxy, fee_recipient="node")  # the owner's client talks to the node
    _impersonate(proxy)
    proxy.on_answer["quote"] = _answer(lambda q: None)  # the node's quote, its fee to the impersonator
    account = (await sdk.owner_client()).account.address
    before = _state(sdk, account)
    with pytest.raises(QuoteMismatchError) as refused:
        await flow.run()
    assert refused.value.field == "userOps[0].callData" and sdk.node.address in str(refused.value)
    assert flow.signer.calls == 0 and _state(sdk, account) == before
    proxy.on_answer.clear()
    result = await flow.run()
    assert await _wait(sdk, result.hash) == "MINED_SUCCESS"
    assert _state(sdk, account)["counter 8453"] == before["counter 8453"] + 1


@pytest.mark.parametrize("pinned", [False, True])
async def test_what_the_fee_payment_lets_a_session_do(sdk: Sdk, pinned: bool) -> None:
    """A grant of only ``increment()`` with a fee token: the reference's payment policy lets the session key send up
    to ``max_payment_amount`` of the fee token to anyone (here 1 USDC to a stranger, in a quote no one changed).
    Granted with ``fee_recipient="node"``, the same call is refused (by the node's simulation, before anything is
    signed) and the session still pays its fees to the node."""
    owner = await prepared(sdk)
    details = await owner.grant_permission_typed_data_sign(
        redeemer=sdk.signer.address,
        fee_token=sdk.fee(),
        actions=[increment_action()],
        fee_recipient="node" if pinned else None,
    )
    redeemer = await sdk.redeemer_client(owner.account.address)
    to_stranger = encode_function_call("transfer(address,uint256)", [STRANGER.address, 10**6])
    send = {"chain_id": 8453, "calls": [{"to": USDC, "data": to_stranger}]}
    before = sdk.usdc(STRANGER.address)
    if not pinned:
        used = await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[send]
        )
        await redeemer.wait_for_supertransaction_receipt(used.hash)
        assert sdk.usdc(STRANGER.address) == before + 10**6
        return
    with pytest.raises(PolicyViolationError) as refused:
        await redeemer.use_permission(
            session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[send]
        )
    assert refused.value.action_target == USDC and refused.value.rule is not None
    assert sdk.node.address.lower() in refused.value.rule.lower()
    node_before = sdk.usdc(sdk.node.address)
    used = await redeemer.use_permission(
        session_details=details, mode="ENABLE_AND_USE", fee_token=sdk.fee(), instructions=[increment()]
    )
    await redeemer.wait_for_supertransaction_receipt(used.hash)
    assert sdk.usdc(STRANGER.address) == before and sdk.usdc(sdk.node.address) > node_before
