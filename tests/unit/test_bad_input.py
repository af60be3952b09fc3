"""Malformed input gets a SmartSessionsError subclass whose message names the field and the fix; nothing raises a
bare ValueError or crashes inside a dependency."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smartsessions import (
    ChainDigest,
    EnableSession,
    EncodingError,
    InvalidInputError,
    ParamRule,
    PolicyData,
    Session,
    decode_smart_session_signature,
    encode_smart_session_signature,
    flz_compress,
    flz_decompress,
    get_action_id,
    get_permission_id,
    get_session_digest,
    get_spending_limits_policy,
    get_time_frame_policy,
    get_universal_action_policy,
    get_usage_limit_policy,
    get_value_limit_policy,
)
from smartsessions._coerce import to_bytes
from smartsessions.encoding import MerkleTree, get_nonce_key
from smartsessions.encoding.signature import decode_mee_short_signature

VALIDATOR = "0x00000000d12897DDAdC2044614A9677B191A2d95"
REDEEMER = "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c"


def session(**over: object) -> Session:
    fields: dict[str, object] = {
        "session_validator": VALIDATOR,
        "session_validator_init_data": REDEEMER,
        "salt": "0x" + "11" * 32,
    }
    fields.update(over)
    return Session(**fields)


def rule(**over: object) -> ParamRule:
    fields: dict[str, object] = {"condition": 0, "offset": 0, "ref": 0}
    fields.update(over)
    return ParamRule(**fields)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("11" * 32, "must start with 0x"),
        ("0x" + "1" * 63, "odd number of digits"),
        ("0x" + "zz" * 32, "not a hex string"),
        ("0x" + "11" * 31 + "\t\t", "not a hex string"),  # whitespace, which bytes.fromhex alone would skip
        ("0x" + " 11" * 21 + "1", "not a hex string"),
        (12345, "expected a 0x hex string or bytes"),
        ("0x" + "11" * 31, "expected exactly 32 bytes, got 31"),
        (b"\x11" * 33, "expected exactly 32 bytes, got 33"),
    ],
)
def test_bad_salt(value: object, problem: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        session(salt=value)
    err = info.value
    assert err.field == "Session.salt"
    assert problem in str(err)
    assert "Fix:" in str(err)
    assert not isinstance(err, ValueError)


def test_nested_field_path_is_named() -> None:
    with pytest.raises(InvalidInputError) as info:
        session(actions=[{"actionTargetSelector": "0x1234", "actionTarget": REDEEMER, "actionPolicies": []}])
    assert info.value.field == "Session.actions.0.action_target_selector"
    assert "expected exactly 4 bytes, got 2" in str(info.value)


@pytest.mark.parametrize(
    "address",
    ["0x1234", "0x" + "g" * 40, "0x5050a4f4b3f9338c3472dcc01a87c76a144b3c9C", 7, None],
)
def test_bad_addresses(address: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        PolicyData(policy=address, init_data="0x")
    assert info.value.field == "PolicyData.policy"


def test_wrong_checksum_says_what_the_right_one_is() -> None:
    with pytest.raises(InvalidInputError, match="checksummed form"):
        get_action_id(target="0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9C", selector="0xd09de08a")


def test_missing_field() -> None:
    with pytest.raises(InvalidInputError, match="is required"):
        Session(session_validator=VALIDATOR, salt="0x" + "00" * 32)  # type: ignore[call-arg]  # the missing field is what is tested


def test_unknown_field() -> None:
    with pytest.raises(InvalidInputError, match="is not a known field"):
        session(permit_paymaster=True)


@pytest.mark.parametrize(
    ("call", "field", "problem"),
    [
        (lambda: get_time_frame_policy(valid_until=-1), "valid_until", "must not be negative"),
        (lambda: get_time_frame_policy(valid_until=2**48), "valid_until", "does not fit in uint48"),
        (lambda: get_time_frame_policy(valid_until=10, valid_after=2**48), "valid_after", "uint48"),
        (lambda: get_time_frame_policy(valid_until=10, valid_after=11), "valid_after", "is after valid_until"),
        (lambda: get_usage_limit_policy(limit=2**128), "limit", "does not fit in uint128"),
        (lambda: get_usage_limit_policy(limit=-5), "limit", "must not be negative"),
        (lambda: get_value_limit_policy(limit=2**256), "limit", "does not fit in uint256"),
        (lambda: get_value_limit_policy(limit="ten"), "limit", "not an integer"),
        (lambda: get_value_limit_policy(limit=True), "limit", "got a bool"),
        (lambda: rule(offset=2**64), "offset", "does not fit in uint64"),
        (lambda: rule(ref=2**256), "ref", "does not fit in uint256"),
        (lambda: rule(ref="0x1234"), "ref", "expected 32 bytes"),
        (lambda: rule(condition=7), "condition", "Input should be"),
        (lambda: ChainDigest(chain_id=2**64, session_digest="0x" + "00" * 32), "chain_id", "uint64"),
        (lambda: get_nonce_key(validator=VALIDATOR, mode=256, now_ms=0), "mode", "uint8"),
        (lambda: get_spending_limits_policy([{"token": VALIDATOR, "limit": -1}]), "limit", "negative"),
    ],
)
def test_numbers_out_of_range(call: Callable[[], object], field: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        call()
    assert field in info.value.field
    assert problem in str(info.value)


def test_more_than_16_rules() -> None:
    with pytest.raises(InvalidInputError, match="at most 16 rules"):
        get_universal_action_policy(param_rules=[rule()] * 17)
    with pytest.raises(InvalidInputError, match="at most 16 rules"):
        get_universal_action_policy(param_rules={"length": 2, "rules": [rule()] * 17})


def test_length_beyond_the_rules_given() -> None:
    with pytest.raises(InvalidInputError, match="counts more rules"):
        get_universal_action_policy(param_rules={"length": 3, "rules": [rule(), rule()]})


@pytest.mark.parametrize("mode", ["SOMETIMES", 3, "0x03", b"\x07", None, 1.5])
def test_unknown_modes(mode: object) -> None:
    with pytest.raises(InvalidInputError, match="unknown SmartSessions mode"):
        encode_smart_session_signature(mode=mode, permission_id="0x" + "00" * 32, signature="0x")


def test_enable_mode_needs_enable_data() -> None:
    with pytest.raises(InvalidInputError, match="enable_session_data"):
        encode_smart_session_signature(mode="UNSAFE_ENABLE", signature="0x")


def test_chain_digest_index_out_of_range() -> None:
    digest = ChainDigest(chain_id=8453, session_digest="0x" + "00" * 32)
    with pytest.raises(InvalidInputError, match="chain_digest_index 1 is out of range"):
        EnableSession(
            chain_digest_index=1, hashes_and_chain_ids=[digest], session_to_enable=session(), permission_enable_sig="0x"
        )
    with pytest.raises(InvalidInputError, match="uint8"):
        EnableSession(
            chain_digest_index=256,
            hashes_and_chain_ids=[digest],
            session_to_enable=session(),
            permission_enable_sig="0x",
        )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("0x05", "passes the end"),  # literal run of 6 bytes, none present
        ("0x1f" + "00" * 10, "passes the end"),
        ("0x20", "cut off"),  # back-reference missing its offset byte
        ("0xe0", "cut off"),
        ("0x0041" + "2005", "before the output"),  # offset 6 back with only 1 byte written
    ],
)
def test_corrupt_compressed_payload(data: str, why: str) -> None:
    with pytest.raises(EncodingError) as info:
        flz_decompress(data)
    assert why in str(info.value)


def test_truncated_enable_signature() -> None:
    good = flz_compress(b"\x00" * 400)
    with pytest.raises(EncodingError):
        decode_smart_session_signature(signature=b"\x02" + good[:-3])
    with pytest.raises(EncodingError, match="not a valid ABI encoding"):
        decode_smart_session_signature(signature=b"\x02" + flz_compress(b"\x01" * 64))


@pytest.mark.parametrize(
    ("signature", "match"),
    [("0x", "empty"), ("0x00" + "11" * 20, "shorter than"), ("0x07" + "11" * 40, "unknown SmartSessions mode")],
)
def test_undecodable_signatures(signature: str, match: str) -> None:
    with pytest.raises(EncodingError, match=match):
        decode_smart_session_signature(signature=signature)


def test_unsupported_account_type() -> None:
    with pytest.raises(InvalidInputError, match="unsupported account type"):
        decode_smart_session_signature(signature=b"\x02" + flz_compress(b"\x00" * 64), account_type="argent")


def test_short_signature_with_wrong_prefix() -> None:
    with pytest.raises(EncodingError, match="0x177eee00"):
        decode_mee_short_signature("0x177eee01" + "00" * 96)


def test_merkle_inputs() -> None:
    with pytest.raises(InvalidInputError, match="at least one leaf"):
        MerkleTree([])
    tree = MerkleTree(["0x" + "01" * 32])
    with pytest.raises(InvalidInputError, match="is not a leaf"):
        tree.proof("0x" + "02" * 32)


def test_digest_inputs() -> None:
    with pytest.raises(InvalidInputError, match="nonce"):
        get_session_digest(session(), account=REDEEMER, nonce=-1)
    with pytest.raises(InvalidInputError, match="account"):
        get_session_digest(session(), account="0x12", nonce=0)


def test_permission_id_from_a_dict_with_bad_salt() -> None:
    with pytest.raises(InvalidInputError, match=r"session\.salt"):
        get_permission_id({"sessionValidator": VALIDATOR, "sessionValidatorInitData": "0x", "salt": "0x00"})


def test_zero_redeemer_is_refused() -> None:
    """K1MeeValidator 1.0.1 takes a signature that recovers no address as the zero address: a session granted to it
    would be open to anyone (tests/contracts/test_k1_malformed.py shows the validator's side)."""
    from smartsessions.sessions.grant import get_session_validator_init_data
    from smartsessions.versions import MEE_VERSIONS

    with pytest.raises(InvalidInputError, match="Invalid `redeemer`: is the zero address") as refused:
        get_session_validator_init_data(MEE_VERSIONS["2.0.0"], "0x" + "00" * 20)
    assert "the session signer's address" in str(refused.value)
    assert bytes(get_session_validator_init_data(MEE_VERSIONS["2.0.0"], "0x" + "00" * 19 + "01")) == bytes(19) + b"\1"


@given(st.text(alphabet="0123456789abcdefABCDEF \t\nxg\u0660\uff10", max_size=12))
@example("11 ")
@example("1 1")
@example(" 11 ")
def test_hex_strings_are_exactly_even_hex_digits(digits: str) -> None:
    valid = len(digits) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in digits)
    if valid:
        assert to_bytes("0x" + digits, field="f") == bytes.fromhex(digits)
    else:
        with pytest.raises(InvalidInputError):
            to_bytes("0x" + digits, field="f")
