"""The JSON shapes that cross a process boundary: the MEE node's HTTP API (:mod:`.mee`), shared by the SDK's client
and the local node, and the session details a grant hands to the session signer (:mod:`.session`). They sit below
both the client and the node, so neither has to import the other to agree on a byte."""
