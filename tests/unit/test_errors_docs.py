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
