"""Session details: what a grant produces and what ``use_permission`` consumes (spec §1.8).

They serialise to JSON without loss, so a grant made in one process (the owner's) can be stored and used in another
(the session signer's). Two JSON forms exist and both are read:

* the reference's storage form (abstractjs ``stringify``), where bigints are tagged
  ``{"__type": "bigint", "value": "8453"}``: written by :func:`session_details_to_json` by default;
* the wire form sent to the MEE node, where bigints are decimal strings: ``form="wire"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from hexbytes import HexBytes

from .._model import Bytes32, HexData, Model
from ..encoding.session import EnableSessionData, Mode
from ..errors import EncodingError

__all__ = [
    "MOCK_SIGNATURE",
    "SessionDetails",
    "session_details_from_json",
    "session_details_to_json",
    "to_wire_session_details",
]

#: module-sdk ``getOwnableValidatorMockSignature({threshold: 1})``: the placeholder ``signature`` of session details.
MOCK_SIGNATURE = bytes.fromhex(
    "e8b94748580ca0b4993c9a1b86b5be851bfc076ff5ce3a1ff65bf16392acfcb8"
    "00f9b4f1aef1555c7fce5599fffb17e7c635502154a0333ba21f3ae491839af51c"
)


class SessionDetails(Model):
    """One chain's permission: its id, the mode to use it in, and the data that enables it on first use."""

    mode: Mode
    permission_id: Bytes32
    signature: HexData = HexBytes(MOCK_SIGNATURE)
    enable_session_data: EnableSessionData

    @property
    def chain_id(self) -> int | None:
        return self.enable_session_data.enable_session.session_to_enable.chain_id


_BIGINT_TAG = "__type"


def _tag(value: int, form: str) -> Any:
    return {"__type": "bigint", "value": str(value)} if form == "reference" else str(value)


def _to_plain(details: SessionDetails, form: str) -> dict[str, Any]:
    out = details.model_dump(mode="json", by_alias=True)
    enable = out["enableSessionData"]["enableSession"]
    for digest in enable["hashesAndChainIds"]:
        digest["chainId"] = _tag(digest["chainId"], form)
    session = enable["sessionToEnable"]
    if session.get("chainId") is None:
        session.pop("chainId", None)
    else:
        session["chainId"] = _tag(session["chainId"], form)
    return out


def to_wire_session_details(details: SessionDetails) -> dict[str, Any]:
    """The JSON object the MEE node receives (bigints as decimal strings)."""
    return _to_plain(details, "wire")


def session_details_to_json(
    details: SessionDetails | Sequence[SessionDetails], *, form: Literal["reference", "wire"] = "reference"
) -> str:
    """JSON that abstractjs ``parse`` reads back (``form="reference"``), or the node's wire form."""
    if isinstance(details, SessionDetails):
        return json.dumps(_to_plain(details, form), separators=(",", ":"))
    return json.dumps([_to_plain(d, form) for d in details], separators=(",", ":"))


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_BIGINT_TAG) == "bigint" and set(value) == {"__type", "value"}:
            return int(value["value"])
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


def session_details_from_json(data: str | bytes | Sequence[Any] | dict[str, Any]) -> list[SessionDetails]:
    """Read session details written by us or by the reference (tagged or wire form).

    Accepts a JSON text or already-parsed JSON; an array gives its entries, a single object a one-element list.
    """
    if isinstance(data, (str, bytes)):
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            raise EncodingError(
                "Cannot read session details: the text is not JSON.",
                meta_messages=["Pass what session_details_to_json (or abstractjs stringify) wrote."],
                details=str(exc),
                cause=exc,
            ) from exc
    else:
        parsed = data
    items = parsed if isinstance(parsed, list) else [parsed]
    return [SessionDetails.model_validate(_untag(item)) for item in items]
