"""The seed's complete Smart Sessions flow, in Python, against a running devnet and its MEE node.

    smartsessions devnet up --background        # chains 8453 and 10, the contract suite, the MEE node
    python examples/seed_flow.py devnet.json    # this script
    smartsessions devnet down

Steps (as in the seed's "Complete Flow"):

1. set up the owner's multichain Nexus account and an MEE client;
2. prepare: one super-transaction, funded by an ERC-2612 permit of 10 USDC from the owner's EOA, deploys the account
   on every chain, installs SmartSessions and makes it a safe sender;
3. grant: the owner signs (EIP-712) a permission for the session signer to call ``Counter.increment()``;
4. use: the session signer's client runs ``increment()`` with ``ENABLE_AND_USE`` (the first use enables the
   permission), then with ``USE``; then ``check_enabled_permissions``;
5. a policy at work: a universal-action policy allows ``Counter.setNumber(n)`` only for ``n <= 10``;
   ``setNumber(7)`` goes through, ``setNumber(11)`` is refused before anything reaches the chain.

Only devnet.json is read: the chains' RPC URLs and contracts, the funded test keys, the node's URL and API key.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from eth_account import Account

from smartsessions import (
    ActionConfig,
    ChainConfiguration,
    DevnetError,
    FeeTokenInfo,
    Instruction,
    ParamCondition,
    PolicyViolationError,
    SmartSessionsError,
    create_mee_client,
    get_sudo_policy,
    get_universal_action_policy,
    mee_session_actions,
    session_details_from_json,
    session_details_to_json,
    to_multichain_nexus_account,
    to_smart_sessions_module,
)
from smartsessions.devnet.network import read_state
from smartsessions.encoding.abi import encode_function_call, selector
from smartsessions.mee.client import SupertransactionReceipt

MEE_VERSION = "2.1.0"
TRIGGER = 10_000_000  # 10 USDC (6 decimals)
INCREMENT = selector("increment()")
SET_NUMBER = selector("setNumber(uint256)")


def title(text: str) -> None:
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(f"\n\033[1m{text}\033[0m" if bold else f"\n{text}")


def line(label: str, value: object) -> None:
    print(f"  {label:<22} {value}")


def usdc(amount: int) -> str:
    return f"{amount / 10**6:,.6f} USDC"


def show(receipt: SupertransactionReceipt) -> None:
    pay = receipt.payload.payment_info
    line("super-transaction", receipt.hash)
    line("status", receipt.status)
    line("userOps", ", ".join(f"chain {op.chain_id}: {op.execution_status}" for op in receipt.user_ops))
    line("gas used", f"{receipt.gas_used:,}" if receipt.gas_used is not None else "-")
    if pay.sponsored:
        line("fee", "sponsored")
    else:  # the userOps' maximum cost; what they did not use comes back to the account in ETH
        cents = int(pay.token_wei_amount) / 10**4
        line(
            "fee",
            f"{pay.token_amount} USDC = {cents:.2f} cents ({pay.token_wei_amount} base units), unused gas refunded",
        )


async def read_uint(client: Any, chain_id: int, to: str, signature: str, args: list[Any] | None = None) -> int:
    rpc = client.account.deployment_on(chain_id).rpc
    return int.from_bytes(await rpc.call(to, encode_function_call(signature, args or [])), "big")


async def main(state_file: Path) -> None:
    try:  # a missing, foreign or corrupt file: a message naming it, not a traceback
        state = read_state(state_file)
    except DevnetError as exc:
        raise SystemExit(str(exc)) from None
    if not state.get("node"):
        raise SystemExit(f"{state_file} names no MEE node: start the devnet with `smartsessions devnet up`")
    keys = {k["role"]: k["privateKey"] for k in state["keys"]}
    chains = {c["chainId"]: c for c in state["chains"]}
    home = state["chains"][0]["chainId"]
    usdc_address, counter = chains[home]["contracts"]["USDC"], chains[home]["contracts"]["Counter"]
    node_url, api_key = state["node"]["url"], state["node"]["apiKey"]
    fee_token = FeeTokenInfo(address=usdc_address, chain_id=home)

    # 1. setup ---------------------------------------------------------------------------------------------------
    title("1. Setup")
    owner = Account.from_key(keys["owner"])
    session_signer = Account.from_key(keys["session_signer"])
    configs = [ChainConfiguration(chain_id=c, rpc_url=chains[c]["rpcUrl"], version=MEE_VERSION) for c in chains]
    account = await to_multichain_nexus_account(signer=owner, chain_configurations=configs)
    mee_client = await create_mee_client(account=account, url=node_url, api_key=api_key)
    session_client = mee_client.extend(mee_session_actions)
    sessions_module = to_smart_sessions_module(signer=session_signer)
    line("owner (EOA)", owner.address)
    line("session signer (EOA)", session_signer.address)
    line("Nexus account", f"{account.address} (MEE {MEE_VERSION}, chains {', '.join(map(str, chains))})")
    line("MEE node", f"{node_url} ({mee_client.info.version})")
    line("SmartSessions", sessions_module.address)

    # 2. prepare -------------------------------------------------------------------------------------------------
    title(f"2. Prepare: deploy, install SmartSessions, paid by a permit of {usdc(TRIGGER)} from the owner's EOA")
    eoa_before = await read_uint(session_client, home, usdc_address, "balanceOf(address)", [owner.address])
    started = time.monotonic()
    payload = await session_client.prepare_for_permissions(
        smart_sessions_validator=sessions_module,
        fee_token=fee_token,
        trigger={"token_address": usdc_address, "chain_id": home, "amount": TRIGGER},
    )
    if payload is None:
        line("nothing to do", "the account is already prepared")
    else:
        show(await session_client.wait_for_supertransaction_receipt(payload.hash))
        eoa_after = await read_uint(session_client, home, usdc_address, "balanceOf(address)", [owner.address])
        line("owner EOA paid", f"{usdc(eoa_before - eoa_after)} (trigger + fee)")
        line("took", f"{time.monotonic() - started:.2f} s")
    balance = await read_uint(session_client, home, usdc_address, "balanceOf(address)", [account.address])
    line("account balance", usdc(balance))

    # 3. grant ---------------------------------------------------------------------------------------------------
    title("3. Grant: the session signer may call Counter.increment() (sudo policy), signed as EIP-712 typed data")
    details = await session_client.grant_permission_typed_data_sign(
        redeemer=session_signer.address,
        fee_token=fee_token,
        actions=[
            ActionConfig(
                chain_id=home, action_target=counter, action_target_selector=INCREMENT,
                action_policies=[get_sudo_policy()],
            )
        ],
    )  # fmt: skip
    permission_id = "0x" + bytes(details[0].permission_id).hex()
    stored = session_details_to_json(details)  # what the owner hands to the session signer's process
    line("permission id", permission_id)
    line("session details", f"{len(stored):,} bytes of JSON (mode {details[0].mode.hex}, UNSAFE_ENABLE)")

    # 4. use -----------------------------------------------------------------------------------------------------
    title("4. Use, from the session signer's client (the owner's account, the session signer's key)")
    redeemer_configs = [c.model_copy(update={"account_address": account.address}) for c in configs]
    redeemer_account = await to_multichain_nexus_account(signer=session_signer, chain_configurations=redeemer_configs)
    dapp_client = (await create_mee_client(account=redeemer_account, url=node_url, api_key=api_key)).extend(
        mee_session_actions
    )
    session_details = session_details_from_json(stored)
    increment = Instruction(chain_id=home, calls=[{"to": counter, "data": INCREMENT}])
    rpc = dapp_client.account.deployment_on(home).rpc
    for mode in ("ENABLE_AND_USE", "USE"):
        print(f"  -- usePermission {mode}")
        eth_before = int(await rpc.request("eth_getBalance", [account.address, "latest"]), 16)
        result = await dapp_client.use_permission(
            session_details=session_details, mode=mode, fee_token=fee_token, instructions=[increment]
        )
        show(await dapp_client.wait_for_supertransaction_receipt(result.hash))
        refund = int(await rpc.request("eth_getBalance", [account.address, "latest"]), 16) - eth_before
        # the devnet node prices ETH at 3000 USDC
        line("refunded", f"{refund / 10**18:.9f} ETH to the account = {refund * 3000 / 10**16:.2f} cents")
        line("counter", await read_uint(dapp_client, home, counter, "number()"))
    enabled = await session_client.check_enabled_permissions(details)
    line("enabled", enabled)

    # 5. a policy at work ----------------------------------------------------------------------------------------
    title("5. A universal-action policy: Counter.setNumber(n) only for n <= 10")
    at_most_ten = get_universal_action_policy(
        value_limit_per_use=0,
        param_rules=[{"condition": ParamCondition.LESS_THAN_OR_EQUAL, "offset": 0, "ref": 10}],
    )
    bounded = await session_client.grant_permission_typed_data_sign(
        redeemer=session_signer.address,
        fee_token=fee_token,
        actions=[
            ActionConfig(
                chain_id=home, action_target=counter, action_target_selector=SET_NUMBER,
                action_policies=[at_most_ten],
            )
        ],
    )  # fmt: skip
    line("permission id", "0x" + bytes(bounded[0].permission_id).hex())

    def set_number(n: int) -> Instruction:
        return Instruction(chain_id=home, calls=[{"to": counter, "data": SET_NUMBER + n.to_bytes(32, "big")}])

    print("  -- setNumber(7), ENABLE_AND_USE")
    result = await dapp_client.use_permission(
        session_details=bounded, mode="ENABLE_AND_USE", fee_token=fee_token, instructions=[set_number(7)]
    )
    show(await dapp_client.wait_for_supertransaction_receipt(result.hash))
    line("counter", await read_uint(dapp_client, home, counter, "number()"))
    print("  -- setNumber(11), USE")
    try:
        await dapp_client.use_permission(
            session_details=bounded, mode="USE", fee_token=fee_token, instructions=[set_number(11)]
        )
        print("  UNEXPECTED: the out-of-bounds call was accepted")
        raise SystemExit(1)
    except PolicyViolationError as refused:
        line("refused", refused.short_message)
        line("permission", refused.permission_id)
        line("action", f"{refused.action_target} selector {refused.action_selector}")
        line("policy", f"{refused.policy_name} at {refused.policy}")
        line("rule", refused.rule)
    line("counter", f"{await read_uint(dapp_client, home, counter, 'number()')} (unchanged)")

    for client in (dapp_client, mee_client):  # a client closes its account's connections too
        await client.aclose()
    title("Done.")


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "devnet.json")
    try:
        asyncio.run(main(path))
    except SmartSessionsError as err:
        print(f"\nerror: {err}", file=sys.stderr)
        raise SystemExit(1) from None
