"""What an owner hands a bot: :class:`SessionHandoff`, one versioned JSON document, and the one call that turns it
into the bot's client (:func:`create_session_client`).

Why a document of its own: the session details alone do not say which account they act for. The bot's client must
be built on the granter's account (``account_address`` on every chain), with the MEE version the account was built
with, on the chains the details cover; given details alone, a hurried developer builds the client on the bot's own
key's account, and every use is refused as "never enabled on this account". So the handoff carries, per chain, the
chain id, the granter's account address and the MEE version, and the session details (in the reference SDK's own
JSON form, so abstractjs ``parse`` reads them too), plus the session key's address, to refuse the wrong key before
anything is asked. It never holds a key: the bot brings its own.

The file format is ``{"format": "smartsessions.session-handoff", "version": 1, "sessionKey": ..., "chains": [...],
"sessionDetails": [...]}``. :meth:`SessionHandoff.load` also reads session details alone, as the reference's
``stringify`` or :func:`~smartsessions.session_details_to_json` write them, given the account they act for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from .._coerce import to_address
from .._json import loads_bounded
from .._model import Address, Model, Uint64
from ..errors import InvalidInputError, SessionSignerMismatchError
from ..permission_id import PermissionId
from ..versions import get_mee_version
from ..wire.session import SessionDetails, session_details_from_json, session_details_to_json

if TYPE_CHECKING:
    from ..account.multichain import MultichainNexusAccount
    from ..signer import AnySigner
    from .mee_actions import SessionClient

__all__ = ["HANDOFF_FORMAT", "HandoffChain", "SessionHandoff", "create_session_client", "to_session_handoff"]

HANDOFF_FORMAT: Literal["smartsessions.session-handoff"] = "smartsessions.session-handoff"
_VERSION: Literal[1] = 1
_FIELD = "handoff"
_MAX_DEPTH = 40  # the details' 32 levels and the document's own


class HandoffChain(Model):
    """One chain of a handoff: the granter's account on it and the MEE version that account was built with."""

    chain_id: Uint64
    account_address: Address
    mee_version: str


class SessionHandoff(Model):
    """Everything a bot needs to use a grant except its own key. Make it with :func:`to_session_handoff` (owner
    side), write it with :meth:`dump`, read it with :meth:`load`, and build the bot's client with
    :func:`create_session_client`."""

    format: Literal["smartsessions.session-handoff"] = HANDOFF_FORMAT
    version: Literal[1] = _VERSION
    #: The session key's address: the redeemer of every session in the details.
    session_key: Address
    chains: tuple[HandoffChain, ...] = Field(min_length=1)
    session_details: tuple[SessionDetails, ...] = Field(min_length=1)

    def chain(self, chain_id: int) -> HandoffChain:
        for chain in self.chains:
            if chain.chain_id == chain_id:
                return chain
        raise InvalidInputError(
            "chain_id",
            f"{chain_id} is not a chain of this handoff (its chains: {_chain_list(self)})",
            fix="use one of the handoff's chains",
        )

    @property
    def permission_ids(self) -> dict[int, PermissionId]:
        """The permission id on each chain of the details."""
        return {d.chain_id: d.permission_id for d in self.session_details if d.chain_id is not None}

    def dump(self) -> str:
        """The handoff as JSON text (the session details in the reference SDK's tagged form)."""
        details = json.loads(session_details_to_json(list(self.session_details)))
        return json.dumps(
            {
                "format": self.format,
                "version": self.version,
                "sessionKey": self.session_key,
                "chains": [c.model_dump(mode="json", by_alias=True) for c in self.chains],
                "sessionDetails": details,
            },
            indent=2,
        )

    @classmethod
    def load(
        cls,
        source: str | bytes | Path | Mapping[str, Any] | Sequence[Any],
        *,
        account_address: object = None,
        mee_version: str | None = None,
    ) -> SessionHandoff:
        """Read a handoff: JSON text, bytes, a file's :class:`~pathlib.Path`, or parsed JSON.

        Session details alone (a JSON array, as the reference's ``stringify`` or
        :func:`~smartsessions.session_details_to_json` write them) need ``account_address`` (the granter's account,
        the same on every chain, or a mapping from chain id to it) and ``mee_version`` (the account's MEE version):
        they are not in the details. Anything else is an :class:`InvalidInputError` naming the field."""
        parsed = _parsed(source)
        if isinstance(parsed, list) or (isinstance(parsed, dict) and "format" not in parsed and "mode" in parsed):
            return _from_bare_details(parsed, account_address, mee_version)
        if not isinstance(parsed, dict):
            raise InvalidInputError(_FIELD, "is neither a handoff document nor session details", fix=_LOAD_FIX)
        if parsed.get("format") != HANDOFF_FORMAT:
            raise InvalidInputError(
                f"{_FIELD}.format",
                f"is {str(parsed.get('format'))[:80]!r}, not {HANDOFF_FORMAT!r}",
                fix=_LOAD_FIX,
            )
        if parsed.get("version") != _VERSION:
            raise InvalidInputError(
                f"{_FIELD}.version",
                f"is {str(parsed.get('version'))[:20]}; this SDK reads version {_VERSION}",
                fix="write the handoff with this SDK's version, or upgrade the SDK that reads it",
            )
        raw_details = parsed.get("sessionDetails")
        if not isinstance(raw_details, list):
            raise InvalidInputError(f"{_FIELD}.sessionDetails", "is missing or not a list", fix=_LOAD_FIX)
        document = {**parsed, "sessionDetails": session_details_from_json(raw_details)}
        return _checked(cls.model_validate(document))


