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
from .handoff import HandoffChain, SessionHandoff, create_session_client, to_session_handoff
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
from .status import (
    ActionStatus,
    ChainStatus,
    FeeStatus,
    SessionStatus,
    session_status,
)

__all__ = [
    "ActionConfig",
    "ActionStatus",
    "ChainStatus",
    "DryRunResult",
    "DryRunUserOp",
    "EnableSessionParams",
    "FeeStatus",
    "HandoffChain",
    "PrepareForPermissionsResult",
    "SessionClient",
    "SessionDetails",
    "SessionHandoff",
    "SessionQuote",
    "SessionStatus",
    "SmartSessionsModule",
    "build_grant_sessions",
    "check_enabled_permissions",
    "create_session_client",
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
    "session_status",
    "sign_grant",
    "sign_session_quote",
    "to_grant_session_details",
    "to_session_handoff",
    "to_smart_sessions_module",
    "to_wire_session_details",
    "use_permission",
]
