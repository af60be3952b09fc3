"""``POST /exec``: accept a signed quote, or say exactly why not (spec §9.8).

The node keeps nothing when it quotes (as Biconomy's node): ``/exec`` works from the body it gets. It checks, in
order (the first three as Biconomy's node does, in its order):

1. the super-transaction was not accepted before: a replay is a 400 "has already been scheduled for execution";
2. the userOps hash to ``hash``: each ``userOpHash`` is its userOp's EntryPoint hash on its chain, each
   ``meeUserOpHash`` the hash of that and its window, and the Merkle root of the leaves (``userOpHash`` for
   short-encoded entries, else ``meeUserOpHash``) is ``hash``;
3. ``commitment`` is this node's own signature over ``hash`` (EIP-191 over its 32 bytes, :mod:`.quoting`), and
   ``node`` is this node: only then is every field the root covers known to be what this node quoted;
4. the rest of what the node needs, derived from the body (:mod:`.quote_facts`): sponsored or not, the fee payment
   (to this node, and ``paymentInfo``'s token, EOA and ``tokenWeiAmount`` as the payment userOp pays them), the
   trigger userOp. What the root does not cover is taken as sent, as on Biconomy's node (listed there);
5. the signature: a simple signature (``0x177eee00``) must recover (EIP-191 or raw) to the signer every submitted
   userOp needs: the session's redeemer for a session userOp, the account owner otherwise (the K1MeeValidator's
   ``smartAccountOwners`` for a deployed account, the owner in the bootstrap call of the quote's initCode for an
   undeployed one). A permit (``0x177eee02``) must be the owner's EIP-2612 permit of the trigger token to the account
   on the trigger chain, with ``deadline = quote.hash`` and an amount that covers the trigger (its amount as sent at
   ``/exec``, where the SDKs have added the fee) and, for a fusion payment, the fee. An on-chain trigger (``0x177eee01
   ‖ abi.encode(txHash, chainId)``) must name a transaction mined successfully on the trigger chain, sent by
   ``paymentInfo.eoa`` and by the signer every userOp needs (as above), whose data ends with ``quote.hash``; if it is
   an ``approve`` of the trigger token, to the account, for as much as a permit would need. The permit and the
   transaction are checked against the quote in :mod:`.trigger_checks`.

``quoteType``, ``trigger`` and ``meeVersions`` are the body's (the SDKs send them at ``/exec``); without ``quoteType``
the signature's type says it, and without ``trigger`` the chain (and token) of the permit or transaction the signature
names is the trigger's. A quote does not expire: Biconomy's node has no quote lifetime either (``quote_lifetime`` is
kept in the configuration and ignored); its userOps' execution windows bound it, and a userOp whose window ended is
failed by the executor without being submitted.

Every refusal is a 400 with ``{"error": "<field>: <what is wrong; the fix>", "code": ..., "facts": {...}}``
(:mod:`.errors`), a bad signature too: the only 401 of the node is a missing or wrong API key (app.py); a 5xx is the
node's or a chain's own failure.

Then it builds every userOp's signature (:mod:`.signatures`) and simulates the signed userOps (:mod:`.payment_check`):
unless sponsored, the payment userOp on the fee chain, as Biconomy's node does (the node is paid before anything runs;
a refusal is a 400 ``paymentInfo (chain N): …``); and, this node's own check, every session userOp in the mode the
body gives, which must not fail validation for good (``userOps[i] (chain N): …``). Only then does it store the
quote and the super-transaction with them in one transaction, hand it to the executor (which runs every chain at
once), and answer ``{hash}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from eth_abi.abi import decode as abi_decode

from ..._coerce import to_address
from ...encoding.abi import encode_function_call
from ...encoding.merkle import MerkleTree
from ...encoding.quote import recover_commitment_signer
from ...errors import InvalidInputError, RpcError
from ...policies.universal_action import UNIVERSAL_ACTION_POLICY_ADDRESS
from ...versions import MEE_VERSIONS
from ...wire.mee import GetQuotePayload, MeeFilledUserOpDetails, SignedQuote, to_wire
from ...wire.quote_tree import quote_tree
from ._chain import ChainClient
from .config import NodeConfig
from .errors import Code, Fact, NodeError
from .payment_check import check_signed_user_ops
from .quote_checks import fee_above_cap
from .quote_facts import QuoteFacts, quote_facts
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
from .store import QuoteRecord, Store, UserOpRecord
from .trigger_checks import check_permit, fetch_onchain_trigger, trigger_chain

log = logging.getLogger("smartsessions.node")

__all__ = ["Acceptor", "check_hashes"]

_K1_VALIDATORS = tuple(dict.fromkeys(MEE_VERSIONS[v].validator_address for v in ("2.1.0", "2.0.0")))
#: The keys of the ``/exec`` body that are the client's and not the quote's.
_CLIENT_FIELDS = set(SignedQuote.model_fields) - set(GetQuotePayload.model_fields)


def _already_scheduled(quote_hash: str) -> NodeError:
    """A replayed ``/exec``: a 400 worded as Biconomy's node words it, starting with the field."""
    return NodeError(
        400,
        f"hash: super-transaction {quote_hash} has already been scheduled for execution; a quote executes once (ask "
        "for a new one to run the same calls again)",
        code=Code.ALREADY_SCHEDULED,
        facts={"field": "hash", "hash": quote_hash},
    )


