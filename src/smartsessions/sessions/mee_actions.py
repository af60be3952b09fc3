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

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._coerce import to_address, to_bytes32
from ..account.calls import Call
from ..account.instructions import (
    AnyInstruction,
    ComposableInstruction,
    Instruction,
    batch_instructions,
    to_composable_call,
    to_instruction,
)
from ..account.multichain import NexusDeployment, QuoteReads
from ..encoding.abi import SESSION, abi_encode, encode_function_call
from ..encoding.session import (
    ChainDigest,
    EnableSession,
    EnableSessionData,
    SmartSessionMode,
)
from ..errors import (
    InvalidInputError,
    RpcError,
    SessionSignerMismatchError,
)
from ..mee._time_frames import outside_time_frame_error
from ..mee.client import ExecuteResult, MeeClient, SignedMeeQuote, SponsorshipOptions
from ..mee.permission_state import permission_state_calls, permission_state_refusal, session_state_error
from ..mee.request import (
    USEROP_MIN_EXEC_WINDOW_DURATION,
    Preflight,
    SmartSessionModeName,
    details_for,
    first_mode_per_chain,
    session_details_by_chain,
    to_fee_token,
    to_session_mode,
)
from ..policies.payment import TRANSFER_SELECTOR, SessionAction
from ..policies.time_frame import session_time_frames
from ..rpc import call_word
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo, Simulation, Trigger
from ..wire.session import MOCK_SIGNATURE, SessionDetails, to_wire_session_details
from .actions import (
    SmartSessionsModule,
    check_enabled_permissions,
    grant_permission_personal_sign,
    grant_permission_typed_data_sign,
    is_permission_enabled,
    list_permissions,
    resolve_fee_recipient,
)
from .grant import (
    ActionConfig,
    default_max_payment_amount,
    fee_recipient_of,
    group_actions,
    new_session,
    payment_groups,
)

__all__ = [
    "ENABLE_AND_USE_ERROR",
    "PrepareForPermissionsResult",
    "SessionClient",
    "mee_session_actions",
    "prepare_for_permissions",
    "revoke_permission",
    "use_permission",
]

#: The reference SDK's error text for ENABLE_AND_USE with details that cannot enable (prepare-flow details).
ENABLE_AND_USE_ERROR = "ENABLE_AND_USE mode cannot be used with given session details, instead try USE mode directly"
_ZERO = "0x0000000000000000000000000000000000000000"
_MODULE_TYPE_VALIDATOR = 1


@dataclass(frozen=True)
class PrepareForPermissionsResult:
    """The prepare super-transaction's ``hash``; with ``redeemer`` and ``actions``, the enabled sessions' details
    (mode USE, one per chain)."""

    hash: str
    session_details: list[SessionDetails] | None = None


# -- prepare (spec §5) ------------------------------------------------------------------------------------------------


def _module_address(validator: SmartSessionsModule | str) -> str:
    address = validator.address if isinstance(validator, SmartSessionsModule) else validator
    return to_address(address, field="smart_sessions_validator")


async def _install_instruction(deployment: NexusDeployment, module: str) -> ComposableInstruction | None:
    """``installModule(validator, module)`` and ``addSafeSender(module)``, unless the module is installed (one
    batch: the account's code and ``isModuleInstalled``)."""
    check = encode_function_call("isModuleInstalled(uint256,address,bytes)", [_MODULE_TYPE_VALIDATOR, module, b""])
    code, installed = await deployment.rpc.batch(
        [
            ("eth_getCode", [deployment.address, "latest"]),
            ("eth_call", [{"to": deployment.address, "data": "0x" + check.hex()}, "latest"]),
        ],
        return_errors=True,
    )
    deployed = isinstance(code, str) and code not in ("0x", "0x0")
    # A reverted call (an account that does not know isModuleInstalled) answers "not installed", as does no code.
    if deployed and not isinstance(installed, RpcError):
        what = f"isModuleInstalled(validator, {module}) of the account {deployment.address}"
        if call_word(installed, what=what, empty=0) == 1:
            return None
    chain_id = deployment.chain_id
    meta = {"type": "CUSTOM", "description": "Install smart sessions module", "chainId": chain_id}
    calls = [
        to_composable_call(
            to=deployment.address,
            data=encode_function_call("installModule(uint256,address,bytes)", [_MODULE_TYPE_VALIDATOR, module, b""]),
        )
    ]
    if module.lower() == SMART_SESSIONS_ADDRESS.lower():
        calls.append(
            to_composable_call(
                to=deployment.version.validator_address,
                data=encode_function_call("addSafeSender(address)", [module]),
            )
        )
    return ComposableInstruction(chain_id=chain_id, calls=tuple(calls), metadata=(meta,) * len(calls))


