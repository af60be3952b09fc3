"""Smart Sessions on the MEE: session details, grants, and (with the client) the six session actions.

The actions that need the MEE client (:mod:`.mee_actions`) are imported on first use: the client's wire models
import the session details, so importing them here eagerly would be circular.
"""

from typing import TYPE_CHECKING, Any

from .actions import (
    SmartSessionsModule,
    check_enabled_permissions,
    grant_permission_personal_sign,
    grant_permission_typed_data_sign,
    is_permission_enabled,
    list_permissions,
    to_smart_sessions_module,
)
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

if TYPE_CHECKING:
    from .mee_actions import (
        PrepareForPermissionsResult,
        SessionClient,
        mee_session_actions,
        prepare_for_permissions,
        revoke_permission,
        use_permission,
    )

_LAZY = {
    "PrepareForPermissionsResult",
    "SessionClient",
    "mee_session_actions",
    "prepare_for_permissions",
    "revoke_permission",
    "use_permission",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import mee_actions

        return getattr(mee_actions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ActionConfig",
    "PrepareForPermissionsResult",
    "SessionClient",
    "SessionDetails",
    "SmartSessionsModule",
    "build_grant_sessions",
    "check_enabled_permissions",
    "get_grant_chain_digests",
    "get_session_validator_init_data",
    "grant_permission_offline",
    "grant_permission_personal_sign",
    "grant_permission_typed_data_sign",
    "is_permission_enabled",
    "list_permissions",
    "mee_session_actions",
    "prepare_for_permissions",
    "revoke_permission",
    "session_details_from_json",
    "session_details_to_json",
    "sign_grant",
    "to_grant_session_details",
    "to_smart_sessions_module",
    "to_wire_session_details",
    "use_permission",
]
