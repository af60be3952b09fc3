"""``SessionHandoff`` without a chain (issue 15 item 1): its JSON document round-trips, reads the reference's tagged
session details alone given the account, and refuses what is not a handoff, naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smartsessions import InvalidInputError, SessionHandoff, session_details_from_json, session_details_to_json

KEY = "0x" + "AB" * 20
ACCOUNT = "0x" + "cd" * 20


def _detail(chain_id: int, key: str = KEY, salt: int = 0) -> dict[str, Any]:
    """Session details as abstractjs ``stringify`` writes them (tagged bigints)."""
    return {
        "mode": "0x00",
        "permissionId": "0x" + f"{chain_id:064x}",
        "signature": "0x",
        "enableSessionData": {
            "enableSession": {
                "chainDigestIndex": 0,
                "hashesAndChainIds": [
                    {"chainId": {"__type": "bigint", "value": str(chain_id)}, "sessionDigest": "0x" + "33" * 32}
                ],
                "sessionToEnable": {
                    "sessionValidator": "0x" + "11" * 20,
                    "sessionValidatorInitData": key,
                    "salt": "0x" + f"{salt:064x}",
                    "userOpPolicies": [],
                    "erc7739Policies": {"allowedERC7739Content": [], "erc1271Policies": []},
                    "actions": [],
                    "permitERC4337Paymaster": True,
                    "chainId": {"__type": "bigint", "value": str(chain_id)},
                },
                "permissionEnableSig": "0x",
            },
            "validator": "0x" + "22" * 20,
            "accountType": "nexus",
        },
    }


def _handoff() -> SessionHandoff:
    return SessionHandoff.load([_detail(8453), _detail(10)], account_address=ACCOUNT, mee_version="2.1.0")


def test_the_reference_details_alone_make_a_handoff_given_the_account() -> None:
    handoff = _handoff()
    assert handoff.session_key.lower() == KEY.lower() and handoff.session_key != KEY  # checksummed
    assert [(c.chain_id, c.account_address.lower(), c.mee_version) for c in handoff.chains] == [
        (8453, ACCOUNT, "2.1.0"),
        (10, ACCOUNT, "2.1.0"),
    ]
    assert handoff.permission_ids == {8453: "0x" + f"{8453:064x}", 10: "0x" + f"{10:064x}"}
    per_chain = SessionHandoff.load(json.dumps([_detail(8453)]), account_address={8453: ACCOUNT}, mee_version="2.1.0")
    assert per_chain.chains[0].account_address.lower() == ACCOUNT


def test_dump_and_load_round_trip_and_the_details_stay_the_references() -> None:
    handoff = _handoff()
    text = handoff.dump()
    assert SessionHandoff.load(text) == handoff
    assert SessionHandoff.load(text.encode()) == handoff
    document = json.loads(text)
    # the details inside are what abstractjs parse reads: its tagged bigints, as session_details_to_json writes
    assert document["sessionDetails"] == json.loads(session_details_to_json(list(handoff.session_details)))
    assert session_details_from_json(document["sessionDetails"]) == list(handoff.session_details)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(version=2), "handoff.version"),
        (lambda d: d.update(format="something-else"), "handoff.format"),
        (lambda d: d.pop("sessionDetails"), "handoff.sessionDetails"),
        (lambda d: d["chains"].pop(), "handoff.session_details[1]"),
        (lambda d: d["chains"].append(dict(d["chains"][0])), "handoff.chains"),
        (lambda d: d.update(sessionKey="0x" + "ef" * 20), "handoff.session_key"),
    ],
)
def test_what_is_not_a_handoff_is_refused_naming_the_field(edit: Any, field: str) -> None:
    document = json.loads(_handoff().dump())
    edit(document)
    with pytest.raises(InvalidInputError) as refused:
        SessionHandoff.load(json.dumps(document))
    assert refused.value.field == field


def test_details_alone_need_the_account_and_one_session_key() -> None:
    with pytest.raises(InvalidInputError) as no_account:
        SessionHandoff.load([_detail(8453)])
    assert no_account.value.field == "account_address"
    with pytest.raises(InvalidInputError) as no_version:
        SessionHandoff.load([_detail(8453)], account_address=ACCOUNT)
    assert no_version.value.field == "mee_version"
    with pytest.raises(InvalidInputError) as missing_chain:
        SessionHandoff.load([_detail(8453), _detail(10)], account_address={8453: ACCOUNT}, mee_version="2.1.0")
    assert missing_chain.value.field == "account_address[10]"
    with pytest.raises(InvalidInputError) as two_keys:
        SessionHandoff.load(
            [_detail(8453), _detail(10, key="0x" + "12" * 20)], account_address=ACCOUNT, mee_version="2.1.0"
        )
    assert two_keys.value.field == "session_details"


@pytest.mark.parametrize("text", ["", "not json", '"a string"', "[" * 100 + "]" * 100, '{"format": "\\ud800"}'])
def test_hostile_text_is_an_invalid_input_error(text: str) -> None:
    with pytest.raises(InvalidInputError):
        SessionHandoff.load(text)


def test_a_chain_of_the_handoff_is_found_or_named() -> None:
    handoff = _handoff()
    assert handoff.chain(10).chain_id == 10
    with pytest.raises(InvalidInputError, match="8453, 10"):
        handoff.chain(137)
