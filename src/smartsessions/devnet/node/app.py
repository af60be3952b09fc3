"""The node's HTTP API (spec §9) as a Starlette app.

| route | does |
|---|---|
| ``GET /v1/info`` | chains and fee tokens (§9.2) |
| ``POST /v1/quote``, ``POST /v1/quote-permit`` | a filled, priced, hashed quote (§9.3, §9.4; :mod:`.quoting`) |
| ``POST /v1/exec`` | accept a signed quote, answer ``{hash}`` (§9.8; :mod:`.acceptance`, :mod:`.executor`) |
| ``GET /v1/explorer/{hash}`` | the quote with each userOp's execution status (§9.9); ``?confirmations=N`` |
| ``GET /v1/health`` | ours: ``{status, node, store: {superTransactions, unfinished, bytes}}`` |

Every non-2xx answer is ``{"error": "<what was wrong>", "code": "<CODE>", "facts": {...}}`` (:mod:`.errors`): a
malformed body's message names the JSON path of the bad field (``userOps[0].callData: ...``), as its ``field`` fact
does. With an API key configured, every route needs it in ``x-api-key``.
(``/v1//quote-permit`` is routed too: the SDK builds that URL when a fee payer is set, spec §9.1.)

``/info`` and the explorer answer are written by the wire models the SDK reads them with (:mod:`smartsessions.wire.mee`:
``GetInfoPayload``; ``GetQuotePayload``, ``ExplorerUserOp`` and ``ExplorerResponse``). The explorer answer is the quote
as accepted at ``/exec`` (``hash``, ``node``, ``commitment``, ``paymentInfo``, ``userOps``: the body without the
client's own fields; the node stores nothing at ``/quote``, :mod:`.store`) plus ``itxHash`` (the super-transaction hash
again) and ``fundingTransaction``: as on Biconomy's node, the ``trigger`` the client sent with ``/exec`` (token, chain,
amount of a fusion quote), else null. Each userOp adds ``executionStatus``, ``executionData`` (the bundle's transaction
hash) and ``executionError`` when there are ones, and always (null until known, but ``confirmations``):

* ``confirmations``: 0 until the userOp is in a block (as Biconomy's node), then the blocks from that one to the
  chain's head, both counted (viem's count: 1 in the block that mined it); ``isConfirmed`` once that reaches
  ``?confirmations`` (default 3). MINED_SUCCESS and MINED_FAIL are reported as soon as the block is there;
  ``isConfirmed`` is what a client waits for;
* ``actualGasCost``: the ``UserOperationEvent``'s, in wei (decimal string);
* ``revertError``: the raw revert data (hex) of a failed userOp; ``executionErrorCode`` and ``executionErrorFacts``
  (this node's own fields, absent when unknown) say its cause as the code and facts of a refusal
  (:mod:`.failure_codes`);
* ``miningTimestamp``: the chain's time when its bundle was broadcast; ``minedTimestamp``: its block's timestamp
  (both seconds, numbers).
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from hexbytes import HexBytes
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..._coerce import to_bytes32
from ..._json import LONE_SURROGATE_PROBLEM, loads_bounded
from ...errors import InvalidInputError, RpcError, SmartSessionsError
from ...rpc import RpcClient, quantity
from ...wire.mee import (
    ExplorerResponse,
    ExplorerUserOp,
    GetInfoPayload,
    PaymentToken,
    QuoteRequest,
    SignedQuote,
    SupportedChain,
    SupportedGasTokens,
    WireModel,
    from_wire,
    to_wire,
)
from ._chain import ChainClient
from .acceptance import Acceptor
from .config import NodeConfig
from .errors import Code, Fact, NodeError
from .executor import Executor
from .failure_codes import failure_code
from .quoting import QuoteBuilder
from .store import SqliteStore, Store

__all__ = ["BUSY_RETRY_AFTER", "DEFAULT_CONFIRMATIONS", "NodeService", "create_app"]

log = logging.getLogger("smartsessions.node")

#: What ``GET /v1/explorer/{hash}`` counts as confirmed without ``?confirmations``.
DEFAULT_CONFIRMATIONS = 3
#: Seconds a client is asked to wait (``Retry-After``) when the node is busy.
BUSY_RETRY_AFTER = 2
#: Accepted quotes the explorer keeps parsed in memory.
QUOTES_KEPT = 1024


class NodeService:
    """Everything behind the routes; started and stopped by the app's lifespan (inside its event loop)."""

    def __init__(self, config: NodeConfig, store: Store | None = None) -> None:
        self.config = config
        self.address = config.address
        self.store: Store = store or SqliteStore(config.database_path, sender=self.address)
        self.chains: dict[int, ChainClient] = {}
        self.executor: Executor | None = None
        self._quotes: QuoteBuilder | None = None
        self._acceptor: Acceptor | None = None
        self._head_reads: dict[int, asyncio.Future[int | None]] = {}
        self._quote_cache: dict[str, dict[str, Any]] = {}
        self._info: dict[str, Any] | None = None

    async def start(self) -> list[str]:
        self.chains = {c.chain_id: ChainClient(c.chain_id, RpcClient(c.rpc_url)) for c in self.config.chains}
        self._quotes = QuoteBuilder(self.config, self.chains, self.store)
        self._acceptor = Acceptor(self.config, self.chains, self.store)
        self.executor = Executor(self.config, self.chains, self.store)
        resumed = await self.executor.recover()
        if resumed:
            log.info("resumed %d unfinished super-transaction(s)", len(resumed))
        return resumed

    async def stop(self) -> None:
        if self.executor is not None:
            await self.executor.aclose()
        for chain in self.chains.values():
            await chain.aclose()
        self.store.close()

    def info(self) -> dict[str, Any]:
        """``GET /v1/info``: this node's chains and their fee tokens; no arbitrary fee tokens, no wallet providers.
        Built once (the configuration does not change), a copy each time."""
        if self._info is None:
            self._info = self._build_info()
        return copy.deepcopy(self._info)

    def _build_info(self) -> dict[str, Any]:
        answer = GetInfoPayload(
            version=self.config.version,
            node=self.address,
            supported_chains=tuple(SupportedChain(chain_id=c.chain_id, name=c.name) for c in self.config.chains),
            supported_gas_tokens=tuple(
                SupportedGasTokens(
                    chain_id=c.chain_id,
                    payment_tokens=tuple(
                        PaymentToken(
                            name=t.name,
                            address=t.address,
                            symbol=t.symbol,
                            decimals=t.decimals,
                            permit_enabled=t.permit_enabled,
                        )
                        for t in c.fee_tokens
                    ),
                    is_arbitrary_fee_tokens_supported=False,
                )
                for c in self.config.chains
            ),
            supported_wallet_providers=(),
        )
        return to_wire(answer)

    def _check_backlog(self) -> None:
        """Backpressure: with ``max_unfinished`` super-transactions still running, new work waits (503 and
        ``Retry-After``) instead of piling up behind them."""
        unfinished = len(self.store.unfinished())
        if unfinished >= self.config.max_unfinished:
            raise NodeError(
                503,
                f"node: busy with {unfinished} unfinished super-transactions (at most {self.config.max_unfinished}); "
                f"try again in {BUSY_RETRY_AFTER} s",
                code=Code.BUSY,
                facts={
                    "unfinished": unfinished,
                    "maxUnfinished": self.config.max_unfinished,
                    "retryAfter": BUSY_RETRY_AFTER,
                },
                retry_after=BUSY_RETRY_AFTER,
            )

    async def quote(self, body: Any) -> dict[str, Any]:
        assert self._quotes is not None
        self._check_backlog()
        return await self._quotes.quote(from_wire(QuoteRequest, body))

    async def exec(self, body: Any) -> dict[str, Any]:
        assert self._acceptor is not None and self.executor is not None
        self._check_backlog()
        signed = from_wire(SignedQuote, body)
        quote_hash = await self._acceptor.accept(signed)
        self.executor.schedule(quote_hash, signed)
        return {"hash": quote_hash}

    async def explorer(self, quote_hash: str, confirmations: int = DEFAULT_CONFIRMATIONS) -> dict[str, Any]:
        try:
            key = "0x" + bytes(to_bytes32(quote_hash, field="hash")).hex()
        except InvalidInputError as exc:
            raise NodeError(400, f"hash: {exc.problem}", code=Code.INVALID_FIELD, facts={"field": "hash"}) from exc
        record = self.store.get_super_tx(key)
        quote = None if record is None else self._accepted_quote(key)
        if record is None or quote is None:
            raise NodeError(
                404,
                f"hash: no super-transaction {key} was executed by this node",
                code=Code.UNKNOWN_SUPER_TRANSACTION,
                facts={"hash": key},
            )
        heads = await self._heads({s.chain_id for s in record.user_ops if s.block_number is not None})
        ops = []
        for k, (issued, state) in enumerate(zip(quote["userOps"], record.user_ops, strict=True)):
            depth = 0  # as Biconomy's node counts a userOp not (yet) in a block
            confirmed = state.confirmed
            if state.block_number is not None:
                head = heads.get(state.chain_id)
                # a chain that does not answer now: its status as stored, but no depth, so not confirmed
                depth = 0 if head is None else max(0, head - state.block_number + 1)
                confirmed = head is not None and depth >= confirmations
            known: dict[str, Any] = {"execution_data": HexBytes(state.tx_hash)} if state.tx_hash else {}
            if state.error:
                known["execution_error"] = state.error
            coded = failure_code(k, issued, state.status, state.error, state.revert_error)
            if coded is not None:
                known["execution_error_code"], known["execution_error_facts"] = coded
            status = _set_fields(
                ExplorerUserOp,
                execution_status=state.status,
                is_confirmed=confirmed,
                **known,
                confirmations=depth,
                actual_gas_cost=state.actual_gas_cost,
                revert_error=state.revert_error,
                mining_timestamp=state.mining_timestamp,
                mined_timestamp=state.mined_timestamp,
            )
            # after the quote's fields (a quote's own isConfirmed keeps its place), the status, then isConfirmed
            ops.append({**issued, "executionStatus": status["executionStatus"], **status})
        about = _set_fields(ExplorerResponse, itx_hash=HexBytes(key), funding_transaction=record.body.get("trigger"))
        return {**quote, "userOps": ops, **about}

    def _accepted_quote(self, key: str) -> dict[str, Any] | None:
        """The quote of an accepted super-transaction, which never changes, as the store keeps it (written by
        :class:`GetQuotePayload` when it was accepted: the fields it was accepted with): read once, then kept (the
        :data:`QUOTES_KEPT` most recently asked), since clients poll the explorer many times per super-transaction.
        It is not parsed again: this node wrote it, from a model it had checked."""
        quote = self._quote_cache.pop(key, None)
        if quote is None:
            record = self.store.get_quote(key)
            quote = None if record is None else record.quote
        if quote is not None:
            self._quote_cache[key] = quote  # now the most recent
            while len(self._quote_cache) > QUOTES_KEPT:
                del self._quote_cache[next(iter(self._quote_cache))]
        return quote

    async def _heads(self, chain_ids: set[int]) -> dict[int, int]:
        """Each chain's latest block number, for the chains that answer. Clients poll the explorer many times a
        second: explorer requests that arrive while a chain's head is being read share that read (its answer is no
        older than the request), instead of each asking the chain again."""
        known = sorted(c for c in chain_ids if c in self.chains)
        numbers = await asyncio.gather(*(self._head(c) for c in known))
        return {c: n for c, n in zip(known, numbers, strict=True) if n is not None}

    async def _head(self, chain_id: int) -> int | None:
        pending = self._head_reads.get(chain_id)
        if pending is None:
            pending = asyncio.ensure_future(self._read_head(chain_id))
            self._head_reads[chain_id] = pending
            pending.add_done_callback(lambda _: self._head_reads.pop(chain_id, None))
        return await asyncio.shield(pending)

    async def _read_head(self, chain_id: int) -> int | None:
        try:
            answer = await self.chains[chain_id].rpc.request("eth_blockNumber", [])
            return quantity(answer, what="eth_blockNumber")
        except RpcError as exc:  # the stored statuses stand; without a head, nothing counts as confirmed
            log.warning("chain %d did not answer eth_blockNumber: %s", chain_id, exc.short_message)
            return None


