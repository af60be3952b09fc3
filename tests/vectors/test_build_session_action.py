"""``build_session_action`` against abstractjs ``buildSessionAction`` (``build_session_action.json``).

Every case is the reference's answer for a random input, with ``Date.now()`` frozen while it ran. Where the input is
valid and unambiguous our session actions are the reference's, byte for byte. Where it is one of the mistakes the
reference turns into a broader permission (or a wall-clock read) without a word (docs/reference-differences.md), we
must refuse it with an ``InvalidInputError`` naming the field: :func:`refusal` says, from the input alone, which field
that is. Where the reference throws, we must refuse too. No case is skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from smartsessions import InvalidInputError, SessionAction, build_session_action
from smartsessions._coerce import _checksum

from .conftest import _load, b, cases, same_address

FILE = "build_session_action.json"
ERC20 = {"transfer", "transferFrom", "approve"}
SUGAR = ["recipientAddress", "amountLimitPerAction", "maxAmountLimit", "usageLimit", "validAfter", "validUntil"]
SNAKE = {f: re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), f) for f in SUGAR}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _recipient_refusal(value: str) -> str | None:
    """Why the reference's ``isAddress(value)`` (strict: a mixed-case address must carry its checksum) fails."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        return "an unreadable recipient"
    digits = value[2:]
    if digits != digits.lower() and _checksum(digits.lower()) != value:
        return "a recipient with a wrong checksum (or upper-case)"
    return None


def _chain_refusal(ids: list[Any]) -> tuple[str, str] | None:
    if not all(_is_int(c) for c in ids):
        return "chain_ids", "a string chain id"
    if not ids:
        return "chain_ids", "no chain"
    if len(set(ids)) != len(ids):
        return "chain_ids", "a chain twice"
    return None


def _spending_refusal(data: dict[str, Any]) -> tuple[str, str] | None:
    for p in data.get("policies", []):
        if p.get("type") == "spendingLimits":
            for item in p["tokenLimits"]:
                if item["token"].lower() != data["contractAddress"].lower():
                    return "token", "a spending-limit token other than contractAddress"
    return None


def refusal(params: dict[str, Any]) -> tuple[str, str] | None:
    """The field we refuse (the end of ``InvalidInputError.field``) and why, or None when we build the actions.

    The checks run in the order of the model's fields, then the model's own checks, as pydantic reports them."""
    kind, data = params["type"], params["data"]
    if kind not in ERC20 | {"custom", "batch"}:
        return "type", "unknown type"
    if kind == "batch":
        actions = data["actions"]
        if not all(_is_int(a["chainId"]) for a in actions):
            return "actions", "a string chain id"
        if len(actions) < 2:
            return "actions", "fewer than 2 actions"
        if len({a["chainId"] for a in actions}) > 1:
            return "actions", "several chains"
        return None
    found = _chain_refusal(data["chainIds"])
    if found:
        return found
    if kind == "custom":
        selector = data["functionSignature"]
        if not selector.startswith("0x"):
            return "function_signature", "a text selector"
        if len(selector) != 10:
            return "function_signature", "a selector of another length"
        for f in SUGAR:
            if f in data:
                return SNAKE[f], "sugar on custom"
        return _spending_refusal(data)
    if "recipientAddress" in data:
        why = _recipient_refusal(data["recipientAddress"])
        if why:
            return "recipient_address", why
    for f in SUGAR[1:]:
        if f in data and int(data[f]) == 0:
            return SNAKE[f], f"{f}: 0"
    given = [f for f in SUGAR if f in data]
    if data.get("policies") and given:
        return SNAKE[given[0]], "sugar next to policies"
    if ("validAfter" in data) != ("validUntil" in data):
        return ("valid_until" if "validAfter" in data else "valid_after"), "one time bound alone"
    if "validAfter" in data and data["validUntil"] < data["validAfter"]:
        return "valid_until", "until before after"
    if "maxAmountLimit" in data and int(data.get("amountLimitPerAction", 0)) > int(data["maxAmountLimit"]):
        return "amount_limit_per_action", "a per-call limit above the cap"
    return _spending_refusal(data)


def _comparison(value: str) -> int | str:
    return value if value.startswith("0x") else int(value)


def _policy(p: dict[str, Any]) -> dict[str, Any]:
    """A policy as the generator wrote it, in our types: a rule's comparisonValue was a bigint (decimal string) or
    stays a 0x string."""
    if p.get("type") != "universal":
        return p
    return {**p, "rules": [{**r, "comparisonValue": _comparison(r["comparisonValue"])} for r in p["rules"]]}


def _input(params: dict[str, Any]) -> dict[str, Any]:
    data = params["data"]
    if "policies" in data:
        data = {**data, "policies": [_policy(p) for p in data["policies"]]}
    return {"type": params["type"], "data": data}


def assert_same(ours: list[SessionAction], ref: list[dict[str, Any]]) -> None:
    assert len(ours) == len(ref)
    for group, expected in zip(ours, ref, strict=True):
        assert group.chain_id == expected["chainId"]
        assert len(group.actions) == len(expected["actions"])
        for action, want in zip(group.actions, expected["actions"], strict=True):
            assert same_address(action.action_target, want["actionTarget"])
            assert bytes(action.action_target_selector) == b(want["actionTargetSelector"])
            assert len(action.action_policies) == len(want["actionPolicies"])
            for policy, p in zip(action.action_policies, want["actionPolicies"], strict=True):
                assert same_address(policy.policy, p["policy"])
                assert bytes(policy.init_data) == b(p["initData"])


