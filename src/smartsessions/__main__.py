"""The ``smartsessions`` console script (also ``python -m smartsessions``): the command of
:mod:`smartsessions.cli`, or, without the ``devnet`` extra it needs, the line that says how to install it and exit
status 1 instead of a traceback. The script is installed with the SDK alone too, so it must import without the extra.
"""

from __future__ import annotations

import sys

from .errors import ExtraNotInstalledError

__all__ = ["main"]


def main() -> None:
    try:
        from .cli import main as command
    except ExtraNotInstalledError as err:
        sys.stderr.write(f"error: {err}\n")
        raise SystemExit(1) from None
    command()


if __name__ == "__main__":
    main()
