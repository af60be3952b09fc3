"""The new session flow, end to end: the owner prepares the account and enables a session in one signature, and a
bot uses it from its own process with nothing but the handoff file, its own key and its RPC URLs.

    python examples/session_flow.py devnet.json

1. Owner: ``get_session_quote(mode="PREPARE")`` deploys the account on every chain, installs SmartSessions,
   funds the account from the owner's EOA (a permit trigger) and enables the session on chain, in one
   super-transaction signed once. The session: ``increment()`` on every chain, and ``setNumber(n)`` on the first
   chain only for ``n <= 10``, built with ``build_session_action`` and ``build_action_policy``.
2. The owner writes the handoff (``to_session_handoff(...).dump()``): the sessions' details, the session key's
   address and, per chain, the owner's account and its MEE version. What the bot needs; no key.
3. Bot: reads the file (``SessionHandoff.load``), makes its client from it and its own key
   (``create_session_client``: on the owner's account, refusing any other key), and runs
   ``get_session_quote(mode="USE")`` then ``execute_session_quote``: increments on every chain in one
   super-transaction, then ``setNumber(7)``. ``setNumber(11)`` is refused before anything is signed, naming the rule.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from _devnet import Devnet, line, show, state_path

from smartsessions import (
    Instruction,
    PolicyViolationError,
    SessionHandoff,
    build_action_policy,
    build_session_action,
    calldata_argument,
    create_session_client,
    to_session_handoff,
)
from smartsessions.encoding.abi import selector

INCREMENT = selector("increment()")
SET_NUMBER = selector("setNumber(uint256)")


async def owner_side(net: Devnet, handoff: Path) -> None:
    """Prepare and enable in one owner signature; write the handoff."""
    owner = await net.owner_client()
    home = net.chain_ids[0]
    counter = net.contract(home, "Counter")  # the same address on every devnet chain
    actions = [
        *build_session_action(
            type="custom", chain_ids=net.chain_ids, contract_address=counter, function_signature=INCREMENT
        ),
        *build_session_action(
            type="custom",
            chain_ids=[home],
            contract_address=counter,
            function_signature=SET_NUMBER,
            policies=[
                build_action_policy(
                    type="universal",
                    rules=[
                        {
                            "condition": "lessThanOrEqual",
                            "calldata_offset": calldata_argument(1),
                            "comparison_value": 10,
                        }
                    ],
                )
            ],
        ),
    ]
    quote = await owner.get_session_quote(
        mode="PREPARE",
        enable_session={"redeemer": net.session_signer.address, "actions": actions, "fee_recipient": "node"},
        fee_token=net.fee_token(),
        trigger={"token_address": net.contract(home, "USDC"), "chain_id": home, "amount": 10_000_000},
    )
    if quote is None or quote.session_details is None:
        raise SystemExit("nothing to prepare: this account was prepared and its session enabled before")
    print(f"PREPARE ({quote.quote_type} quote, one owner signature):")
    result = await owner.execute_session_quote(quote)
    show(await owner.wait_for_supertransaction_receipt(result.hash))
    for d in quote.session_details:
        line(f"enabled on {d.chain_id}", d.permission_id)
    handoff.write_text(to_session_handoff(quote.session_details, account=owner.account).dump())
    line("handoff", f"{handoff.name} ({handoff.stat().st_size} bytes, no key in it)")


async def bot_side(net: Devnet, handoff_file: Path) -> None:
    """Everything from the file and the bot's own key (and where it reaches the chains and the node)."""
    handoff = SessionHandoff.load(handoff_file)
    details = list(handoff.session_details)
    bot = await create_session_client(
        handoff,
        signer=net.session_signer,
        rpc_urls={c["chainId"]: c["rpcUrl"] for c in net.state["chains"]},
        url=net.state["node"]["url"],
        api_key=net.state["node"]["apiKey"],
    )
    net.opened.append(bot)
    line("bot account", f"{bot.account.address} (the owner's, from the handoff)")
    home = net.chain_ids[0]
    counter = net.contract(home, "Counter")

    async def use(label: str, instructions: list[Instruction]) -> None:
        quote = await bot.get_session_quote(
            mode="USE", session_details=details, instructions=instructions, fee_token=net.fee_token()
        )
        assert quote is not None
        print(f"USE {label}:")
        result = await bot.execute_session_quote(quote)
        show(await bot.wait_for_supertransaction_receipt(result.hash))

    await use(
        f"increment() on {len(net.chain_ids)} chains",
        [Instruction(chain_id=c, calls=[{"to": net.contract(c, "Counter"), "data": INCREMENT}]) for c in net.chain_ids],
    )
    for c in net.chain_ids:
        line(f"counter on {c}", await net.read(bot, c, net.contract(c, "Counter"), "number()"))
    set_number = [Instruction(chain_id=home, calls=[{"to": counter, "data": SET_NUMBER + (7).to_bytes(32, "big")}])]
    await use("setNumber(7)", set_number)
    line(f"counter on {home}", await net.read(bot, home, counter, "number()"))
    print("USE setNumber(11):")
    too_big = [Instruction(chain_id=home, calls=[{"to": counter, "data": SET_NUMBER + (11).to_bytes(32, "big")}])]
    try:
        await bot.get_session_quote(
            mode="USE", session_details=details, instructions=too_big, fee_token=net.fee_token()
        )
    except PolicyViolationError as refused:
        line("refused", type(refused).__name__)
        line("rule", refused.rule)
    line(f"counter on {home}", f"{await net.read(bot, home, counter, 'number()')} (unchanged)")


async def main() -> None:
    net = Devnet.load(state_path())
    try:
        with tempfile.TemporaryDirectory() as folder:
            handoff = Path(folder) / "session.json"
            await owner_side(net, handoff)
            await bot_side(net, handoff)
    finally:
        await net.aclose()


if __name__ == "__main__":
    asyncio.run(main())
