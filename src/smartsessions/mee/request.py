"""The ``POST /quote`` body (spec §9.3), built without I/O: what the reference SDK's ``getQuote`` sends for the same
inputs, from the account's configuration, the node's ``/info`` and what the chains answered.

Building a quote takes two steps around one round of chain reads, and both live here so that every rule of the body
is in one file: :func:`plan_quote` checks the inputs against the account and the node, batches the instructions and
draws a fresh nonce lane for each userOp (the keys the chains are then asked about); :func:`build_quote_request`
turns the plan and the chains' answers (:class:`~smartsessions.account.multichain.QuoteReads`: nonces, deployment,
the latest block's time) into the body. :mod:`.client` does the reads and the HTTP in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._coerce import to_address
from .._model import Address, Model, Uint64
from ..account.calls import Call
from ..account.instructions import (
    AnyInstruction,
    ComposableInstruction,
    Instruction,
    batch_instructions,
    to_composable_call,
)
from ..account.multichain import MultichainNexusAccount, QuoteReads
from ..encoding.abi import encode_function_call
from ..encoding.session import SmartSessionMode
from ..encoding.userop import get_nonce_key
from ..errors import ChainNotSupportedError, ConfigurationError, FeeTokenNotSupportedError, InvalidInputError
from ..versions import (
    SMART_SESSIONS_ADDRESS,
    SPONSORSHIP_GAS_TANK_ADDRESS,
    USDC_BASE_ADDRESS,
    MeeVersionConfig,
    version_number,
)
from ..wire.mee import (
    FeeTokenInfo,
    GetInfoPayload,
    MeeVersionEntry,
    PaymentInfo,
    QuoteRequest,
    QuoteRequestUserOp,
    Simulation,
    SupportedGasTokens,
    Trigger,
)
from ..wire.session import SessionDetails

__all__ = [
    "DEFAULT_GAS_LIMIT",
    "DEFAULT_GAS_TANK",
    "DEFAULT_VERIFICATION_GAS_LIMIT",
    "MEE_NETWORK_URL",
    "MEE_STAGING_NETWORK_URL",
    "NONCE_LANES",
    "SESSION_ENABLE_VERIFICATION_GAS_LIMIT",
    "SESSION_USE_VERIFICATION_GAS_LIMIT",
    "USEROP_MIN_EXEC_WINDOW_DURATION",
    "GasTank",
    "NonceLanes",
    "Preflight",
    "QuoteParams",
    "QuotePlan",
    "SmartSessionModeName",
    "SponsorshipOptions",
    "build_quote_request",
    "check_fee_token",
    "check_trigger",
    "details_for",
    "first_mode_per_chain",
    "fusion_instructions",
    "gas_token",
    "is_self_hosted",
    "plan_quote",
    "session_details_by_chain",
    "to_fee_token",
    "to_session_mode",
    "to_simulation",
    "to_trigger",
]

MEE_NETWORK_URL = "https://network.biconomy.io/v1"
MEE_STAGING_NETWORK_URL = "https://staging-network.biconomy.io/v1"
USEROP_MIN_EXEC_WINDOW_DURATION = 180
DEFAULT_GAS_LIMIT = 75_000  # payment userOp callGasLimit, and a trigger's transferFrom
DEFAULT_VERIFICATION_GAS_LIMIT = 150_000
SESSION_ENABLE_VERIFICATION_GAS_LIMIT = 1_000_000
SESSION_USE_VERIFICATION_GAS_LIMIT = 250_000
V2_2_1 = (2, 2, 1)
_ZERO = "0x0000000000000000000000000000000000000000"

SmartSessionModeName = Literal["USE", "ENABLE_AND_USE"]


def to_session_mode(value: object, *, field: str = "smart_session_mode") -> SmartSessionMode:
    """The mode of a session quote as the one enum: the seed's names (``"USE"``, ``"ENABLE_AND_USE"``) are read here,
    at the edge, and nowhere else; ``None`` is USE. ENABLE (the owner-signed enable without the unsafe flag) is not a
    mode the MEE flow uses."""
    if value is None:
        return SmartSessionMode.USE
    if isinstance(value, SmartSessionMode) or value in ("USE", "ENABLE_AND_USE"):
        mode = SmartSessionMode.parse(value, field=field)
        if mode is not SmartSessionMode.ENABLE:
            return mode
    raise InvalidInputError(field, "must be 'ENABLE_AND_USE' or 'USE'", value=value)


# -- inputs -----------------------------------------------------------------------------------------------------------


class GasTank(Model):
    """The sponsor's account: who pays a sponsored super-transaction, in which token, on which chain."""

    address: Address
    token: Address
    chain_id: Uint64


