"""The local MEE node: the MEE HTTP API (spec §9), served from Python, executing on the devnet chains.

* :mod:`.app`: the Starlette app and its routes; :mod:`.config`: what a node needs;
* :mod:`.quoting`: quotes, step by step: :mod:`.quote_request` (the request checked, the userOps built),
  :mod:`.quote_checks` (the simulation, :mod:`.simulation`, the balance and the session's fee cap),
  :mod:`.quote_pricing` (gas limits and the fee), then the hashes and the commitment;
* :mod:`.acceptance`: ``/exec`` checks (:mod:`.quote_facts`: what a quote says; :mod:`.trigger_checks`: a permit or
  on-chain trigger; :mod:`.payment_check`: the signed userOps simulated) and the userOp signatures
  (:mod:`.signatures`);
* :mod:`.errors`: the refusals' codes and facts (:mod:`.refusals`: a simulation's, from its revert data);
* :mod:`.executor`: bundles, receipts and restarts; :mod:`.store`: the SQLite state.

Run it with ``smartsessions devnet up`` (chains and node), :class:`NodeServer` (a thread) or
``python -m smartsessions.devnet.node --config node.json`` (a process).
"""

from .app import NodeService, create_app
from .config import FeeTokenConfig, NodeChainConfig, NodeConfig, devnet_node_config
from .errors import NodeError
from .server import NodeServer
from .store import SqliteStore, Store

__all__ = [
    "FeeTokenConfig",
    "NodeChainConfig",
    "NodeConfig",
    "NodeError",
    "NodeServer",
    "NodeService",
    "SqliteStore",
    "Store",
    "create_app",
    "devnet_node_config",
]
