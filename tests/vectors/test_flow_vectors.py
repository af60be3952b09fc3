"""Our pure builders against values captured from the reference SDK's own flows (``gen/flows.mjs``): the real
``toNexusAccount``, the composable builders, the nonce manager, ``signQuote`` / fusion signing, and whole grants made
by ``meeSessionActions(...).grantPermission*`` with mocked chains."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from smartsessions import (
    FeePaymentBlockedError,
    get_mee_version,
    session_details_from_json,
    session_details_to_json,
)
from smartsessions.account import (
    Call,
    ComposableExecution,
    encode_execute_batch,
    encode_execute_composable,
    encode_execute_single,
    to_bootstrap_call,
    to_composable_execution,
    to_factory_data,
    to_init_code,
    to_init_data,
)
from smartsessions.encoding import get_nonce_key, to_nonce
from smartsessions.encoding.quote import (
    encode_onchain_quote_signature,
    encode_permit_quote_signature,
    get_permit_digest,
    sign_quote,
)
from smartsessions.sessions import get_grant_chain_digests, grant_permission_offline
from smartsessions.sessions.grant import build_grant_sessions

from .conftest import b, cases


def lower_hex(value: Any) -> Any:
    """JSON with every 0x string lower-cased: the reference keeps the case it was given, bytes have none."""
    if isinstance(value, dict):
        return {k: lower_hex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_hex(v) for v in value]
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return value


@pytest.mark.parametrize("case", cases("nexus_account.json"))
def test_nexus_account_creation_data(case: dict[str, Any]) -> None:
    owner, index, version = case["owner"], case["index"], case["meeVersion"]
    assert to_bootstrap_call(owner=owner) == b(case["bootstrapCall"])
    assert get_mee_version(version).boot_strap_address == case["bootstrapAddress"]
    assert to_init_data(owner=owner, version=version) == b(case["initData"])
    assert to_factory_data(owner=owner, index=index, version=version) == b(case["factoryData"])
    assert get_mee_version(version).factory_address == case["factoryAddress"]
    assert to_init_code(owner=owner, index=index, version=version) == b(case["initCode"])


@pytest.mark.parametrize("case", cases("calldata.json"))
def test_call_data(case: dict[str, Any]) -> None:
    if case["kind"] == "single":
        [call] = case["calls"]
        assert encode_execute_single(Call.model_validate(call)) == b(case["callData"])
    elif case["kind"] == "batch":
        calls = [Call.model_validate(c) for c in case["calls"]]
        assert encode_execute_batch(calls) == b(case["callData"])
    else:
        executions = [ComposableExecution.model_validate(e) for e in case["executions"]]
        assert encode_execute_composable(executions) == b(case["callData"])
        for e in executions:
            # The SDK's "efficient mode": a plain call travels as its selector plus one raw-bytes parameter.
            if len(e.input_params) == 1 and e.input_params[0].fetcher_type == 0 and not e.input_params[0].constraints:
                raw = bytes(e.function_sig) + bytes(e.input_params[0].param_data)
                assert to_composable_execution(to=e.to, data=raw, value=e.value) == e


@pytest.mark.parametrize("case", cases("nonce_key.json"))
def test_nonce_keys(case: dict[str, Any]) -> None:
    key = get_nonce_key(validator=case["validator"], mode=case["mode"], now_ms=case["nowMs"])
    assert key == int(case["key"])
    assert to_nonce(key, 0) == int(case["nonceSeq0"])


@pytest.mark.parametrize("case", cases("quote_signature.json"))
def test_quote_signatures(case: dict[str, Any]) -> None:
    signer = Account.from_key(case["privateKey"])
    if case["kind"] == "simple":
        assert sign_quote(signer, case["quoteHash"]) == b(case["signature"])
    elif case["kind"] == "permit":
        digest = get_permit_digest(
            domain_separator=case["domainSeparator"],
            owner=case["owner"],
            spender=case["spender"],
            value=case["amount"],
            nonce=case["nonce"],
            deadline=int(case["quoteHash"], 16),
        )
        permit_sig = signer.unsafe_sign_hash(bytes(digest)).signature
        signature = encode_permit_quote_signature(
            token=case["token"],
            spender=case["spender"],
            domain_separator=case["domainSeparator"],
            amount=case["amount"],
            chain_id=case["chainId"],
            nonce=case["nonce"],
            signature=permit_sig,
        )
        assert signature == b(case["signature"])
    else:
        assert encode_onchain_quote_signature(tx_hash=case["txHash"], chain_id=case["chainId"]) == b(case["signature"])


def _grant(case: dict[str, Any], *, check_fee_payment: bool = True) -> list[Any]:
    return grant_permission_offline(
        signer=Account.from_key(case["ownerPrivateKey"]),
        redeemer=case["redeemer"],
        actions=case["actions"],
        accounts=case["accountAddress"],
        nonces={int(k): v for k, v in case["nonces"].items()},
        versions=case["meeVersion"],
        fee_token=case["feeToken"],
        max_payment_amount=case["maxPaymentAmount"],
        fee_token_decimals=case["feeTokenDecimals"],
        variant=case["variant"],
        salts=case["salts"],
        check_fee_payment=check_fee_payment,
    )


@pytest.mark.parametrize("case", cases("grant_flow.json"))
def test_grant_flow(case: dict[str, Any]) -> None:
    try:
        ours = _grant(case)
    except FeePaymentBlockedError as refused:
        # A deliberate difference: the reference grants a session whose own rules on the fee token's transfer
        # refuse every fee (here a random amount rule above the max payment); we refuse it unsigned. Forced, the
        # bytes are still the reference's.
        assert refused.token.lower() == case["feeToken"]["address"].lower()
        ours = _grant(case, check_fee_payment=False)

    # The same session details as the reference's, field for field (parsed from both of its JSON forms) ...
    assert session_details_from_json(case["sessionDetails"]) == ours
    assert session_details_from_json(case["sessionDetailsWire"]) == ours
    # ... and our JSON is the reference's JSON, up to key order and hex case.
    import json

    assert lower_hex(json.loads(session_details_to_json(ours))) == lower_hex(case["sessionDetails"])
    assert lower_hex(json.loads(session_details_to_json(ours, form="wire"))) == lower_hex(case["sessionDetailsWire"])

    # The digests the reference read from the (mocked) chain are the ones we compute offline.
    sessions = [d.enable_session_data.enable_session.session_to_enable for d in ours]
    digests = get_grant_chain_digests(
        sessions, accounts=case["accountAddress"], nonces={int(k): v for k, v in case["nonces"].items()}
    )
    read = {int(x["chainId"]): b(x["digest"]) for x in case["sessionDigests"]}
    assert {d.chain_id: bytes(d.session_digest) for d in digests} == read


def test_grant_sessions_are_grouped_in_first_appearance_order() -> None:
    [case] = [c.values[0] for c in cases("grant_flow.json") if len(c.values[0]["chains"]) == 3][:1]
    sessions = build_grant_sessions(
        redeemer=case["redeemer"],
        actions=case["actions"],
        versions=case["meeVersion"],
        fee_token=case["feeToken"],
        max_payment_amount=case["maxPaymentAmount"] or 5 * 10 ** case["feeTokenDecimals"],
        salts=case["salts"],
    )
    first_seen = list(dict.fromkeys(a["chainId"] for a in case["actions"]))
    assert [s.chain_id for s in sessions] == first_seen


@pytest.mark.parametrize("case", cases("mee_versions_wire.json"))
def test_mee_versions_wire_json(case: dict[str, Any]) -> None:
    import json

    wire = get_mee_version(case["meeVersion"]).to_wire()
    assert wire == case["version"]
    assert json.dumps(wire, separators=(",", ":")) == case["versionJson"]  # byte for byte, key order included