async def _enable_instructions(
    client: MeeClient,
    *,
    redeemer: object,
    actions: Sequence[ActionConfig | SessionAction | dict[str, Any]],
    fee_token: FeeTokenInfo | None,
    max_payment_amount: int | None,
    fee_recipient: object = None,
) -> tuple[list[ComposableInstruction], list[SessionDetails]]:
    """``SmartSessions.enableSessions([session])`` per chain, and the sessions' details (mode USE)."""
    groups = group_actions(actions)
    if not groups:
        raise InvalidInputError("actions", "Smart sessions actions are missing", fix="pass one or more ActionConfig")
    for g in groups:
        if not g.actions:
            raise InvalidInputError("actions", f"Smart sessions actions are empty for the chain ({g.chain_id})")
    account = client.account
    recipient = fee_recipient_of(fee_token, resolve_fee_recipient(client, fee_recipient))
    amount = max_payment_amount or 0
    if fee_token is not None and not max_payment_amount:
        deployment = account.deployment_on(fee_token.chain_id)
        raw = await deployment.rpc.request("eth_call", [{"to": fee_token.address, "data": "0x313ce567"}, "latest"])
        decimals = call_word(raw, what=f"decimals() of the fee token {fee_token.address}", bits=8, empty=0)
        amount = default_max_payment_amount(decimals)
    instructions, details = [], []
    for chain_id in dict.fromkeys(g.chain_id for g in groups):
        deployment = account.deployment_on(chain_id)
        chain_groups = payment_groups(
            [g for g in groups if g.chain_id == chain_id],
            chain_id=chain_id,
            fee=fee_token,
            max_payment_amount=amount,
            fee_recipient=recipient,
        )
        session = new_session(  # batchActions: one session per chain
            chain_id=chain_id,
            version=deployment.version,
            redeemer=redeemer,
            actions=[a for g in chain_groups for a in g.actions],
            salt=os.urandom(32),
        )
        data = bytes.fromhex("21712407") + abi_encode([f"{SESSION}[]"], [[session.to_abi()]], what="sessions")
        meta = {"type": "CUSTOM", "description": "Enable smart sessions permissions", "chainId": chain_id}
        instructions.append(
            ComposableInstruction(
                chain_id=chain_id,
                calls=(to_composable_call(to=SMART_SESSIONS_ADDRESS, data=data),),
                metadata=(meta,),
            )
        )
        details.append(
            SessionDetails(
                mode=SmartSessionMode.USE,
                permission_id=session.permission_id,
                signature=MOCK_SIGNATURE,
                enable_session_data=EnableSessionData(
                    enable_session=EnableSession(
                        chain_digest_index=0,
                        hashes_and_chain_ids=(ChainDigest(chain_id=chain_id, session_digest=b""),),
                        session_to_enable=session,
                        permission_enable_sig=b"",
                    ),
                    validator=_ZERO,
                    account_type="nexus",
                ),
            )
        )
    return instructions, details


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
    fee_recipient: object = None,
    additional_instructions: Sequence[AnyInstruction | dict[str, Any]] | None = None,
    batch: bool = True,
    simulation: Simulation | Mapping[str, Any] | None = None,
    confirmations: int = 2,
) -> PrepareForPermissionsResult | None:
    """Deploy the account where needed, install SmartSessions and make it a safe sender of the K1MeeValidator, on
    every chain of the account, in one owner-signed super-transaction (spec §5). With ``redeemer`` and ``actions``,
    also enable a session per chain and return its details (use them with mode ``USE``); ``max_payment_amount`` and
    ``fee_recipient`` as in :func:`~.actions.grant_permission_typed_data_sign`. With ``trigger``, the
    owner's EOA funds the account in the same super-transaction: through an ERC-2612 permit, or, for a token
    without one, an ``approve`` transaction the EOA sends and waits ``confirmations`` blocks for (2 by default, as
    the reference SDK; pass 1 on a chain that mines only on demand).

    Returns None when there is nothing to do."""
    fee = (
        None
        if fee_token is None
        else (fee_token if isinstance(fee_token, FeeTokenInfo) else FeeTokenInfo.model_validate(dict(fee_token)))
    )
    if fee is None and not sponsorship:
        raise InvalidInputError("fee_token", "is required unless sponsored", fix="pass fee_token=, or sponsorship=True")
    module = _module_address(smart_sessions_validator)
    account = client.account
    enable_task = None
    if redeemer is not None and actions is not None:
        enable_task = _enable_instructions(
            client,
            redeemer=redeemer,
            actions=actions,
            fee_token=fee,
            max_payment_amount=max_payment_amount,
            fee_recipient=fee_recipient,
        )
    installs, enabled = await asyncio.gather(
        asyncio.gather(*(_install_instruction(d, module) for d in account.deployments)),
        enable_task if enable_task is not None else _nothing(),
    )
    install_instructions = [i for i in installs if i is not None]
    enable_instructions, details = enabled
    extra = [to_instruction(i) for i in additional_instructions or ()]
    if not (install_instructions or enable_instructions or extra or trigger is not None):
        return None
    unresolved: list[AnyInstruction] = [*install_instructions, *extra]
    partially = batch_instructions(unresolved) if batch else unresolved
    instructions: list[AnyInstruction] = [*partially, *enable_instructions]
    if trigger is not None:
        fusion = await client.get_fusion_quote(
            trigger=trigger,
            instructions=instructions,
            fee_token=fee,
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            batch=batch,
            simulation=simulation,
        )
        result = await client.execute_fusion_quote(fusion, confirmations=confirmations)
    else:
        quote = await client.get_quote(
            instructions=instructions,
            fee_token=fee,
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            batch=batch,
            simulation=simulation,
        )
        result = await client.execute_signed_quote(await client.sign_quote(quote))
    return PrepareForPermissionsResult(hash=result.hash, session_details=details or None)


