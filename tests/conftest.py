"""Fixtures shared by every test folder: the public pytest plugin's (``smartsessions.testing``), which our own tests
use as a bot developer's suite does.

Its ``devnet`` is the one devnet (chains 8453 and 10) of the whole test session; tests that change state run between
a snapshot and a revert (``isolated_devnet``, or tests/contracts/conftest.py's ``_chain``). A block every second
rather than the real chains' 2 s (the plugin's default): receipts count as confirmed after 3 blocks, and most tests
wait for one."""

pytest_plugins = ["smartsessions.testing"]
