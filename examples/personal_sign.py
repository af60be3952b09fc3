"""A grant signed with EIP-191 personal_sign instead of EIP-712 typed data (for signers that cannot sign typed
data); the session works the same.

    python examples/personal_sign.py devnet.json
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
        home = net.chain_ids[0]
        counter = net.contract(home, "Counter")
        details = await owner.grant_permission_personal_sign(
            redeemer=net.session_signer.address,
            fee_token=net.fee_token(),
            actions=[
                ActionConfig(
                    chain_id=home,
                    action_target=counter,
                    action_target_selector=INCREMENT,
                    action_policies=[get_sudo_policy()],
                )
            ],
        )
        line("permission id", "0x" + bytes(details[0].permission_id).hex())
        dapp = await net.session_client(owner.account.address)
        result = await dapp.use_permission(
            session_details=details,
            mode="ENABLE_AND_USE",
            fee_token=net.fee_token(),
            instructions=[Instruction(chain_id=home, calls=[{"to": counter, "data": INCREMENT}])],
        )
        show(await dapp.wait_for_supertransaction_receipt(result.hash))
        line("counter", await net.read(dapp, home, counter, "number()"))
        line("enabled", await dapp.is_permission_enabled(permission_id=details[0].permission_id, chain_id=home))
    finally:
        await net.aclose()


if __name__ == "__main__":
    asyncio.run(main())