class SponsorshipOptions(Model):
    """A sponsorship backend. Biconomy's (the node's own URL) is trusted; any other is asked for the sponsor's nonce
    before the quote and signs the quote after it (``/sponsorship/nonce``, ``/sponsorship/sign``)."""

    url: str
    gas_tank: GasTank
    custom_headers: dict[str, str] | None = None


DEFAULT_GAS_TANK = GasTank(address=SPONSORSHIP_GAS_TANK_ADDRESS, token=USDC_BASE_ADDRESS, chain_id=8453)


def to_fee_token(value: FeeTokenInfo | Mapping[str, Any] | None) -> FeeTokenInfo | None:
    if value is None or isinstance(value, FeeTokenInfo):
        return value
    return FeeTokenInfo.model_validate(dict(value))


def to_trigger(value: Trigger | Mapping[str, Any]) -> Trigger:
    return value if isinstance(value, Trigger) else Trigger.model_validate(dict(value))


def to_simulation(simulation: Simulation | Mapping[str, Any] | None) -> Simulation:
    """What the quote asks of the node's simulation: to simulate, by default (see ``MeeClient.get_quote``)."""
    if simulation is None:
        return Simulation(simulate=True)
    return simulation if isinstance(simulation, Simulation) else Simulation.model_validate(dict(simulation))


def is_self_hosted(url: str) -> bool:
    return url.rstrip("/") not in (MEE_NETWORK_URL, MEE_STAGING_NETWORK_URL)


@dataclass(frozen=True)
class QuoteParams:
    """Everything a quote request is built from, once: ``get_quote``'s keywords, plus what the fusion path adds (the
    endpoint's quote type, the trigger and the EOA that funds it)."""

    instructions: tuple[AnyInstruction, ...]
    fee_token: FeeTokenInfo | None = None
    sponsorship: bool = False
    sponsorship_options: SponsorshipOptions | None = None
    batch: bool = True
    lower_bound_timestamp: int | None = None
    upper_bound_timestamp: int | None = None
    gas_limit: int | None = None
    verification_gas_limit: int | None = None
    module_address: str | None = None
    short_encoding_super_txn: bool | None = None
    session_details: tuple[SessionDetails, ...] | None = None
    smart_session_mode: SmartSessionMode = SmartSessionMode.USE
    simulation: Simulation | Mapping[str, Any] | None = None
    tags: tuple[str, ...] | None = None
    quote_type: str = "simple"
    trigger: Trigger | None = None
    eoa: str | None = None

    @property
    def path(self) -> str:
        """The node endpoint: ``quote-permit`` for a quote funded by a trigger (permit or on-chain), else ``quote``."""
        return "quote" if self.trigger is None else "quote-permit"


# -- nonce lanes ------------------------------------------------------------------------------------------------------


class NonceLanes:
    """Distinct nonce-key lanes per (account, chain), from the clock in milliseconds as the SDK draws them; two
    userOps asked for in the same millisecond get consecutive lanes instead of waiting."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], int] = {}

    def next(self, account: str, chain_id: int) -> int:
        key = (account.lower(), chain_id)
        now = int(time.time() * 1000)
        last = self._last.get(key, -1)
        ms = now if now > last else last + 1
        self._last[key] = ms
        return ms


#: The lanes every client of this process draws from, unless it is given its own. Shared on purpose: an owner's
#: client and a session signer's client act for the same account, and two quotes drawn in the same millisecond by two
#: clients with lanes of their own would carry the same nonce, so one of them would fail on chain.
NONCE_LANES = NonceLanes()


# -- the node's fee tokens --------------------------------------------------------------------------------------------


def gas_token(info: GetInfoPayload, chain_id: int) -> SupportedGasTokens:
    """The node's fee tokens on ``chain_id``, from its ``/info``."""
    for entry in info.supported_gas_tokens:
        if entry.chain_id == chain_id:
            return entry
    raise FeeTokenNotSupportedError(
        "fee_token.chain_id",
        f"the MEE node takes no fees on chain {chain_id}",
        fix=f"pay on one of {[e.chain_id for e in info.supported_gas_tokens]}, or use sponsorship",
    )


