"""The Nexus smart account: creation data, call data, and (in later layers) the multichain account."""

from .calls import (
    Call,
    ComposableExecution,
    Constraint,
    ConstraintType,
    FetcherType,
    InputParam,
    OutputParam,
    encode_execute,
    encode_execute_batch,
    encode_execute_composable,
    encode_execute_single,
    to_composable_execution,
    to_condition_input_param,
)
from .nexus import compute_account_address, to_bootstrap_call, to_factory_data, to_init_code, to_init_data

__all__ = [
    "Call",
    "ComposableExecution",
    "Constraint",
    "ConstraintType",
    "FetcherType",
    "InputParam",
    "OutputParam",
    "compute_account_address",
    "encode_execute",
    "encode_execute_batch",
    "encode_execute_composable",
    "encode_execute_single",
    "to_bootstrap_call",
    "to_composable_execution",
    "to_condition_input_param",
    "to_factory_data",
    "to_init_code",
    "to_init_data",
]