def check_hashes(quote: GetQuotePayload) -> MerkleTree:
    """The quote's Merkle tree, recomputed from its userOps; a 400 naming the first hash they do not give."""
    if not quote.user_ops:
        raise NodeError(
            400,
            "userOps: a quote has at least its payment userOp; send the quote as the node issued it",
            code=Code.QUOTE_CHANGED,
            facts={"field": "userOps"},
        )
    found = quote_tree(quote)
    if isinstance(found, MerkleTree):
        return found
    sent, expected = "0x" + found.sent.hex(), "0x" + found.expected.hex()
    if found.index is None:
        raise NodeError(
            400,
            f"hash: the userOps do not hash to {sent} (their Merkle root is {expected}): the "
            "super-transaction is invalid or was changed; send the quote as the node issued it",
            code=Code.QUOTE_CHANGED,
            facts={"field": "hash", "sent": sent, "expected": expected},
        )
    k, op = found.index, quote.user_ops[found.index]
    where = f"userOps[{k}]"
    facts: dict[str, Fact] = {"userOpIndex": k, "chainId": op.chain_id, "sent": sent, "expected": expected}
    if found.field == "userOpHash":
        raise NodeError(
            400,
            f"{where}.userOp: does not hash to {where}.userOpHash {sent} (its hash on chain {op.chain_id} is "
            f"{expected}): the quote was changed after the node issued it; send it unchanged",
            code=Code.QUOTE_CHANGED,
            facts={"field": f"{where}.userOp", **facts},
        )
    lower, upper = op.lower_bound_timestamp, op.upper_bound_timestamp
    raise NodeError(
        400,
        f"{where}.meeUserOpHash: is not the hash of {where}.userOpHash and its window ({lower} to {upper}): "
        "the quote was changed after the node issued it; send it unchanged",
        code=Code.QUOTE_CHANGED,
        facts={"field": f"{where}.meeUserOpHash", **facts},
    )