def check_fee_token(info: GetInfoPayload, fee_token: FeeTokenInfo) -> None:
    """The node must take fees in this token on this chain (per its ``/info``)."""
    entry = gas_token(info, fee_token.chain_id)
    if entry.is_arbitrary_fee_tokens_supported:
        return
    if not any(t.address == fee_token.address for t in entry.payment_tokens):
        known = ", ".join(f"{t.symbol} {t.address}" for t in entry.payment_tokens) or "none"
        raise FeeTokenNotSupportedError(
            "fee_token.address",
            f"the MEE node takes no fees in {fee_token.address} on chain {fee_token.chain_id} (it takes: {known})",
            fix="pick one of the node's fee tokens, or use sponsorship",
        )


# -- sessions ---------------------------------------------------------------------------------------------------------


def session_details_by_chain(details: Sequence[SessionDetails]) -> dict[int, SessionDetails]:
    """The details each chain's userOps use: the first given for that chain."""
    by_chain: dict[int, SessionDetails] = {}
    for d in details:
        if d.chain_id is not None and d.chain_id not in by_chain:
            by_chain[d.chain_id] = d
    return by_chain


def first_mode_per_chain(chain_ids: Sequence[int], mode: SmartSessionMode) -> list[SmartSessionMode]:
    """The mode of each userOp, in order: the first userOp of a chain gets ``mode`` (it enables the permission
    there, if ``mode`` enables), every later one on that chain USE. ``chain_ids`` after the first count as seen."""
    seen: set[int] = set()
    modes = []
    for chain_id in chain_ids:
        modes.append(mode if chain_id not in seen else SmartSessionMode.USE)
        seen.add(chain_id)
    return modes


def details_for(by_chain: Mapping[int, SessionDetails], chain_id: int) -> SessionDetails:
    if chain_id not in by_chain:
        raise InvalidInputError(
            "session_details",
            f"No session details found for chainId {chain_id}",
            fix="grant the permission on every chain the instructions run on",
        )
    return by_chain[chain_id]


# -- step 1: the plan -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotePlan:
    """The checked inputs, the instructions as they become userOps (batched per chain unless ``batch=False``), the
    MEE versions, and the nonce keys to read: ``nonce_keys[chain]`` in slot order, the payment userOp's slot and each
    userOp's."""

    params: QuoteParams
    instructions: tuple[AnyInstruction, ...]
    mee_versions: tuple[MeeVersionEntry, ...]
    nonce_keys: dict[int, list[int]]
    payment_slot: int | None
    op_slots: tuple[int, ...]
    module: str | None
    mode: SmartSessionMode

    @property
    def gas_tank(self) -> GasTank:
        options = self.params.sponsorship_options
        return options.gas_tank if options is not None else DEFAULT_GAS_TANK

    @property
    def asks_sponsor(self) -> bool:
        """Whether a sponsorship backend of its own (not Biconomy's) must give its nonce and sign the quote."""
        options = self.params.sponsorship_options
        return self.params.sponsorship and options is not None and is_self_hosted(options.url)


def _with_default_metadata(instructions: Sequence[AnyInstruction]) -> list[AnyInstruction]:
    out: list[AnyInstruction] = []
    for i in instructions:
        if not i.metadata:
            meta = ({"type": "CUSTOM", "description": "Custom on-chain action", "chainId": i.chain_id},)
            i = i.model_copy(update={"metadata": meta})
        out.append(i)
    return out


def _check_consistent_versions(versions: Sequence[MeeVersionConfig]) -> None:
    sides = {version_number(v.version, field="chain_configurations.version") >= V2_2_1 for v in versions}
    if len(sides) > 1:
        raise ConfigurationError(
            "chain_configurations.version",
            "a simple quote cannot mix MEE versions before and from 2.2.1 (their signatures differ)",
            fix="configure the chains of one super-transaction with compatible MEE versions",
        )