async def _nothing() -> tuple[list[ComposableInstruction], list[SessionDetails]]:
    return [], []


# -- use (spec §6) ----------------------------------------------------------------------------------------------------


def _details_list(session_details: Sequence[SessionDetails] | SessionDetails) -> list[SessionDetails]:
    items = [session_details] if isinstance(session_details, SessionDetails) else list(session_details)
    out = []
    for d in items:
        out.append(d if isinstance(d, SessionDetails) else SessionDetails.model_validate(d))
    if not out:
        raise InvalidInputError("session_details", "is empty", fix="pass the details a grant or prepare returned")
    return out


def _check_redeemer(client: MeeClient, details: Sequence[SessionDetails]) -> None:
    """The client's signer must be the sessions' redeemer (the K1MeeValidator session owner: 20 bytes): any other
    key's signature is refused by SmartSessions, so it is refused here, before anything is asked or signed."""
    signer = to_address(client.account.signer.address, field="signer")
    for d in details:
        init = bytes(d.enable_session_data.enable_session.session_to_enable.session_validator_init_data)
        if len(init) != 20 or (redeemer := to_address(init, field="redeemer")) == signer:
            continue
        pid = "0x" + bytes(d.permission_id).hex()
        raise SessionSignerMismatchError(
            f"Permission {pid} is granted to the session key {redeemer}, but this client signs as {signer}.",
            permission_id=pid,
            chain_id=d.chain_id,
            redeemer=redeemer,
            signer=signer,
            meta_messages=[
                "Fix: use a client whose account signer is the session key (and account_address the granter's account)."
            ],
        )


@dataclass(frozen=True)
class _SessionOp:
    """A userOp ``use_permission`` will ask for: its chain, its calls and its own window bounds (None: the quote's
    default, from the chain's time); ``payment`` for the fee payment, whose window spans the others'."""

    chain_id: int
    calls: tuple[Call, ...]
    lower: int | None = None
    upper: int | None = None
    payment: bool = False


def _session_ops(parsed: Sequence[Instruction], fee: FeeTokenInfo | None, batch: bool) -> list[_SessionOp]:
    """The userOps of the quote ``use_permission`` asks for, as the request will lay them out: the fee payment
    (``feeToken.transfer``) first, then the instructions, batched per chain unless ``batch`` is False."""
    ops = []
    if fee is not None:
        ops.append(_SessionOp(fee.chain_id, (Call(to=fee.address, data=TRANSFER_SELECTOR + bytes(64)),), payment=True))
    for i in batch_instructions(parsed) if batch else parsed:
        calls = tuple(c for c in i.calls if isinstance(c, Call))
        ops.append(_SessionOp(i.chain_id, calls, i.lower_bound_timestamp, i.upper_bound_timestamp))
    return ops


