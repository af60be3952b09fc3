"""What each optional part of the package needs beyond the SDK, and the check its modules run when imported.

``pip install smartsessions`` gives the SDK; ``pip install 'smartsessions[devnet]'`` adds what the local devnet, its
MEE node and the ``smartsessions`` command import (``pyproject.toml``'s ``devnet`` extra; a test keeps the two lists
equal). Importing such a module without them raises :class:`~smartsessions.errors.ExtraNotInstalledError`, which says
what to install, instead of a ``ModuleNotFoundError`` deep in the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec

from .errors import ExtraNotInstalledError

__all__ = ["CLI_NEEDS", "DEVNET_EXTRA", "DEVNET_NEEDS", "require_extra"]

#: The ``devnet`` extra's packages, by import name (each is also its distribution's name).
DEVNET_EXTRA = ("click", "starlette", "uvicorn")
#: What ``smartsessions.devnet`` imports from it (the node: an HTTP app and its server).
DEVNET_NEEDS = ("starlette", "uvicorn")
#: What ``smartsessions.cli`` imports from it: click, and every command runs the devnet.
CLI_NEEDS = DEVNET_EXTRA


def require_extra(module: str, packages: Sequence[str], *, extra: str = "devnet") -> None:
    """Raise :class:`ExtraNotInstalledError` for ``module`` if any of ``packages`` cannot be found (nothing is
    imported: only located)."""
    missing = [name for name in packages if find_spec(name) is None]
    if missing:
        raise ExtraNotInstalledError(module, extra=extra, missing=missing)