def plan_quote(
    params: QuoteParams, *, account: MultichainNexusAccount, info: GetInfoPayload, lanes: NonceLanes = NONCE_LANES
) -> QuotePlan:
    """Check ``params`` against the account's chains and the node's, and draw the nonce lanes."""
    if not params.instructions:
        raise InvalidInputError("instructions", "a quote needs at least one instruction")
    fee_token = params.fee_token
    if not params.sponsorship and fee_token is None:
        raise InvalidInputError(
            "fee_token", "is required unless the quote is sponsored", fix="pass fee_token=, or sponsorship=True"
        )
    module = None if params.module_address is None else to_address(params.module_address, field="module_address")
    mode = params.smart_session_mode

    resolved = _with_default_metadata(params.instructions)
    final = batch_instructions(resolved) if params.batch else list(resolved)

    # The chains: every instruction's must be the account's and the node's; the fee token must be the node's.
    supported = {c.chain_id for c in info.supported_chains}
    missing = [c for c in dict.fromkeys(i.chain_id for i in final) if c not in supported]
    for i in final:
        account.deployment_on(i.chain_id)
    if missing:
        raise ChainNotSupportedError(
            "instructions.chain_id",
            f"the MEE node does not support chain(s) {', '.join(map(str, missing))}",
            chain_ids=missing,
            fix=f"use the node's chains: {sorted(supported)}",
        )
    version_chains = list(dict.fromkeys(i.chain_id for i in resolved))
    if not params.sponsorship:
        assert fee_token is not None
        account.deployment_on(fee_token.chain_id)
        check_fee_token(info, fee_token)
        if fee_token.chain_id not in version_chains:
            version_chains.append(fee_token.chain_id)
    mee_versions = tuple(
        MeeVersionEntry(version=account.deployment_on(c).version.to_wire(), chain_id=c) for c in version_chains
    )
    if params.quote_type == "simple":
        _check_consistent_versions([account.deployment_on(c).version for c in version_chains])

    # Nonce keys: one fresh lane per userOp (and for the payment userOp), read per chain in one batch.
    keys: dict[int, list[int]] = {}

    def lane(chain_id: int) -> int:
        deployment = account.deployment_on(chain_id)
        validator = module or deployment.version.default_validator_address
        key = get_nonce_key(validator=validator, now_ms=lanes.next(deployment.address, chain_id))
        keys.setdefault(chain_id, []).append(key)
        return len(keys[chain_id]) - 1

    pay_chain = None if params.sponsorship or fee_token is None else fee_token.chain_id
    payment_slot = None if pay_chain is None else lane(pay_chain)
    op_slots = tuple(lane(i.chain_id) for i in final)
    return QuotePlan(
        params=params,
        instructions=tuple(final),
        mee_versions=mee_versions,
        nonce_keys=keys,
        payment_slot=payment_slot,
        op_slots=op_slots,
        module=module,
        mode=mode,
    )


# -- step 2: the body -------------------------------------------------------------------------------------------------


def _payment_verification_gas(module: str | None, given: int | None) -> int | None:
    if module is None:
        return given
    if module.lower() == SMART_SESSIONS_ADDRESS.lower():
        return given or SESSION_ENABLE_VERIFICATION_GAS_LIMIT
    return given


def _verification_gas(
    *, module: str | None, verification_gas_limit: int | None, sponsorship: bool, index: int, payment_chain: bool
) -> int | None:
    """The userOp's verification gas limit as the SDK resolves it (None: the node's default). A session userOp that
    enables the permission gets 1,000,000 (or the given limit), any other session userOp 250,000."""
    if module is None:
        return verification_gas_limit
    if module.lower() != SMART_SESSIONS_ADDRESS.lower():
        return verification_gas_limit
    if payment_chain:
        if sponsorship and index == 0:
            return verification_gas_limit or SESSION_ENABLE_VERIFICATION_GAS_LIMIT
        return SESSION_USE_VERIFICATION_GAS_LIMIT
    if index == 0:
        return verification_gas_limit or SESSION_ENABLE_VERIFICATION_GAS_LIMIT
    return SESSION_USE_VERIFICATION_GAS_LIMIT