def _chain_list(handoff: SessionHandoff) -> str:
    return ", ".join(str(c.chain_id) for c in handoff.chains)


_LOAD_FIX = "pass what SessionHandoff.dump() wrote (or session details with account_address and mee_version)"


def _parsed(source: object) -> Any:
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                _FIELD, f"cannot be read from the file {exc.filename}: {exc.strerror}", fix=_LOAD_FIX
            ) from exc
    if isinstance(source, (str, bytes, bytearray)):
        return loads_bounded(source, field=_FIELD, max_depth=_MAX_DEPTH, fix=_LOAD_FIX, refuse_lone_surrogates=True)
    return source


def _from_bare_details(parsed: Any, account_address: object, mee_version: str | None) -> SessionHandoff:
    details = session_details_from_json(parsed)
    if account_address is None or mee_version is None:
        missing = "account_address" if account_address is None else "mee_version"
        raise InvalidInputError(
            missing,
            "is needed with session details alone: they do not say which account they act for, nor its MEE version",
            fix="pass account_address= (the granter's account) and mee_version=, or load a handoff document",
        )
    get_mee_version(mee_version)  # an unknown version is refused here, naming it
    chains = list(dict.fromkeys(d.chain_id for d in details if d.chain_id is not None))
    if isinstance(account_address, Mapping):
        missing_chains = [c for c in chains if c not in account_address]
        if missing_chains:
            raise InvalidInputError(
                f"account_address[{missing_chains[0]}]",
                "is missing: the details cover that chain",
                fix="give the granter's account address on every chain of the details",
            )
        addresses = {c: account_address[c] for c in chains}
    else:
        addresses = dict.fromkeys(chains, account_address)
    return _checked(
        SessionHandoff(
            session_key=_redeemer(details),
            chains=tuple(
                HandoffChain(chain_id=c, account_address=addresses[c], mee_version=mee_version) for c in chains
            ),
            session_details=tuple(details),
        )
    )


def _redeemer(details: Sequence[SessionDetails]) -> str:
    """The one session key of the details (the K1MeeValidator owner, 20 bytes of init data)."""
    keys = set()
    for k, d in enumerate(details):
        key = d.session_key
        if key is None:
            raise InvalidInputError(
                f"session_details[{k}]",
                "has session validator init data that is not a session key's address (20 bytes)",
                fix="use session details from a grant or a PREPARE of this SDK or of abstractjs",
            )
        keys.add(key)
    if len(keys) != 1:
        raise InvalidInputError(
            "session_details",
            f"are granted to {len(keys)} different session keys ({', '.join(sorted(keys))})",
            fix="hand each session key its own details",
        )
    return keys.pop()