def _early_decision(
    client: MeeClient, details: Sequence[SessionDetails], mode: SmartSessionMode, ops: Sequence[_SessionOp]
) -> Preflight:
    """What the chains already decide about the permission, told before anything is asked or signed: read in the
    quote's own batch on each chain (``isPermissionEnabled`` and the SmartSessions nonce of the permission for this
    account, beside the quote's nonces and the latest block), so it costs no round trip of its own.

    USE of a permission that is not enabled fails on chain; the nonce tells whether a grant's enable signature of it
    was ever used on this account (then it was enabled and has since been removed) or not. ENABLE_AND_USE fails when
    the permission is enabled already, and when the grant's digest for this chain is not the one this account's
    current nonce gives: with the nonce before it, the signature was used; with neither, the grant was made for
    another account. Then the session's time frames (:func:`_judge_time_frames`), against the chain's time."""
    by_chain = session_details_by_chain(details)
    chains = list(dict.fromkeys(op.chain_id for op in ops))
    for chain_id in chains:
        details_for(by_chain, chain_id)  # every chain has its details, or the refusal names the one without
    accounts = {c: client.account.deployment_on(c).address for c in chains}

    def calls(chain_id: int) -> list[tuple[str, list[Any]]]:
        reads = permission_state_calls(bytes(by_chain[chain_id].permission_id), accounts[chain_id])
        return [("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for to, data in reads]

    def check(reads: Mapping[int, QuoteReads]) -> None:
        for chain_id in chains:
            enabled, nonce = reads[chain_id].extra
            what = f"on chain {chain_id}"
            _judge(
                by_chain[chain_id],
                chain_id,
                accounts[chain_id],
                call_word(enabled, what=f"SmartSessions.isPermissionEnabled {what}", empty=0) != 0,
                call_word(nonce, what=f"SmartSessions.getNonce {what}", empty=0),
                mode,
            )
        _judge_time_frames(by_chain, ops, {c: reads[c].timestamp for c in chains})

    return Preflight(calls={c: calls(c) for c in chains}, check=check)


def _judge_time_frames(
    by_chain: Mapping[int, SessionDetails], ops: Sequence[_SessionOp], times: Mapping[int, int]
) -> None:
    """The session's TimeFramePolicy windows that each userOp meets (its userOp policies', and those of the actions
    its calls run; :func:`~smartsessions.policies.time_frame.session_time_frames`), against the times the userOp
    can execute: from its chain's time (the latest block's, where the quote's default window starts) or its lower
    bound, whichever is later, to its upper bound (by default ``USEROP_MIN_EXEC_WINDOW_DURATION`` seconds after the
    chain's time, as the quote request sets it). A time frame that opens within that is no refusal: the node waits
    for it, as for the userOp's own window. The fee payment's window spans the others' (from its chain's time), as
    the node lays it out."""
    windows = []
    for op in ops:
        now = times[op.chain_id]  # a bound the instruction leaves out is the quote's default, from the chain's time
        lower = now if op.lower is None else op.lower
        windows.append((lower, now + USEROP_MIN_EXEC_WINDOW_DURATION if op.upper is None else op.upper))
    others = [w for op, w in zip(ops, windows, strict=True) if not op.payment]
    for op, (lower, upper) in zip(ops, windows, strict=True):
        if op.payment and others:
            lower, upper = min([lower, *(w[0] for w in others)]), max(w[1] for w in others)
        d, now = by_chain[op.chain_id], times[op.chain_id]
        for applied in session_time_frames(d.enable_session_data.enable_session.session_to_enable, op.calls):
            state = applied.window.judge(earliest=max(now, lower), latest=upper)
            if state is not None:
                raise outside_time_frame_error(
                    state,
                    permission_id="0x" + bytes(d.permission_id).hex(),
                    chain_id=op.chain_id,
                    policy=applied.policy,
                    valid_after=applied.window.valid_after,
                    valid_until=applied.window.valid_until,
                    chain_time=now,
                    target=applied.target,
                    selector=applied.selector,
                )


def _judge(d: SessionDetails, chain_id: int, account: str, enabled: bool, nonce: int, mode: SmartSessionMode) -> None:
    refusal = permission_state_refusal(d, chain_id=chain_id, account=account, enabled=enabled, nonce=nonce, mode=mode)
    if refusal is not None:
        raise session_state_error(refusal)


def _reassign_modes(
    signed: SignedMeeQuote, details: Sequence[SessionDetails], mode: SmartSessionMode
) -> SignedMeeQuote:
    """The signed quote's session details: the first userOp of each chain gets ``mode``, later ones USE (the
    sponsor's entry is left as it is), by the rule the quote request was built with."""
    body = dict(signed.json)
    ops = [dict(op) for op in body["userOps"]]
    start = 1 if body.get("paymentInfo", {}).get("sponsored") else 0
    by_chain = session_details_by_chain(details)
    chains = [int(op["chainId"]) for op in ops[start:]]
    for chain_id in chains:
        if chain_id not in by_chain:
            raise InvalidInputError("session_details", f"No session details found for chainId {chain_id}")
    for k, (chain_id, op_mode) in enumerate(zip(chains, first_mode_per_chain(chains, mode), strict=True), start):
        ops[k]["sessionDetails"] = to_wire_session_details(by_chain[chain_id].model_copy(update={"mode": op_mode}))
    body["userOps"] = ops
    return SignedMeeQuote(json=body)


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
    ``wait_for_supertransaction_receipt``)."""
    session_mode = to_session_mode(mode, field="mode")
    details = _details_list(session_details)
    enabling = session_mode is SmartSessionMode.UNSAFE_ENABLE
    if enabling and not any(d.mode is SmartSessionMode.UNSAFE_ENABLE for d in details):
        raise InvalidInputError("mode", ENABLE_AND_USE_ERROR, value=mode)
    if not sponsorship and fee_token is None:
        raise InvalidInputError("fee_token", "is required unless sponsored", fix="pass fee_token=, or sponsorship=True")
    parsed = [to_instruction(i) for i in instructions]
    for i in parsed:
        if isinstance(i, ComposableInstruction):
            raise InvalidInputError(
                "instructions",
                "session userOps must be plain calls (execute): SmartSessions checks each call against the session",
                fix="pass Instruction(chain_id=..., calls=[Call(...)])",
            )
    _check_redeemer(client, details)
    fee = None if sponsorship else to_fee_token(fee_token)
    plain = [i for i in parsed if isinstance(i, Instruction)]
    quote = await client.get_quote(
        preflight=_early_decision(client, details, session_mode, _session_ops(plain, fee, batch)),
        instructions=parsed,
        module_address=SMART_SESSIONS_ADDRESS,
        short_encoding_super_txn=True,
        session_details=details,
        smart_session_mode=session_mode,
        batch=batch,
        simulation=simulation,
        verification_gas_limit=verification_gas_limit,
        sponsorship=sponsorship,
        sponsorship_options=sponsorship_options if sponsorship else None,
        fee_token=fee,
    )
    signed = await client.sign_quote(quote)
    return await client.execute_signed_quote(_reassign_modes(signed, details, session_mode))


# -- revoke -----------------------------------------------------------------------------------------------------------


async def revoke_permission(
    client: MeeClient,
    *,
    permission_id: object,
    chain_id: int | Sequence[int],
    fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
    sponsorship: bool = False,
    sponsorship_options: SponsorshipOptions | None = None,
) -> ExecuteResult:
    """The owner removes a permission (``SmartSession.removeSession``) on one chain or several, in one
    super-transaction. Its session signer can no longer use it there, and its enable signature cannot enable it
    again (the SmartSessions nonce has moved on)."""
    pid = bytes(to_bytes32(permission_id, field="permission_id"))
    chains = [chain_id] if isinstance(chain_id, int) else list(chain_id)
    if not chains:
        raise InvalidInputError("chain_id", "names no chain")
    data = encode_function_call("removeSession(bytes32)", [pid])
    instructions = [Instruction(chain_id=c, calls=(Call(to=SMART_SESSIONS_ADDRESS, data=data),)) for c in chains]
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
    seed's six, ``list_permissions`` and ``revoke_permission``, on top of everything the MEE client does. It is the
    client it extends, seen with more methods: the same node connection, account and state (closing either closes
    both). Each method is the module function of the same name, with this client as its first argument."""

    def __init__(self, client: MeeClient) -> None:  # the extended client's own state, shared, not copied
        vars(self).update(vars(client))

    prepare_for_permissions = prepare_for_permissions
    grant_permission_typed_data_sign = grant_permission_typed_data_sign
    grant_permission_personal_sign = grant_permission_personal_sign
    use_permission = use_permission
    is_permission_enabled = is_permission_enabled
    check_enabled_permissions = check_enabled_permissions
    list_permissions = list_permissions
    revoke_permission = revoke_permission


def mee_session_actions(client: MeeClient) -> SessionClient:
    """The session actions, bound to ``client``: pass it to ``mee_client.extend``."""
    return SessionClient(client)
