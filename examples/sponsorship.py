"""Sponsored super-transactions: the account pays no fee, neither to prepare nor to use the session (on the devnet
the node's paymaster pays; on Biconomy's node, your sponsorship gas tank). The grant then needs no fee token.

    python examples/sponsorship.py devnet.json
"""

from __future__ import annotations

import asyncio

from _devnet import Devnet, line, show, state_path

from smartsessions import ActionConfig, Instruction, get_sudo_policy
from smartsessions.encoding.abi import selector

INCREMENT = selector("increment()")


async def main() -> None:
    net = Devnet.load(state_path())
    try:
        owner = await net.owner_client()
        await net.prepare(owner, sponsorship=True)
        home = net.chain_ids[0]
        counter = net.contract(home, "Counter")
        details = await owner.grant_permission_typed_data_sign(  # no fee token: no payment policy is added
            redeemer=net.session_signer.address,
            actions=[
                ActionConfig(
                    chain_id=home,
                    action_target=counter,
                    action_target_selector=INCREMENT,
                    action_policies=[get_sudo_policy()],
                )
            ],
        )
        dapp = await net.session_client(owner.account.address)
        usdc = net.contract(home, "USDC")
        before = await net.read(dapp, home, usdc, "balanceOf(address)", [owner.account.address])
        for mode in ("ENABLE_AND_USE", "USE"):
            print(f"usePermission {mode}, sponsored:")
            result = await dapp.use_permission(
                session_details=details,
                mode=mode,
                sponsorship=True,
                instructions=[Instruction(chain_id=home, calls=[{"to": counter, "data": INCREMENT}])],
            )
            show(await dapp.wait_for_supertransaction_receipt(result.hash))
        after = await net.read(dapp, home, usdc, "balanceOf(address)", [owner.account.address])
        line("counter", await net.read(dapp, home, counter, "number()"))
        paid = "nothing paid" if after == before else f"{before - after} paid"
        line("account USDC", f"{before} -> {after} base units ({paid})")
    finally:
        await net.aclose()


if __name__ == "__main__":
    asyncio.run(main())
