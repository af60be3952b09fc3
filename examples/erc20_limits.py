"""A universal-action policy on an ERC-20 transfer: the session key may send USDC only to one recipient, at most
1 USDC per call and 2 USDC in total (the seed's own example, smaller). The chain enforces it; the SDK says which
rule a refused call broke.

The session's super-transactions are sponsored here: with USDC as the fee token too, the fee payment (a USDC transfer
to the node) would have to pass the same rules, and a recipient rule refuses it. Another fee token works as well.

    python examples/erc20_limits.py devnet.json
"""

from __future__ import annotations

import asyncio
from typing import Literal

from _devnet import Devnet, line, show, state_path

from smartsessions import (
    ActionConfig,
    Instruction,
    LimitUsage,
    ParamCondition,
    ParamRule,
    PolicyViolationError,
    get_universal_action_policy,
)
from smartsessions.encoding.abi import encode_function_call

RECIPIENT = "0x000000000000000000000000000000000000dEaD"
OTHER = "0x000000000000000000000000000000000000bEEF"
ONE_USDC = 1_000_000


async def main() -> None:
    net = Devnet.load(state_path())
    try:
        owner = await net.owner_client()
        await net.prepare(owner)  # also funds the account with 10 USDC from the owner's EOA
        home = net.chain_ids[0]
        usdc = net.contract(home, "USDC")
        policy = get_universal_action_policy(
            param_rules=[
                ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=RECIPIENT),
                ParamRule(
                    condition=ParamCondition.LESS_THAN_OR_EQUAL,
                    offset=32,
                    ref=ONE_USDC,
                    is_limited=True,
                    usage=LimitUsage(limit=2 * ONE_USDC),
                ),
            ]
        )
        details = await owner.grant_permission_typed_data_sign(
            redeemer=net.session_signer.address,
            actions=[ActionConfig(chain_id=home, action_target=usdc, action_target_selector="0xa9059cbb",
                                  action_policies=[policy])],
        )  # fmt: skip
        dapp = await net.session_client(owner.account.address)

        def transfer(to: str, amount: int) -> Instruction:
            data = encode_function_call("transfer(address,uint256)", [to, amount])
            return Instruction(chain_id=home, calls=[{"to": usdc, "data": data}])

        attempts = [
            ("1 USDC to the recipient", transfer(RECIPIENT, ONE_USDC)),
            ("1 USDC to someone else", transfer(OTHER, ONE_USDC)),
            ("1.5 USDC to the recipient", transfer(RECIPIENT, ONE_USDC * 3 // 2)),
            ("1 USDC to the recipient", transfer(RECIPIENT, ONE_USDC)),
            ("1 USDC more (3 in total)", transfer(RECIPIENT, ONE_USDC)),
        ]
        mode: Literal["ENABLE_AND_USE", "USE"] = "ENABLE_AND_USE"
        for label, instruction in attempts:
            print(f"{label}:")
            try:
                result = await dapp.use_permission(
                    session_details=details, mode=mode, sponsorship=True, instructions=[instruction]
                )
                show(await dapp.wait_for_supertransaction_receipt(result.hash))
                mode = "USE"
            except PolicyViolationError as refused:
                line("refused by", refused.policy_name)
                line("rule", refused.rule)
        sent = await net.read(dapp, home, usdc, "balanceOf(address)", [RECIPIENT])
        line("recipient holds", f"{sent / ONE_USDC} USDC")
    finally:
        await net.aclose()


if __name__ == "__main__":
    asyncio.run(main())
