"""The session actions that go through the MEE node: prepare (spec §5), use (§6), revoke; and
:func:`mee_session_actions`, which binds them (with the grants and status reads of :mod:`.actions`) to a client::

    session_client = mee_client.extend(mee_session_actions)
    await session_client.prepare_for_permissions(smart_sessions_validator=module, fee_token=fee, trigger=trigger)
    details = await session_client.grant_permission_typed_data_sign(redeemer=..., actions=[...], fee_token=fee)
    result = await redeemer_client.use_permission(session_details=details, mode="ENABLE_AND_USE", ...)

Every action is a free function taking the client first; the bound client also forwards everything else to the
MEE client (``session_client.wait_for_supertransaction_receipt(...)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._coerce import to_bytes32
from ..account.calls import Call
from ..account.instructions import AnyInstruction, Instruction
from ..encoding.abi import encode_function_call
from ..encoding.session import SmartSessionMode
from ..errors import InvalidInputError
from ..mee.client import ExecuteResult, MeeClient, SponsorshipOptions
from ..mee.request import SmartSessionModeName, to_session_mode
from ..policies.payment import SessionAction
from ..policies.user_op import UserOpPolicies
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo, Simulation, Trigger
from ..wire.session import SessionDetails
from .actions import (
    SmartSessionsModule,
    check_enabled_permissions,
    grant_permission_personal_sign,
    grant_permission_typed_data_sign,
    is_permission_enabled,
    list_permissions,
)
from .build import build_session_action
from .dry_run import dry_run_use
from .grant import ActionConfig
from .prepare import EnableSessionParams
from .session_quote import SessionQuote, execute_session_quote, get_session_quote, sign_session_quote
from .status import session_status
from .use import ENABLE_AND_USE_ERROR, check_enable_mode, details_list, quote_use

__all__ = [
    "ENABLE_AND_USE_ERROR",
    "PrepareForPermissionsResult",
    "SessionClient",
    "mee_session_actions",
    "prepare_for_permissions",
    "revoke_permission",
    "use_permission",
]


@dataclass(frozen=True)
class PrepareForPermissionsResult:
    """The prepare super-transaction's ``hash``; with ``redeemer`` and ``actions``, the enabled sessions' details
    (mode USE, one per chain)."""

    hash: str
    session_details: list[SessionDetails] | None = None


# -- prepare (spec §5) ------------------------------------------------------------------------------------------------


async def prepare_for_permissions(
    client: MeeClient,
    *,
    smart_sessions_validator: SmartSessionsModule | str,
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
    trigger: Trigger | Mapping[str, Any] | None = None,
    redeemer: object = None,
    actions: Sequence[ActionConfig | SessionAction | dict[str, Any]] | None = None,
    sponsorship: bool = False,
    sponsorship_options: SponsorshipOptions | None = None,
    max_payment_amount: int | None = None,
    batch_actions: bool = True,
    fee_recipient: object = None,
    user_op_policies: UserOpPolicies = None,
    additional_instructions: Sequence[AnyInstruction | dict[str, Any]] | None = None,
    batch: bool = True,
    simulation: Simulation | Mapping[str, Any] | None = None,
    confirmations: int = 2,
) -> PrepareForPermissionsResult | None:
    """Deploy the account where needed, install SmartSessions and make it a safe sender of the K1MeeValidator, on
    every chain of the account, in one owner-signed super-transaction (spec §5). With ``redeemer`` and ``actions``,
    also enable a session per chain and return its details (use them with mode ``USE``); ``max_payment_amount``,
    ``batch_actions``, ``fee_recipient`` and ``user_op_policies`` as in :class:`~.prepare.EnableSessionParams`. With
    ``trigger``, the owner's EOA funds the account in the same super-transaction: through an ERC-2612 permit, or, for
    a token without one, an ``approve`` transaction the EOA sends and waits ``confirmations`` blocks for (2 by
    default, as the reference SDK; pass 1 on a chain that mines only on demand).

    The seed's call, kept; it is :func:`~.session_quote.get_session_quote` (mode ``"PREPARE"``) and
    :func:`~.session_quote.execute_session_quote` in one. Returns None when there is nothing to do."""
    enable = None
    if redeemer is not None and actions is not None:
        enable = EnableSessionParams(
            redeemer=redeemer,
            actions=tuple(actions),
            max_payment_amount=max_payment_amount,
            batch_actions=batch_actions,
            fee_recipient=fee_recipient,
            user_op_policies=user_op_policies,
        )
    prepared = await get_session_quote(
        client,
        mode="PREPARE",
        enable_session=enable,
        smart_session_validator_address=smart_sessions_validator,
        instructions=additional_instructions,
        fee_token=fee_token,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options,
        trigger=trigger,
        batch=batch,
        simulation=simulation,
    )
    if prepared is None:
        return None
    result = await execute_session_quote(client, prepared, confirmations=confirmations)
    details = None if prepared.session_details is None else list(prepared.session_details)
    return PrepareForPermissionsResult(hash=result.hash, session_details=details)


# -- use (spec §6) ----------------------------------------------------------------------------------------------------


async def use_permission(
    client: MeeClient,
    *,
    session_details: Sequence[SessionDetails] | SessionDetails,
    mode: SmartSessionModeName | SmartSessionMode,
    instructions: Sequence[Instruction | dict[str, Any]],
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
    sponsorship: bool = False,
    sponsorship_options: SponsorshipOptions | None = None,
    verification_gas_limit: int | None = None,
    batch: bool = True,
    simulation: Simulation | Mapping[str, Any] | None = None,
) -> ExecuteResult:
    """Run ``instructions`` as the session signer, within the permission (spec §6): on the first use of grant-flow
    details, ``mode="ENABLE_AND_USE"`` enables the permission in the same userOp; afterwards (and for details from
    :func:`prepare_for_permissions`) ``mode="USE"``. The client's account is the granter's account, signed for by
    the session signer. Returns the super-transaction hash (wait for it with
    ``wait_for_supertransaction_receipt``).

    The seed's call, kept; for mode USE it is :func:`~.session_quote.get_session_quote` (mode ``"USE"``) and
    :func:`~.session_quote.execute_session_quote` in one."""
    session_mode = to_session_mode(mode, field="mode")
    details = details_list(session_details)
    check_enable_mode(session_mode, details, mode)
    quote = await quote_use(
        client,
        details=details,
        mode=session_mode,
        instructions=instructions,
        fee_token=fee_token,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options,
        verification_gas_limit=verification_gas_limit,
        batch=batch,
        simulation=simulation,
    )
    used = SessionQuote(quote_type="simple", quote=quote, session_details=tuple(details), mode=session_mode)
    return await execute_session_quote(client, used)


# -- revoke -----------------------------------------------------------------------------------------------------------


async def revoke_permission(
    client: MeeClient,
    *,
    permission_id: object,
    chain_id: int | Sequence[int] | None = None,
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
    sponsorship: bool = False,
    sponsorship_options: SponsorshipOptions | None = None,
) -> ExecuteResult:
    """The owner removes a permission (``SmartSession.removeSession``) on one chain or several, in one
    super-transaction. Its session signer can no longer use it there, and its enable signature cannot enable it
    again (the SmartSessions nonce has moved on).

    ``permission_id`` is one id for every chain of ``chain_id``, or a mapping ``{chain_id: permission_id}`` (a
    grant's sessions have an id per chain: ``handoff.permission_ids``), then ``chain_id`` may be left out."""
    if isinstance(permission_id, Mapping):
        by_chain = dict(permission_id)
        chains = list(by_chain) if chain_id is None else [chain_id] if isinstance(chain_id, int) else list(chain_id)
        unknown = [c for c in chains if c not in by_chain]
        if unknown:
            raise InvalidInputError(f"permission_id[{unknown[0]}]", "is missing", fix="give an id for every chain")
        pids = {c: bytes(to_bytes32(by_chain[c], field=f"permission_id[{c}]")) for c in chains}
    else:
        if chain_id is None:
            raise InvalidInputError("chain_id", "is required with one permission id", fix="name the chain(s)")
        chains = [chain_id] if isinstance(chain_id, int) else list(chain_id)
        pid = bytes(to_bytes32(permission_id, field="permission_id"))
        pids = dict.fromkeys(chains, pid)
    if not chains:
        raise InvalidInputError("chain_id", "names no chain")
    instructions = [
        Instruction(
            chain_id=c,
            calls=(Call(to=SMART_SESSIONS_ADDRESS, data=encode_function_call("removeSession(bytes32)", [pids[c]])),),
        )
        for c in chains
    ]
    quote = await client.get_quote(
        instructions=instructions,
        fee_token=None if sponsorship else fee_token,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options if sponsorship else None,
    )
    return await client.execute_signed_quote(await client.sign_quote(quote))


# -- binding ----------------------------------------------------------------------------------------------------------


class SessionClient(MeeClient):
    """A MEE client with the session actions as its own methods (``mee_client.extend(mee_session_actions)``): the
    seed's six, ``list_permissions``, ``session_status``, ``revoke_permission`` and ``dry_run_use``, on top of
    everything the MEE client does. It is the client it extends, seen with more methods: the same node connection,
    account and state (closing either closes both). Each method is the module function of the same name, with this
    client as its first argument."""

    def __init__(self, client: MeeClient) -> None:  # the extended client's own state, shared, not copied
        vars(self).update(vars(client))

    prepare_for_permissions = prepare_for_permissions
    grant_permission_typed_data_sign = grant_permission_typed_data_sign
    grant_permission_personal_sign = grant_permission_personal_sign
    use_permission = use_permission
    build_session_action = staticmethod(build_session_action)
    get_session_quote = get_session_quote
    sign_session_quote = sign_session_quote
    execute_session_quote = execute_session_quote
    is_permission_enabled = is_permission_enabled
    check_enabled_permissions = check_enabled_permissions
    list_permissions = list_permissions
    session_status = session_status
    revoke_permission = revoke_permission
    dry_run_use = dry_run_use


def mee_session_actions(client: MeeClient) -> SessionClient:
    """The session actions, bound to ``client``: pass it to ``mee_client.extend``."""
    return SessionClient(client)
