"""Building a grant, offline: sessions per chain, their digests, the owner's signature, the session details
(spec §3). ``grant_permission_typed_data_sign`` / ``grant_permission_personal_sign`` add the chain reads (SmartSessions
nonces, the fee token's decimals) and call into this module; everything here is pure and deterministic once the
salts are fixed.

The path of a permission, end to end:

1. :func:`build_grant_sessions` groups the actions by chain (first-appearance order), adds the fee-token payment
   policy on the fee chain (:func:`~smartsessions.policies.add_payment_policy_for_actions`), and makes one
   :class:`~smartsessions.Session` per chain, validated by the account's K1MeeValidator with the redeemer as owner;
2. :func:`get_grant_chain_digests` computes each chain's session digest for UNSAFE_ENABLE with that chain's
   SmartSessions nonce (the value ``SmartSession.getSessionDigest`` returns);
3. :func:`sign_grant` signs the multichain digest once (EIP-712 typed data, or EIP-191 personal sign);
4. :func:`to_grant_session_details` gives one :class:`~smartsessions.SessionDetails` per chain. On first use, the
   session userOp carries them in its signature and SmartSessions checks the digest and the owner's signature
   through the account's ERC-1271 before storing the session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from hexbytes import HexBytes

from .._coerce import to_address, to_uint
from .._model import Address, Bytes4, Model, Uint64
from ..encoding.eip712 import get_session_digest, hash_chain_digests
from ..encoding.session import (
    ActionData,
    ChainDigest,
    EnableSession,
    EnableSessionData,
    PolicyData,
    Session,
    SmartSessionMode,
)
from ..errors import ConfigurationError, InvalidInputError
from ..policies.payment import SessionAction, add_payment_policy_for_actions, check_fee_payment_allowed
from ..policies.user_op import UserOpPolicies, check_user_op_policies, user_op_policies_by_chain
from ..rpc import call_word
from ..signer import AnySigner, apersonal_sign, asign_typed_digest, personal_sign, sign_typed_digest
from ..versions import MeeVersionConfig, get_mee_version
from ..wire.mee import FeeTokenInfo
from ..wire.session import MOCK_SIGNATURE, SessionDetails

__all__ = [
    "ActionConfig",
    "asign_grant",
    "build_grant_sessions",
    "get_grant_chain_digests",
    "get_session_validator_init_data",
    "grant_permission_offline",
    "group_actions",
    "sign_grant",
    "to_grant_session_details",
]


class ActionConfig(Model):
    """One permitted call: ``action_target.action_target_selector(...)`` on ``chain_id``, under the policies."""

    chain_id: Uint64
    action_target: Address
    action_target_selector: Bytes4
    action_policies: tuple[PolicyData, ...]


def group_actions(actions: Sequence[ActionConfig | SessionAction | Mapping[str, Any]]) -> list[SessionAction]:
    """The actions as the SDK groups them per chain (``{chainId, actions}``), the one place an :class:`ActionConfig`
    becomes the :class:`~smartsessions.encoding.session.ActionData` a session holds: ActionConfigs join their chain's
    first group (chains in order of first appearance), SessionAction groups (or their dicts) stay as given."""
    groups: list[SessionAction] = []
    for item in actions:
        if isinstance(item, Mapping):
            item = SessionAction.model_validate(item) if "actions" in item else ActionConfig.model_validate(item)
        if isinstance(item, SessionAction):
            groups.append(item)
            continue
        action = ActionData(
            action_target_selector=item.action_target_selector,
            action_target=item.action_target,
            action_policies=item.action_policies,
        )
        k = next((k for k, g in enumerate(groups) if g.chain_id == item.chain_id), None)
        if k is None:
            groups.append(SessionAction(chain_id=item.chain_id, actions=(action,)))
        else:
            groups[k] = groups[k].model_copy(update={"actions": (*groups[k].actions, action)})
    return groups


def get_session_validator_init_data(version: MeeVersionConfig, redeemer: object) -> HexBytes:
    """The redeemer as the session validator's owner (spec §3.4): 20 bytes before MEE 3.0.0.

    The zero address is refused: K1MeeValidator 1.0.1 compares the address a signature recovers to with the owner,
    and a signature that recovers to none counts as the zero address, so anyone could use such a session."""
    address = to_address(redeemer, field="redeemer")
    if int(address, 16) == 0:
        raise InvalidInputError(
            "redeemer",
            "is the zero address; the validator would accept any signature that recovers no address, from anyone",
            fix="pass the session signer's address",
            value=redeemer,
        )
    if version.session_validator_init_data_is_packed:
        raise ConfigurationError(
            "version",
            f"MEE {version.version} uses the stateless STX validator for sessions, which is not supported yet",
            fix="use MEE version 2.0.0 or 2.1.0",
        )
    return HexBytes(bytes.fromhex(address[2:]))


def _versions_by_chain(
    chain_ids: Sequence[int], versions: Mapping[int, str | MeeVersionConfig] | str | MeeVersionConfig
) -> dict[int, MeeVersionConfig]:
    if isinstance(versions, (str, MeeVersionConfig)):
        return {c: get_mee_version(versions) for c in chain_ids}
    out = {}
    for c in chain_ids:
        if c not in versions:
            raise ConfigurationError(
                "actions.chain_id",
                f"Multichain Nexus is not configured on chain {c}",
                fix="add the chain to the account's chain configurations, or drop its actions",
            )
        out[c] = get_mee_version(versions[c])
    return out


def _parse_actions(actions: Sequence[ActionConfig | dict[str, Any]]) -> list[ActionConfig]:
    if not actions:
        raise InvalidInputError("actions", "a grant needs at least one action", fix="pass one or more ActionConfig")
    return [a if isinstance(a, ActionConfig) else ActionConfig.model_validate(a) for a in actions]


def default_max_payment_amount(decimals: int) -> int:
    """The SDK's default cap on a session's fee payments: 5 whole fee tokens."""
    return int(5 * 10**decimals)


def fee_decimals_call(fee: FeeTokenInfo) -> tuple[str, list[Any]]:
    """The fee token's ``decimals()`` as a JSON-RPC call, for the default fee budget: every flow that defaults it
    puts this in one of its batches of reads."""
    return ("eth_call", [{"to": fee.address, "data": "0x313ce567"}, "latest"])


def default_fee_budget(fee: FeeTokenInfo, decimals_answer: object) -> int:
    """5 tokens of the fee token (:func:`default_max_payment_amount`), from the answer to :func:`fee_decimals_call`."""
    decimals = call_word(decimals_answer, what=f"decimals() of the fee token {fee.address}", bits=8, empty=0)
    return default_max_payment_amount(decimals)


def check_max_payment_amount(value: object, fee: FeeTokenInfo | None) -> int | None:
    """The fee budget as given (None: the default, 5 tokens). An explicit 0 with a fee token is refused: the
    reference silently replaces it with 5 tokens, and no one asking for "at most 0" means that."""
    if value is None:
        return None
    amount = to_uint(value, field="max_payment_amount")
    if amount == 0 and fee is not None:
        raise InvalidInputError(
            "max_payment_amount",
            "is 0, but the session pays its fees in the fee token (the reference would make it 5 tokens)",
            fix="pass the most the session may pay in fees, leave it out for 5 tokens, or use sponsorship",
        )
    return amount


def names_the_node(fee_recipient: object) -> bool:
    """Whether ``fee_recipient`` is the word ``"node"`` (any case, spaces around): the MEE node a client talks to."""
    return isinstance(fee_recipient, str) and fee_recipient.strip().lower() == "node"


def fee_recipient_of(fee: FeeTokenInfo | None, fee_recipient: object) -> str | None:
    """The address a grant pins the fee payment to, or None; a pin without a fee token is a mistake, not a no-op."""
    if fee_recipient is None:
        return None
    if fee is None:
        raise InvalidInputError(
            "fee_recipient",
            "pins the fee payment's recipient, but the grant has no fee_token (its super-transactions are sponsored)",
            fix="pass fee_token= as well, or drop fee_recipient",
        )
    if names_the_node(fee_recipient):
        raise InvalidInputError(
            "fee_recipient",
            '"node" means the MEE node a client talks to, and this grant is made without a client',
            fix="pass the node's address (its /info `node`, or a client's node_address)",
        )
    try:
        return to_address(fee_recipient, field="fee_recipient")
    except InvalidInputError as exc:
        raise InvalidInputError(
            "fee_recipient",
            exc.problem,
            fix='pass the MEE node\'s address, or "node" when granting through an MEE client',
            value=fee_recipient,
        ) from None


def payment_groups(
    groups: Sequence[SessionAction],
    *,
    chain_id: int,
    fee: FeeTokenInfo | None,
    max_payment_amount: int,
    check_fee_payment: bool = True,
    fee_recipient: str | None = None,
) -> Sequence[SessionAction]:
    """``groups`` (one chain's actions) with the automatic payment policy when the fee is paid on this chain, after
    refusing rules that would block every fee (:func:`~smartsessions.policies.payment.check_fee_payment_allowed`);
    ``fee_recipient`` pins the fee payment's recipient (:mod:`smartsessions.policies.payment`)."""
    if fee is None or fee.chain_id != chain_id:
        return groups
    if check_fee_payment:
        check_fee_payment_allowed(
            [a for g in groups for a in g.actions],
            fee_token=fee.address,
            chain_id=chain_id,
            max_payment_amount=max_payment_amount,
        )
    return add_payment_policy_for_actions(
        groups,
        fee_token=fee.address,
        fee_token_chain_id=fee.chain_id,
        max_payment_amount=max_payment_amount,
        recipient=fee_recipient,
    )


def new_session(
    *,
    chain_id: int,
    version: MeeVersionConfig,
    redeemer: object,
    actions: Sequence[ActionData],
    salt: object,
    user_op_policies: object = None,
) -> Session:
    """The session every SDK flow enables: the K1MeeValidator with the redeemer as owner, the ``user_op_policies`` of
    its chain (checked by :func:`~smartsessions.policies.user_op.check_user_op_policies`; by default Sudo alone, as the
    reference: the actions carry the limits), and the ERC-4337 paymaster permitted (the node pays gas)."""
    return Session(
        session_validator=version.validator_address,
        session_validator_init_data=get_session_validator_init_data(version, redeemer),
        salt=salt,
        user_op_policies=check_user_op_policies(user_op_policies),
        actions=tuple(actions),
        permit_erc4337_paymaster=True,
        chain_id=chain_id,
    )


def build_grant_sessions(
    *,
    redeemer: object,
    actions: Sequence[ActionConfig | dict[str, Any]],
    versions: Mapping[int, str | MeeVersionConfig] | str | MeeVersionConfig,
    fee_token: FeeTokenInfo | dict[str, Any] | None = None,
    max_payment_amount: object = None,
    salts: Sequence[object] | None = None,
    check_fee_payment: bool = True,
    fee_recipient: object = None,
    user_op_policies: UserOpPolicies = None,
) -> list[Session]:
    """One session per chain of ``actions``, in first-appearance order; ``salts`` (one per chain) default to random.

    ``user_op_policies``: the permission-wide limits (:mod:`smartsessions.policies.user_op`), which every userOp of
    the session meets, whatever it calls: e.g. ``[get_usage_limit_policy(limit=10)]`` for at most 10 userOps. Each
    chain's session gets them, with counters of its own, or, from a mapping ``{chain_id: [...]}`` with an entry per
    chain, its own; the fee payment, when the session pays fees, is a userOp too (2 per paid super-transaction that
    calls something on the fee chain). Default: Sudo alone, as the reference.

    With a ``fee_token``, the session on its chain may pay up to ``max_payment_amount`` of it in fees, in all, and
    with the reference's payment policy to any address; ``fee_recipient`` (the MEE node's address) pins the fee
    payment to it, so the session cannot pay anyone else (:mod:`smartsessions.policies.payment`).

    A session whose own rules on the fee token's ``transfer`` refuse every possible fee payment raises
    :class:`~smartsessions.errors.FeePaymentBlockedError` (the reference grants it, and every use then fails);
    ``check_fee_payment=False`` only reproduces the reference's bytes for such a grant."""
    parsed = _parse_actions(actions)
    fee = (
        None
        if fee_token is None
        else (fee_token if isinstance(fee_token, FeeTokenInfo) else FeeTokenInfo.model_validate(fee_token))
    )
    if fee is not None and max_payment_amount is None:
        raise InvalidInputError(
            "max_payment_amount",
            "is required with a fee token in an offline grant",
            fix="pass it (the SDK default is 5 * 10**decimals of the fee token)",
        )
    recipient = fee_recipient_of(fee, fee_recipient)
    groups = group_actions(parsed)  # one group per chain: grants take ActionConfigs only
    policies = user_op_policies_by_chain(user_op_policies, [g.chain_id for g in groups])
    if salts is not None and len(salts) != len(groups):
        raise InvalidInputError("salts", f"expected one salt per chain ({len(groups)}), got {len(salts)}")
    by_chain = _versions_by_chain([g.chain_id for g in groups], versions)
    amount = 0 if fee is None else to_uint(max_payment_amount, field="max_payment_amount")

    sessions = []
    for k, group in enumerate(groups):
        chain_id = group.chain_id
        [paid] = payment_groups(
            [group],
            chain_id=chain_id,
            fee=fee,
            max_payment_amount=amount,
            check_fee_payment=check_fee_payment,
            fee_recipient=recipient,
        )
        # the grant flow leaves each action's chain id in the session, as the reference's grant does
        chain_actions = [a.model_copy(update={"chain_id": chain_id}) for a in paid.actions]
        sessions.append(
            new_session(
                chain_id=chain_id,
                version=by_chain[chain_id],
                redeemer=redeemer,
                actions=chain_actions,
                salt=os.urandom(32) if salts is None else salts[k],
                user_op_policies=policies[chain_id],
            )
        )
    return sessions


def _by_chain(value: Mapping[int, object] | object, chain_id: int, field: str) -> object:
    if isinstance(value, Mapping):
        if chain_id not in value:
            raise InvalidInputError(field, f"has no entry for chain {chain_id}", fix=f"add {field}[{chain_id}]")
        return value[chain_id]
    return value


def get_grant_chain_digests(
    sessions: Sequence[Session], *, accounts: Mapping[int, object] | object, nonces: Mapping[int, object]
) -> list[ChainDigest]:
    """Each session's UNSAFE_ENABLE digest on its chain, with that chain's SmartSessions nonce."""
    out = []
    for s in sessions:
        if s.chain_id is None:
            raise InvalidInputError("sessions.chain_id", "is required to grant", fix="set the session's chain_id")
        digest = get_session_digest(
            s,
            account=_by_chain(accounts, s.chain_id, "accounts"),
            mode=SmartSessionMode.UNSAFE_ENABLE,
            nonce=_by_chain(nonces, s.chain_id, "nonces"),
        )
        out.append(ChainDigest(chain_id=s.chain_id, session_digest=digest))
    return out


def _grant_digest(chain_digests: Sequence[ChainDigest], variant: str) -> HexBytes:
    if variant not in ("typed", "personal"):
        raise InvalidInputError("variant", "must be 'typed' or 'personal'", value=variant)
    return hash_chain_digests(chain_digests)


def sign_grant(
    signer: AnySigner, chain_digests: Sequence[ChainDigest], *, variant: Literal["typed", "personal"] = "typed"
) -> HexBytes:
    """The owner's one signature over every chain's session (``permissionEnableSig``, 65 raw bytes)."""
    digest = _grant_digest(chain_digests, variant)
    return sign_typed_digest(signer, digest) if variant == "typed" else personal_sign(signer, digest)


async def asign_grant(
    signer: AnySigner, chain_digests: Sequence[ChainDigest], *, variant: Literal["typed", "personal"] = "typed"
) -> HexBytes:
    """:func:`sign_grant` for any signer, a remote one included."""
    digest = _grant_digest(chain_digests, variant)
    return await (asign_typed_digest(signer, digest) if variant == "typed" else apersonal_sign(signer, digest))


def to_grant_session_details(
    sessions: Sequence[Session],
    chain_digests: Sequence[ChainDigest],
    permission_enable_sig: object,
    *,
    validator: object = "0x0000000000000000000000000000000000000000",
    account_type: str = "nexus",
) -> list[SessionDetails]:
    """Session details in UNSAFE_ENABLE mode; ``validator`` is the account's default-validator address (zero)."""
    return [
        SessionDetails(
            mode=SmartSessionMode.UNSAFE_ENABLE,
            permission_id=s.permission_id,
            signature=MOCK_SIGNATURE,
            enable_session_data=EnableSessionData(
                enable_session=EnableSession(
                    chain_digest_index=k,
                    hashes_and_chain_ids=tuple(chain_digests),
                    session_to_enable=s,
                    permission_enable_sig=permission_enable_sig,
                ),
                validator=validator,
                account_type=account_type,
            ),
        )
        for k, s in enumerate(sessions)
    ]


def grant_permission_offline(
    *,
    signer: AnySigner,
    redeemer: object,
    actions: Sequence[ActionConfig | dict[str, Any]],
    accounts: Mapping[int, object] | object,
    nonces: Mapping[int, object],
    versions: Mapping[int, str | MeeVersionConfig] | str | MeeVersionConfig,
    fee_token: FeeTokenInfo | dict[str, Any] | None = None,
    max_payment_amount: object = None,
    fee_token_decimals: int | None = None,
    variant: Literal["typed", "personal"] = "typed",
    salts: Sequence[object] | None = None,
    check_fee_payment: bool = True,
    fee_recipient: object = None,
    user_op_policies: UserOpPolicies = None,
) -> list[SessionDetails]:
    """The whole grant from values already read from the chains. ``max_payment_amount`` defaults (with a fee
    token) to ``5 * 10**fee_token_decimals``, as the SDK's. ``check_fee_payment``, ``fee_recipient`` and
    ``user_op_policies``: see :func:`build_grant_sessions`."""
    fee = None if fee_token is None else FeeTokenInfo.model_validate(fee_token)
    max_payment_amount = check_max_payment_amount(max_payment_amount, fee)
    if fee_token is not None and max_payment_amount is None:
        if fee_token_decimals is None:
            raise InvalidInputError(
                "fee_token_decimals",
                "is needed to default max_payment_amount",
                fix="pass max_payment_amount, or the fee token's decimals",
            )
        max_payment_amount = default_max_payment_amount(to_uint(fee_token_decimals, field="fee_token_decimals", bits=8))
    sessions = build_grant_sessions(
        redeemer=redeemer,
        actions=actions,
        versions=versions,
        fee_token=fee_token,
        max_payment_amount=max_payment_amount,
        salts=salts,
        check_fee_payment=check_fee_payment,
        fee_recipient=fee_recipient,
        user_op_policies=user_op_policies,
    )
    digests = get_grant_chain_digests(sessions, accounts=accounts, nonces=nonces)
    signature = sign_grant(signer, digests, variant=variant)
    first = digests[0].chain_id  # the reference takes the validator from the first chain's deployment
    validator = _versions_by_chain([first], versions)[first].default_validator_address
    return to_grant_session_details(sessions, digests, signature, validator=validator)