def build_quote_request(
    plan: QuotePlan,
    *,
    account: MultichainNexusAccount,
    reads: Mapping[int, QuoteReads],
    sponsor_nonce: int | None = None,
) -> QuoteRequest:
    """The body, from the plan and each chain's answers (``reads``, by chain id: the nonces of
    ``plan.nonce_keys[chain]``, the deployment, the latest block's time); ``sponsor_nonce`` from a sponsorship
    backend of its own."""
    params, module, mode = plan.params, plan.module, plan.mode
    fee_token, sponsorship = params.fee_token, params.sponsorship
    by_chain = session_details_by_chain(params.session_details or ())

    # The default execution window of a chain's userOps starts at that chain's own time, its latest block's
    # timestamp (read in the same batch), not at this machine's clock: the EntryPoint checks the window against
    # the block's time, and a chain's clock need not be ours (a devnet whose time was moved, a skewed local clock).
    windows: dict[int, tuple[int, int]] = {}
    for c, r in reads.items():
        lower = r.timestamp if params.lower_bound_timestamp is None else params.lower_bound_timestamp
        upper = (
            lower + USEROP_MIN_EXEC_WINDOW_DURATION
            if params.upper_bound_timestamp is None
            else params.upper_bound_timestamp
        )
        windows[c] = (lower, upper)

    # The payment info.
    processed_init: set[int] = set()
    session_chains: list[int] = []
    if sponsorship:
        options = params.sponsorship_options
        url = options.url if options is not None else MEE_NETWORK_URL
        gas_tank = plan.gas_tank
        trusted = gas_tank.address.lower() == SPONSORSHIP_GAS_TANK_ADDRESS.lower() and not is_self_hosted(url)
        payment = PaymentInfo(
            sponsored=True,
            sender=gas_tank.address,
            token=gas_tank.token,
            nonce=0 if trusted or sponsor_nonce is None else int(sponsor_nonce),
            call_gas_limit=params.gas_limit or DEFAULT_GAS_LIMIT,
            verification_gas_limit=DEFAULT_VERIFICATION_GAS_LIMIT,
            chain_id=gas_tank.chain_id,
            sponsorship_url=url,
            eoa=params.eoa,
        )
    else:
        assert fee_token is not None and plan.payment_slot is not None
        pay_chain = fee_token.chain_id
        deployment = account.deployment_on(pay_chain)
        payment_details = None
        if params.session_details is not None:
            payment_details = details_for(by_chain, pay_chain).model_copy(update={"mode": mode})
        payment = PaymentInfo(
            sponsored=False,
            sender=deployment.address,
            token=fee_token.address,
            nonce=reads[pay_chain].nonces[plan.payment_slot],
            call_gas_limit=params.gas_limit or DEFAULT_GAS_LIMIT,
            verification_gas_limit=_payment_verification_gas(module, params.verification_gas_limit)
            or DEFAULT_VERIFICATION_GAS_LIMIT,
            chain_id=pay_chain,
            gas_refund_address=fee_token.gas_refund_address,
            eoa=params.eoa,
            init_code=None if reads[pay_chain].deployed else deployment.init_code,
            short_encoding=params.short_encoding_super_txn,
            session_details=payment_details,
        )
        processed_init.add(pay_chain)
        session_chains.append(pay_chain)
    payment_chain_id = payment.chain_id

    # The userOps: the first of each chain gets the session mode (the payment userOp counts as its chain's first).
    op_chains = [i.chain_id for i in plan.instructions]
    modes = first_mode_per_chain([*session_chains, *op_chains], mode)[len(session_chains) :]
    index_on_chain: dict[int, int] = {}
    user_ops = []
    for instruction, slot, op_mode in zip(plan.instructions, plan.op_slots, modes, strict=True):
        chain_id = instruction.chain_id
        deployment = account.deployment_on(chain_id)
        init_code = None
        if not reads[chain_id].deployed and chain_id not in processed_init:
            processed_init.add(chain_id)
            init_code = deployment.init_code
        index = index_on_chain.get(chain_id, 0)
        index_on_chain[chain_id] = index + 1
        vgl = _verification_gas(
            module=module,
            verification_gas_limit=params.verification_gas_limit,
            sponsorship=sponsorship,
            index=index,
            payment_chain=chain_id == payment_chain_id,
        )
        details = None
        if params.session_details is not None:
            details = details_for(by_chain, chain_id).model_copy(update={"mode": op_mode})
        lower_default, upper_default = windows[chain_id]
        user_ops.append(
            QuoteRequestUserOp(
                lower_bound_timestamp=instruction.lower_bound_timestamp or lower_default,
                upper_bound_timestamp=instruction.upper_bound_timestamp or upper_default,
                sender=deployment.address,
                call_data=instruction.call_data,
                call_gas_limit=instruction.call_gas_limit,
                nonce=reads[chain_id].nonces[slot],
                chain_id=chain_id,
                is_clean_up_user_op=False,
                init_code=init_code,
                verification_gas_limit=vgl,
                short_encoding=bool(params.short_encoding_super_txn),
                session_details=details,
                metadata=instruction.metadata,
                simulation_overrides=(
                    instruction.simulation_overrides if isinstance(instruction, ComposableInstruction) else None
                ),
            )
        )
    return QuoteRequest(
        quote_type=params.quote_type,
        user_ops=tuple(user_ops),
        payment_info=payment,
        mee_versions=plan.mee_versions,
        simulation=to_simulation(params.simulation),
        trigger=params.trigger,
        tags=params.tags,
    )


