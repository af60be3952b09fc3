"""The MEE wire models (spec §9): key spelling, bigints as decimal strings, numbers where §9 says number, unknown
keys ignored, omitted absent keys, and errors that name the JSON path of the bad value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartsessions import SmartSessionMode
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.errors import InvalidInputError
from smartsessions.sessions import session_details_from_json
from smartsessions.wire.mee import (
    ExplorerResponse,
    FilledUserOp,
    GetInfoPayload,
    QuoteRequest,
    SignedQuote,
    from_wire,
    to_wire,
)

ACCOUNT = "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
REDEEMER = "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c"


def session_details_json(mode: str = "0x00") -> dict[str, Any]:
    """Session details as the SDK sends them (grant flow: bigints as decimal strings, actions with a chainId)."""
    return {
        "mode": mode,
        "permissionId": "0x" + "11" * 32,
        "signature": "0x" + "22" * 65,
        "enableSessionData": {
            "enableSession": {
                "chainDigestIndex": 0,
                "hashesAndChainIds": [{"chainId": "8453", "sessionDigest": "0x" + "33" * 32}],
                "sessionToEnable": {
                    "sessionValidator": "0x0000000031ef4155C978d48a8A7d4EDba03b04fE",
                    "sessionValidatorInitData": REDEEMER.lower(),
                    "salt": "0x" + "44" * 32,
                    "userOpPolicies": [],
                    "erc7739Policies": {"allowedERC7739Content": [], "erc1271Policies": []},
                    "actions": [
                        {
                            "actionTargetSelector": "0xd09de08a",
                            "actionTarget": "0x000000000000000000000000000000000000c0Fe",
                            "actionPolicies": [],
                            "chainId": 8453,
                        }
                    ],
                    "permitERC4337Paymaster": True,
                    "chainId": "8453",
                },
                "permissionEnableSig": "0x" + "55" * 65,
            },
            "validator": "0x0000000000000000000000000000000000000000",
            "accountType": "nexus",
        },
    }


def quote_request() -> dict[str, Any]:
    """The captured USE request of spec §9.3 (shortened), plus keys §9 does not list."""
    return {
        "quoteType": "simple",
        "userOps": [
            {
                "lowerBoundTimestamp": 1750000000,
                "upperBoundTimestamp": 1750000180,
                "sender": ACCOUNT,
                "callData": "0xe9ae5c53",
                "callGasLimit": "100000",
                "nonce": "15582666277334879851390563090262068144133135069582519923683821423510446669824",
                "chainId": "8453",
                "isCleanUpUserOp": False,
                "verificationGasLimit": "250000",
                "shortEncoding": True,
                "sessionDetails": session_details_json("0x00"),
                "metadata": [{"type": "CUSTOM", "description": "Custom on-chain action", "chainId": 8453}],
                "someFutureKey": {"nested": True},
            }
        ],
        "paymentInfo": {
            "sponsored": False,
            "sender": ACCOUNT,
            "token": USDC,
            "nonce": "15582659375588533060826775655506205867107682618473547753297266260986222870528",
            "callGasLimit": "75000",
            "verificationGasLimit": "1000000",
            "chainId": "8453",
            "shortEncoding": True,
            "sessionDetails": session_details_json("0x02"),
        },
        "meeVersions": [{"version": {"version": "2.1.0", "anyOtherKey": 1,
                                     "validatorAddress": "0x0000000031ef4155C978d48a8A7d4EDba03b04fE"},
                         "chainId": 8453}],
        "tags": ["x"],
    }  # fmt: skip


def test_a_quote_request_as_the_sdk_sends_it() -> None:
    request = from_wire(QuoteRequest, quote_request())
    [op] = request.user_ops
    assert op.nonce == 15582666277334879851390563090262068144133135069582519923683821423510446669824
    assert op.chain_id == 8453 and op.call_gas_limit == 100000 and op.lower_bound_timestamp == 1750000000
    assert op.session_details is not None and op.session_details.mode is SmartSessionMode.USE
    assert request.payment_info.session_details is not None
    assert request.payment_info.session_details.mode is SmartSessionMode.UNSAFE_ENABLE
    assert request.mee_versions[0].validator_address == "0x0000000031ef4155C978d48a8A7d4EDba03b04fE"
    assert request.mee_versions[0].version_name == "2.1.0"

    wire = to_wire(request)
    assert "someFutureKey" not in wire["userOps"][0]  # unknown keys are dropped, not refused
    assert wire["userOps"][0]["nonce"] == quote_request()["userOps"][0]["nonce"]  # bigints: decimal strings
    assert wire["userOps"][0]["lowerBoundTimestamp"] == 1750000000  # numbers stay numbers
    assert wire["meeVersions"][0] == {"version": quote_request()["meeVersions"][0]["version"], "chainId": 8453}
    assert "trigger" not in wire and "simulation" not in wire  # absent keys are omitted, never null
    details = wire["userOps"][0]["sessionDetails"]["enableSessionData"]["enableSession"]
    assert details["hashesAndChainIds"][0]["chainId"] == "8453" and details["sessionToEnable"]["chainId"] == "8453"
    assert details["sessionToEnable"]["actions"][0]["chainId"] == 8453
    assert from_wire(QuoteRequest, json.loads(json.dumps(wire))) == request
    # the session details read the same as through the session layer's own JSON reader
    assert session_details_from_json(details and wire["userOps"][0]["sessionDetails"])[0] == op.session_details


@pytest.mark.parametrize(
    ("path", "value", "field", "problem"),
    [
        (["userOps", 0, "nonce"], "1.5", "userOps[0].nonce", "not an integer"),
        (["userOps", 0, "nonce"], "-1", "userOps[0].nonce", "must not be negative"),
        (["userOps", 0, "sender"], "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501d", "userOps[0].sender",
         "mixed-case address with a wrong EIP-55 checksum"),
        (["userOps", 0, "sessionDetails", "mode"], "0x07", "userOps[0].sessionDetails.mode",
         "unknown SmartSessions mode"),
        (["paymentInfo", "sessionDetails", "enableSessionData", "enableSession", "hashesAndChainIds", 0, "chainId"],
         "x", "paymentInfo.sessionDetails.enableSessionData.enableSession.hashesAndChainIds[0].chainId",
         "not an integer"),
        (["paymentInfo"], None, "paymentInfo", "must be a JSON object"),
    ],
)  # fmt: skip
def test_errors_name_the_json_path(path: list[Any], value: Any, field: str, problem: str) -> None:
    body = quote_request()
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidInputError) as info:
        from_wire(QuoteRequest, body)
    assert info.value.field == field
    assert info.value.problem == problem


def test_missing_keys_and_non_objects() -> None:
    body = quote_request()
    del body["paymentInfo"]["token"]
    with pytest.raises(InvalidInputError, match=r"Invalid `paymentInfo.token`: is required"):
        from_wire(QuoteRequest, body)
    with pytest.raises(InvalidInputError, match="must be a JSON object"):
        from_wire(QuoteRequest, [body])


def test_info_keeps_its_snake_case_key() -> None:
    info = {
        "version": "1.0",
        "node": ACCOUNT,
        "supportedChains": [{"chainId": "8453", "name": "Base"}],
        "supportedGasTokens": [
            {
                "chainId": "8453",
                "paymentTokens": [{"name": "USD Coin", "address": USDC, "symbol": "USDC", "decimals": 6,
                                   "permitEnabled": True}],
                "isArbitraryFeeTokensSupported": False,
            }
        ],
        "supported_wallet_providers": [{"walletProvider": "BICO_V2", "supportedChains": ["8453"]}],
    }  # fmt: skip
    parsed = from_wire(GetInfoPayload, info)
    assert parsed.supported_wallet_providers[0].wallet_provider == "BICO_V2"
    assert parsed.gas_token(8453, USDC.lower()) is not None and parsed.gas_token(10, USDC) is None
    wire = to_wire(parsed)
    assert wire["supported_wallet_providers"][0]["supportedChains"] == ["8453"]
    assert wire["supportedGasTokens"][0]["paymentTokens"][0]["decimals"] == 6
    assert wire["supportedChains"] == [{"chainId": "8453", "name": "Base"}]


def filled_op(**extra: Any) -> dict[str, Any]:
    op = {
        "userOp": {
            "sender": ACCOUNT, "nonce": "7", "initCode": "0x", "callData": "0xe9ae5c53", "callGasLimit": "100000",
            "verificationGasLimit": "250000", "maxFeePerGas": "1000000000", "maxPriorityFeePerGas": "1000000",
            "paymasterAndData": "0x" + "00" * 52, "preVerificationGas": "50000",
        },
        "userOpHash": "0x" + "aa" * 32, "meeUserOpHash": "0x" + "bb" * 32,
        "lowerBoundTimestamp": "1750000000", "upperBoundTimestamp": "1750000180", "maxGasLimit": "400000",
        "maxFeePerGas": "1000000000", "chainId": "8453", "shortEncoding": True,
    }  # fmt: skip
    return {**op, **extra}


def test_signed_quote_and_explorer_answer() -> None:
    quote: dict[str, Any] = {
        "hash": "0x" + "cc" * 32,
        "node": ACCOUNT,
        "commitment": "0x" + "dd" * 32,
        "paymentInfo": {**quote_request()["paymentInfo"], "tokenAmount": "0.01", "tokenWeiAmount": "10000",
                        "tokenValue": "0.01"},
        "userOps": [filled_op(sessionDetails=session_details_json("0x02")), filled_op()],
        "quoteType": "simple",
    }  # fmt: skip
    signed = from_wire(
        SignedQuote,
        {**quote, "signature": "0x177eee00" + "11" * 65, "isEIP712TrustedSponsorshipSupported": True,
         "meeVersions": quote_request()["meeVersions"]},
    )  # fmt: skip
    assert signed.is_eip712_trusted_sponsorship_supported is True
    assert signed.payment_info.token_wei_amount == 10000 and signed.user_ops[0].lower_bound_timestamp == 1750000000
    wire = to_wire(signed)
    assert wire["isEIP712TrustedSponsorshipSupported"] is True
    assert wire["userOps"][1]["lowerBoundTimestamp"] == "1750000000"  # a string in the quote (§9.4)
    assert wire["paymentInfo"]["tokenWeiAmount"] == "10000"
    packed = signed.user_ops[1].user_op.to_packed()
    assert packed.nonce == 7 and packed.pre_verification_gas == 50000

    receipt = {**quote, "userOps": [
        {**op, "executionStatus": "MINED_SUCCESS", "executionData": "0x" + "ee" * 32, "isConfirmed": True}
        for op in quote["userOps"]
    ]}  # fmt: skip
    parsed = from_wire(ExplorerResponse, receipt)
    assert [op.execution_status for op in parsed.user_ops] == ["MINED_SUCCESS", "MINED_SUCCESS"]
    bad = {**receipt, "userOps": [{**receipt["userOps"][0], "executionStatus": "DONE"}]}
    with pytest.raises(InvalidInputError) as info:
        from_wire(ExplorerResponse, bad)
    assert info.value.field == "userOps[0].executionStatus"

    # the receipt details: all optional (an older answer above has none), read from the shapes nodes write
    detailed = {**receipt, "itxHash": quote["hash"], "fundingTransaction": {"txHash": "0x" + "ab" * 32,
                "chainId": "8453"}, "userOps": [
        {**receipt["userOps"][0], "confirmations": 4, "actualGasCost": "123456789", "revertError": None,
         "miningTimestamp": 1750000001, "minedTimestamp": 1750000003},
        {**receipt["userOps"][1], "executionStatus": "SKIPPED", "isCleanUpUserOp": True, "confirmations": None},
    ]}  # fmt: skip
    parsed = from_wire(ExplorerResponse, detailed)
    assert parsed.itx_hash == parsed.hash and parsed.funding_transaction == detailed["fundingTransaction"]
    first, second = parsed.user_ops
    assert (first.confirmations, first.actual_gas_cost, first.mining_timestamp, first.mined_timestamp) == (
        4, 123456789, 1750000001, 1750000003
    )  # fmt: skip
    assert second.execution_status == "SKIPPED" and second.confirmations is None and second.actual_gas_cost is None
    # a detail in a shape this client does not know reads as None instead of failing the receipt
    odd = {**detailed, "fundingTransaction": "0x" + "ab" * 32, "itxHash": 7, "userOps": [
        {**receipt["userOps"][0], "confirmations": "many", "actualGasCost": {"wei": 1}, "revertError": 5,
         "minedTimestamp": "2025-06-15T00:00:00Z"},
    ]}  # fmt: skip
    parsed = from_wire(ExplorerResponse, odd)
    assert parsed.itx_hash is None and parsed.funding_transaction is None
    op = parsed.user_ops[0]
    assert (op.confirmations, op.actual_gas_cost, op.revert_error, op.mined_timestamp) == (None, None, None, None)


@given(
    nonce=st.integers(min_value=0, max_value=2**256 - 1),
    gas=st.integers(min_value=0, max_value=2**128 - 1),
    data=st.binary(max_size=64),
)
def test_filled_user_op_round_trips(nonce: int, gas: int, data: bytes) -> None:
    op = FilledUserOp(
        sender=ACCOUNT, nonce=nonce, call_data=data, call_gas_limit=gas, verification_gas_limit=gas,
        max_fee_per_gas=gas, max_priority_fee_per_gas=gas, pre_verification_gas=gas,
    )  # fmt: skip
    wire = to_wire(op)
    assert wire["nonce"] == str(nonce) and wire["callData"] == "0x" + data.hex() and "signature" not in wire
    assert from_wire(FilledUserOp, json.loads(json.dumps(wire))) == op


def test_a_userop_crosses_the_wire_edge_unchanged() -> None:
    """The quote's userOp form and the EntryPoint's packed userOp convert into each other field for field: every
    field but the signature, which the client adds at /exec."""
    op = PackedUserOperation(
        sender=ACCOUNT, nonce=(5 << 64) | 9, init_code=b"\x01" * 40, call_data=b"\x02" * 36, call_gas_limit=75_000,
        verification_gas_limit=250_000, pre_verification_gas=50_000, max_fee_per_gas=10**9 + 1,
        max_priority_fee_per_gas=10**6, paymaster_and_data=b"\x03" * 52, signature=b"\x04" * 65,
    )  # fmt: skip
    filled = FilledUserOp.from_packed(op)
    assert filled.signature is None
    assert to_wire(filled)["nonce"] == str((5 << 64) | 9) and to_wire(filled)["maxFeePerGas"] == "1000000001"
    assert filled.to_packed(op.signature) == op
    assert filled.to_packed() == op.model_copy(update={"signature": b""})