@pytest.mark.parametrize("case", cases(FILE))
def test_build_session_action(case: dict[str, Any]) -> None:
    params = case["params"]
    expected = refusal(params)
    if expected is None:
        assert "error" not in case, f"the reference threw {case['error']!r} on an input we build"
        assert_same(build_session_action(_input(params)), case["result"])
        return
    field, _why = expected
    with pytest.raises(InvalidInputError) as err:
        build_session_action(_input(params))
    assert err.value.field == field or err.value.field.endswith("." + field), (err.value.field, field)


def test_the_vectors_cover_every_type_field_and_refusal() -> None:
    """The random inputs reach every type and every sugar field in cases we build, and every refusal at least once."""
    all_cases = _load(FILE)["cases"]
    reasons = Counter(r[1] for c in all_cases if (r := refusal(c["params"])) is not None)
    assert set(reasons) == {
        "unknown type", "a string chain id", "no chain", "a chain twice", "a text selector",
        "a selector of another length", "sugar on custom", "an unreadable recipient",
        "a recipient with a wrong checksum (or upper-case)", "amountLimitPerAction: 0", "maxAmountLimit: 0",
        "usageLimit: 0", "validAfter: 0", "validUntil: 0", "sugar next to policies", "one time bound alone",
        "until before after", "a per-call limit above the cap", "a spending-limit token other than contractAddress",
        "fewer than 2 actions", "several chains",
    }  # fmt: skip
    built = [c for c in all_cases if refusal(c["params"]) is None]
    assert len(built) > len(all_cases) // 2
    assert {c["params"]["type"] for c in built} == ERC20 | {"custom", "batch"}
    for kind in ERC20:
        data = [c["params"]["data"] for c in built if c["params"]["type"] == kind]
        assert {f for d in data for f in d} >= set(SUGAR) | {"policies"}, kind
        assert any(not set(d) & set(SUGAR) and not d.get("policies") for d in data), kind  # sudo
    assert any(len(c["params"]["data"]["chainIds"]) > 1 for c in built if c["params"]["type"] != "batch")
    # the reference drops a bad recipient: with nothing else set, its answer is an unrestricted (sudo) transfer
    dropped = [
        c for c in all_cases
        if c["params"]["type"] == "transfer"
        and set(c["params"]["data"]) == {"chainIds", "contractAddress", "recipientAddress"}
        and refusal(c["params"]) is not None
    ]  # fmt: skip
    recipients = {c["params"]["data"]["recipientAddress"] for c in dropped}
    assert "" in recipients  # empty
    assert any(0 < len(r) < 42 for r in recipients)  # short
    assert any(re.fullmatch(r"0x[0-9A-F]{40}", r) and re.search("[A-F]", r) for r in recipients)  # upper-case
    assert any(r != r.lower() and not re.fullmatch(r"0x[0-9A-F]{40}", r) for r in recipients)  # a wrong checksum
    assert dropped and all(
        c["result"][0]["actions"][0]["actionPolicies"][0]["policy"] == "0x0000000000FEEc8D74e3143fBaBbca515358d869"
        for c in dropped
    )


def test_our_answer_where_the_reference_guesses() -> None:
    """The documented alternative of each refusal builds what was meant: an explicit window, no usage limit."""
    token, shop = "0x" + "11" * 20, "0x" + "22" * 20
    [group] = build_session_action(
        type="transfer", chain_ids=[8453], contract_address=token, recipient_address=shop, valid_after=1, valid_until=2
    )
    policies = group.actions[0].action_policies
    assert len(policies) == 2
    assert bytes(policies[1].init_data) == bytes.fromhex("000000000002000000000001")  # validUntil, validAfter
    assert shop[2:] in bytes(policies[0].init_data).hex()
    # the reference's own {type, data} shape, a mapping in snake_case, and keywords give the same actions
    a = build_session_action({"type": "approve", "data": {"chainIds": [1], "contractAddress": token, "usageLimit": 2}})
    b_ = build_session_action({"type": "approve", "chain_ids": [1], "contract_address": token, "usage_limit": 2})
    c = build_session_action(type="approve", chain_ids=[1], contract_address=token, usage_limit=2)
    assert a == b_ == c


def test_each_erc20_type_has_its_model() -> None:
    """A model fixes its type, so a model alone builds its action; the models refuse another type."""
    from smartsessions import (
        BuildApproveSessionActionParams,
        BuildTransferFromSessionActionParams,
        BuildTransferSessionActionParams,
    )

    token = "0x" + "11" * 20
    selectors = {}
    for model in (
        BuildTransferSessionActionParams,
        BuildTransferFromSessionActionParams,
        BuildApproveSessionActionParams,
    ):
        [group] = build_session_action(model(chain_ids=[1], contract_address=token))
        selectors[model.model_fields["type"].default] = bytes(group.actions[0].action_target_selector).hex()
    assert selectors == {"transfer": "a9059cbb", "transferFrom": "23b872dd", "approve": "095ea7b3"}
    with pytest.raises(InvalidInputError) as err:
        BuildTransferSessionActionParams(type="approve", chain_ids=[1], contract_address=token)
    assert err.value.field.endswith(".type")
