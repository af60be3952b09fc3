"""Smart Sessions on the MEE: grants (owner side) and the six session actions (with the client)."""

from ..wire.session import (
    SessionDetails,
    session_details_from_json,
    session_details_to_json,
    to_wire_session_details,
)
from .actions import (
    SmartSessionsModule,
    check_enabled_permissions,
    grant_permission_personal_sign,
    grant_permission_typed_data_sign,
    is_permission_enabled,
    list_permissions,
    to_smart_sessions_module,
)
from .dry_run import DryRunResult, DryRunUserOp, dry_run_use
from .grant import (
    ActionConfig,
    build_grant_sessions,
    get_grant_chain_digests,
    get_session_validator_init_data,
    grant_permission_offline,
    sign_grant,
    to_grant_session_details,
)
from .mee_actions import (
    PrepareForPermissionsResult,
    SessionClient,
    mee_session_actions,
    prepare_for_permissions,
    revoke_permission,
    use_permission,
)
from .prepare import EnableSessionParams
from .session_quote import SessionQuote, execute_session_quote, get_session_quote, sign_session_quote

__all__ = [
    "ActionConfig",
    "DryRunResult",
    "DryRunUserOp",
    "EnableSessionParams",
    "PrepareForPermissionsResult",
    "SessionClient",
    "SessionDetails",
    "SessionQuote",
    "SmartSessionsModule",
    "build_grant_sessions",
    "check_enabled_permissions",
    "dry_run_use",
    "execute_session_quote",
    "get_grant_chain_digests",
    "get_session_quote",
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
    "sign_session_quote",
    "to_grant_session_details",
    "to_smart_sessions_module",
    "to_wire_session_details",
    "use_permission",
]
