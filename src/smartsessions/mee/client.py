"""The MEE client (spec §9): quotes, signatures, execution and receipts, against Biconomy's node or the local one.

``client = await create_mee_client(account=..., url=..., api_key=...)`` reads ``GET /info`` and checks that the node
serves every chain of the account. Then, as the reference SDK (``@biconomy/abstractjs`` 1.2.3) does it:

* :meth:`MeeClient.get_quote` builds the ``POST /quote`` body of spec §9.3 (one userOp per chain after batching, each
  with its window, call data, ``callGasLimit``, a nonce on a fresh lane of the validator's nonce key, and the
  ``initCode`` of an undeployed account; the payment info; the MEE versions); :meth:`~MeeClient.sign_quote` signs the
  super-transaction hash; :meth:`~MeeClient.execute_signed_quote` posts it to ``/exec``; :meth:`~MeeClient.execute`
  does the three; every quote's ``commitment`` must be its node's signature over its hash, or the quote is refused
  on arrival (:class:`~smartsessions.errors.QuoteCommitmentError`), and it must be the super-transaction asked for,
  its hashes its own, before anything signs it (:mod:`.verify`, :class:`~smartsessions.errors.QuoteMismatchError`);
* the fusion path (:meth:`~MeeClient.get_fusion_quote`, :meth:`~MeeClient.sign_fusion_quote`,
  :meth:`~MeeClient.execute_fusion_quote`) funds the account from the signer's EOA with an ERC-2612 permit of the
  trigger token, signed over the quote (``deadline = uint256(quote.hash)``);
* :meth:`~MeeClient.get_supertransaction_receipt` and :meth:`~MeeClient.wait_for_supertransaction_receipt` read
  ``GET /explorer/{hash}`` (spec §9.9); a failed super-transaction raises an error naming the failing userOp.

Chain reads are batched: one JSON-RPC round trip per chain per quote (every nonce, the deployment check, and the latest
block, whose timestamp starts the chain's default execution windows: the chain's clock, not this machine's), all
chains at once. Every HTTP answer that is not 2xx raises :class:`~smartsessions.errors.MeeApiError` with the status
and body (and a node's ``code`` and ``facts``), or the more specific error its code names (a policy, the session's
state, the balance); a node that sends no code is read from its message. No answer at all is
:class:`~smartsessions.errors.MeeUnreachableError`.

There is no default API key: pass yours (``api_key=``) for Biconomy's node; the local node's is in ``devnet.json``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import httpx

from .._coerce import to_address, to_bytes32
from ..account.instructions import AnyInstruction, to_instruction
from ..account.multichain import MultichainNexusAccount
from ..encoding.abi import encode_function_call
from ..encoding.quote import (
    asign_quote,
    encode_onchain_quote_signature,
    encode_permit_quote_signature,
    get_permit_digest,
)
from ..encoding.session import SmartSessionMode
from ..errors import (
    ChainNotSupportedError,
    ConfigurationError,
    InsufficientBalanceError,
    InvalidInputError,
    MeeApiError,
    SupertransactionTimeoutError,
)
from ..signer import asign_typed_digest
from ..versions import version_number
from ..wire.mee import (
    ExplorerResponse,
    FeeTokenInfo,
    GetInfoPayload,
    GetQuotePayload,
    MeeVersionEntry,
    SignedQuote,
    Simulation,
    SupportedGasTokens,
    Trigger,
    from_wire,
    to_wire,
)
from ..wire.session import SessionDetails
from ._refusals import explain_refusal
from ._transactions import send_transaction, wait_for_transaction
from .http import NodeConnection
from .node_errors import (
    failed_supertransaction_error,
    parse_error_message,
    quote_contexts,
    refused_user_op,
    request_contexts,
    with_balance,
)
from .permit import read_permit_token
from .receipt import summarize_receipt, transaction_receipts
from .request import (
    DEFAULT_GAS_LIMIT,
    DEFAULT_VERIFICATION_GAS_LIMIT,
    MEE_NETWORK_URL,
    MEE_STAGING_NETWORK_URL,
    NONCE_LANES,
    USEROP_MIN_EXEC_WINDOW_DURATION,
    V2_2_1,
    GasTank,
    NonceLanes,
    Preflight,
    QuoteParams,
    SmartSessionModeName,
    SponsorshipOptions,
    build_quote_request,
    check_fee_token,
    check_trigger,
    fusion_instructions,
    gas_token,
    plan_quote,
    to_fee_token,
    to_session_mode,
    to_trigger,
)
from .results import (
    MEESCAN_URL,
    ExecuteResult,
    FusionQuote,
    MeeQuote,
    SignedMeeQuote,
    SupertransactionReceipt,
    check_commitment,
    signed_body,
)
from .verify import verify_quote

#: What the client does, for the application's logs: INFO for each quote, submission and final status, DEBUG for
#: signatures and refusals. Never a key, nor a signature's bytes: hashes, addresses, chains and amounts only.
log = logging.getLogger("smartsessions.mee")

__all__ = [
    "DEFAULT_GAS_LIMIT",
    "DEFAULT_POLLING_INTERVAL",
    "DEFAULT_VERIFICATION_GAS_LIMIT",
    "MEE_NETWORK_URL",
    "MEE_STAGING_NETWORK_URL",
    "USEROP_MIN_EXEC_WINDOW_DURATION",
    "ExecuteResult",
    "FusionQuote",
    "GasTank",
    "MeeClient",
    "MeeQuote",
    "SignedMeeQuote",
    "SponsorshipOptions",
    "SupertransactionReceipt",
    "create_mee_client",
    "parse_error_message",
]

DEFAULT_POLLING_INTERVAL = 0.25  # seconds, as the SDK's 250 ms
_T = TypeVar("_T")


class MeeClient:
    """A connection to one MEE node for one multichain account. Create it with :func:`create_mee_client`."""

    def __init__(
        self,
        *,
        account: MultichainNexusAccount,
        url: str = MEE_NETWORK_URL,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        timeout: float = 60.0,
        nonce_lanes: NonceLanes = NONCE_LANES,
        node_address: str | None = None,
    ) -> None:
        self.account = account
        self._pinned_node = None if node_address is None else to_address(node_address, field="node_address")
        self._lanes = nonce_lanes
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.polling_interval = polling_interval
        self._node = NodeConnection(self.url, api_key=api_key, transport=transport, timeout=timeout)
        self._info: GetInfoPayload | None = None
        self.info_json: dict[str, Any] = {}

    async def __aenter__(self) -> MeeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection the client opened and its account's RPC connections: ``async with await
        create_mee_client(...) as client:`` leaves nothing open (closing twice is harmless)."""
        await asyncio.gather(self._node.aclose(), self.account.aclose())

    @property
    def is_closed(self) -> bool:
        """Whether the node connection and every RPC connection of the account are closed."""
        return self._node.is_closed and all(d.rpc.is_closed for d in self.account.deployments)

    def extend(self, actions: Callable[[MeeClient], _T]) -> _T:
        """Bind a set of actions to this client: ``session_client = mee_client.extend(mee_session_actions)``."""
        return actions(self)

    @property
    def info(self) -> GetInfoPayload:
        if self._info is None:
            raise ConfigurationError("info", "is not loaded yet", fix="create the client with create_mee_client")
        return self._info

    @property
    def node_address(self) -> str:
        """The node this client talks to: the address its quotes must be committed by and its fees paid to. It is
        the ``node_address`` the client was created with, or else the one ``/info`` gave."""
        return self._pinned_node or self.info.node

    # -- HTTP --------------------------------------------------------------------------------------------------------

    async def request(
        self,
        path: str,
        *,
        method: str = "POST",
        body: Any = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One call to the node (``base_url/path``); a non-2xx answer raises :class:`MeeApiError`."""
        return await self._node.request(path, method=method, body=body, base_url=base_url, headers=headers)

    async def get_info(self) -> GetInfoPayload:
        """``GET /info``: the node's chains and fee tokens (also kept as :attr:`info`)."""
        raw = await self.request("info", method="GET")
        info = from_wire(GetInfoPayload, raw)
        if self._pinned_node is not None and info.node != self._pinned_node:
            raise ConfigurationError(
                "node_address",
                f"the MEE node at {self.url} says it is {info.node}, not {self._pinned_node}",
                fix="check the URL and whatever sits between it and you, or the address you pinned",
            )
        self._info = info
        self.info_json = raw
        return self._info

    # -- fee tokens --------------------------------------------------------------------------------------------------

    def get_gas_token(self, chain_id: int) -> SupportedGasTokens:
        """The node's fee tokens on ``chain_id`` (a lookup in :attr:`info`)."""
        return gas_token(self.info, chain_id)

    def check_fee_token(self, fee_token: FeeTokenInfo) -> None:
        """The node must take fees in this token on this chain (per ``/info``)."""
        check_fee_token(self.info, fee_token)

    # -- quotes ------------------------------------------------------------------------------------------------------

    async def get_quote(
        self,
        *,
        instructions: Sequence[AnyInstruction | dict[str, Any]],
        fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
        sponsorship: bool = False,
        sponsorship_options: SponsorshipOptions | None = None,
        batch: bool = True,
        lower_bound_timestamp: int | None = None,
        upper_bound_timestamp: int | None = None,
        gas_limit: int | None = None,
        verification_gas_limit: int | None = None,
        module_address: str | None = None,
        short_encoding_super_txn: bool | None = None,
        session_details: Sequence[SessionDetails] | None = None,
        smart_session_mode: SmartSessionModeName | SmartSessionMode | None = None,
        simulation: Simulation | Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        preflight: Preflight | None = None,
    ) -> MeeQuote:
        """A quote for ``instructions``, paid in ``fee_token`` (or sponsored): the reference SDK's ``getQuote``.

        Each userOp's execution window is ``[lower_bound_timestamp, upper_bound_timestamp]`` (an instruction's own
        bounds take precedence); by default it opens at its chain's latest block's timestamp (the reference SDK takes
        this machine's clock) and lasts 180 s.

        ``simulation``: unlike the reference SDK, this one asks the node to simulate by default
        (``{"simulate": True}``), so that a userOp that cannot pass now is refused at the quote, with its reason,
        before anything is signed. Pass ``simulation={"simulate": False}`` for a step that can only succeed later
        (funds still bridging): the node then takes the instructions' gas limits, and executes the userOp once it
        passes, within its window.

        ``preflight`` (:class:`~smartsessions.mee.request.Preflight`): calls to add to each chain's batch of quote
        reads, and a check of their answers that runs before the node is asked (``use_permission`` decides what the
        chain state already decides this way, in the same round trip)."""
        params = QuoteParams(
            instructions=tuple(to_instruction(i) for i in instructions),
            fee_token=to_fee_token(fee_token),
            sponsorship=sponsorship,
            sponsorship_options=sponsorship_options,
            batch=batch,
            lower_bound_timestamp=lower_bound_timestamp,
            upper_bound_timestamp=upper_bound_timestamp,
            gas_limit=gas_limit,
            verification_gas_limit=verification_gas_limit,
            module_address=module_address,
            short_encoding_super_txn=short_encoding_super_txn,
            session_details=None if session_details is None else tuple(session_details),
            smart_session_mode=to_session_mode(smart_session_mode),
            simulation=simulation,
            tags=None if tags is None else tuple(tags),
        )
        return await self._quote(params, preflight)

    async def _quote(self, params: QuoteParams, preflight: Preflight | None = None) -> MeeQuote:
        """Plan (:func:`.request.plan_quote`), read every chain at once (and a sponsorship backend's nonce), run the
        ``preflight`` check on the answers, build the body (:func:`.request.build_quote_request`), post it, and
        check the quote on arrival (its commitment, then :func:`.verify.verify_quote`)."""
        plan = plan_quote(params, account=self.account, info=self.info, lanes=self._lanes)
        extra = {} if preflight is None else dict(preflight.calls)
        keys = dict(plan.nonce_keys) | {c: [] for c in extra if c not in plan.nonce_keys}  # reads for the check only
        chains = list(keys)
        reads: list[Any] = [self.account.deployment_on(c).quote_reads(k, extra.get(c, ())) for c, k in keys.items()]
        options, gas_tank = params.sponsorship_options, plan.gas_tank
        if plan.asks_sponsor:
            assert options is not None
            reads.append(
                self.request(
                    f"sponsorship/nonce/{gas_tank.chain_id}/{gas_tank.address}",
                    method="GET",
                    base_url=options.url,
                    headers=options.custom_headers,
                )
            )
        results = await asyncio.gather(*reads)
        sponsor_nonce = int(results.pop()["nonce"]) if plan.asks_sponsor else None
        by_chain = dict(zip(chains, results, strict=True))
        if preflight is not None:
            preflight.check(by_chain)
        request = build_quote_request(
            plan,
            account=self.account,
            reads={c: r for c, r in by_chain.items() if c in plan.nonce_keys},
            sponsor_nonce=sponsor_nonce,
        )
        body = to_wire(request)
        try:
            raw = await self.request(params.path, body=body)
        except MeeApiError as exc:
            log.debug("the node refused the quote: %s", exc.short_message)
            explained = explain_refusal(exc.short_message, request_contexts(request), code=exc.code, facts=exc.facts)
            if isinstance(explained, InsufficientBalanceError) and explained.balance is None:
                explained = await with_balance(explained, self.account)
            if explained is not None:
                raise explained from exc
            raise refused_user_op(exc) from exc.__cause__
        if plan.asks_sponsor:
            assert options is not None
            raw = await self.request(
                f"sponsorship/sign/{gas_tank.chain_id}/{gas_tank.address}",
                body=raw,
                base_url=options.url,
                headers=options.custom_headers,
            )
        payload = from_wire(GetQuotePayload, raw)
        check_commitment(payload)
        verify_quote(payload, request, node=self.node_address)  # before anything can sign it
        quote = MeeQuote(json=raw, payload=payload, request=body)
        _log_quote(quote)
        return quote

    # -- signing and execution ---------------------------------------------------------------------------------------

    def _version_chains_of(self, quote: MeeQuote) -> list[int]:
        """The chains of the quote's userOps (the payment userOp's left out when sponsored), in order."""
        start = 1 if quote.sponsored else 0
        return list(dict.fromkeys(op.chain_id for op in quote.payload.user_ops[start:]))

    def _mee_versions_of(self, quote: MeeQuote) -> list[dict[str, Any]]:
        return [
            to_wire(MeeVersionEntry(version=self.account.deployment_on(c).version.to_wire(), chain_id=c))
            for c in self._version_chains_of(quote)
        ]

    def _first_version_of(self, quote: MeeQuote) -> tuple[int, int, int] | None:
        """The MEE version number of the quote's first chain, which decides how it is signed (None: no userOps)."""
        chains = self._version_chains_of(quote)
        if not chains:
            return None
        return version_number(self.account.deployment_on(chains[0]).version.version, field="MeeVersionConfig.version")

    async def sign_quote(self, quote: MeeQuote) -> SignedMeeQuote:
        """Sign the super-transaction hash with the account's signer (MEE < 2.2.1: ``0x177eee00 ‖ personal_sign``)."""
        versions = self._mee_versions_of(quote)
        first = self._first_version_of(quote)
        if first is not None and first >= V2_2_1:
            raise ConfigurationError(
                "version",
                f"MEE {'.'.join(map(str, first))} quotes are signed as EIP-712 SuperTx data, which this SDK "
                "does not support yet",
                fix="use MEE version 2.0.0 or 2.1.0",
            )
        signed = signed_body(quote, await asign_quote(self.account.signer, quote.hash), versions)
        log.debug("signed quote %s as %s", quote.hash, self.account.signer.address)
        return signed

    async def execute_signed_quote(self, signed_quote: SignedMeeQuote) -> ExecuteResult:
        """``POST /exec``: the node checks the signature and the payment userOp, then submits the userOps.

        A refusal the node explains (the payment userOp's session is not enabled, its enable signature was used, a
        policy refuses the fee, the account lost the fee) is raised as the same typed error a quote refusal gives."""
        try:
            answer = await self.request("exec", body=signed_quote.json)
        except MeeApiError as exc:
            log.debug("the node refused to execute: %s", exc.short_message)
            try:
                contexts = quote_contexts(from_wire(SignedQuote, signed_quote.json))
            except InvalidInputError:
                raise exc from None
            explained = explain_refusal(exc.short_message, contexts, code=exc.code, facts=exc.facts)
            if explained is not None:
                raise explained from exc
            raise refused_user_op(exc) from exc.__cause__
        result = ExecuteResult(hash=str(answer["hash"]))
        log.info("submitted super-transaction %s", result.hash)
        return result

    async def execute(self, **params: Any) -> ExecuteResult:
        """:meth:`get_quote`, :meth:`sign_quote` and :meth:`execute_signed_quote` in one call."""
        quote = await self.get_quote(**params)
        return await self.execute_signed_quote(await self.sign_quote(quote))

    # -- fusion (permit trigger) -------------------------------------------------------------------------------------

    async def get_fusion_quote(
        self,
        *,
        trigger: Trigger | Mapping[str, Any],
        instructions: Sequence[AnyInstruction | dict[str, Any]] = (),
        fee_token: FeeTokenInfo | Mapping[str, Any] | None = None,
        sponsorship: bool = False,
        sponsorship_options: SponsorshipOptions | None = None,
        batch: bool = True,
        gas_limit: int | None = None,
        lower_bound_timestamp: int | None = None,
        upper_bound_timestamp: int | None = None,
        simulation: Simulation | Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        quote_type: Literal["permit", "onchain"] | None = None,
    ) -> FusionQuote:
        """A quote funded from the signer's EOA: the account pulls ``trigger.amount`` (and the fee) of the trigger
        token with ``transferFrom`` in its first userOp on the trigger chain (spec §9.7).

        The EOA authorises the pull with an ERC-2612 permit signed over the quote when the token supports it (the
        node's ``/info`` says so, or the token's domain checks out on chain), else with an ``approve`` transaction
        it sends itself (``"onchain"``), as the reference decides; ``quote_type`` forces one."""
        trig = to_trigger(trigger)
        check_trigger(trig)
        if quote_type not in (None, "permit", "onchain"):
            raise InvalidInputError("quote_type", "must be 'permit', 'onchain' or None", value=quote_type)
        owner = self.account.signer.address
        deployment = self.account.deployment_on(trig.chain_id)
        listed = None
        for entry in self.info.supported_gas_tokens:
            if entry.chain_id == trig.chain_id:
                listed = next((t for t in entry.payment_tokens if t.address == trig.token_address), None)
        permit = None
        kind = quote_type
        if kind == "permit":
            permit = await read_permit_token(deployment, trig.token_address, owner, trig.chain_id)
        elif kind is None:
            if listed is not None and not listed.permit_enabled:
                kind = "onchain"
            else:
                try:
                    permit = await read_permit_token(deployment, trig.token_address, owner, trig.chain_id)
                    kind = "permit"
                except ConfigurationError:
                    kind = "onchain"  # the reference falls back to an approve transaction too
        prepared, trigger_info = fusion_instructions(
            trig,
            owner=owner,
            spender=deployment.address,
            instructions=[to_instruction(i) for i in instructions],
            batch=batch,
        )
        quote = await self._quote(
            QuoteParams(
                instructions=tuple(prepared),
                fee_token=to_fee_token(fee_token),
                sponsorship=sponsorship,
                sponsorship_options=sponsorship_options,
                batch=batch,
                gas_limit=gas_limit or trigger_info.gas_limit,
                lower_bound_timestamp=lower_bound_timestamp,
                upper_bound_timestamp=upper_bound_timestamp,
                simulation=simulation,
                tags=None if tags is None else tuple(tags),
                quote_type=kind,
                trigger=trigger_info,
                eoa=owner,
            )
        )
        fee = 0 if sponsorship else quote.fee
        assert trigger_info.amount is not None
        with_fee = trigger_info.model_copy(update={"amount": trigger_info.amount + fee})
        return FusionQuote(quote=quote, trigger=with_fee, permit=permit)

    async def sign_fusion_quote(
        self, fusion_quote: FusionQuote, *, confirmations: int = 2, timeout: float = 120.0
    ) -> SignedMeeQuote:
        """Authorise the trigger. Permit quotes: the owner's EIP-2612 permit of ``trigger.approval_amount`` (or
        amount, fee included) to the account, with ``deadline = uint256(quote.hash)``, in the ``0x177eee02`` format
        (MEE < 3.0.0). On-chain quotes: the owner's EOA sends ``approve(account, amount)`` with the quote hash
        appended and waits for ``confirmations`` blocks (2 by default, as the reference SDK; the devnet makes a
        block every 2 s, so they come there too); the signature is ``0x177eee01 ‖ abi.encode(txHash, chainId)``."""
        quote, trigger, permit = fusion_quote.quote, fusion_quote.trigger, fusion_quote.permit
        if quote.quote_type == "onchain":
            return await self._sign_onchain_quote(fusion_quote, confirmations=confirmations, timeout=timeout)
        if permit is None:
            raise InvalidInputError("fusion_quote.permit", "is missing", fix="get the quote with get_fusion_quote")
        first = self._first_version_of(quote)
        if first is not None and first >= (3, 0, 0):
            raise ConfigurationError(
                "version", "permit signatures of MEE >= 3.0.0 are not supported yet", fix="use MEE 2.0.0 or 2.1.0"
            )
        amount = trigger.approval_amount if trigger.approval_amount is not None else trigger.amount
        assert amount is not None
        digest = get_permit_digest(
            domain_separator=permit.domain_separator,
            owner=permit.owner,
            spender=permit.spender,
            value=amount,
            nonce=permit.nonce,
            deadline=int(quote.hash, 16),
        )
        signature = await asign_typed_digest(self.account.signer, digest)
        encoded = encode_permit_quote_signature(
            token=trigger.token_address,
            spender=permit.spender,
            domain_separator=permit.domain_separator,
            amount=amount,
            chain_id=trigger.chain_id,
            nonce=permit.nonce,
            signature=signature,
        )
        log.debug("signed quote %s as a permit of %d of %s", quote.hash, amount, trigger.token_address)
        return signed_body(quote, encoded, self._mee_versions_of(quote))

    async def _sign_onchain_quote(
        self, fusion_quote: FusionQuote, *, confirmations: int, timeout: float
    ) -> SignedMeeQuote:
        quote, trigger = fusion_quote.quote, fusion_quote.trigger
        if confirmations < 1:
            raise InvalidInputError("confirmations", "must be at least 1", value=confirmations)
        signer: Any = self.account.signer
        if not hasattr(signer, "sign_transaction"):
            raise ConfigurationError(
                "signer",
                "cannot sign transactions, which an on-chain trigger needs (the EOA sends an approve transaction)",
                fix="use a signer with sign_transaction (an eth_account LocalAccount), or a token with ERC-2612 permit",
            )
        deployment = self.account.deployment_on(trigger.chain_id)
        amount = trigger.approval_amount if trigger.approval_amount is not None else trigger.amount
        assert amount is not None
        data = encode_function_call("approve(address,uint256)", [deployment.address, amount]) + bytes(
            to_bytes32(quote.hash, field="quote.hash")
        )
        tx_hash = await send_transaction(
            deployment.rpc, signer, chain_id=trigger.chain_id, to=trigger.token_address, data=data
        )
        await wait_for_transaction(
            deployment.rpc, tx_hash, confirmations=confirmations, timeout=timeout, what="the trigger's approve"
        )
        signature = encode_onchain_quote_signature(tx_hash=tx_hash, chain_id=trigger.chain_id)
        return signed_body(quote, signature, self._mee_versions_of(quote))

    async def execute_fusion_quote(
        self, fusion_quote: FusionQuote, *, confirmations: int = 2, timeout: float = 120.0
    ) -> ExecuteResult:
        """Authorise the trigger (:meth:`sign_fusion_quote`) and ``POST /exec`` with the trigger (its amount
        including the fee)."""
        signed = await self.sign_fusion_quote(fusion_quote, confirmations=confirmations, timeout=timeout)
        return await self.execute_signed_quote(signed.with_trigger(fusion_quote.trigger))

    # -- receipts ----------------------------------------------------------------------------------------------------

    async def get_supertransaction_receipt(
        self,
        hash: str,
        *,
        mode: Literal["default", "fast-block"] = "default",
        wait_for_receipts: bool = True,
    ) -> SupertransactionReceipt:
        """The super-transaction's state. A failed one raises :class:`SupertransactionFailedError` (or the
        specific error its failure explains); once it succeeded, the transactions' receipts are read too."""
        key = "0x" + bytes(to_bytes32(hash, field="hash")).hex()
        raw = await self.request(f"explorer/{key}", method="GET")
        payload = from_wire(ExplorerResponse, raw)
        summary = summarize_receipt(raw.get("userOps", []), mode=mode)
        if summary.status in ("FAILED", "MINED_FAIL"):
            raise failed_supertransaction_error(key, summary.status, raw, payload)
        receipts = None
        if summary.status == "MINED_SUCCESS" and wait_for_receipts:
            receipts = await transaction_receipts(self.account, payload)
        return SupertransactionReceipt(
            hash=key,
            status=summary.status,
            is_finalised=summary.is_final,
            json=raw,
            payload=payload,
            receipts=receipts,
        )

    async def wait_for_supertransaction_receipt(
        self,
        hash: str,
        *,
        timeout: float = 120.0,
        polling_interval: float | None = None,
        mode: Literal["default", "fast-block"] = "default",
    ) -> SupertransactionReceipt:
        """Poll the explorer until the super-transaction is final (every ``polling_interval`` s, default the
        client's 0.25 s; 0.075 s in ``fast-block`` mode). Raises on failure, and after ``timeout`` seconds."""
        interval = polling_interval or (0.075 if mode == "fast-block" else self.polling_interval)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            receipt = await self.get_supertransaction_receipt(hash, mode=mode)
            if receipt.is_finalised:
                log.info("super-transaction %s %s", receipt.hash, receipt.status)
                return receipt
            if loop.time() + interval > deadline:
                raise SupertransactionTimeoutError(
                    f"Super-transaction {receipt.hash} is not final after {timeout:g} s (status {receipt.status}).",
                    hash=receipt.hash,
                    status=receipt.status,
                    meta_messages=[f"Look it up later: {MEESCAN_URL}{receipt.hash}, or wait longer (timeout=)."],
                )
            await asyncio.sleep(interval)


def _log_quote(quote: MeeQuote) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    info = quote.payload.payment_info
    chains = sorted({int(op.chain_id) for op in quote.payload.user_ops})
    fee = "sponsored" if info.sponsored else f"fee {info.token_amount} of {info.token} on chain {info.chain_id}"
    log.info(
        "quote %s (%s): %d userOps on chains %s, %s",
        quote.hash,
        quote.quote_type,
        len(quote.payload.user_ops),
        ", ".join(map(str, chains)),
        fee,
    )


async def create_mee_client(
    *,
    account: MultichainNexusAccount,
    url: str = MEE_NETWORK_URL,
    api_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    polling_interval: float = DEFAULT_POLLING_INTERVAL,
    node_address: str | None = None,
) -> MeeClient:
    """A client of the MEE node at ``url`` for ``account``: reads ``GET /info`` and checks that the node serves every
    chain of the account. ``api_key`` goes in ``x-api-key`` (there is no default key).

    Every quote must come from the node ``/info`` names, and pay its fee to it (:mod:`.verify`). ``node_address``
    pins that address instead of trusting the first answer: a node that says it is another is refused
    (:class:`~smartsessions.errors.ConfigurationError`), so nothing between this client and the node can pass
    itself off as the node, even from the start."""
    client = MeeClient(
        account=account,
        url=url,
        api_key=api_key,
        transport=transport,
        polling_interval=polling_interval,
        node_address=node_address,
    )
    try:
        info = await client.get_info()
        supported = [c.chain_id for c in info.supported_chains]
        missing = [d.chain_id for d in account.deployments if d.chain_id not in supported]
        if missing:
            raise ChainNotSupportedError(
                "account.chain_configurations",
                f"Some account chains are not supported by the MEE node: {', '.join(map(str, missing))} "
                f"(it supports {', '.join(map(str, supported)) or 'none'})",
                chain_ids=missing,
                fix="drop those chains from the account, or use a node that serves them",
            )
    except BaseException:
        await client.aclose()
        raise
    return client