def _set_fields(model: type[WireModel], **values: Any) -> dict[str, Any]:
    """``values`` as ``model`` writes those fields (its keys, in its field order, its JSON forms: a bigint as a
    decimal string, bytes as hex; None as null), and nothing else. The values are the store's, already of the
    fields' types: the model is not validated, only written, so that an explorer poll (clients make many) does not
    pay for validating, and writing again, the quote that it repeats."""
    built = model.model_construct(_fields_set=set(values), **values)
    out: dict[str, Any] = built.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return out


def _confirmations(request: Request) -> int:
    raw = request.query_params.get("confirmations")
    if raw is None or raw == "":
        return DEFAULT_CONFIRMATIONS
    if not raw.isdigit() or len(raw) > 6:
        raise NodeError(
            400,
            f"confirmations: must be a whole number of blocks (0 to 999999), got {raw!r}",
            code=Code.INVALID_FIELD,
            facts={"field": "confirmations"},
        )
    return int(raw)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes: by its ``content-length`` before anything is read, else
    as soon as the stream passes the limit, so a huge body never sits in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
        raise NodeError(
            413,
            f"body: {declared[:20]} bytes is more than this node takes ({limit}); send less",
            code=Code.BODY_TOO_LARGE,
            facts={"limit": limit, "size": declared[:20]},
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise NodeError(
                413,
                f"body: more than {limit} bytes is more than this node takes; send a smaller quote",
                code=Code.BODY_TOO_LARGE,
                facts={"limit": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(raw: bytes) -> Any:
    """JSON, or a 400 naming what is wrong with it: not JSON, nested deeper than 64 levels (plain ``json.loads``
    would overflow the C stack and kill the process, since a dependency raises the recursion limit), a number of more
    than 100 digits (:func:`~smartsessions._json.loads_bounded`), or text that is not Unicode (a lone surrogate such as
    ``"\\ud800"`` parses, but could never be stored or answered)."""
    try:
        return loads_bounded(
            raw, field="body", fix="send a JSON object, as the MEE API describes it", refuse_lone_surrogates=True
        )
    except InvalidInputError as exc:
        if exc.problem == LONE_SURROGATE_PROBLEM:
            where = exc.field.removeprefix("body").lstrip(".") or "body"
            raise NodeError(
                400,
                f"{where}: is not valid Unicode text (a lone surrogate); send UTF-8 text",
                code=Code.INVALID_FIELD,
                facts={"field": where},
            ) from exc
        raise NodeError(400, f"body: not JSON ({exc.problem})", code=Code.INVALID_JSON) from exc


def _error(status: int, message: str, code: Code, facts: Mapping[str, Fact] | None = None) -> JSONResponse:
    return _answer(NodeError(status, message, code=code, facts=facts))


def _answer(exc: NodeError) -> JSONResponse:
    """A refusal as the client gets it: ``{"error", "code", "facts"}`` (:mod:`.errors`) and ``Retry-After``."""
    response = JSONResponse(to_wire(exc.answer()), status_code=exc.status)
    if exc.retry_after is not None:
        response.headers["retry-after"] = str(exc.retry_after)
    return response


def _message(exc: InvalidInputError) -> str:
    fix = next((m[5:] for m in exc.meta_messages if m.startswith("Fix: ")), None)
    return f"{exc.field}: {exc.problem}" + (f" ({fix})" if fix else "")


Handler = Callable[[Request], Awaitable[Response]]


def create_app(config: NodeConfig, *, service: NodeService | None = None) -> Starlette:
    """The node as an ASGI app; its lifespan opens the chains and resumes unfinished super-transactions."""
    node = service or NodeService(config)

    def guarded(handler: Callable[[Request], Awaitable[Any]], status: int = 200) -> Handler:
        async def endpoint(request: Request) -> Response:
            if config.api_key is not None:
                given = request.headers.get("x-api-key", "")
                if not hmac.compare_digest(given.encode(), config.api_key.encode()):
                    return _error(401, "x-api-key: missing or wrong API key for this node", Code.API_KEY_INVALID)
            try:
                return JSONResponse(await handler(request), status_code=status)
            except NodeError as exc:
                return _answer(exc)
            except InvalidInputError as exc:
                return _error(400, _message(exc), Code.INVALID_FIELD, {"field": exc.field})
            except SmartSessionsError as exc:  # a chain failed, or answered what the node cannot read
                log.exception("request failed")
                return _error(502, exc.short_message, Code.CHAIN_UNAVAILABLE)

        return endpoint

    async def body(request: Request) -> Any:
        return parse_body(await read_body(request, config.max_body_bytes))

    async def info(_: Request) -> dict[str, Any]:
        return node.info()

    async def health(_: Request) -> dict[str, Any]:
        return {"status": "ok", "node": node.address, "store": node.store.stats()}

    async def quote(request: Request) -> dict[str, Any]:
        return await node.quote(await body(request))

    async def exec_(request: Request) -> dict[str, Any]:
        return await node.exec(await body(request))

    async def explorer(request: Request) -> dict[str, Any]:
        return await node.explorer(str(request.path_params["hash"]), _confirmations(request))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if exc.status_code == 404:
            return _error(404, str(exc.detail), Code.ROUTE_NOT_FOUND, {"path": path})
        if exc.status_code == 405:
            return _error(405, str(exc.detail), Code.METHOD_NOT_ALLOWED, {"method": request.method, "path": path})
        return await crash(request, exc)  # the router raises no other

    async def crash(_: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return _error(
            500, f"internal error: {type(exc).__name__}: {exc}", Code.INTERNAL_ERROR, {"exception": type(exc).__name__}
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await node.start()
        try:
            yield
        finally:
            await node.stop()

    app = Starlette(
        routes=[
            Route("/v1/info", guarded(info), methods=["GET"]),
            Route("/v1/health", guarded(health), methods=["GET"]),
            Route("/v1/quote", guarded(quote), methods=["POST"]),
            Route("/v1/quote-permit", guarded(quote), methods=["POST"]),
            Route("/v1//quote-permit", guarded(quote), methods=["POST"]),
            Route("/v1/exec", guarded(exec_), methods=["POST"]),
            Route("/v1/explorer/{hash}", guarded(explorer), methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: crash},
        lifespan=lifespan,
    )
    app.state.node = node
    return app
