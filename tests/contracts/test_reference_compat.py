"""What the unmodified reference SDK produces against our devnet is accepted by our contracts as it is: the account
address from our factory, the prepareForPermissions call data, and grants (typed data and personal sign) whose
session digests the SDK read from our SmartSession contract."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from smartsessions import SmartSessionMode, session_details_from_json
from smartsessions.account import to_init_data
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from .flows import COUNTER, Account, counter_value, increment_call, session_op
from .harness import Chain

pytestmark = pytest.mark.slow  # the reference SDK runs in Node.js

SCRIPT = Path(__file__).resolve().parents[1] / "reference" / "devnet_grant.mjs"


def run_reference(chains: list[Chain], *, owner_key: str, redeemer: str, variant: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed for the reference SDK runs"
    args = {
        "rpcUrls": {str(c.chain_id): c.rpc.url for c in chains},
        "ownerKey": owner_key,
        "redeemer": redeemer,
        "meeVersion": "2.0.0",
        "counter": COUNTER,
        "variant": variant,
    }
    out = subprocess.run([node, str(SCRIPT), json.dumps(args)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("variant", ["typed", "personal"])
def test_reference_prepare_and_grant_work_on_our_contracts(chain: Chain, chain10: Chain, variant: str) -> None:
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    ref = run_reference([chain, chain10], owner_key=owner.private_key, redeemer=redeemer.address, variant=variant)

    init_data = bytes(to_init_data(owner=owner.address, version="2.0.0"))
    address = chain.account_address(init_data, 0, "2.0.0")
    assert ref["accountAddress"] == address

    details = session_details_from_json(ref["sessionDetails"])
    # one session per chain, one signature for both
    assert len(details) == 2 and {d.chain_id for d in details} == {10, 8453}
    for c in (chain, chain10):
        account = Account(address=address, owner=owner)
        c.set_balance(address, 10**20)
        call_data = bytes.fromhex(ref["prepareCallData"][str(c.chain_id)][2:])
        op = c.user_op(sender=address, call_data=call_data, init_code=account.init_code)
        from .harness import sign_raw

        [result] = c.handle_ops([op.model_copy(update={"signature": sign_raw(owner, c.user_op_hash(op))})])
        assert result.success, result.revert_message
        assert c.call(address, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""], ["bool"])

        [mine] = [d for d in details if d.chain_id == c.chain_id]
        session = mine.enable_session_data.enable_session.session_to_enable
        before = counter_value(c)
        use = session_op(
            c, account, redeemer, increment_call(), session=session, mode=SmartSessionMode.UNSAFE_ENABLE,
            enable=mine.enable_session_data,
        )  # fmt: skip
        [used] = c.handle_ops([use])
        assert used.success, used.revert_message
        assert counter_value(c) == before + 1
        assert c.call(
            SMART_SESSIONS_ADDRESS,
            "isPermissionEnabled(bytes32,address)",
            [bytes(mine.permission_id), address],
            ["bool"],
        )
