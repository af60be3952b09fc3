"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartsessions.devnet.network import Devnet


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """One devnet (chains 8453 and 10, the whole suite) for the whole test session; tests that change state run
    between a snapshot and a revert (see tests/contracts/conftest.py)."""
    net = Devnet.start((8453, 10))
    try:
        yield net
    finally:
        net.stop()
