"""``POST /exec``: accept a signed quote, or say exactly why not (spec §9.8).

What the node checks, in order:

1. the quote is one this node issued (its ``hash`` is in the store), not executed before (a replay is a 400 "already
   scheduled", as Biconomy's node answers it), and not expired (``quote_lifetime`` after it was issued);
2. the body is that quote unchanged, except for what the client may set: ``signature``, ``meeVersions``,
   ``trigger``, ``isEIP712TrustedSponsorshipSupported`` and each ``userOps[i].sessionDetails.mode``;
3. the signature: a simple signature (``0x177eee00``) must recover (EIP-191 or raw) to the signer every submitted
   userOp needs: the session's redeemer for a session userOp, the account owner otherwise (the K1MeeValidator's
   ``smartAccountOwners`` for a deployed account, the owner in the bootstrap call of the quote's initCode for an
   undeployed one). A permit (``0x177eee02``) must be the owner's EIP-2612 permit of the trigger token to the account
   on the trigger chain, with ``deadline = quote.hash`` and an amount that covers the trigger and the fee. An on-chain
   trigger (``0x177eee01 ‖ abi.encode(txHash, chainId)``) must name a transaction mined successfully on the trigger
   chain, sent by ``paymentInfo.eoa`` and by the signer every userOp needs (as above), whose data ends with
   ``quote.hash``; if it is an ``approve`` of the trigger token, to the account, for the trigger amount and the fee.

Every refusal is a 400 with ``{"error": "<field>: <what is wrong; the fix>"}``, a bad signature too: the only 401
of the node is a missing or wrong API key (app.py); a 5xx is the node's or a chain's own failure.

Then it builds every userOp's signature (:mod:`.signatures`), stores the super-transaction with them in one
transaction, hands it to the executor, and answers ``{hash}``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from eth_abi.abi import decode as abi_decode

from ..._coerce import keccak, to_address
from ...encoding.abi import encode_function_call
from ...errors import InvalidInputError
from ...mee.quote import SuperTxEntry, get_super_tx_tree, to_onchain_tx_payload
from ...mee.wire import GetQuotePayload, MeeFilledUserOpDetails, SignedQuote, from_wire, to_wire
from ...versions import MEE_VERSIONS
from ._chain import ChainClient
from .config import NodeConfig
from .errors import NodeError
from .payment_check import check_payment
from .signatures import (
    QuoteSignature,
    owner_from_init_code,
    owner_onchain_signature,
    owner_permit_signature,
    owner_simple_signature,
    parse_quote_signature,
    permit_signer_ok,
    recover_signers,
    session_signature,
)
from .store import Store, UserOpRecord

__all__ = ["Acceptor", "first_difference"]

_APPROVE = bytes.fromhex("095ea7b3")
_K1_VALIDATORS = tuple(dict.fromkeys(MEE_VERSIONS[v].validator_address for v in ("2.1.0", "2.0.0")))


def _already_scheduled(quote_hash: str) -> NodeError:
    """A replayed ``/exec``: a 400 that says "already scheduled", as Biconomy's node answers it, with our detail."""
    return NodeError(400, f"hash: super-transaction {quote_hash} is already scheduled; a quote executes once")


def _comparable(quote: GetQuotePayload) -> dict[str, Any]:
    """The quote as JSON, without what the client may change."""
    out: dict[str, Any] = quote.model_dump(mode="json", by_alias=True, include=set(GetQuotePayload.model_fields))
    for op in out["userOps"]:
        if isinstance(op.get("sessionDetails"), dict):
            op["sessionDetails"].pop("mode", None)
    return out


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The JSON path of the first place where ``a`` and ``b`` differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length {len(b)}, issued {len(a)})"
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{k}]")
            if found is not None:
                return found
        return None
    return None if a == b else path


