"""The new session flow (abstractjs ``getSessionQuote``, ``signSessionQuote``, ``executeSessionQuote``): the owner
PREPAREs the account (deploy, install SmartSessions, enable the sessions on chain) in one super-transaction, then the
session key USEs the enabled sessions from its own process::

    prepared = await get_session_quote(owner_client, mode="PREPARE",
                                       enable_session={"redeemer": bot.address, "actions": actions},
                                       fee_token=fee)
    await execute_session_quote(owner_client, prepared)       # then hand prepared.session_details to the bot
    quote = await get_session_quote(bot_client, mode="USE", session_details=details, instructions=[...],
                                    fee_token=fee)
    result = await execute_session_quote(bot_client, quote)

The legacy seed flow (:func:`~smartsessions.sessions.mee_actions.prepare_for_permissions` and
:func:`~smartsessions.sessions.mee_actions.use_permission`) runs through these same functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..account.instructions import AnyInstruction, ComposableInstruction, batch_instructions, to_instruction
from ..encoding.session import SmartSessionMode
from ..errors import InvalidInputError
from ..mee.client import ExecuteResult, FusionQuote, MeeClient, MeeQuote, SignedMeeQuote, SponsorshipOptions
from ..mee.request import to_fee_token
from ..wire.mee import FeeTokenInfo, Simulation, Trigger
from ..wire.session import SessionDetails
from .actions import SmartSessionsModule
from .prepare import (
    EnableSessionParams,
    decimals_call,
    enable_instructions,
    install_reads,
    module_address,
    to_enable_session,
)
from .use import details_list, quote_use, with_session_details

__all__ = [
    "SessionQuote",
    "execute_session_quote",
    "get_session_quote",
    "sign_session_quote",
]

QuoteType = Literal["simple", "permit", "onchain"]

#: The reference's refusal of grant-flow details in USE, with what to do instead.
ENABLE_AND_USE_NOT_SUPPORTED = (
    "ENABLE_AND_USE mode is not supported, session details is invalid: these details carry mode ENABLE_AND_USE (a "
    "grant's, which enable the session in its first use); get_session_quote(mode='USE') takes details of sessions "
    "enabled on chain"
)


@dataclass(frozen=True)
class SessionQuote:
    """What :func:`get_session_quote` returns (the reference's ``{quoteType, quote, sessionDetails?}``).

    ``quote`` is a :class:`~smartsessions.mee.results.MeeQuote` for ``"simple"`` quotes and a
    :class:`~smartsessions.mee.results.FusionQuote` (the trigger funds the account from the owner's EOA) for
    ``"permit"`` and ``"onchain"``. ``session_details``: in PREPARE, the details of the sessions it enables (mode
    USE, one per chain), to hand to the session key; in USE, the details the userOps are signed with.
    ``mode`` is the session mode the userOps carry (None for PREPARE, whose userOps the owner signs)."""

    quote_type: QuoteType
    quote: MeeQuote | FusionQuote
    session_details: tuple[SessionDetails, ...] | None = None
    mode: SmartSessionMode | None = None

    @property
    def hash(self) -> str:
        """The super-transaction hash."""
        return self.mee_quote.hash

    @property
    def mee_quote(self) -> MeeQuote:
        """The node's quote itself (a fusion quote's inner quote)."""
        return self.quote.quote if isinstance(self.quote, FusionQuote) else self.quote


def _to_instructions(instructions: Sequence[AnyInstruction | dict[str, Any]] | None) -> list[AnyInstruction]:
    return [to_instruction(i) for i in instructions or ()]


async def _prepare(
    client: MeeClient,
    *,
    enable_session: EnableSessionParams | Mapping[str, Any] | None,
    smart_session_validator_address: SmartSessionsModule | str | None,
    instructions: Sequence[AnyInstruction | dict[str, Any]] | None,
    fee_token: FeeTokenInfo | Mapping[str, Any] | None,
    sponsorship: bool,
    sponsorship_options: SponsorshipOptions | None,
    trigger: Trigger | Mapping[str, Any] | None,
    batch: bool,
    simulation: Simulation | Mapping[str, Any] | None,
) -> SessionQuote | None:
    fee = to_fee_token(fee_token)
    if fee is None and not sponsorship:
        raise InvalidInputError("fee_token", "is required unless sponsored", fix="pass fee_token=, or sponsorship=True")
    module = module_address(smart_session_validator_address)
    enable = None if enable_session is None else to_enable_session(enable_session)
    account = client.account
    extra = _to_instructions(instructions)
    enable_fee = None if sponsorship else fee
    # The fee token's decimals() (for the default fee budget) rides in its chain's batch of install reads: one
    # round trip per chain before the quote. The enables are then built without a read of their own.
    decimals = None if enable is None else decimals_call(client, enable, enable_fee)
    fee_chain = None if decimals is None or enable_fee is None else enable_fee.chain_id
    installs = await asyncio.gather(
        *(
            install_reads(d, module, [decimals] if decimals is not None and d.chain_id == fee_chain else [])
            for d in account.deployments
        )
    )
    enables: list[ComposableInstruction] = []
    details: list[SessionDetails] = []
    if enable is not None:
        answer = next((answers[0] for d, (_, answers) in zip(account.deployments, installs, strict=True)
                       if d.chain_id == fee_chain), None)  # fmt: skip
        enables, details = await enable_instructions(
            client, enable, module=module, fee_token=enable_fee, decimals=answer
        )
    install = [i for i, _ in installs if i is not None]
    if not (install or enables or extra or trigger is not None):
        return None
    first: list[AnyInstruction] = [*install, *extra]
    # The install and the caller's instructions are batched per chain; the enables follow, one userOp each when
    # batch_actions is off (then the whole quote is unbatched, as the reference does).
    ordered: list[AnyInstruction] = [*(batch_instructions(first) if batch else first), *enables]
    unbatched = enable is not None and not enable.batch_actions and bool(enables)
    quote_batch = False if unbatched else batch
    session_details = tuple(details) if details else None
    if trigger is not None:
        fusion = await client.get_fusion_quote(
            trigger=trigger,
            instructions=ordered,
            fee_token=fee,
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            batch=quote_batch,
            simulation=simulation,
        )
        kind: QuoteType = "onchain" if fusion.quote.quote_type == "onchain" else "permit"
        return SessionQuote(quote_type=kind, quote=fusion, session_details=session_details)
    quote = await client.get_quote(
        instructions=ordered,
        fee_token=fee,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options,
        batch=quote_batch,
        simulation=simulation,
    )
    return SessionQuote(quote_type="simple", quote=quote, session_details=session_details)


async def get_session_quote(
    client: MeeClient,
    *,
    mode: Literal["PREPARE", "USE"],
    enable_session: EnableSessionParams | Mapping[str, Any] | None = None,
    smart_session_validator_address: SmartSessionsModule | str | None = None,
    session_details: Sequence[SessionDetails] | SessionDetails | None = None,
    instructions: Sequence[AnyInstruction | dict[str, Any]] | None = None,
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
    sponsorship: bool = False,
    sponsorship_options: SponsorshipOptions | None = None,
    trigger: Trigger | Mapping[str, Any] | None = None,
    batch: bool = True,
    verification_gas_limit: int | None = None,
    simulation: Simulation | Mapping[str, Any] | None = None,
) -> SessionQuote | None:
    """A quote of the new session flow (abstractjs ``getSessionQuote``).

    ``mode="PREPARE"`` (the owner's client): deploy the account where it is not, install SmartSessions (with its
    safe sender) where it is not, and with ``enable_session`` (:class:`~.prepare.EnableSessionParams`: ``redeemer``,
    ``actions``, ``max_payment_amount``, ``batch_actions``, ``fee_recipient``) enable the sessions on chain; plus
    ``instructions`` of the owner's own, and with ``trigger`` the account funded from the owner's EOA (then a
    ``"permit"`` or ``"onchain"`` quote). The result's ``session_details`` (mode USE) are what the session key needs.
    Returns None when there is nothing to do.

    ``mode="USE"`` (the session key's client, on the granter's account): run ``instructions`` within enabled
    sessions' ``session_details``. What the chains already decide (the permission is not enabled, its time frame is
    over, the client's key is not the session's) is refused before anything is asked or signed."""
    if mode == "PREPARE":
        if session_details is not None:
            raise InvalidInputError(
                "session_details",
                "is for mode USE; PREPARE returns the details of the sessions it enables",
                fix="pass enable_session= to enable sessions, or use mode='USE'",
            )
        return await _prepare(
            client,
            enable_session=enable_session,
            smart_session_validator_address=smart_session_validator_address,
            instructions=instructions,
            fee_token=fee_token,
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            trigger=trigger,
            batch=batch,
            simulation=simulation,
        )
    if mode != "USE":
        raise InvalidInputError("mode", "must be 'PREPARE' or 'USE'", value=mode)
    for name, value in (
        ("enable_session", enable_session),
        ("smart_session_validator_address", smart_session_validator_address),
        ("trigger", trigger),
    ):
        if value is not None:
            raise InvalidInputError(
                name, "is for mode PREPARE; a session key's USE runs through the sessions' details alone"
            )
    if session_details is None:
        raise InvalidInputError("session_details", "is required in mode USE", fix="pass the details PREPARE returned")
    details = details_list(session_details)
    if any(d.mode is SmartSessionMode.UNSAFE_ENABLE for d in details):
        raise InvalidInputError(
            "session_details",
            ENABLE_AND_USE_NOT_SUPPORTED,
            fix="enable the session with get_session_quote(mode='PREPARE', enable_session=...), or use a grant's "
            "details with use_permission(mode='ENABLE_AND_USE')",
        )
    quote = await quote_use(
        client,
        details=details,
        mode=SmartSessionMode.USE,
        instructions=instructions,
        fee_token=fee_token,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options,
        verification_gas_limit=verification_gas_limit,
        batch=batch,
        simulation=simulation,
    )
    return SessionQuote(quote_type="simple", quote=quote, session_details=tuple(details), mode=SmartSessionMode.USE)


async def sign_session_quote(
    client: MeeClient, session_quote: SessionQuote, *, confirmations: int = 2, timeout: float = 120.0
) -> SignedMeeQuote:
    """Sign a session quote by its type: ``"simple"`` with the account's signer (a USE quote's userOps then carry
    the sessions' details), ``"permit"`` with the owner's ERC-2612 permit, ``"onchain"`` by sending the EOA's
    ``approve`` and waiting ``confirmations`` blocks."""
    quote = session_quote.quote
    if isinstance(quote, FusionQuote):
        return await client.sign_fusion_quote(quote, confirmations=confirmations, timeout=timeout)
    signed = await client.sign_quote(quote)
    if session_quote.mode is None or session_quote.session_details is None:
        return signed
    return with_session_details(signed, session_quote.session_details, session_quote.mode)


async def execute_session_quote(
    client: MeeClient, session_quote: SessionQuote, *, confirmations: int = 2, timeout: float = 120.0
) -> ExecuteResult:
    """Sign (:func:`sign_session_quote`) and submit; a fusion quote is submitted with its trigger."""
    signed = await sign_session_quote(client, session_quote, confirmations=confirmations, timeout=timeout)
    if isinstance(session_quote.quote, FusionQuote):
        signed = signed.with_trigger(session_quote.quote.trigger)
    return await client.execute_signed_quote(signed)
