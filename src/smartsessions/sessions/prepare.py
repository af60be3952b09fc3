"""What the owner's PREPARE super-transaction runs (spec §5): SmartSessions installed (with the account deployed where
it is not, and the module a safe sender of the K1MeeValidator), and the sessions enabled on chain
(``SmartSessions.enableSessions``), whose details then carry mode USE.

:func:`~smartsessions.sessions.session_quote.get_session_quote` (mode ``"PREPARE"``) and
:func:`~smartsessions.sessions.mee_actions.prepare_for_permissions` both build their instructions here: one code path,
as in the reference, where ``prepareForPermissions`` and ``getSessionQuote`` share ``prepareInstallSmartSessions``
and ``prepareEnableSessions``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import field_validator
from pydantic_core import PydanticCustomError

from .._coerce import keccak, to_address
from .._model import Address, Model, Uint256
from ..account.calls import to_condition_input_param
from ..account.instructions import ComposableInstruction, to_composable_call
from ..account.multichain import NexusDeployment
from ..encoding.abi import SESSION, abi_encode, encode_function_call
from ..encoding.session import (
    ChainDigest,
    EnableSession,
    EnableSessionData,
    PolicyData,
    Session,
    SmartSessionMode,
)
from ..errors import InvalidInputError, RpcError
from ..mee.client import MeeClient
from ..policies.payment import SessionAction
from ..policies.user_op import check_user_op_policies, user_op_policies_by_chain
from ..rpc import call_word
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo
from ..wire.session import MOCK_SIGNATURE, SessionDetails
from .actions import SmartSessionsModule, resolve_fee_recipient
from .grant import (
    ActionConfig,
    check_max_payment_amount,
    default_fee_budget,
    fee_decimals_call,
    fee_recipient_of,
    group_actions,
    new_session,
    payment_groups,
)

__all__ = [
    "EnableSessionParams",
    "decimals_call",
    "enable_instructions",
    "install_instruction",
    "install_reads",
    "module_address",
    "to_enable_session",
]

_ZERO = "0x0000000000000000000000000000000000000000"
_MODULE_TYPE_VALIDATOR = 1
_ENABLE_SESSIONS = bytes.fromhex("21712407")  # enableSessions((...)[])
# Nexus's ERC-7201 AccountStorage slot; its validators' SentinelList maps each validator to the next from here.
_NEXUS_STORAGE_LOCATION = bytes.fromhex("0bb70095b32b9671358306b0339b4c06e7cbd8cb82505941fba30d1eb5b82f00")
_SENTINEL_WORD = "0x" + (1).to_bytes(32, "big").hex()


class EnableSessionParams(Model):
    """The sessions a PREPARE super-transaction enables (the reference's ``enableSession``): the session key
    (``redeemer``), what it may do (``actions``: :class:`~.grant.ActionConfig` or the groups
    :func:`~smartsessions.sessions.build.build_session_action` returns), the most it may pay in fees
    (``max_payment_amount``, default 5 tokens of the fee token), and whether one chain's action groups are enabled in
    one call (``batch_actions``, the default) or one call per group. ``fee_recipient`` pins the fee payment's
    recipient (``"node"`` or an address), as on :func:`~.actions.grant_permission_typed_data_sign`;
    the reference has no such option. ``user_op_policies`` (JSON ``userOpPolicies``): the permission-wide limits,
    which every userOp of each chain's session meets (:mod:`smartsessions.policies.user_op`), one list for every
    chain or ``{chain_id: [...]}``; None, the default, is the reference's SudoPolicy."""

    redeemer: Address
    actions: tuple[ActionConfig | SessionAction, ...]
    max_payment_amount: Uint256 | None = None
    batch_actions: bool = True
    fee_recipient: Any = None
    user_op_policies: tuple[PolicyData, ...] | dict[int, tuple[PolicyData, ...]] | None = None

    @field_validator("user_op_policies", mode="before")
    @classmethod
    def _user_op_policies(cls, value: object) -> object:
        if value is None:
            return None
        try:
            if isinstance(value, Mapping):  # by chain: the chains are checked against the actions when enabling
                return {k: check_user_op_policies(v, field=f"user_op_policies[{k}]") for k, v in value.items()}
            return check_user_op_policies(value)
        except InvalidInputError as exc:
            fix = next((m[5:] for m in exc.meta_messages if m.startswith("Fix: ")), "")
            where = exc.field.removeprefix("user_op_policies")
            raise PydanticCustomError(
                "smartsessions", "{problem}|{fix}", {"problem": f"{where} {exc.problem}".strip(), "fix": fix}
            ) from exc


def to_enable_session(value: EnableSessionParams | Mapping[str, Any]) -> EnableSessionParams:
    if isinstance(value, EnableSessionParams):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            "enable_session",
            "must be an EnableSessionParams or a mapping",
            fix='pass {"redeemer": ..., "actions": [...]}',
            value=type(value).__name__,
        )
    aliases = {
        "maxPaymentAmount": "max_payment_amount",
        "batchActions": "batch_actions",
        "userOpPolicies": "user_op_policies",
    }
    return EnableSessionParams.model_validate({aliases.get(k, k): v for k, v in value.items()})


