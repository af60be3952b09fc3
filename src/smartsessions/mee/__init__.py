"""The MEE client, by concern: :mod:`.request` builds the quote request without I/O, :mod:`.http` talks to the node,
:mod:`.client` puts them together with the chains (quotes, signatures, execution, receipts), :mod:`.results` holds
what it hands back, :mod:`.node_errors` and :mod:`._refusals` turn the node's refusals into typed errors,
:mod:`.permit` reads a fusion trigger's permit token, :mod:`.receipt` reads the explorer. The JSON models they share
with the node are in :mod:`smartsessions.wire`, the pure hashing in :mod:`smartsessions.encoding.quote`."""
