"""Execution windows follow each chain's own clock, not this machine's: the SDK opens a userOp's default window at
its chain's latest block, the node checks windows and waits for them by the chain's time, and the EntryPoint checks
them against the block's timestamp."""

from __future__ import annotations

from .conftest import Sdk, increment

HOUR = 3_600


async def test_a_chain_an_hour_ahead_runs_the_sdks_default_windows(sdk: Sdk) -> None:
    """Chain 10's clock an hour ahead of chain 8453's and of this machine's (as ``evm_increaseTime`` leaves it; the
    revert after the test undoes it). With windows from this machine's clock the userOp on chain 10 would be expired
    on arrival; with each chain's own, one super-transaction runs on both."""
    ahead = sdk.chains[10]
    ahead.rpc.request("evm_increaseTime", [hex(HOUR)])
    ahead.rpc.request("evm_mine", [])
    owner = await sdk.owner_client()
    account = owner.account.address
    sdk.fund(account, 5_000_000)  # the fee, on chain 8453
    before = {c: sdk.counter(c) for c in (8453, 10)}
    times = {c: sdk.chains[c].timestamp() for c in (8453, 10)}

    quote = await owner.get_quote(instructions=[increment(8453), increment(10)], fee_token=sdk.fee())
    windows = {op.chain_id: (op.lower_bound_timestamp, op.upper_bound_timestamp) for op in quote.payload.user_ops}
    for chain_id in (8453, 10):
        lower, upper = windows[chain_id]
        assert times[chain_id] <= lower <= sdk.chains[chain_id].timestamp() and upper == lower + 180
    assert windows[10][0] >= windows[8453][0] + HOUR - 60

    receipt = await owner.wait_for_supertransaction_receipt(
        (await owner.execute_signed_quote(await owner.sign_quote(quote))).hash
    )
    assert receipt.status == "MINED_SUCCESS"
    assert {c: sdk.counter(c) for c in (8453, 10)} == {c: n + 1 for c, n in before.items()}
