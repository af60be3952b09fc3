"""Session details: what a grant produces and what ``use_permission`` consumes (spec §1.8).

They serialise to JSON without loss, so a grant made in one process (the owner's) can be stored and used in another
(the session signer's). Two JSON forms exist and both are read:

* the reference's storage form (abstractjs ``stringify``), where bigints are tagged
  ``{"__type": "bigint", "value": "8453"}``: written by :func:`session_details_to_json` by default;
* the wire form sent to the MEE node, where bigints are decimal strings: ``form="wire"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from hexbytes import HexBytes

from .._coerce import to_address
from .._json import loads_bounded
from .._model import HexData, Model, PermissionIdField
from .._repr import bounded_repr
from ..encoding.session import EnableSessionData, Mode
from ..errors import InvalidInputError

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
    permission_id: PermissionIdField
    signature: HexData = HexBytes(MOCK_SIGNATURE)
    enable_session_data: EnableSessionData

    @property
    def chain_id(self) -> int | None:
        return self.enable_session_data.enable_session.session_to_enable.chain_id

    @property
    def session_key(self) -> str | None:
        """The session key the permission is granted to (the redeemer): the K1MeeValidator's owner, its 20 bytes of
        init data, checksummed; None for init data of another shape (another session validator)."""
        init = bytes(self.enable_session_data.enable_session.session_to_enable.session_validator_init_data)
        return to_address(init, field="session_validator_init_data") if len(init) == 20 else None


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


_FIELD = "session_details"
_FIX = "pass what session_details_to_json (or abstractjs stringify) wrote"
#: Session details nest about 8 levels (a list of them, the enable data, the session, its ERC-7739 contents).
_MAX_DEPTH = 32
# A tagged bigint's value as abstractjs writes it (bigint.toString()); a uint256 has at most 78 digits.
_BIGINT_DIGITS = re.compile(r"\s*[-+]?[0-9]{1,78}\s*")


def _untag(value: Any, path: str, depth: int = 0) -> Any:
    """``value`` with the reference's tagged bigints (``{"__type": "bigint", "value": "8453"}``) read as ints."""
    if depth > _MAX_DEPTH:
        raise InvalidInputError(
            path,
            f"nests more than {_MAX_DEPTH} levels deep",
            fix=_FIX,
        )
    if isinstance(value, dict):
        if value.get(_BIGINT_TAG) == "bigint" and set(value) == {"__type", "value"}:
            digits = value["value"]
            if isinstance(digits, int) and not isinstance(digits, bool) and digits.bit_length() <= 256:
                return digits
            if not isinstance(digits, str) or not _BIGINT_DIGITS.fullmatch(digits):
                raise InvalidInputError(
                    f"{path}.value",
                    "a tagged bigint's value must be a decimal string of at most 78 digits",
                    fix='write it as abstractjs stringify does: {"__type": "bigint", "value": "8453"}',
                    value=digits,
                )
            return int(digits)
        return {
            k: _untag(v, f"{path}.{k if isinstance(k, str) else bounded_repr(k, 40)}", depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_untag(v, f"{path}[{k}]", depth + 1) for k, v in enumerate(value)]
    return value


def session_details_from_json(data: str | bytes | Sequence[Any] | dict[str, Any]) -> list[SessionDetails]:
    """Read session details written by us or by the reference (tagged or wire form).

    Accepts a JSON text (``str``, or ``bytes`` in UTF-8) or already-parsed JSON; an array gives its entries, a single
    object a one-element list. Anything else raises :class:`~smartsessions.errors.InvalidInputError`: text that is
    not JSON, or nests deeper or is larger than session details can be (see :func:`smartsessions._json.loads_bounded`),
    and values that do not fit the model.
    """
    if isinstance(data, (str, bytes, bytearray, memoryview)):
        parsed = loads_bounded(data, field=_FIELD, max_depth=_MAX_DEPTH, fix=_FIX, refuse_lone_surrogates=True)
    else:
        parsed = data
    items = parsed if isinstance(parsed, list) else [parsed]
    many = isinstance(parsed, list)
    return [
        SessionDetails.model_validate(_untag(item, f"{_FIELD}[{k}]" if many else _FIELD))
        for k, item in enumerate(items)
    ]