class Acceptor:
    def __init__(self, config: NodeConfig, chains: dict[int, ChainClient], store: Store) -> None:
        self.config = config
        self.chains = chains
        self.store = store
        self.node_address = config.address

    async def accept(self, body: SignedQuote) -> str:
        if len(body.user_ops) > self.config.max_user_ops + 1:  # the payment userOp, and at most max_user_ops
            raise NodeError(
                400,
                f"userOps: {len(body.user_ops)} userOps is more than this node ever quotes",
                code=Code.TOO_MANY_USER_OPS,
                facts={"field": "userOps", "count": len(body.user_ops), "max": self.config.max_user_ops + 1},
            )
        quote_hash = "0x" + bytes(body.hash).hex()
        if self.store.get_super_tx(quote_hash) is not None:
            raise _already_scheduled(quote_hash)
        tree = check_hashes(body)
        self._check_commitment(body)
        signature = parse_quote_signature(bytes(body.signature))
        facts = quote_facts(
            body,
            node=self.node_address,
            quote_type=body.quote_type or signature.kind,
            trigger=body.trigger,
            trigger_chain_id=trigger_chain(body, signature),
            mee_versions=body.mee_versions or (),
        )
        signature = await self._check_signature(body, signature, facts)
        user_ops = self._sign(body, tree, signature, facts)
        await self._check_signed(body, user_ops, paid=not facts.sponsored)
        quote = QuoteRecord(
            hash=quote_hash,
            created_at=time.time(),
            expires_at=max(op.upper_bound_timestamp for op in body.user_ops),
            quote=body.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=_CLIENT_FIELDS),
            meta=facts.meta(),
        )
        # on a worker thread: the commit waits for the disk, and the event loop serves others meanwhile
        accepted = await asyncio.to_thread(self.store.accept, quote_hash, to_wire(body), user_ops, quote=quote)
        if not accepted:  # a replay that raced this one
            raise _already_scheduled(quote_hash)
        return quote_hash

    async def _check_signed(self, body: SignedQuote, user_ops: list[UserOpRecord], *, paid: bool) -> None:
        """The signed userOps, simulated chain by chain at once (:mod:`.payment_check`): the payment userOp when the
        node is paid (before anything runs, as Biconomy's node checks it), and every session userOp's validation in
        the modes the body gives. Refusals are reported in the body's order, whichever chain answered first."""
        by_chain: dict[int, list[tuple[int, MeeFilledUserOpDetails, bytes]]] = {}
        for k, (op, record) in enumerate(zip(body.user_ops, user_ops, strict=True)):
            if record.signature is not None:
                by_chain.setdefault(op.chain_id, []).append((k, op, bytes.fromhex(record.signature[2:])))

        def busy(chain_id: int) -> Callable[[], bool]:
            return lambda: self.store.busy_on(chain_id)

        outcomes = await asyncio.gather(
            *(
                check_signed_user_ops(self.chains[c], ops, node=self.node_address, paid=paid, busy=busy(c))
                for c, ops in by_chain.items()
            ),
            return_exceptions=True,
        )
        refusals = []
        for (chain_id, ops), outcome in zip(by_chain.items(), outcomes, strict=True):
            if isinstance(outcome, RpcError) and not (paid and ops[0][0] == 0):
                # A chain that does not answer cannot say; its userOps wait in the executor, as they would on
                # Biconomy's node, which checks only the payment's chain.
                log.warning("chain %d did not answer the /exec check of its session userOps: %s", chain_id, outcome)
            elif isinstance(outcome, BaseException):
                refusals.append((ops[0][0], outcome))
        for k, refusal in sorted(refusals, key=lambda r: r[0]):
            if k == 0 and paid and isinstance(refusal, NodeError):
                refusal = self._named_fee_cap(body, refusal)
            raise refusal

    def _named_fee_cap(self, body: SignedQuote, refusal: NodeError) -> NodeError:
        """A session's payment refused by its payment policy for its amount is the fee above the session's cap:
        said as such (as the quote's simulation says it), for a client that did not ask for a simulation."""
        pay, facts = body.payment_info, refusal.facts
        session = pay.session_details
        chain = self.config.chain(pay.chain_id)
        token = None if chain is None else chain.fee_token(pay.token)
        rule = facts.get("rule")
        if (
            session is None
            or token is None
            or refusal.code is not Code.POLICY_VIOLATION
            or str(facts.get("policy", "")).lower() != UNIVERSAL_ACTION_POLICY_ADDRESS.lower()
            or facts.get("target") != token.address
            or (isinstance(rule, dict) and rule.get("offset") == 0)  # the recipient's rule, not the amount's
        ):
            return refusal
        reason = refusal.message.split(": ", 1)[-1]  # without its "paymentInfo (chain N)" prefix
        return fee_above_cap(pay.chain_id, session, token, pay.token_wei_amount, reason, dict(facts))

    def _check_commitment(self, body: SignedQuote) -> None:
        """The commitment must be this node's signature over ``hash`` (which :func:`check_hashes` tied to the
        userOps), and ``node`` this node."""
        signer = recover_commitment_signer(quote_hash=body.hash, commitment=body.commitment)
        if signer != self.node_address:
            got = f"it recovers to {signer}" if signer is not None else "it is no 65-byte signature"
            raise NodeError(
                400,
                f"commitment: not signed by this node {self.node_address} over hash ({got}): the quote was not issued "
                "by this node, or was changed; ask this node for a quote and send it unchanged",
                code=Code.QUOTE_NOT_FROM_THIS_NODE,
                facts={"field": "commitment", "node": self.node_address, "signer": signer},
            )
        if body.node != self.node_address:
            raise NodeError(
                400,
                f"node: is {body.node}, but the quote was issued by this node {self.node_address}; send it unchanged",
                code=Code.QUOTE_NOT_FROM_THIS_NODE,
                facts={"field": "node", "node": self.node_address, "sent": body.node},
            )

    # -- who must have signed -----------------------------------------------------------------------------------------

    async def _owners(self, quote: GetQuotePayload, facts: QuoteFacts) -> dict[tuple[int, str], str]:
        """The owner of every (chain, account) that submits an owner userOp."""
        wanted: dict[tuple[int, str], bytes | None] = {}
        for k, op in enumerate(quote.user_ops):
            if not facts.executed(k):
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
                    raise NodeError(
                        400,
                        f"the initCode for {account} on chain {chain_id} is not a Nexus deployment",
                        code=Code.ACCOUNT_OWNER_UNKNOWN,
                        facts={"chainId": chain_id, "account": account},
                    )
                owners[(chain_id, account)] = owner
                continue
            candidates = list(dict.fromkeys([*self._validators(chain_id, facts), *_K1_VALIDATORS]))
            raws = await self.chains[chain_id].calls(
                [(v, encode_function_call("smartAccountOwners(address)", [account])) for v in candidates]
            )
            found = [to_address(abi_decode(["address"], r)[0], field="owner") for r in raws]
            owner = next((o for o in found if int(o, 16) != 0), None)
            if owner is None:
                raise NodeError(
                    400,
                    f"account {account} on chain {chain_id} has no K1MeeValidator owner",
                    code=Code.ACCOUNT_OWNER_UNKNOWN,
                    facts={"chainId": chain_id, "account": account},
                )
            owners[(chain_id, account)] = owner
        return owners

    def _validators(self, chain_id: int, facts: QuoteFacts) -> list[str]:
        """The validators the body's ``meeVersions`` name for the chain (the K1MeeValidators are tried after them)."""
        out = []
        for entry in facts.mee_versions:
            if entry.chain_id == chain_id:
                value = entry.version.get("validatorAddress")
                if value:
                    out.append(to_address(value, field="meeVersions.version.validatorAddress"))
        return out

    async def _check_signature(
        self, quote: GetQuotePayload, signature: QuoteSignature, facts: QuoteFacts
    ) -> QuoteSignature:
        """Checks the signature against every userOp's signer; returns it, an on-chain one with its transaction."""
        quote_type = facts.quote_type
        kinds = {"simple": ("a simple", "0x177eee00"), "permit": ("a permit", "0x177eee02"),
                 "onchain": ("an on-chain", "0x177eee01")}  # fmt: skip
        if signature.kind != quote_type:
            mismatch: dict[str, Fact] = {"field": "signature", "quoteType": quote_type, "signatureType": signature.kind}
            if quote_type == "simple":
                name, prefix = kinds[signature.kind]
                raise NodeError(
                    400,
                    f"signature: {name} signature ({prefix}) needs {name} quote (POST /quote-permit)",
                    code=Code.SIGNATURE_TYPE_MISMATCH,
                    facts=mismatch,
                )
            name, prefix = kinds.get(quote_type, (quote_type, "?"))
            raise NodeError(
                400,
                f"signature: {name} quote needs {name} signature ({prefix})",
                code=Code.SIGNATURE_TYPE_MISMATCH,
                facts=mismatch,
            )
        if signature.onchain is not None:
            signature = await fetch_onchain_trigger(self.chains, quote, signature, facts)
        owners = await self._owners(quote, facts)
        root = bytes(quote.hash)
        signers = recover_signers(root, signature.sig65) if signature.kind == "simple" else []
        for k, op in enumerate(quote.user_ops):
            if not facts.executed(k):
                continue
            where = "paymentInfo" if k == 0 else f"userOps[{k - 1}]"
            if op.session_details is not None:
                init_data = bytes(op.session_details.enable_session_data.enable_session.session_to_enable
                                  .session_validator_init_data)  # fmt: skip
                if len(init_data) < 20:
                    raise NodeError(
                        400,
                        f"{where}.sessionDetails: the session has no redeemer in its validator data",
                        code=Code.INVALID_FIELD,
                        facts={"field": f"{where}.sessionDetails", "userOpIndex": k},
                    )
                expected, role = to_address(init_data[:20], field="redeemer"), "the session's redeemer"
            else:
                expected, role = owners[(op.chain_id, op.user_op.sender)], "the account owner"
            wanted: dict[str, Fact] = {
                "userOpIndex": k,
                "chainId": op.chain_id,
                "expected": expected,
                "role": "redeemer" if op.session_details is not None else "owner",
            }
            if signature.onchain is not None:
                if signature.onchain.sender != expected:
                    raise NodeError(
                        400,
                        f"signature.txHash: the trigger transaction was sent by {signature.onchain.sender}, but "
                        f"{where} must be signed by {role} {expected}",
                        code=Code.SIGNATURE_INVALID,
                        facts={"field": "signature.txHash", **wanted, "signer": signature.onchain.sender},
                    )
            elif signature.kind == "simple":
                if expected not in signers:
                    shown = signers[0] if signers else "nobody (not a valid secp256k1 signature)"
                    raise NodeError(
                        400,
                        f"signature: signed by {shown}, but {where} must be signed by {role} {expected}",
                        code=Code.SIGNATURE_INVALID,
                        facts={"field": "signature", **wanted, "signer": signers[0] if signers else None},
                    )
            else:
                assert signature.permit is not None
                if not permit_signer_ok(signature.permit, expected, root):
                    raise NodeError(
                        400,
                        f"signature: the permit is not signed by {role} {expected} for this quote ({where})",
                        code=Code.SIGNATURE_INVALID,
                        facts={"field": "signature", **wanted},
                    )
        if signature.permit is not None:
            check_permit(quote, signature, facts)
        return signature

    # -- the userOps' signatures --------------------------------------------------------------------------------------

    def _sign(
        self, quote: GetQuotePayload, tree: MerkleTree, signature: QuoteSignature, facts: QuoteFacts
    ) -> list[UserOpRecord]:
        root = bytes(tree.root)
        out = []
        for k, op in enumerate(quote.user_ops):
            user_op_hash = "0x" + bytes(op.user_op_hash).hex()
            if not facts.executed(k):
                # The devnet gas tank is virtual: nothing to submit (the node paymaster pays), nothing charged.
                out.append(UserOpRecord(k, op.chain_id, user_op_hash, None, "MINED_SUCCESS", confirmed=True))
                continue
            leaf = op.user_op_hash if op.short_encoding else op.mee_user_op_hash
            proof = [bytes(p) for p in tree.proof(leaf)]
            try:
                sig = self._user_op_signature(op, signature, k == facts.permit_tx_index, root, proof)
            except InvalidInputError as exc:
                where = "paymentInfo" if k == 0 else f"userOps[{k - 1}]"
                raise NodeError(
                    400,
                    f"{where}: cannot build the userOp signature: {exc.short_message}",
                    code=Code.INVALID_FIELD,
                    facts={"field": where, "userOpIndex": k},
                ) from exc
            out.append(UserOpRecord(k, op.chain_id, user_op_hash, "0x" + bytes(sig).hex()))
        return out

    def _user_op_signature(
        self,
        op: MeeFilledUserOpDetails,
        signature: QuoteSignature,
        is_permit_tx: bool,
        root: bytes,
        proof: list[bytes],
    ) -> bytes:
        if op.session_details is not None:  # in the mode the body gives (the client may change it, spec §9.8)
            onchain_tx = signature.onchain.raw if signature.onchain is not None else None
            return bytes(
                session_signature(
                    op.session_details,
                    op.session_details.mode,
                    root=root,
                    proof=proof,
                    sig65=signature.sig65,
                    onchain_tx=onchain_tx,
                )
            )
        lower, upper = op.lower_bound_timestamp, op.upper_bound_timestamp
        if signature.onchain is not None:
            return bytes(owner_onchain_signature(raw_tx=signature.onchain.raw, lower=lower, upper=upper, proof=proof))
        if signature.permit is not None:
            return bytes(
                owner_permit_signature(
                    signature.permit,
                    is_permit_tx=is_permit_tx,
                    root=root,
                    lower=lower,
                    upper=upper,
                    proof=proof,
                )
            )
        return bytes(owner_simple_signature(root=root, lower=lower, upper=upper, proof=proof, sig65=signature.sig65))
