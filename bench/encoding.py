"""Pure encoding speed: smartsessions against the TypeScript reference, on the same inputs, in one run.

    make bench            # or: .venv/bin/python bench/encoding.py [--seconds 1.0]

Python builds the inputs, hands them to ``bench/encoding_ref.mjs`` (module-sdk, viem, solady), then times its own
functions on the same values. Each row runs for ``--seconds`` after a warm-up; the table shows operations per second
and ours / reference (above 1.0 means we are faster). Numbers vary with the machine: compare the ratio, not the
absolute values, and rerun before quoting.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eth_account import Account

from smartsessions import (
    ActionData,
    ChainSession,
    EnableSession,
    EnableSessionData,
    ParamCondition,
    ParamRule,
    Session,
    encode_smart_session_signature,
    flz_compress,
    get_permission_id,
    get_sudo_policy,
    get_universal_action_policy,
    hash_chain_sessions,
)
from smartsessions.encoding.eip712 import hash_signed_session, to_signed_session
from smartsessions.encoding.signature import encode_enable_session_payload
from smartsessions.policies.payment import payment_action
from smartsessions.signer import sign_typed_digest

ROOT = Path(__file__).resolve().parents[1]
OWNER = Account.from_key(b"\x01" * 32)
REDEEMER = "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c"
ACCOUNT = "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
K1 = "0x00000000d12897DDAdC2044614A9677B191A2d95"


def make_session(n_actions: int, salt_byte: int) -> Session:
    uni = get_universal_action_policy(
        param_rules=[
            ParamRule(condition=ParamCondition.EQUAL, offset=0, ref=REDEEMER),
            ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=32, ref=10**8, is_limited=True,
                      usage={"limit": 10**9}),
        ]
    )  # fmt: skip
    actions = [
        ActionData(
            action_target_selector=(0xD09DE08A + k).to_bytes(4, "big"),
            action_target=(0xC0FE + k).to_bytes(20, "big"),
            action_policies=[get_sudo_policy() if k % 2 == 0 else uni],
        )
        for k in range(n_actions - 1)
    ]
    actions.append(payment_action(fee_token=USDC, max_payment_amount=5_000_000))
    return Session(
        session_validator=K1,
        session_validator_init_data=REDEEMER,
        salt=bytes([salt_byte]) * 32,
        user_op_policies=[get_sudo_policy()],
        actions=actions,
        permit_erc4337_paymaster=True,
    )


def chain_sessions(n_chains: int, n_actions: int) -> list[ChainSession]:
    return [
        ChainSession(
            chain_id=8453 + k,
            session=to_signed_session(make_session(n_actions, k + 1), account=ACCOUNT, mode=2, nonce=k),
        )
        for k in range(n_chains)
    ]


def rate(fn: Callable[[], object], seconds: float) -> float:
    for _ in range(20):
        fn()
    n = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for _ in range(10):
            fn()
        n += 10
        elapsed = time.perf_counter() - start
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per row and side (default 1.0)")
    args = parser.parse_args()

    session = make_session(2, 1)
    cs1 = chain_sessions(1, 1)
    cs4 = chain_sessions(4, 4)
    short_sig = "0x177eee00" + "ab" * 288
    enable = EnableSessionData(
        enable_session=EnableSession(
            chain_digest_index=0,
            hashes_and_chain_ids=[
                {"chain_id": c.chain_id, "session_digest": hash_signed_session(c.session)} for c in cs1
            ],
            session_to_enable=session,
            permission_enable_sig=b"\x11" * 65,
        ),
        validator="0x0000000000000000000000000000000000000000",
    )
    payload = encode_enable_session_payload(enable_session_data=enable, signature=short_sig)

    inputs = {
        "session": session.model_dump(mode="json"),
        "chainSessions1x1": [c.model_dump(mode="json") for c in cs1],
        "chainSessions4x4": [c.model_dump(mode="json") for c in cs4],
        "enablePayload": "0x" + payload.hex(),
        "ownerKey": "0x" + "01" * 32,
        "permissionId": "0x" + session.permission_id.hex(),
        "shortSignature": short_sig,
        "enableSessionData": json.loads(enable.model_dump_json()),
    }
    for c in inputs["chainSessions1x1"] + inputs["chainSessions4x4"]:
        c["chainId"] = str(c["chainId"])
        c["session"]["nonce"] = str(c["session"]["nonce"])
    for d in inputs["enableSessionData"]["enableSession"]["hashesAndChainIds"]:
        d["chainId"] = str(d["chainId"])

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(inputs, f)
    print(f"reference: timing module-sdk / viem / solady ({args.seconds:.1f} s per row) ...", file=sys.stderr)
    out = subprocess.run(
        ["node", str(ROOT / "bench" / "encoding_ref.mjs"), f.name, str(args.seconds)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    reference = json.loads(out.stdout)

    ours: dict[str, Callable[[], object]] = {
        "permission_id": lambda: get_permission_id(session),
        "session_digest": lambda: hash_signed_session(cs1[0].session),
        "hash_chain_sessions_1x1": lambda: hash_chain_sessions(cs1),
        "hash_chain_sessions_4x4": lambda: hash_chain_sessions(cs4),
        "flz_compress_enable_payload": lambda: flz_compress(payload),
        "grant_signature_typed_data": lambda: sign_typed_digest(OWNER, hash_chain_sessions(cs1)),
        "encode_enable_signature": lambda: encode_smart_session_signature(
            mode="UNSAFE_ENABLE", signature=short_sig, enable_session_data=enable
        ),
    }
    print("ours: timing smartsessions ...", file=sys.stderr)
    rows = []
    for name, fn in ours.items():
        mine = rate(fn, args.seconds)
        rows.append((name, mine, reference[name]))

    print(f"\n{'operation':<30} {'smartsessions ops/s':>20} {'reference ops/s':>16} {'ratio':>7}")
    print("-" * 76)
    for name, mine, ref in rows:
        print(f"{name:<30} {mine:>20,.0f} {ref:>16,.0f} {mine / ref:>6.2f}x")
    print(f"\nenable payload: {len(payload)} bytes -> {len(flz_compress(payload))} bytes compressed")


if __name__ == "__main__":
    main()
