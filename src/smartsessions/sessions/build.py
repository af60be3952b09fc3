"""``build_session_action``: the session actions of abstractjs ``buildSessionAction``, typed and pure.

``type`` picks the model. ``"transfer"``, ``"transferFrom"`` and ``"approve"``
(:class:`BuildTransferSessionActionParams`, :class:`BuildTransferFromSessionActionParams`,
:class:`BuildApproveSessionActionParams`, on the base :class:`BuildERC20SessionActionParams`): an ERC-20 call on
``contract_address``, restricted by the sugar fields ``recipient_address``, ``amount_limit_per_action``,
``max_amount_limit``, ``usage_limit``, ``valid_after`` and ``valid_until``, or by explicit ``policies``. ``"custom"``
(:class:`BuildCustomSessionActionParams`): any target and selector, with ``policies``. ``"batch"``
(:class:`BuildBatchSessionActionParams`): the actions of one chain in one group. The result is the reference's: one
:class:`~smartsessions.policies.payment.SessionAction` per chain, built through
:func:`~smartsessions.sessions.grant.group_actions` like every other action list
(``tests/vectors/build_session_action.json``).

Where the reference silently widens the permission (a recipient it cannot read is dropped and the transfer becomes
sudo, ``usageLimit: 0`` means unlimited, a lone time bound reads the wall clock, sugar next to ``policies`` is
discarded, ...), the model refuses with an :class:`~smartsessions.errors.InvalidInputError` naming the field and the
fix; the list is in ``docs/reference-differences.md``. No clock is read: a time frame takes both bounds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from .._coerce import _checksum
from .._model import Address, Bytes4, Model, Uint48, Uint64, Uint128, Uint256, parse_by_type
from ..encoding.session import PolicyData
from ..errors import InvalidInputError
from ..policies.build import (
    ActionPolicyParams,
    BuildSpendingLimitsActionPolicyParams,
    _refuse,
    build_action_policy,
    calldata_argument,
)
from ..policies.payment import SessionAction
from .grant import ActionConfig, group_actions

__all__ = [
    "BuildApproveSessionActionParams",
    "BuildBatchSessionActionParams",
    "BuildCustomSessionActionParams",
    "BuildERC20SessionActionParams",
    "BuildTransferFromSessionActionParams",
    "BuildTransferSessionActionParams",
    "SessionActionParams",
    "build_session_action",
]

#: ERC-20 selector, and the 1-based positions of the recipient (or spender) and the amount among its arguments.
_ERC20: dict[str, tuple[bytes, int, int]] = {
    "transfer": (bytes.fromhex("a9059cbb"), 1, 2),  # transfer(address to, uint256 amount)
    "transferFrom": (bytes.fromhex("23b872dd"), 2, 3),  # transferFrom(address from, address to, uint256 amount)
    "approve": (bytes.fromhex("095ea7b3"), 1, 2),  # approve(address spender, uint256 amount)
}
_SUGAR = (
    "recipient_address",
    "amount_limit_per_action",
    "max_amount_limit",
    "usage_limit",
    "valid_after",
    "valid_until",
)
_ZERO_MEANS = {
    "amount_limit_per_action": "which the reference reads as 'no per-call limit'",
    "max_amount_limit": "which the reference reads as 'no cap'",
    "usage_limit": "which the reference reads as 'unlimited'",
    "valid_after": "which the reference replaces with the current time (the wall clock)",
    "valid_until": "which the reference replaces with a day after valid_after (or after now)",
}
_ZERO_FIX = {
    "amount_limit_per_action": "pass the most one call may move (at least 1), or leave it out for no per-call limit",
    "max_amount_limit": "pass the most all calls together may move (at least 1), or leave it out for no cap",
    "usage_limit": "pass the number of calls allowed (at least 1), or leave it out for no limit",
    "valid_after": "pass the first second of the window as a unix time (int(time.time()) for now)",
    "valid_until": "pass the last second of the window as a unix time, or leave both bounds out for no time frame",
}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _policy_kind(value: object) -> str:
    if isinstance(value, PolicyData) or (isinstance(value, Mapping) and "policy" in value):
        return "built"
    return "params"


#: One entry of ``policies``: a built :class:`~smartsessions.PolicyData` (``{policy, initData}``), or the params of
#: :func:`~smartsessions.build_action_policy`.
PolicyItem = Annotated[
    Annotated[PolicyData, Tag("built")] | Annotated[ActionPolicyParams, Tag("params")],
    Discriminator(_policy_kind),
]


def _chain_ids(value: object) -> object:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise _refuse("expected a list of chain ids", "pass chain_ids=[1, 8453], a list of ints")
    for k, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int):
            raise _refuse(
                f"[{k}] is a {type(item).__name__}, not an int (the reference keeps a string chain id, which then "
                "matches no chain)",
                "pass the chain id as an int",
            )
    if not value:
        raise _refuse("is empty: no action would be built", "list the chains the action is allowed on")
    if len(set(value)) != len(value):
        raise _refuse("lists a chain twice", "list each chain once")
    return tuple(value)


def _resolve(policies: tuple[Any, ...]) -> tuple[PolicyData, ...]:
    return tuple(p if isinstance(p, PolicyData) else build_action_policy(p) for p in policies)


def _check_spending_tokens(model: str, policies: tuple[Any, ...], contract_address: str) -> None:
    for k, p in enumerate(policies):
        if not isinstance(p, BuildSpendingLimitsActionPolicyParams):
            continue
        for j, item in enumerate(p.token_limits):
            if item.token != contract_address:
                raise InvalidInputError(
                    f"{model}.policies.{k}.token_limits.{j}.token",
                    f"is {item.token}, not contract_address {contract_address}: the reference overwrites it with "
                    "contract_address without a word",
                    fix="set token to contract_address: the policy limits the token the action calls, so a limit "
                    "on another token would refuse every call",
                    value=item.token,
                )


class BuildERC20SessionActionParams(Model):
    """``{type: "transfer" | "transferFrom" | "approve", chainIds, contractAddress, ...}``: the ERC-20 call on each
    chain, restricted by the sugar fields, or by ``policies`` (not both); with neither, unrestricted (sudo).

    The base of :class:`BuildTransferSessionActionParams`, :class:`BuildTransferFromSessionActionParams` and
    :class:`BuildApproveSessionActionParams`, which fix ``type``."""

    type: Literal["transfer", "transferFrom", "approve"]
    chain_ids: tuple[Uint64, ...]  # uint64 each; ints only (a string is refused)
    contract_address: Address
    recipient_address: Address | None = None  # the `to` of transfer and transferFrom, the spender of approve
    amount_limit_per_action: Uint256 | None = None  # the most one call may move
    max_amount_limit: Uint256 | None = None  # the most all calls together may move
    usage_limit: Uint128 | None = None  # the most calls
    valid_after: Uint48 | None = None  # first second of the window (with valid_until)
    valid_until: Uint48 | None = None  # last second of the window (with valid_after)
    policies: tuple[PolicyItem, ...] = ()

    @field_validator("chain_ids", mode="before")
    @classmethod
    def _chain(cls, value: object) -> object:
        return _chain_ids(value)

    @field_validator("recipient_address", mode="before")
    @classmethod
    def _recipient(cls, value: object) -> object:
        if value is None or isinstance(value, (bytes, bytearray)):
            return value
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
            raise _refuse(
                f"{value!r} is not a 0x address of 40 hex digits (the reference drops it without a word, so the "
                "action allows any recipient)",
                "pass the recipient's address, or leave recipient_address out to allow any recipient",
            )
        digits = value[2:]
        if digits != digits.lower() and _checksum(digits.lower()) != value:
            raise _refuse(
                "is neither lower-case nor EIP-55 checksummed (the reference drops it without a word, so the action "
                "allows any recipient)",
                f"check for a typo; the checksummed form of the lower-case address is {_checksum(digits.lower())}",
            )
        return value

    @field_validator("amount_limit_per_action", "max_amount_limit", "usage_limit", "valid_after", "valid_until")
    @classmethod
    def _not_zero(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value == 0:
            raise _refuse(f"is 0, {_ZERO_MEANS[info.field_name or '']}", _ZERO_FIX[info.field_name or ""])
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BuildERC20SessionActionParams:
        given = [f for f in _SUGAR if getattr(self, f) is not None]
        if self.policies and given:
            raise InvalidInputError(
                f"{type(self).__name__}.{given[0]}",
                "is set next to policies: the reference discards every sugar field when policies is not empty",
                fix=f"express {given[0]} as a policy in policies, or drop policies",
            )
        if (self.valid_after is None) != (self.valid_until is None):
            missing = "valid_until" if self.valid_until is None else "valid_after"
            raise InvalidInputError(
                f"{type(self).__name__}.{missing}",
                "is missing: with one bound alone the reference reads the wall clock (a day from valid_after, or "
                "from now until valid_until)",
                fix=f"pass {missing} too (a unix time in seconds; int(time.time()) for now)",
            )
        if self.valid_after is not None and self.valid_until is not None and self.valid_until < self.valid_after:
            raise InvalidInputError(
                f"{type(self).__name__}.valid_until",
                f"is before valid_after ({self.valid_until} < {self.valid_after}); the contract refuses such a window",
                fix="swap the two values",
            )
        per, cap = self.amount_limit_per_action, self.max_amount_limit
        if per is not None and cap is not None and per > cap:
            raise InvalidInputError(
                f"{type(self).__name__}.amount_limit_per_action",
                f"is above max_amount_limit ({per} > {cap}): the cap allows less than one such call, so the two "
                "are likely swapped",
                fix="pass a per-call limit of at most max_amount_limit",
            )
        _check_spending_tokens(type(self).__name__, self.policies, self.contract_address)
        return self

    def action_policies(self) -> tuple[PolicyData, ...]:
        if self.policies:
            return _resolve(self.policies)
        _, to, amount = _ERC20[self.type]
        rules: list[dict[str, object]] = []
        if self.recipient_address is not None:
            rules.append(
                {
                    "condition": "equal",
                    "calldata_offset": calldata_argument(to),
                    "comparison_value": self.recipient_address,
                }
            )
        if self.max_amount_limit is not None:
            rules.append(
                {
                    "condition": "lessThanOrEqual",
                    "calldata_offset": calldata_argument(amount),
                    "comparison_value": self.amount_limit_per_action or self.max_amount_limit,
                    "is_limited": True,
                    "usage": {"limit": self.max_amount_limit, "used": 0},
                }
            )
        elif self.amount_limit_per_action is not None:
            rules.append(
                {
                    "condition": "lessThanOrEqual",
                    "calldata_offset": calldata_argument(amount),
                    "comparison_value": self.amount_limit_per_action,
                }
            )
        out: list[PolicyData] = []
        if rules:
            out.append(build_action_policy(type="universal", rules=rules))
        if self.usage_limit is not None:
            out.append(build_action_policy(type="usageLimit", limit=self.usage_limit))
        if self.valid_after is not None:
            out.append(
                build_action_policy(type="timeframe", valid_after=self.valid_after, valid_until=self.valid_until)
            )
        return tuple(out) or (build_action_policy(type="sudo"),)


class BuildTransferSessionActionParams(BuildERC20SessionActionParams):
    """``{type: "transfer", ...}``: ``transfer(to, amount)``; ``recipient_address`` restricts ``to``."""

    type: Literal["transfer"] = "transfer"


class BuildTransferFromSessionActionParams(BuildERC20SessionActionParams):
    """``{type: "transferFrom", ...}``: ``transferFrom(from, to, amount)``; ``recipient_address`` restricts ``to``."""

    type: Literal["transferFrom"] = "transferFrom"


class BuildApproveSessionActionParams(BuildERC20SessionActionParams):
    """``{type: "approve", ...}``: ``approve(spender, amount)``; ``recipient_address`` restricts ``spender``."""

    type: Literal["approve"] = "approve"


def _refuse_sugar(value: object, info: ValidationInfo) -> object:
    raise _refuse(
        "is ERC-20 sugar, which a custom action does not take (the reference ignores it: the action becomes sudo)",
        f"express {info.field_name} as a policy in policies (build_action_policy params), or use type 'transfer', "
        "'transferFrom' or 'approve'",
    )


class BuildCustomSessionActionParams(Model):
    """``{type: "custom", chainIds, contractAddress, functionSignature, policies?}``: calls of the 4-byte selector
    ``function_signature`` on ``contract_address``; without policies, unrestricted (sudo)."""

    type: Literal["custom"] = "custom"
    chain_ids: tuple[Uint64, ...]  # uint64 each; ints only (a string is refused)
    contract_address: Address
    function_signature: Bytes4  # the selector, e.g. 0xa9059cbb (refused: a text signature or any other length)
    policies: tuple[PolicyItem, ...] = ()
    # The ERC-20 sugar, refused with a fix (the reference drops it without a word).
    recipient_address: Any = Field(default=None, exclude=True, repr=False)
    amount_limit_per_action: Any = Field(default=None, exclude=True, repr=False)
    max_amount_limit: Any = Field(default=None, exclude=True, repr=False)
    usage_limit: Any = Field(default=None, exclude=True, repr=False)
    valid_after: Any = Field(default=None, exclude=True, repr=False)
    valid_until: Any = Field(default=None, exclude=True, repr=False)

    @field_validator("chain_ids", mode="before")
    @classmethod
    def _chain(cls, value: object) -> object:
        return _chain_ids(value)

    @field_validator(*_SUGAR, mode="before")
    @classmethod
    def _sugar(cls, value: object, info: ValidationInfo) -> object:
        return _refuse_sugar(value, info)

    @field_validator("function_signature", mode="before")
    @classmethod
    def _selector(cls, value: object) -> object:
        if isinstance(value, str) and not value.startswith(("0x", "0X")):
            raise _refuse(
                f"{value!r} is not a selector (the reference passes any string on as the selector)",
                "pass the 4-byte selector as 0x hex: the first 4 bytes of keccak256 of the signature, e.g. 0xa9059cbb",
            )
        return value

    @model_validator(mode="after")
    def _spending(self) -> BuildCustomSessionActionParams:
        _check_spending_tokens(type(self).__name__, self.policies, self.contract_address)
        return self

    def action_policies(self) -> tuple[PolicyData, ...]:
        return _resolve(self.policies) or (build_action_policy(type="sudo"),)


def _batch_item(value: object) -> object:
    if isinstance(value, Mapping):
        chain = value.get("chainId", value.get("chain_id"))
        if isinstance(chain, bool) or not isinstance(chain, int):
            raise _refuse(
                f"chainId {chain!r} is not an int (the reference keeps a string chain id, which matches no chain)",
                "pass the chain id as an int",
            )
    return value


class BuildBatchSessionActionParams(Model):
    """``{type: "batch", actions}``: at least two session actions of one chain, as one group."""

    type: Literal["batch"] = "batch"
    actions: tuple[SessionAction, ...]

    @field_validator("actions", mode="before")
    @classmethod
    def _items(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            for item in value:
                _batch_item(item)
        return value

    @field_validator("actions")
    @classmethod
    def _one_chain(cls, value: tuple[SessionAction, ...]) -> tuple[SessionAction, ...]:
        if len(value) < 2:
            raise _refuse("has fewer than 2 session actions: nothing to batch", "pass at least two, or no batch")
        chains = {a.chain_id for a in value}
        if len(chains) > 1:
            raise _refuse(
                f"spans chains {sorted(chains)}: a batch is the actions of one chain",
                "batch each chain's actions apart",
            )
        return value


SessionActionParams = Annotated[
    BuildTransferSessionActionParams
    | BuildTransferFromSessionActionParams
    | BuildApproveSessionActionParams
    | BuildCustomSessionActionParams
    | BuildBatchSessionActionParams,
    Field(discriminator="type"),
]

_MODELS: dict[str, type[Model]] = {
    "transfer": BuildTransferSessionActionParams,
    "transferFrom": BuildTransferFromSessionActionParams,
    "approve": BuildApproveSessionActionParams,
    "custom": BuildCustomSessionActionParams,
    "batch": BuildBatchSessionActionParams,
}


def _parse(params: object, fields: Mapping[str, Any]) -> Model:
    if isinstance(params, Mapping):
        merged = {**params, **fields}
        if isinstance(merged.get("data"), Mapping) and set(merged) == {"type", "data"}:
            params, fields = {"type": merged["type"], **merged["data"]}, {}  # the reference's {type, data} shape
    return parse_by_type(
        params,
        fields,
        _MODELS,
        accepted=(BuildERC20SessionActionParams,),
        what="a session action",
        model_names="Build*SessionActionParams",
        example="build_session_action(type='transfer', chain_ids=[1], contract_address=...)",
    )


def build_session_action(
    params: SessionActionParams | Mapping[str, Any] | None = None, /, **fields: Any
) -> list[SessionAction]:
    """abstractjs ``buildSessionAction``: the session actions (``{chainId, actions}``, one per chain) of one action.

    Pass a model, a mapping in either spelling (also the reference's ``{"type": ..., "data": {...}}``), or keywords:
    ``build_session_action(type="transfer", chain_ids=[8453], contract_address=usdc, recipient_address=shop,
    max_amount_limit=10**8)``.
    """
    parsed = _parse(params, fields)
    if isinstance(parsed, BuildBatchSessionActionParams):
        return group_actions(
            [
                ActionConfig(
                    chain_id=group.chain_id,
                    action_target=a.action_target,
                    action_target_selector=a.action_target_selector,
                    action_policies=a.action_policies,
                )
                for group in parsed.actions
                for a in group.actions
            ]
        )
    if isinstance(parsed, BuildERC20SessionActionParams):
        selector: bytes = _ERC20[parsed.type][0]
        policies = parsed.action_policies()
        chain_ids = parsed.chain_ids
        target = parsed.contract_address
    else:
        assert isinstance(parsed, BuildCustomSessionActionParams)
        selector = bytes(parsed.function_signature)
        policies = parsed.action_policies()
        chain_ids = parsed.chain_ids
        target = parsed.contract_address
    return group_actions(
        [
            ActionConfig(chain_id=c, action_target=target, action_target_selector=selector, action_policies=policies)
            for c in chain_ids
        ]
    )