def module_address(validator: SmartSessionsModule | str | None) -> str:
    """The SmartSessions module to install (the canonical one by default)."""
    if validator is None:
        return SMART_SESSIONS_ADDRESS
    address = validator.address if isinstance(validator, SmartSessionsModule) else validator
    return to_address(address, field="smart_sessions_validator")


async def install_instruction(deployment: NexusDeployment, module: str) -> ComposableInstruction | None:
    """``installModule(validator, module)`` and ``addSafeSender(module)``, unless the module is installed (one
    batch: the account's code and ``isModuleInstalled``)."""
    return (await install_reads(deployment, module))[0]


async def install_reads(
    deployment: NexusDeployment, module: str, extra: Sequence[tuple[str, list[Any]]] = ()
) -> tuple[ComposableInstruction | None, list[Any]]:
    """:func:`install_instruction`, with the ``extra`` calls of another step of the same PREPARE (the fee token's
    ``decimals()``) in its batch: the instruction, and the extra calls' answers (a failed call's :class:`RpcError`
    in its place, raised by whoever uses it)."""
    check = encode_function_call("isModuleInstalled(uint256,address,bytes)", [_MODULE_TYPE_VALIDATOR, module, b""])
    code, installed, *answers = await deployment.rpc.batch(
        [
            ("eth_getCode", [deployment.address, "latest"]),
            ("eth_call", [{"to": deployment.address, "data": "0x" + check.hex()}, "latest"]),
            *extra,
        ],
        return_errors=True,
    )
    deployed = isinstance(code, str) and code not in ("0x", "0x0")
    # A reverted call (an account that does not know isModuleInstalled) answers "not installed", as does no code.
    if deployed and not isinstance(installed, RpcError):
        what = f"isModuleInstalled(validator, {module}) of the account {deployment.address}"
        if call_word(installed, what=what, empty=0) == 1:
            return None, answers
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
    return ComposableInstruction(chain_id=chain_id, calls=tuple(calls), metadata=(meta,) * len(calls)), answers


def decimals_call(
    client: MeeClient, enable: EnableSessionParams, fee_token: FeeTokenInfo | None
) -> tuple[str, list[Any]] | None:
    """The fee token's ``decimals()`` call, when :func:`enable_instructions` will need it (a fee token and no
    ``max_payment_amount``) and the account is on the token's chain, so that it can ride in that chain's
    :func:`install_reads` batch; None otherwise (then :func:`enable_instructions` asks, or refuses, as before)."""
    if fee_token is None or not any(d.chain_id == fee_token.chain_id for d in client.account.deployments):
        return None
    try:
        if check_max_payment_amount(enable.max_payment_amount, fee_token) is not None:
            return None
    except InvalidInputError:
        return None  # enable_instructions refuses it, after its other checks
    return fee_decimals_call(fee_token)


async def _max_payment_amount(client: MeeClient, fee: FeeTokenInfo | None, given: int | None, decimals: Any) -> int:
    """The fee budget: as given, or (with a fee token) 5 tokens, by the token's ``decimals()``: ``decimals`` is the
    answer of :func:`decimals_call` read in another batch (an :class:`RpcError` if it failed), or None to read it
    here."""
    amount = check_max_payment_amount(given, fee)
    if amount is not None or fee is None:
        return amount or 0
    if decimals is None:
        deployment = client.account.deployment_on(fee.chain_id)
        decimals = await deployment.rpc.request(*fee_decimals_call(fee))
    if isinstance(decimals, RpcError):
        raise decimals
    return default_fee_budget(fee, decimals)


def _enable_call(session: Session, actions: Sequence[Any]) -> bytes:
    group = session.model_copy(update={"actions": tuple(actions)})
    return _ENABLE_SESSIONS + abi_encode([f"{SESSION}[]"], [[group.to_abi()]], what="sessions")


