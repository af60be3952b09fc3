"""How every ``smartsessions`` command ends on an SDK error: its message on stderr, exit status 1."""

from __future__ import annotations

from typing import NoReturn

import click

from ..errors import SmartSessionsError

__all__ = ["fail"]


def fail(err: SmartSessionsError) -> NoReturn:
    click.echo(click.style("error: ", fg="red") + str(err), err=True)
    raise SystemExit(1)
