"""``build_action_policy`` and ``calldata_argument`` against abstractjs ``buildActionPolicy`` / ``calldataArgument``.

Every case of ``build_action_policy.json`` is the reference's answer for a random input. Where the input is valid and
unambiguous our ``PolicyData`` is the reference's, byte for byte. Where it is one of the mistakes the reference encodes
into another permission without a word (docs/reference-differences.md), we must refuse it with an
``InvalidInputError`` naming the field: :func:`refusal` says, from the input alone, which field that is. Where the
reference throws, we must refuse too. No case is skipped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from smartsessions import InvalidInputError, build_action_policy, calldata_argument

from .conftest import _load, b, cases, same_address

FILE = "build_action_policy.json"
MAX = {48: (1 << 48) - 1, 64: (1 << 64) - 1, 128: (1 << 128) - 1, 256: (1 << 256) - 1}
CONDITIONS = {"equal", "notEqual", "greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual"}
KNOWN_FIELDS = {
    "sudo": {"type"},
    "universal": {"type", "rules", "valueLimitPerUse"},
    "timeframe": {"type", "validAfter", "validUntil"},
    "usageLimit": {"type", "limit"},
    "spendingLimits": {"type", "tokenLimits"},
}


def _comparison(value: str) -> int | str:
    """A rule's comparisonValue as the generator wrote it: a Hex stays a 0x string, a bigint was a decimal string."""
    return value if value.startswith("0x") else int(value)


def _rule_refusal(rule: dict[str, Any]) -> tuple[str, str] | None:
    if rule["condition"] not in CONDITIONS:
        return "condition", "unknown condition"
    offset = int(rule["calldataOffset"])
    if offset > MAX[64]:
        return "calldata_offset", "out of range"
    if offset % 32:
        return "calldata_offset", "misaligned offset"
    value = _comparison(rule["comparisonValue"])
    if isinstance(value, int) and value > MAX[256]:
        return "comparison_value", "out of range"
    if isinstance(value, str) and len(value) not in (42, 66):
        return "comparison_value", "short or long hex"
    if rule.get("isLimited", False) != ("usage" in rule):
        return "is_limited", "usage without isLimited, or isLimited without usage"
    return None


def refusal(params: dict[str, Any]) -> tuple[str, str] | None:
    """The field we refuse (as the end of ``InvalidInputError.field``) and why, or None when we build the policy."""
    kind = params["type"]
    if kind not in KNOWN_FIELDS:
        return "type", "unknown type"
    extra = sorted(set(params) - KNOWN_FIELDS[kind])
    if extra:
        return extra[0], "a field of another type"
    if kind == "universal":
        for k, rule in enumerate(params["rules"]):
            found = _rule_refusal(rule)
            if found:
                return f"rules.{k}.{found[0]}", found[1]
        if not params["rules"]:
            return "rules", "no rules"
        if len(params["rules"]) > 16:
            return "rules", "more than 16 rules"
        if int(params.get("valueLimitPerUse", 0)) > MAX[256]:
            return "value_limit_per_use", "out of range"
    if kind == "timeframe":
        after, until = params["validAfter"], params["validUntil"]
        if after > MAX[48]:
            return "valid_after", "out of range"
        if until == 0:
            return "valid_until", "0 meaning no end"
        if after > until:
            return "valid_until", "until before after"
    if kind == "usageLimit":
        limit = int(params["limit"])
        if limit > MAX[128]:
            return "limit", "out of range"
        if limit == 0:
            return "limit", "a usage limit of 0"
    if kind == "spendingLimits":
        limits = params["tokenLimits"]
        for k, item in enumerate(limits):
            if int(item["limit"]) > MAX[256]:
                return f"token_limits.{k}.limit", "out of range"
        if not limits:
            return "token_limits", "no tokens"
        tokens = [item["token"].lower() for item in limits]
        if any(int(t, 16) == 0 for t in tokens):
            return "token_limits", "the zero address"
        if any(int(item["limit"]) == 0 for item in limits):
            return "token_limits", "a spending limit of 0"
        if len(set(tokens)) != len(tokens):
            return "token_limits", "a token twice"
    return None


def _input(params: dict[str, Any]) -> dict[str, Any]:
    """The reference's input in our types: decimal strings stay (our integer fields take them), comparison values
    become ints or stay hex."""
    if params["type"] != "universal":
        return params
    rules = [{**r, "comparisonValue": _comparison(r["comparisonValue"])} for r in params["rules"]]
    return {**params, "rules": rules}


@pytest.mark.parametrize("case", [c for c in cases(FILE) if c.values[0]["fn"] == "buildActionPolicy"])
def test_build_action_policy(case: dict[str, Any]) -> None:
    params = case["params"]
    expected = refusal(params)
    if expected is None:
        assert "error" not in case, f"the reference threw {case['error']!r} on an input we build"
        policy = build_action_policy(_input(params))
        assert same_address(policy.policy, case["result"]["policy"])
        assert bytes(policy.init_data) == b(case["result"]["initData"])
        return
    field, why = expected
    with pytest.raises(InvalidInputError) as err:
        build_action_policy(_input(params))
    assert err.value.field == field or err.value.field.endswith("." + field), err.value.field
    if why == "0 meaning no end" and params["validAfter"] != 0:
        # What the reference means by 0 ("no end") is valid_until=None here, and gives the reference's bytes.
        policy = build_action_policy(type="timeframe", valid_after=params["validAfter"], valid_until=None)
        assert bytes(policy.init_data) == b(case["result"]["initData"])


def test_the_vectors_cover_every_type_and_every_refusal() -> None:
    """The random inputs reach every type, every condition, and every refusal at least once, and most are built."""
    all_cases = [c for c in _load(FILE)["cases"] if c["fn"] == "buildActionPolicy"]
    reasons = Counter(r[1] for c in all_cases if (r := refusal(c["params"])) is not None)
    built = [c for c in all_cases if refusal(c["params"]) is None]
    assert set(reasons) == {
        "unknown type", "a field of another type", "unknown condition", "out of range", "misaligned offset",
        "short or long hex", "usage without isLimited, or isLimited without usage", "no rules", "more than 16 rules",
        "0 meaning no end", "until before after", "a usage limit of 0", "no tokens", "the zero address",
        "a spending limit of 0", "a token twice",
    }  # fmt: skip
    assert len(built) > len(all_cases) // 2
    assert {c["params"]["type"] for c in built} == set(KNOWN_FIELDS)
    conditions = {r["condition"] for c in built if c["params"]["type"] == "universal" for r in c["params"]["rules"]}
    assert conditions == CONDITIONS
    assert any(len(c["params"]["rules"]) == 16 for c in built if c["params"]["type"] == "universal")


@pytest.mark.parametrize("case", [c for c in cases(FILE) if c.values[0]["fn"] == "calldataArgument"])
def test_calldata_argument(case: dict[str, Any]) -> None:
    n = case["n"]
    if isinstance(n, int) and n >= 1:
        assert calldata_argument(n) == int(case["result"])
        return
    # 0 and -1: the reference throws; 1.5: it answers 16, the middle of the first argument. We refuse all three.
    with pytest.raises(InvalidInputError) as err:
        calldata_argument(n)
    assert err.value.field == "n"