def _checked(handoff: SessionHandoff) -> SessionHandoff:
    """Every chain of the details is a chain of the handoff, once; the details' session key is ``session_key``."""
    chains = [c.chain_id for c in handoff.chains]
    if len(set(chains)) != len(chains):
        raise InvalidInputError("handoff.chains", "lists a chain twice", fix="list each chain once")
    for k, d in enumerate(handoff.session_details):
        if d.chain_id is None:
            raise InvalidInputError(
                f"handoff.session_details[{k}]",
                "has no chain id",
                fix="use session details from a grant or a PREPARE",
            )
        if d.chain_id not in chains:
            raise InvalidInputError(
                f"handoff.session_details[{k}]",
                f"is for chain {d.chain_id}, which the handoff's chains do not list",
                fix="make the handoff with to_session_handoff from the account the details were granted on",
            )
    if _redeemer(handoff.session_details) != handoff.session_key:
        raise InvalidInputError(
            "handoff.session_key",
            "is not the session key the details are granted to",
            fix="make the handoff with to_session_handoff",
        )
    return handoff


def to_session_handoff(session_details: Sequence[SessionDetails], *, account: MultichainNexusAccount) -> SessionHandoff:
    """The handoff of ``session_details`` (a grant's, or a PREPARE's ``quote.session_details``) granted on
    ``account`` (the owner's multichain account: its address and MEE version on each chain of the details). No I/O."""
    details = tuple(session_details)
    if not details:
        raise InvalidInputError("session_details", "is empty", fix="pass the details a grant or a PREPARE returned")
    chains = []
    for chain_id in dict.fromkeys(d.chain_id for d in details if d.chain_id is not None):  # in the details' order
        deployment = account.deployment_on(chain_id)  # ChainNotConfiguredError for a chain the account lacks
        chains.append(
            HandoffChain(chain_id=chain_id, account_address=deployment.address, mee_version=deployment.version.version)
        )
    return _checked(SessionHandoff(session_key=_redeemer(details), chains=tuple(chains), session_details=details))


async def create_session_client(
    handoff: SessionHandoff | str | bytes | Path,
    *,
    signer: AnySigner,
    rpc_urls: Mapping[int, str],
    url: str | None = None,
    api_key: str | None = None,
    **mee_options: Any,
) -> SessionClient:
    """The bot's client from a handoff and its own key: the granter's account on every chain of the handoff (at
    ``rpc_urls[chain_id]``), an MEE client on it (``url``, ``api_key`` and ``mee_options`` as
    :func:`~smartsessions.create_mee_client` takes them), with the session actions bound. Use it with
    ``handoff.session_details``.

    Refused before anything is asked: a ``signer`` that is not the handoff's session key
    (:class:`~smartsessions.errors.SessionSignerMismatchError`), and a chain of the handoff without an RPC URL."""
    from ..account.multichain import ChainConfiguration, to_multichain_nexus_account
    from ..mee.client import create_mee_client
    from .mee_actions import mee_session_actions

    if not isinstance(handoff, SessionHandoff):
        handoff = SessionHandoff.load(handoff)
    signer_address = to_address(getattr(signer, "address", None), field="signer.address")
    if signer_address != handoff.session_key:
        raise SessionSignerMismatchError(
            f"This handoff's session key is {handoff.session_key}, but the signer is {signer_address}.",
            redeemer=handoff.session_key,
            signer=signer_address,
            meta_messages=["Fix: sign with the session key the owner granted (its private key stays with the bot)."],
        )
    if not isinstance(rpc_urls, Mapping):
        raise InvalidInputError("rpc_urls", "is not a mapping", fix="pass {chain_id: 'https://...'} for every chain")
    missing = [c.chain_id for c in handoff.chains if c.chain_id not in rpc_urls]
    if missing:
        raise InvalidInputError(
            f"rpc_urls[{missing[0]}]",
            f"is missing: the handoff's permission covers chain {missing[0]}",
            fix=f"pass an RPC URL for each of the handoff's chains ({_chain_list(handoff)})",
        )
    configs = [
        ChainConfiguration(
            chain_id=c.chain_id,
            rpc_url=rpc_urls[c.chain_id],
            version=c.mee_version,
            account_address=c.account_address,
        )
        for c in handoff.chains
    ]
    account = await to_multichain_nexus_account(signer=signer, chain_configurations=configs)
    try:
        options = dict(mee_options)
        if url is not None:
            options["url"] = url
        mee = await create_mee_client(account=account, api_key=api_key, **options)
    except BaseException:
        await account.aclose()
        raise
    return mee.extend(mee_session_actions)