class Acceptor:
    def __init__(self, config: NodeConfig, chains: dict[int, ChainClient], store: Store) -> None:
        self.config = config
        self.chains = chains
        self.store = store

    async def accept(self, body: SignedQuote) -> str:
        quote_hash = "0x" + bytes(body.hash).hex()
        record = self.store.get_quote(quote_hash)
        if record is None:
            raise NodeError(400, f"hash: no quote {quote_hash} was issued by this node; ask for a quote first")
        if self.store.get_super_tx(quote_hash) is not None:
            raise _already_scheduled(quote_hash)
        if time.time() > record.expires_at:
            raise NodeError(
                400,
                f"hash: quote {quote_hash} expired at {int(record.expires_at)} (quotes live "
                f"{self.config.quote_lifetime:g} s); ask for a new quote",
            )
        issued = from_wire(GetQuotePayload, record.quote)
        changed = first_difference(_comparable(issued), _comparable(body))
        if changed is not None:
            raise NodeError(
                400,
                f"{changed}: differs from the quote this node issued; only signature, meeVersions, trigger, "
                "isEIP712TrustedSponsorshipSupported and userOps[i].sessionDetails.mode may be set by the client",
            )
        signature = parse_quote_signature(bytes(body.signature))
        meta = record.meta
        signature = await self._check_signature(issued, body, signature, meta)
        user_ops = self._sign(issued, body, signature, meta)
        if not meta.get("sponsored"):  # the node is paid before anything runs, as Biconomy's node checks it
            payment, signed = issued.user_ops[0], user_ops[0].signature or "0x"
            await check_payment(
                self.chains[payment.chain_id],
                payment,
                bytes.fromhex(signed[2:]),
                node=self.config.address,
                busy=lambda: self._busy_on(payment.chain_id),
            )
        if not self.store.accept(quote_hash, to_wire(body), user_ops):  # a replay that raced the first /exec
            raise _already_scheduled(quote_hash)
        return quote_hash

    def _busy_on(self, chain_id: int) -> bool:
        """True while an accepted super-transaction still has a userOp to finish on ``chain_id``."""
        for quote_hash in self.store.unfinished():
            record = self.store.get_super_tx(quote_hash)
            if record is not None and any(
                op.chain_id == chain_id and op.status not in ("MINED_SUCCESS", "MINED_FAIL", "FAILED")
                for op in record.user_ops
            ):
                return True
        return False

    # -- who must have signed -----------------------------------------------------------------------------------------

    async def _owners(self, quote: GetQuotePayload, meta: dict[str, Any]) -> dict[tuple[int, str], str]:
        """The owner of every (chain, account) that submits an owner userOp."""
        wanted: dict[tuple[int, str], bytes | None] = {}
        for k, op in enumerate(quote.user_ops):
            if k == 0 and meta.get("sponsored"):
                continue
            if op.session_details is not None:
                continue
            key = (op.chain_id, op.user_op.sender)
            if bytes(op.user_op.init_code) and wanted.get(key) is None:
                wanted[key] = bytes(op.user_op.init_code)
            else:
                wanted.setdefault(key, None)
        owners: dict[tuple[int, str], str] = {}
        for (chain_id, account), init_code in wanted.items():
            if init_code:
                owner = owner_from_init_code(init_code)
                if owner is None:
                    raise NodeError(400, f"the initCode for {account} on chain {chain_id} is not a Nexus deployment")
                owners[(chain_id, account)] = owner
                continue
            candidates = list(dict.fromkeys([*self._validators(chain_id, meta), *_K1_VALIDATORS]))
            raws = await self.chains[chain_id].calls(
                [(v, encode_function_call("smartAccountOwners(address)", [account])) for v in candidates]
            )
            found = [to_address(abi_decode(["address"], r)[0], field="owner") for r in raws]
            owner = next((o for o in found if int(o, 16) != 0), None)
            if owner is None:
                raise NodeError(400, f"account {account} on chain {chain_id} has no K1MeeValidator owner")
            owners[(chain_id, account)] = owner
        return owners

    def _validators(self, chain_id: int, meta: dict[str, Any]) -> list[str]:
        out = []
        for entry in meta.get("meeVersions") or []:
            if int(entry.get("chainId", -1)) == chain_id:
                value = (entry.get("version") or {}).get("validatorAddress")
                if value:
                    out.append(to_address(value, field="validatorAddress"))
        return out

    async def _check_signature(
        self, quote: GetQuotePayload, body: SignedQuote, signature: QuoteSignature, meta: dict[str, Any]
    ) -> QuoteSignature:
        """Checks the signature against every userOp's signer; returns it, an on-chain one with its transaction."""
        quote_type = meta.get("quoteType", "simple")
        kinds = {"simple": ("a simple", "0x177eee00"), "permit": ("a permit", "0x177eee02"),
                 "onchain": ("an on-chain", "0x177eee01")}  # fmt: skip
        if signature.kind != quote_type:
            if quote_type == "simple":
                name, prefix = kinds[signature.kind]
                raise NodeError(400, f"signature: {name} signature ({prefix}) needs {name} quote (POST /quote-permit)")
            name, prefix = kinds.get(quote_type, (quote_type, "?"))
            raise NodeError(400, f"signature: {name} quote needs {name} signature ({prefix})")
        if signature.onchain is not None:
            signature = await self._fetch_trigger(quote, signature, meta)
        owners = await self._owners(quote, meta)
        root = bytes(quote.hash)
        signers = recover_signers(root, signature.sig65) if signature.kind == "simple" else []
        for k, op in enumerate(quote.user_ops):
            if k == 0 and meta.get("sponsored"):
                continue
            where = "paymentInfo" if k == 0 else f"userOps[{k - 1}]"
            if op.session_details is not None:
                init_data = bytes(op.session_details.enable_session_data.enable_session.session_to_enable
                                  .session_validator_init_data)  # fmt: skip
                if len(init_data) < 20:
                    raise NodeError(400, f"{where}.sessionDetails: the session has no redeemer in its validator data")
                expected, role = to_address(init_data[:20], field="redeemer"), "the session's redeemer"
            else:
                expected, role = owners[(op.chain_id, op.user_op.sender)], "the account owner"
            if signature.onchain is not None:
                if signature.onchain.sender != expected:
                    raise NodeError(
                        400,
                        f"signature.txHash: the trigger transaction was sent by {signature.onchain.sender}, but "
                        f"{where} must be signed by {role} {expected}",
                    )
            elif signature.kind == "simple":
                if expected not in signers:
                    shown = signers[0] if signers else "nobody (not a valid secp256k1 signature)"
                    raise NodeError(
                        400, f"signature: signed by {shown}, but {where} must be signed by {role} {expected}"
                    )
            else:
                assert signature.permit is not None
                if not permit_signer_ok(signature.permit, expected, root):
                    raise NodeError(
                        400, f"signature: the permit is not signed by {role} {expected} for this quote ({where})"
                    )
        if signature.permit is not None:
            self._check_permit(quote, signature, meta)
        return signature

    async def _fetch_trigger(
        self, quote: GetQuotePayload, signature: QuoteSignature, meta: dict[str, Any]
    ) -> QuoteSignature:
        """The on-chain trigger's transaction, read from its chain and checked; its raw bytes go into the userOps."""
        onchain = signature.onchain
        assert onchain is not None
        trigger = meta.get("trigger") or {}
        trigger_chain = int(trigger.get("chainId", 0))
        if onchain.chain_id != trigger_chain:
            raise NodeError(
                400, f"signature.chainId: the trigger transaction must be on the trigger chain {trigger_chain}, "
                     f"not {onchain.chain_id}",
            )  # fmt: skip
        chain = self.chains.get(onchain.chain_id)
        if chain is None:
            raise NodeError(400, f"signature.chainId: chain {onchain.chain_id} is not supported")
        tx_hash = "0x" + onchain.tx_hash.hex()
        tx = await chain.transaction(tx_hash)
        if tx is None:
            raise NodeError(400, f"signature.txHash: no transaction {tx_hash} on chain {onchain.chain_id}")
        receipt = await chain.receipt(tx_hash) if tx.get("blockNumber") else None
        if receipt is None:
            raise NodeError(400, f"signature.txHash: transaction {tx_hash} is not mined yet; send /exec once it is")
        if int(str(receipt.get("status", "0x0")), 16) != 1:
            raise NodeError(400, f"signature.txHash: transaction {tx_hash} reverted on chain {onchain.chain_id}")
        raw = await chain.raw_transaction(tx_hash)
        if raw is None or keccak(raw) != onchain.tx_hash:
            raise NodeError(502, f"chain {onchain.chain_id} did not return the raw transaction {tx_hash}")
        try:
            to_onchain_tx_payload(raw)
        except InvalidInputError as exc:
            raise NodeError(400, f"signature.txHash: {exc.short_message}") from exc
        sender = to_address(tx.get("from"), field="from")
        eoa = quote.payment_info.eoa
        if eoa is not None and sender != eoa:
            raise NodeError(
                400, f"signature.txHash: the trigger transaction was sent by {sender}, but paymentInfo.eoa is {eoa}"
            )
        data = bytes.fromhex(str(tx.get("input") or tx.get("data") or "0x")[2:])
        if len(data) < 32 or data[-32:] != bytes(quote.hash):
            raise NodeError(
                400,
                f"signature.txHash: the data of transaction {tx_hash} does not end with the quote hash "
                f"0x{bytes(quote.hash).hex()}",
            )
        self._check_approve(quote, tx, data, meta)
        resolved = replace(onchain, raw=raw, sender=sender)
        return replace(signature, onchain=resolved)

    def _check_approve(self, quote: GetQuotePayload, tx: dict[str, Any], data: bytes, meta: dict[str, Any]) -> None:
        """An ``approve`` of the trigger token must be to the trigger userOp's account and cover the trigger and the
        fee (other trigger calls, such as a custom ``call``, are the client's business)."""
        trigger = meta.get("trigger") or {}
        token = to_address(trigger.get("tokenAddress"), field="trigger.tokenAddress")
        if data[:4] != _APPROVE or tx.get("to") is None or to_address(tx["to"], field="to") != token:
            return
        try:
            spender, amount = abi_decode(["address", "uint256"], data[4:-32])
        except Exception as exc:
            raise NodeError(400, f"signature.txHash: the trigger's approve call is malformed ({exc})") from exc
        index = meta.get("triggerOpIndex")
        account = quote.user_ops[int(index)].user_op.sender if index is not None else None
        if account is not None and to_address(spender, field="spender") != account:
            raise NodeError(
                400, f"signature.txHash: the trigger transaction approves {to_address(spender, field='spender')}, "
                     f"the account is {account}",
            )  # fmt: skip
        needed = int(trigger.get("amount") or 0) + (0 if meta.get("sponsored") else int(meta["tokenWeiAmount"]))
        if int(amount) < needed:
            raise NodeError(
                400,
                f"signature.txHash: the trigger transaction approves {int(amount)}, but the trigger amount and the fee "
                f"need {needed}",
            )

    def _check_permit(self, quote: GetQuotePayload, signature: QuoteSignature, meta: dict[str, Any]) -> None:
        permit = signature.permit
        assert permit is not None
        trigger = meta.get("trigger") or {}
        token = to_address(trigger.get("tokenAddress"), field="trigger.tokenAddress")
        chain_id = int(trigger.get("chainId", 0))
        if permit.token != token or permit.chain_id != chain_id:
            raise NodeError(400, f"signature: the permit is for {permit.token} on chain {permit.chain_id}, "
                                 f"the quote's trigger is {token} on chain {chain_id}")  # fmt: skip
        index = meta.get("permitTxIndex")
        spender = quote.user_ops[int(index)].user_op.sender if index is not None else None
        if spender is not None and permit.spender != spender:
            raise NodeError(400, f"signature: the permit's spender is {permit.spender}, the account is {spender}")
        needed = int(trigger.get("amount") or 0) + (0 if meta.get("sponsored") else int(meta["tokenWeiAmount"]))
        if permit.amount < needed:
            raise NodeError(
                400,
                f"signature: the permit allows {permit.amount}, but the trigger amount and the fee need {needed}",
            )

    # -- the userOps' signatures --------------------------------------------------------------------------------------

    def _sign(
        self, quote: GetQuotePayload, body: SignedQuote, signature: QuoteSignature, meta: dict[str, Any]
    ) -> list[UserOpRecord]:
        entries = [
            SuperTxEntry(
                user_op_hash=op.user_op_hash,
                lower_bound_timestamp=op.lower_bound_timestamp,
                upper_bound_timestamp=op.upper_bound_timestamp,
                short_encoding=op.short_encoding,
            )
            for op in quote.user_ops
        ]
        tree = get_super_tx_tree(entries)
        root = bytes(tree.root)
        if root != bytes(quote.hash):
            raise NodeError(500, "the stored quote does not hash to its own root")
        out = []
        for k, (op, sent) in enumerate(zip(quote.user_ops, body.user_ops, strict=True)):
            user_op_hash = "0x" + bytes(op.user_op_hash).hex()
            if k == 0 and meta.get("sponsored"):
                # The devnet gas tank is virtual: nothing to submit (the node paymaster pays), nothing charged.
                out.append(UserOpRecord(k, op.chain_id, user_op_hash, None, "MINED_SUCCESS", confirmed=True))
                continue
            leaf = op.user_op_hash if op.short_encoding else op.mee_user_op_hash
            proof = [bytes(p) for p in tree.proof(leaf)]
            try:
                sig = self._user_op_signature(op, sent, signature, meta, k, root, proof)
            except InvalidInputError as exc:
                where = "paymentInfo" if k == 0 else f"userOps[{k - 1}]"
                raise NodeError(400, f"{where}: cannot build the userOp signature: {exc.short_message}") from exc
            out.append(UserOpRecord(k, op.chain_id, user_op_hash, "0x" + bytes(sig).hex()))
        return out

    def _user_op_signature(
        self,
        op: MeeFilledUserOpDetails,
        sent: MeeFilledUserOpDetails,
        signature: QuoteSignature,
        meta: dict[str, Any],
        index: int,
        root: bytes,
        proof: list[bytes],
    ) -> bytes:
        if op.session_details is not None:
            mode = sent.session_details.mode if sent.session_details is not None else op.session_details.mode
            onchain_tx = signature.onchain.raw if signature.onchain is not None else None
            return bytes(
                session_signature(
                    op.session_details, mode, root=root, proof=proof, sig65=signature.sig65, onchain_tx=onchain_tx
                )
            )
        lower, upper = op.lower_bound_timestamp, op.upper_bound_timestamp
        if signature.onchain is not None:
            return bytes(owner_onchain_signature(raw_tx=signature.onchain.raw, lower=lower, upper=upper, proof=proof))
        if signature.permit is not None:
            return bytes(
                owner_permit_signature(
                    signature.permit,
                    is_permit_tx=index == meta.get("permitTxIndex"),
                    root=root,
                    lower=lower,
                    upper=upper,
                    proof=proof,
                )
            )
        return bytes(owner_simple_signature(root=root, lower=lower, upper=upper, proof=proof, sig65=signature.sig65))
