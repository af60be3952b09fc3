"""The session actions that read or sign but need no MEE node: grants, and permission status.

Each action is a free function taking the client first (viem's pattern); ``mee_session_actions`` binds them to a MEE
client. The client only has to carry ``.account`` (a :class:`~smartsessions.account.multichain.MultichainNexusAccount`).

Grants read what the reference SDK reads (each chain's SmartSessions nonce, the fee token's decimals) in one batch per
chain, all chains at once, and compute the session digests offline instead of asking ``getSessionDigest``: the
digests are the contract's (``tests/contracts`` checks it), and it saves a round trip per chain.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .._coerce import to_address, to_bytes32
from ..account.multichain import MultichainNexusAccount
from ..encoding.abi import abi_decode, encode_function_call
from ..encoding.session import permission_id_of
from ..errors import InvalidInputError
from ..permission_id import PermissionId
from ..policies.user_op import UserOpPolicies, user_op_policies_by_chain
from ..rpc import call_word
from ..signer import AnySigner
from ..versions import SMART_SESSIONS_ADDRESS
from ..wire.mee import FeeTokenInfo
from ..wire.session import SessionDetails
from .grant import (
    ActionConfig,
    asign_grant,
    build_grant_sessions,
    check_max_payment_amount,
    default_fee_budget,
    fee_decimals_call,
    get_grant_chain_digests,
    get_session_validator_init_data,
    names_the_node,
    to_grant_session_details,
)

__all__ = [
    "HasAccount",
    "SmartSessionsModule",
    "check_enabled_permissions",
    "grant_permission_personal_sign",
    "grant_permission_typed_data_sign",
    "is_permission_enabled",
    "list_permissions",
    "to_smart_sessions_module",
]


class HasAccount(Protocol):
    @property
    def account(self) -> MultichainNexusAccount: ...


@dataclass(frozen=True)
class SmartSessionsModule:
    """The SmartSessions validator as the SDK describes it: its address and the session signer."""

    address: str
    signer: AnySigner
    module_type: str = "validator"


def to_smart_sessions_module(*, signer: AnySigner, address: str = SMART_SESSIONS_ADDRESS) -> SmartSessionsModule:
    return SmartSessionsModule(address=to_address(address, field="address"), signer=signer)


def resolve_fee_recipient(client: object, fee_recipient: object) -> object:
    """``"node"`` is the address of the MEE node ``client`` talks to (its ``node_address``); anything else is
    passed on as given (checked where it is used)."""
    if not names_the_node(fee_recipient):
        return fee_recipient
    node = getattr(client, "node_address", None)
    if not isinstance(node, str):
        raise InvalidInputError(
            "fee_recipient",
            '"node" means the MEE node this client talks to, and this client has none',
            fix="grant through an MEE client (create_mee_client), or pass the node's address",
        )
    return node


async def _grant(
    client: HasAccount,
    *,
    redeemer: object,
    actions: Sequence[ActionConfig | dict[str, Any]],
    fee_token: FeeTokenInfo | dict[str, Any] | None,
    max_payment_amount: int | None,
    variant: Literal["typed", "personal"],
    fee_recipient: object = None,
    user_op_policies: UserOpPolicies = None,
) -> list[SessionDetails]:
    """Everything the chains must tell is read in one JSON-RPC batch per chain, all chains at once: each session's
    SmartSessions nonce (the permission id, hence the nonce slot, depends only on validator, redeemer and salt, so
    it is known before the session is built) and, on the fee chain, the fee token's decimals when the default max
    payment needs them. The digests are computed offline; nothing else is read."""
    account = client.account
    fee = (
        None
        if fee_token is None
        else (fee_token if isinstance(fee_token, FeeTokenInfo) else FeeTokenInfo.model_validate(fee_token))
    )
    parsed = [a if isinstance(a, ActionConfig) else ActionConfig.model_validate(a) for a in actions]
    versions = {a.chain_id: account.deployment_on(a.chain_id).version for a in parsed}
    policies = user_op_policies_by_chain(user_op_policies, list(versions))  # refused before anything is read
    salts = {chain_id: os.urandom(32) for chain_id in versions}
    max_payment_amount = check_max_payment_amount(max_payment_amount, fee)
    need_decimals = fee is not None and max_payment_amount is None
    decimals_chain = fee.chain_id if fee is not None and need_decimals else None

    async def read(chain_id: int) -> tuple[int, list[Any]]:
        deployment = account.deployment_on(chain_id)
        calls: list[tuple[str, list[Any]]] = []
        if chain_id in versions:
            version = versions[chain_id]
            init_data = get_session_validator_init_data(version, redeemer)
            pid = permission_id_of(version.validator_address, bytes(init_data), salts[chain_id])
            data = encode_function_call("getNonce(bytes32,address)", [bytes(pid), deployment.address])
            calls.append(("eth_call", [{"to": SMART_SESSIONS_ADDRESS, "data": "0x" + data.hex()}, "latest"]))
        if chain_id == decimals_chain:
            assert fee is not None
            calls.append(fee_decimals_call(fee))
        return chain_id, await deployment.rpc.batch(calls)

    chains = list(dict.fromkeys([*versions, *([decimals_chain] if decimals_chain is not None else [])]))
    results = dict(await asyncio.gather(*(read(c) for c in chains)))
    nonces = {c: call_word(results[c][0], what=f"SmartSessions.getNonce on chain {c}", empty=0) for c in versions}
    if decimals_chain is not None:
        assert fee is not None
        max_payment_amount = default_fee_budget(fee, results[decimals_chain][-1])
    sessions = build_grant_sessions(
        redeemer=redeemer,
        actions=parsed,
        versions=versions,
        fee_token=fee,
        max_payment_amount=max_payment_amount,
        salts=[salts[s] for s in dict.fromkeys(a.chain_id for a in parsed)],
        fee_recipient=resolve_fee_recipient(client, fee_recipient),
        user_op_policies=policies,
    )
    accounts = {chain_id: account.address_on(chain_id) for chain_id in versions}
    digests = get_grant_chain_digests(sessions, accounts=accounts, nonces=nonces)
    signature = await asign_grant(account.signer, digests, variant=variant)
    first = account.deployment_on(parsed[0].chain_id)
    return to_grant_session_details(sessions, digests, signature, validator=first.version.default_validator_address)


async def grant_permission_typed_data_sign(
    client: HasAccount,
    *,
    redeemer: object,
    actions: Sequence[ActionConfig | dict[str, Any]],
    fee_token: FeeTokenInfo | dict[str, Any] | None = None,
    max_payment_amount: int | None = None,
    fee_recipient: object = None,
    user_op_policies: UserOpPolicies = None,
) -> list[SessionDetails]:
    """Grant ``redeemer`` the ``actions``, one session per chain, signed once by the owner as EIP-712 typed data.

    With a ``fee_token``, the session on the fee token's chain also allows paying the MEE fee in it, up to
    ``max_payment_amount`` in all (default 5 tokens). Omit it when the session's super-transactions will be
    sponsored. As in the reference SDK, that payment action lets the session key ``transfer`` the fee token, up to
    ``max_payment_amount`` in all, to **any** address, whatever ``actions`` say. ``fee_recipient="node"`` (the MEE
    node this client talks to) or an address pins those transfers to it, so the session cannot pay anyone else.

    ``user_op_policies`` are the limits of the permission as a whole, which every userOp of the session meets
    whatever it calls (:mod:`smartsessions.policies.user_op`): ``[get_usage_limit_policy(limit=10)]`` is at most 10
    userOps, ``[get_time_frame_policy(...)]`` one window for all of them. Each chain's session counts on its own
    (``{chain_id: [...]}`` gives each chain its own list), and a fee payment is a userOp of the session too (a paid
    super-transaction that calls something on the fee chain uses 2 there). Leave it out for the reference's
    SudoPolicy.
    """
    return await _grant(
        client,
        redeemer=redeemer,
        actions=actions,
        fee_token=fee_token,
        max_payment_amount=max_payment_amount,
        variant="typed",
        fee_recipient=fee_recipient,
        user_op_policies=user_op_policies,
    )


async def grant_permission_personal_sign(
    client: HasAccount,
    *,
    redeemer: object,
    actions: Sequence[ActionConfig | dict[str, Any]],
    fee_token: FeeTokenInfo | dict[str, Any] | None = None,
    max_payment_amount: int | None = None,
    fee_recipient: object = None,
    user_op_policies: UserOpPolicies = None,
) -> list[SessionDetails]:
    """As :func:`grant_permission_typed_data_sign`, signed with EIP-191 ``personal_sign`` (for signers without
    typed-data support)."""
    return await _grant(
        client,
        redeemer=redeemer,
        actions=actions,
        fee_token=fee_token,
        max_payment_amount=max_payment_amount,
        variant="personal",
        fee_recipient=fee_recipient,
        user_op_policies=user_op_policies,
    )


async def is_permission_enabled(client: HasAccount, *, permission_id: object, chain_id: int) -> bool:
    """``SmartSession.isPermissionEnabled(permissionId, account)`` on ``chain_id``."""
    deployment = client.account.deployment_on(chain_id)
    data = encode_function_call(
        "isPermissionEnabled(bytes32,address)",
        [bytes(to_bytes32(permission_id, field="permission_id")), deployment.address],
    )
    return int.from_bytes(await deployment.rpc.call(SMART_SESSIONS_ADDRESS, data), "big") == 1


async def check_enabled_permissions(
    client: HasAccount, session_details: Sequence[SessionDetails]
) -> dict[PermissionId, dict[int, bool]]:
    """``{permission_id: {chain_id: enabled}}`` for every entry, every chain kept (the reference keeps only the last
    chain of a permission id)."""

    async def one(d: SessionDetails) -> tuple[PermissionId, int, bool]:
        chain_id = d.chain_id
        if chain_id is None:
            raise InvalidInputError(
                "session_details.enable_session_data.enable_session.session_to_enable.chain_id",
                "is missing, so the chain to ask is unknown",
                fix="use session details from a grant or from prepare_for_permissions",
            )
        pid = d.permission_id
        return pid, chain_id, await is_permission_enabled(client, permission_id=pid, chain_id=chain_id)

    out: dict[PermissionId, dict[int, bool]] = {}
    for pid, chain_id, enabled in await asyncio.gather(*(one(d) for d in session_details)):
        out.setdefault(pid, {})[chain_id] = enabled
    return out


async def list_permissions(client: HasAccount, *, chain_id: int) -> list[PermissionId]:
    """The permission ids enabled for the account on ``chain_id`` (``SmartSession.getPermissionIDs``)."""
    deployment = client.account.deployment_on(chain_id)
    data = encode_function_call("getPermissionIDs(address)", [deployment.address])
    answer = await deployment.rpc.call(SMART_SESSIONS_ADDRESS, data)
    [ids] = abi_decode(["bytes32[]"], answer, what=f"SmartSessions.getPermissionIDs on chain {chain_id}")
    return [PermissionId(bytes(i)) for i in ids]
