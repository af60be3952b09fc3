"""The SDK tests' fixtures (per-test devnet chains, a local MEE node, the SDK's clients), for the cross-client runs."""

from ..sdk.conftest import chains, node, sdk

__all__ = ["chains", "node", "sdk"]
