"""Smart Sessions on the MEE: session details, grants, and (with the client) the six session actions."""

from .details import (
    SessionDetails,
    session_details_from_json,
    session_details_to_json,
    to_wire_session_details,
)
from .grant import (
    ActionConfig,
    build_grant_sessions,
    get_grant_chain_digests,
    get_session_validator_init_data,
    grant_permission_offline,
    sign_grant,
    to_grant_session_details,
)

__all__ = [
    "ActionConfig",
    "SessionDetails",
    "build_grant_sessions",
    "get_grant_chain_digests",
    "get_session_validator_init_data",
    "grant_permission_offline",
    "session_details_from_json",
    "session_details_to_json",
    "sign_grant",
    "to_grant_session_details",
    "to_wire_session_details",
]
