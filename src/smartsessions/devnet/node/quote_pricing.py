"""The gas limits and the fee of a quote's userOps (step 3 of :mod:`.quoting`).

**Gas limits** (:func:`fill_gas`): without simulation, the client's, as Biconomy's node takes them: ``callGasLimit``
as sent, ``verificationGasLimit`` as sent or 150,000, plus 300,000 for the userOp that deploys the account (only an
account's first userOp on a chain keeps its ``initCode``). Simulated: verification = the client's value or the
simulated validation gas (+20 % and 30k), whichever is larger; call = the simulated execution gas (+20 % and 20k).
``preVerificationGas`` = 30,000 (Biconomy's fixed handleOps share; it adds the L1 data fee on rollups, which the
devnet does not charge). Fees: ``maxFeePerGas = 2 × baseFee + tip`` of the chain (:meth:`.ChainClient.fees`).

**Price** (:func:`price`): as a production node charges, each submitted userOp's maximum cost, ``maxGasLimit`` (its
gas limits, the paymaster's included) × ``maxFeePerGas``, converted at the configured price and rounded up. The node
paymaster refunds what a userOp did not use to its sender, in ETH (refund mode USER), so the account's net cost is
what it used at the price the chain charged. (A production node adds an orchestration fee; this one does not.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from ...encoding.userop import PackedUserOperation
from ..entrypoint import max_gas_limit
from .config import FeeTokenConfig
from .quote_request import Draft

__all__ = [
    "BASE_VERIFICATION_GAS",
    "FIXED_HANDLE_OPS_GAS",
    "PERMIT_TX_GAS",
    "SENDER_CREATE_GAS",
    "fill_gas",
    "format_fraction",
    "format_units",
    "pre_verification_gas",
    "price",
]

# Biconomy's node's gas defaults (its gas-estimator configuration): a userOp's verification limit when the client
# sends none, what deploying the account adds to it, and the fixed preVerificationGas.
BASE_VERIFICATION_GAS = 150_000
SENDER_CREATE_GAS = 300_000
FIXED_HANDLE_OPS_GAS = 30_000
PERMIT_TX_GAS = 90_000  # the token.permit call the validator makes for the isPermitTx userOp (not simulated)
_ONE_ETH = 10**18


def format_units(amount: int, decimals: int) -> str:
    """``1234567, 6 → "1.234567"``; trailing zeros dropped."""
    whole, frac = divmod(amount, 10**decimals)
    text = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{whole}.{text}" if text else str(whole)


def format_fraction(value: Fraction, digits: int = 6) -> str:
    """``value`` rounded up to ``digits`` decimals, as :func:`format_units` writes it."""
    scaled = math.ceil(value * 10**digits)
    return format_units(scaled, digits)


def pre_verification_gas(op: PackedUserOperation) -> int:
    """Biconomy's node's ``preVerificationGas``: a fixed share of the bundle's own cost (``fixedHandleOpsGas``),
    whatever the userOp's size. (It adds the L1 data fee, in L2 gas, on rollups; the devnet charges none.)"""
    return FIXED_HANDLE_OPS_GAS


def fill_gas(d: Draft) -> None:
    """Without a simulation (and for the gas-tank entry), the client's limits, as Biconomy's node takes them:
    ``callGasLimit`` as sent, ``verificationGasLimit`` as sent or 150,000, plus 300,000 when the userOp deploys
    the account. Simulated, the measured gas with this node's margins (the client's verification limit stays a
    floor). ``preVerificationGas`` is the node's fixed handleOps share either way."""
    d.pre_verification_gas = pre_verification_gas(d.packed())
    if d.sim is None:
        create = SENDER_CREATE_GAS if d.init_code else 0
        d.verification_gas = (d.requested_verification_gas or BASE_VERIFICATION_GAS) + create
        d.call_gas = d.requested_call_gas
        return
    validation = d.sim.validation_gas + (PERMIT_TX_GAS if d.is_permit_tx else 0)
    simulated = math.ceil(validation * 1.2) + 30_000
    d.verification_gas = max(d.requested_verification_gas or 0, simulated)
    d.call_gas = math.ceil(d.sim.execution_gas * 1.2) + 20_000


def price(executed: Sequence[Draft], token: FeeTokenConfig | None) -> tuple[int, int]:
    """``(fee in the token's base units, wei)``: each userOp's maximum cost (``maxGasLimit × maxFeePerGas``), as a
    production node charges it. What the userOp does not use, the node paymaster refunds to its sender in ETH
    (refund mode USER)."""
    wei = 0
    for d in executed:
        assert d.fees is not None
        wei += max_gas_limit(d.packed()) * d.fees.max_fee_per_gas
    if token is None:
        return 0, wei
    amount = math.ceil(Fraction(wei, _ONE_ETH) * token.per_native_fraction * 10**token.decimals)
    return max(amount, 1), wei