def _installed_condition(deployment: NexusDeployment, module: str) -> tuple[Any, dict[str, Any]]:
    """For one enable call of an unbatched PREPARE, which runs as its own userOp: a condition that the module is
    installed when it runs (``isModuleInstalled(validator, module, "") == true``, read by the account), and the
    storage the node's simulation should assume for it (the module's entry in the account's validator list), as the
    reference writes them."""
    check = encode_function_call("isModuleInstalled(uint256,address,bytes)", [_MODULE_TYPE_VALIDATOR, module, b""])
    condition = to_condition_input_param(target=deployment.address, call_data=check, expected=(1).to_bytes(32, "big"))
    slot = keccak(abi_encode(["address", "bytes32"], [module, _NEXUS_STORAGE_LOCATION], what="validator slot"))
    override = {
        "contractAddress": deployment.address,
        "storageSlot": "0x" + slot.hex(),
        "chainId": deployment.chain_id,
        "value": _SENTINEL_WORD,
    }
    return condition, {"customOverrides": [override]}


async def enable_instructions(
    client: MeeClient,
    enable: EnableSessionParams,
    *,
    module: str,
    fee_token: FeeTokenInfo | None,
    decimals: Any = None,
) -> tuple[list[ComposableInstruction], list[SessionDetails]]:
    """``SmartSessions.enableSessions`` per chain, and the enabled sessions' details (mode USE, one per chain).

    With ``batch_actions`` (the default) a chain's action groups are one session, enabled in one call. Without it,
    each group is enabled by a call of its own (its own userOp), under the same permission id, each on the condition
    that SmartSessions is installed by then; the details list every group's actions (the reference lists only the
    first group's, though the permission holds them all). ``decimals``: the answer of :func:`decimals_call`, when
    it was read in another batch (:func:`install_reads`)."""
    if module.lower() != SMART_SESSIONS_ADDRESS.lower():
        raise InvalidInputError(
            "smart_sessions_validator",
            f"sessions can only be enabled on the canonical SmartSessions {SMART_SESSIONS_ADDRESS}: the session's "
            f"userOps are validated through it (the reference enables them there even when told {module}, and the "
            "module it installs then holds no session)",
            fix="leave the validator address out (or pass the canonical one), or install the module without sessions",
            value=module,
        )
    groups = group_actions(list(enable.actions))
    if not groups:
        raise InvalidInputError("actions", "Smart sessions actions are missing", fix="pass one or more ActionConfig")
    for g in groups:
        if not g.actions:
            raise InvalidInputError("actions", f"Smart sessions actions are empty for the chain ({g.chain_id})")
    chain_ids = list(dict.fromkeys(g.chain_id for g in groups))
    policies = user_op_policies_by_chain(enable.user_op_policies, chain_ids, field="enable_session.user_op_policies")
    account = client.account
    recipient = fee_recipient_of(fee_token, resolve_fee_recipient(client, enable.fee_recipient))
    amount = await _max_payment_amount(client, fee_token, enable.max_payment_amount, decimals)
    instructions, details = [], []
    for chain_id in chain_ids:
        deployment = account.deployment_on(chain_id)
        chain_groups = payment_groups(
            [g for g in groups if g.chain_id == chain_id],
            chain_id=chain_id,
            fee=fee_token,
            max_payment_amount=amount,
            fee_recipient=recipient,
        )
        every_action = [a for g in chain_groups for a in g.actions]
        session = new_session(
            chain_id=chain_id,
            version=deployment.version,
            redeemer=enable.redeemer,
            actions=every_action,
            salt=os.urandom(32),
            user_op_policies=policies[chain_id],
        )
        meta = {"type": "CUSTOM", "description": "Enable smart sessions permissions", "chainId": chain_id}
        if enable.batch_actions:
            call = to_composable_call(to=SMART_SESSIONS_ADDRESS, data=_enable_call(session, every_action))
            instructions.append(ComposableInstruction(chain_id=chain_id, calls=(call,), metadata=(meta,)))
        else:
            condition, overrides = _installed_condition(deployment, module)
            for g in chain_groups:
                call = to_composable_call(to=SMART_SESSIONS_ADDRESS, data=_enable_call(session, g.actions))
                call = call.model_copy(update={"input_params": (*call.input_params, condition)})
                instructions.append(
                    ComposableInstruction(
                        chain_id=chain_id, calls=(call,), metadata=(meta,), simulation_overrides=overrides
                    )
                )
        details.append(_use_details(session))
    return instructions, details


def _use_details(session: Session) -> SessionDetails:
    """The details of a session enabled on chain: mode USE, the permission id, the mock signature the node replaces,
    and the session itself (its enable fields empty: USE reads none of them)."""
    return SessionDetails(
        mode=SmartSessionMode.USE,
        permission_id=session.permission_id,
        signature=MOCK_SIGNATURE,
        enable_session_data=EnableSessionData(
            enable_session=EnableSession(
                chain_digest_index=0,
                hashes_and_chain_ids=(ChainDigest(chain_id=session.chain_id, session_digest=b""),),
                session_to_enable=session,
                permission_enable_sig=b"",
            ),
            validator=_ZERO,
            account_type="nexus",
        ),
    )