# -- fusion: the trigger's pull ---------------------------------------------------------------------------------------


def check_trigger(trigger: Trigger) -> None:
    """What the SDK can fund a quote with: an ERC-20 amount, approved for at least that much."""
    if trigger.amount is None:
        raise InvalidInputError("trigger.amount", "is required", fix="pass the amount to pull from the EOA")
    if trigger.approval_amount is not None and trigger.approval_amount < trigger.amount:
        raise InvalidInputError(
            "trigger.approval_amount",
            f"must be at least the trigger amount ({trigger.amount})",
            value=trigger.approval_amount,
        )
    if trigger.token_address == _ZERO:
        raise InvalidInputError(
            "trigger.token_address",
            "native-token triggers (through the ETH forwarder) are not supported by this SDK yet",
            fix="use an ERC-20 trigger, or fund the account directly",
        )


def fusion_instructions(
    trigger: Trigger, *, owner: str, spender: str, instructions: Sequence[AnyInstruction], batch: bool
) -> tuple[list[AnyInstruction], Trigger]:
    """The instructions of a fusion quote, the trigger's ``transferFrom(owner, recipient, amount)`` first (batched
    with the first instruction, or with all when ``batch``), and the trigger as the request carries it."""
    assert trigger.amount is not None
    recipient = trigger.recipient_address or spender
    trigger_gas = trigger.gas_limit or DEFAULT_GAS_LIMIT
    transfer_data = encode_function_call("transferFrom(address,address,uint256)", [owner, recipient, trigger.amount])
    metadata = (
        {
            "type": "TRANSFER",
            "tokenAddress": trigger.token_address,
            "fromAddress": owner,
            "toAddress": recipient,
            "amount": str(trigger.amount),
            "chainId": trigger.chain_id,
        },
    )
    transfer: AnyInstruction
    if any(isinstance(i, ComposableInstruction) for i in instructions):
        transfer = ComposableInstruction(
            chain_id=trigger.chain_id,
            calls=(to_composable_call(to=trigger.token_address, data=transfer_data, gas_limit=trigger_gas),),
            metadata=metadata,
        )
    else:
        transfer = Instruction(
            chain_id=trigger.chain_id,
            calls=(Call(to=trigger.token_address, data=transfer_data, gas_limit=trigger_gas),),
            metadata=metadata,
        )
    if batch:
        prepared = batch_instructions([transfer, *instructions])
    elif instructions:
        prepared = [*batch_instructions([transfer, instructions[0]]), *instructions[1:]]
    else:
        prepared = [transfer]
    request_trigger = Trigger(
        token_address=trigger.token_address,
        chain_id=trigger.chain_id,
        gas_limit=trigger_gas,
        amount=trigger.amount,
        approval_amount=trigger.approval_amount,
        recipient_address=trigger.recipient_address,
    )
    return prepared, request_trigger


@dataclass(frozen=True)
class Preflight:
    """What a caller must decide from the chains before a quote is asked for, read in the quote's own round trip:
    ``calls`` (by chain id) go into that chain's batch of quote reads, and ``check`` gets every chain's
    :class:`~smartsessions.account.multichain.QuoteReads` (``extra`` holds the answers to ``calls``) and raises to
    stop the quote before the node is asked. ``use_permission`` reads the permission's state this way."""

    calls: Mapping[int, Sequence[tuple[str, list[Any]]]]
    check: Callable[[Mapping[int, QuoteReads]], None]
