"""Every error class has its section in docs/errors.md (its ``docs_url`` points there), and the README's Python
compiles."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import smartsessions.errors as errors

ROOT = Path(__file__).parents[2]


def test_every_error_has_a_docs_section() -> None:
    sections = set(re.findall(r"^## (\S+)$", (ROOT / "docs" / "errors.md").read_text(), re.M))
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.SmartSessionsError)]
    assert len(classes) >= 18
    for cls in classes:
        assert cls.docs_anchor == cls.__name__.lower(), cls
        assert cls.docs_anchor in sections, cls


def test_the_readme_python_compiles() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        compile(block, "README.md", "exec")


def test_the_docs_tree_draws_every_error() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    tree = text[text.index("```\nSmartSessionsError") : text.index("```", text.index("```\nSmartSessionsError") + 3)]
    drawn = set(re.findall(r"\b([A-Z][A-Za-z]+Error)\b", tree))
    classes = {n for n, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.SmartSessionsError)}
    assert drawn - {"ImportError"} == classes  # ExtraNotInstalledError is "also an ImportError"
    # and each is drawn under its parent: the line above it at one level less of indentation names its base class
    lines = tree.splitlines()
    for k, line in enumerate(lines):
        match = re.search(r"── (\w+)", line)
        if match is None:
            continue
        depth = line.index("──")
        parent = None
        for above in reversed(lines[:k]):
            level = above.index("──") if "──" in above else 0
            named = re.search(r"(\w+Error)", above)
            if level < depth and named is not None:
                parent = named.group(1)
                break
        assert getattr(errors, match.group(1)).__bases__[0].__name__ == parent, line
