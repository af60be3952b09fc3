"""One grant, one owner signature, a permission on every devnet chain; then one super-transaction that increments
the counter on each chain with the session key.

    python examples/multichain_grant.py devnet.json
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
        await net.prepare(owner)
        details = await owner.grant_permission_typed_data_sign(
            redeemer=net.session_signer.address,
            fee_token=net.fee_token(),
            actions=[
                ActionConfig(
                    chain_id=c,
                    action_target=net.contract(c, "Counter"),
                    action_target_selector=INCREMENT,
                    action_policies=[get_sudo_policy()],
                )
                for c in net.chain_ids
            ],
        )
        print("granted with one signature:")
        for d in details:
            line(f"chain {d.chain_id}", "0x" + bytes(d.permission_id).hex())
        dapp = await net.session_client(owner.account.address)
        increments = [
            Instruction(chain_id=c, calls=[{"to": net.contract(c, "Counter"), "data": INCREMENT}])
            for c in net.chain_ids
        ]
        for mode in ("ENABLE_AND_USE", "USE"):
            print(f"usePermission {mode} on {len(increments)} chains:")
            result = await dapp.use_permission(
                session_details=details, mode=mode, fee_token=net.fee_token(), instructions=increments
            )
            show(await dapp.wait_for_supertransaction_receipt(result.hash))
            for c in net.chain_ids:
                line(f"counter on {c}", await net.read(dapp, c, net.contract(c, "Counter"), "number()"))
        line("enabled", await dapp.check_enabled_permissions(details))
    finally:
        await net.aclose()


if __name__ == "__main__":
    asyncio.run(main())
