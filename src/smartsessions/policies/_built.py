"""How the builders hand out a policy."""

from __future__ import annotations

from ..encoding.session import PolicyData


def built_policy(address: str, init_data: bytes) -> PolicyData:
    """module-sdk's builders repeat the policy address under ``address``; so do ours, so that a session built here and
    one built by the reference serialise to the same JSON."""
    return PolicyData(policy=address, init_data=init_data, address=address)
