"""The node's error codes against their documentation: every code the node's source raises is in the table of
docs/errors.md ("The local node's error codes") with the HTTP status the source raises it with, every code of the
table is one the source raises, and every code is provoked by a test through the real HTTP node."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from smartsessions.devnet.node.errors import Code

ROOT = Path(__file__).resolve().parents[2]
NODE_SOURCE = ROOT / "src" / "smartsessions" / "devnet" / "node"
DOCS = ROOT / "docs" / "errors.md"
SECTION = "## The local node's error codes"


def _documented() -> list[tuple[str, int]]:
    """``(code, status)`` of each row of the table, in order."""
    section = DOCS.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [(code, int(status)) for code, status in re.findall(r"^\| `([A-Z0-9_]+)` \| (\d{3}) \|", section, re.M)]


def _code_name(node: ast.expr | None) -> str | None:
    """``X`` of an expression ``Code.X``, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Code":
        return node.attr
    return None


def _raise_sites() -> tuple[set[str], set[tuple[int, str]], set[str], set[int]]:
    """What the node's source does with codes: every ``Code.X`` it names (errors.py, which defines them, aside);
    ``(status, X)`` of each ``NodeError(status, ..., code=Code.X)`` and ``_error(status, ..., Code.X)``; the codes
    :mod:`.refusals` returns for simulations; and the statuses of ``NodeError`` calls whose code is worked out
    (a refusal's)."""
    named: set[str] = set()
    pairs: set[tuple[int, str]] = set()
    refusal_codes: set[str] = set()
    computed_statuses: set[int] = set()
    for path in sorted(NODE_SOURCE.glob("*.py")):
        if path.name == "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        helper = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "_error"]
        inside_helper = {id(n) for f in helper for n in ast.walk(f)}  # app.py's _error passes its arguments on
        for node in ast.walk(tree):
            if id(node) in inside_helper:
                continue
            name = _code_name(node) if isinstance(node, ast.Attribute) else None
            if name is not None:
                named.add(name)
                if path.name == "refusals.py":
                    refusal_codes.add(name)
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id not in ("NodeError", "_error") or not node.args:
                continue
            status = node.args[0]
            assert isinstance(status, ast.Constant) and isinstance(status.value, int), ast.dump(node)[:200]
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if code is None and len(node.args) > 2:
                code = node.args[2]
            assert code is not None, f"{path.name}:{node.lineno}: a refusal without a code"
            if _code_name(code) is not None:
                pairs.add((status.value, str(_code_name(code))))
            else:
                computed_statuses.add(status.value)
    return named, pairs, refusal_codes, computed_statuses


def test_every_code_raised_is_documented_and_every_documented_code_is_raised() -> None:
    documented = _documented()
    codes = [code for code, _ in documented]
    assert len(codes) == len(set(codes)), "a code is documented twice"
    named, _, _, _ = _raise_sites()
    assert named == set(codes), (sorted(named - set(codes)), sorted(set(codes) - named))
    assert set(codes) == {c.value for c in Code}  # and no member of Code is left unused


def test_each_code_is_raised_with_its_documented_status() -> None:
    documented = dict(_documented())
    _, pairs, refusal_codes, computed_statuses = _raise_sites()
    wrong = sorted((code, status, documented.get(code)) for status, code in pairs if documented.get(code) != status)
    assert not wrong, f"(code, status raised, status documented): {wrong}"
    # a simulation's refusal is raised with the code refusals.py works out, always as a 400
    assert computed_statuses == {400}
    assert {code: documented[code] for code in refusal_codes} == dict.fromkeys(refusal_codes, 400)


def test_every_code_is_provoked_by_a_test() -> None:
    """Each code is asserted (as a string) by a test that provokes it through the node's HTTP API."""
    tests = [
        p for p in (ROOT / "tests").glob("*/*.py") if p.parent.name in ("node", "sdk") and p.name != Path(__file__).name
    ]
    text = "\n".join(p.read_text(encoding="utf-8") for p in tests)
    untested = sorted(c.value for c in Code if f'"{c.value}"' not in text)
    assert not untested, untested
