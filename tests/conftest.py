"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartsessions.devnet.network import Devnet


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """One devnet (chains 8453 and 10, the whole suite) for the whole test session; tests that change state run
    between a snapshot and a revert (see tests/contracts/conftest.py). A block every second rather than the real
    chains' 2 s: receipts count as confirmed after 3 blocks, and most tests wait for one."""
    net = Devnet.start((8453, 10), block_time=1)
    try:
        yield net
    finally:
        net.stop()
