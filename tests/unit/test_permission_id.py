"""One permission-id type across the API (issue 15): :class:`PermissionId` is the ``"0x…"`` string and equals every
other spelling of the same 32 bytes, so the ids of session details, ``list_permissions``, ``check_enabled_permissions``
and errors compare with each other and with what a user pastes."""

from __future__ import annotations

import json

import pytest
from hexbytes import HexBytes
from hypothesis import given
from hypothesis import strategies as st

from smartsessions import PermissionId, get_permission_id
from smartsessions.encoding.session import SmartSessionMode
from smartsessions.encoding.signature import decode_smart_session_signature, encode_smart_session_signature
from smartsessions.errors import InvalidInputError, PolicyViolationError, SessionNotEnabledError
from smartsessions.wire.session import SessionDetails, session_details_from_json, session_details_to_json

RAW = bytes(range(1, 33))
LOWER = "0x" + RAW.hex()


def test_every_spelling_of_one_id_is_equal() -> None:
    pid = PermissionId(RAW)
    assert pid == LOWER and pid == LOWER.upper().replace("0X", "0x") and pid == "0X" + RAW.hex().upper()
    assert pid == RAW and pid == HexBytes(RAW) and pid == bytearray(RAW) and pid == memoryview(RAW)
    assert pid == PermissionId(LOWER.upper().replace("0X", "0x")) == PermissionId(HexBytes(RAW))
    assert (pid != LOWER) is False and (pid != RAW) is False  # __ne__ is str's otherwise
    assert str.__eq__(pid, LOWER)  # the string itself is the lower-case form
    assert isinstance(pid, str) and str(pid) == LOWER and type(str(pid)) is str
    assert json.dumps({"id": pid}) == json.dumps({"id": LOWER})


@pytest.mark.parametrize("other", ["0x" + "00" * 32, LOWER[:-2], LOWER + "00", LOWER[2:], "", RAW[:31], 1, None])
def test_anything_else_is_not_equal(other: object) -> None:
    pid = PermissionId(RAW)
    assert pid != other
    assert (pid == other) is False


def test_an_id_is_found_in_a_list_and_as_a_key() -> None:
    pid = PermissionId(RAW)
    listed = ["0x" + "ab" * 32, LOWER.upper().replace("0X", "0x")]
    assert pid in listed  # `in` a list compares with ==, whatever the case
    assert pid in {LOWER: 1} and LOWER in {pid: 1}  # keys: the lower-case string and the id hash alike
    assert {pid, PermissionId(LOWER), PermissionId(HexBytes(RAW))} == {pid}


def test_its_bytes_and_hex_forms() -> None:
    pid = PermissionId(LOWER)
    assert bytes(pid) == RAW and len(bytes(pid)) == 32
    assert pid.hex() == RAW.hex() == HexBytes(RAW).hex()  # as HexBytes.hex() gave it: no 0x
    assert pid.to_0x_hex() == LOWER == HexBytes(RAW).to_0x_hex()
    assert repr(pid) == f"PermissionId('{LOWER}')"
    assert PermissionId(pid) is pid


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0x" + "00" * 31, ValueError),
        ("0x" + "zz" * 32, ValueError),
        (RAW.hex(), ValueError),  # no 0x
        (" " + LOWER, ValueError),
        (RAW[:31], ValueError),
        (RAW + b"\x00", ValueError),
        (12, TypeError),
        (None, TypeError),
    ],
)
def test_what_is_not_an_id_is_refused(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        PermissionId(value)


@given(st.binary(min_size=32, max_size=32))
def test_round_trips(raw: bytes) -> None:
    pid = PermissionId(raw)
    assert bytes(pid) == raw
    assert PermissionId(str(pid).upper().replace("0X", "0x")) == pid == raw
    assert PermissionId(pid.to_0x_hex()) == pid


def _details() -> SessionDetails:
    # a reference-written USE detail (tests/vectors' shape), with the id in upper case
    return session_details_from_json(
        {
            "mode": "0x00",
            "permissionId": "0x" + RAW.hex().upper(),
            "signature": "0x",
            "enableSessionData": {
                "enableSession": {
                    "chainDigestIndex": 0,
                    "hashesAndChainIds": [{"chainId": "8453", "sessionDigest": "0x" + "33" * 32}],
                    "sessionToEnable": {
                        "sessionValidator": "0x" + "11" * 20,
                        "sessionValidatorInitData": "0x",
                        "salt": "0x" + "00" * 32,
                        "userOpPolicies": [],
                        "erc7739Policies": {"allowedERC7739Content": [], "erc1271Policies": []},
                        "actions": [],
                        "permitERC4337Paymaster": True,
                    },
                    "permissionEnableSig": "0x",
                },
                "validator": "0x" + "22" * 20,
                "accountType": "nexus",
            },
        }
    )[0]


def test_session_details_hold_one_and_write_the_lower_case_string() -> None:
    details = _details()
    assert type(details.permission_id) is PermissionId and details.permission_id == LOWER
    assert json.loads(session_details_to_json(details))["permissionId"] == LOWER
    assert session_details_from_json(session_details_to_json([details]))[0] == details


def test_a_malformed_id_in_details_names_the_field() -> None:
    text = session_details_to_json(_details()).replace(LOWER, "0x1234")
    with pytest.raises(InvalidInputError, match="permission_id"):
        session_details_from_json(text)


def test_the_id_of_a_session_and_of_a_signature_is_one() -> None:
    session = _details().enable_session_data.enable_session.session_to_enable
    pid = get_permission_id(session)
    assert type(pid) is PermissionId and pid == session.permission_id
    signature = encode_smart_session_signature(mode=SmartSessionMode.USE, permission_id=pid, signature=b"\x01" * 65)
    assert signature[1:33] == bytes(pid)
    decoded = decode_smart_session_signature(signature=signature)
    assert type(decoded.permission_id) is PermissionId and decoded.permission_id == pid


def test_errors_carry_the_id_type_and_keep_what_is_no_id() -> None:
    refused = PolicyViolationError("refused", permission_id=LOWER.upper().replace("0X", "0x"))
    assert type(refused.permission_id) is PermissionId and refused.permission_id == RAW
    assert SessionNotEnabledError("not enabled", permission_id=LOWER).permission_id == PermissionId(RAW)
    assert PolicyViolationError("refused", permission_id="(unknown)").permission_id == "(unknown)"
    assert PolicyViolationError("refused").permission_id is None
