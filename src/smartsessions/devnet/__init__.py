"""The local devnet: anvil chains with our contract suite (:mod:`.network`), and the local MEE node (:mod:`.node`).

Needs the ``devnet`` extra (``pip install 'smartsessions[devnet]'``); without it, importing this package raises
:class:`~smartsessions.errors.ExtraNotInstalledError`, which says so.
"""

from .._extras import DEVNET_NEEDS, require_extra

require_extra(__name__, DEVNET_NEEDS)
