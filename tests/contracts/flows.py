"""The userOps the SDK and the node produce, built here from the pure core and sent through the real EntryPoint:
account deployment, owner ops (no-MEE, MEE simple, MEE permit, MEE on-chain trigger), SmartSessions installation,
grants and session use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smartsessions import (
    ActionData,
    ChainDigest,
    EnableSession,
    EnableSessionData,
    PolicyData,
    Session,
    SmartSessionMode,
    encode_smart_session_signature,
    get_sudo_policy,
)
from smartsessions.account import (
    Call,
    encode_execute,
    encode_execute_composable,
    to_composable_execution,
    to_init_code,
    to_init_data,
)
from smartsessions.devnet.deploy import TestKey, usdc_address
from smartsessions.devnet.entrypoint import UserOpResult
from smartsessions.devnet.validator_layouts import encode_onchain_signature_full, encode_simple_signature_full
from smartsessions.encoding import MerkleTree, get_mee_user_op_hash
from smartsessions.encoding.abi import SESSION, abi_encode, encode_function_call
from smartsessions.encoding.eip712 import get_session_digest, hash_chain_digests
from smartsessions.encoding.signature import encode_mee_short_signature
from smartsessions.encoding.userop import PackedUserOperation
from smartsessions.versions import MEE_VERSIONS, SMART_SESSIONS_ADDRESS

from .harness import ZERO, Chain, sign_personal, sign_raw

COUNTER = "0x000000000000000000000000000000000000c0Fe"
INCREMENT = bytes.fromhex("d09de08a")


def k1(version: str = "2.0.0") -> str:
    return MEE_VERSIONS[version].validator_address


@dataclass
class Account:
    address: str
    owner: TestKey
    version: str = "2.0.0"
    index: int = 0

    @property
    def init_code(self) -> bytes:
        return bytes(to_init_code(owner=self.owner.address, index=self.index, version=self.version))


def counterfactual(chain: Chain, owner: TestKey, *, version: str = "2.0.0", index: int = 0) -> Account:
    init_data = bytes(to_init_data(owner=owner.address, version=version))
    address = chain.account_address(init_data, index, version)
    chain.set_balance(address, 10**20)  # the account pays its own prefund in these tests (no paymaster)
    return Account(address=address, owner=owner, version=version, index=index)


def counter_value(chain: Chain) -> int:
    return int(chain.call(COUNTER, "number()", [], ["uint256"]))


def increment_call() -> bytes:
    return bytes(encode_execute([Call(to=COUNTER, data=INCREMENT)]))


# -- owner ops -----------------------------------------------------------------------------------------------------


def owner_op_no_mee(chain: Chain, account: Account, call_data: bytes, *, deploy: bool = False) -> list[UserOpResult]:
    op = chain.user_op(sender=account.address, call_data=call_data, init_code=account.init_code if deploy else b"")
    signed = op.model_copy(update={"signature": sign_raw(account.owner, chain.user_op_hash(op))})
    return chain.handle_ops([signed])


def owner_op_mee_simple(
    chain: Chain, account: Account, call_data: bytes, *, extra_leaves: Sequence[bytes] = (), deploy: bool = False
) -> list[UserOpResult]:
    now = chain.timestamp()
    lower, upper = now - 10, now + 180
    op = chain.user_op(sender=account.address, call_data=call_data, init_code=account.init_code if deploy else b"")
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, *extra_leaves])
    signature = encode_simple_signature_full(
        super_tx_hash=tree.root,
        lower_bound_timestamp=lower,
        upper_bound_timestamp=upper,
        proof=tree.proof(leaf),
        signature=sign_personal(account.owner, bytes(tree.root)),
    )
    return chain.handle_ops([op.model_copy(update={"signature": signature})])


def owner_op_mee_onchain(
    chain: Chain,
    account: Account,
    call_data: bytes,
    *,
    tx_type: int = 2,
    extra_leaves: Sequence[bytes] = (),
    deploy: bool = False,
    approve: int = 1,
) -> tuple[PackedUserOperation, list[UserOpResult]]:
    """An owner userOp authorised by an on-chain trigger: the owner's EOA sends ``USDC.approve(account, approve)``
    with the super-transaction root appended (a real transaction, mined first), and the userOp carries that signed
    transaction in the full ``0x177eee01`` layout."""
    now = chain.timestamp()
    lower, upper = now - 10, now + 180
    op = chain.user_op(sender=account.address, call_data=call_data, init_code=account.init_code if deploy else b"")
    leaf = bytes(get_mee_user_op_hash(chain.user_op_hash(op), lower_bound_timestamp=lower, upper_bound_timestamp=upper))
    tree = MerkleTree([leaf, *extra_leaves])
    data = encode_function_call("approve(address,uint256)", [account.address, approve]) + bytes(tree.root)
    raw = chain.sign_tx(account.owner, to=usdc_address(chain.chain_id), data=data, tx_type=tx_type)
    assert chain.send_raw(raw)["status"] == "0x1"
    signature = encode_onchain_signature_full(
        signed_transaction=raw, proof=tree.proof(leaf), lower_bound_timestamp=lower, upper_bound_timestamp=upper
    )
    signed = op.model_copy(update={"signature": signature})
    return signed, chain.handle_ops([signed])


def install_smart_sessions_call(account: Account, sessions: Sequence[Session] = ()) -> bytes:
    """The SDK's prepareForPermissions userOp: executeComposable(installModule, addSafeSender[, enableSessions])."""
    executions = [
        to_composable_execution(
            to=account.address,
            data=encode_function_call("installModule(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""]),
        ),
        to_composable_execution(
            to=k1(account.version), data=encode_function_call("addSafeSender(address)", [SMART_SESSIONS_ADDRESS])
        ),
    ]
    if sessions:
        executions.append(to_composable_execution(to=SMART_SESSIONS_ADDRESS, data=enable_sessions_call(sessions)))
    return bytes(encode_execute_composable(executions))


def enable_sessions_call(sessions: Sequence[Session]) -> bytes:
    return bytes.fromhex("21712407") + abi_encode([f"{SESSION}[]"], [[s.to_abi() for s in sessions]], what="sessions")


def deployed_with_sessions_module(chain: Chain, owner: TestKey, *, version: str = "2.0.0") -> Account:
    account = counterfactual(chain, owner, version=version)
    [result] = owner_op_no_mee(chain, account, install_smart_sessions_call(account), deploy=True)
    assert result.success, result.revert_message
    return account


# -- sessions ------------------------------------------------------------------------------------------------------


def session_for(
    redeemer: TestKey,
    actions: Sequence[ActionData] | None = None,
    *,
    version: str = "2.0.0",
    salt: int = 1,
    user_op_policies: Sequence[PolicyData] | None = None,
    chain_id: int | None = None,
    permit_paymaster: bool = True,
) -> Session:
    return Session(
        session_validator=k1(version),
        session_validator_init_data=redeemer.address,
        salt=salt.to_bytes(32, "big"),
        user_op_policies=tuple(user_op_policies if user_op_policies is not None else (get_sudo_policy(),)),
        actions=tuple(
            actions
            if actions is not None
            else (
                ActionData(
                    action_target_selector=INCREMENT, action_target=COUNTER, action_policies=(get_sudo_policy(),)
                ),
            )
        ),
        permit_erc4337_paymaster=permit_paymaster,
        chain_id=chain_id,
    )


def grant(
    chain_sessions: Sequence[tuple[Chain, Session]],
    account: Account,
    *,
    variant: str = "typed",
    nonces: Sequence[int] | None = None,
) -> list[EnableSessionData]:
    """The owner's one signature over every chain's session; one EnableSessionData per chain (index = position)."""
    digests = [
        ChainDigest(
            chain_id=c.chain_id,
            session_digest=get_session_digest(
                s,
                account=account.address,
                mode=SmartSessionMode.UNSAFE_ENABLE,
                nonce=0 if nonces is None else nonces[k],
            ),
        )
        for k, (c, s) in enumerate(chain_sessions)
    ]
    digest = bytes(hash_chain_digests(digests))
    sig = sign_raw(account.owner, digest) if variant == "typed" else sign_personal(account.owner, digest)
    return [
        EnableSessionData(
            enable_session=EnableSession(
                chain_digest_index=k,
                hashes_and_chain_ids=tuple(digests),
                session_to_enable=s,
                permission_enable_sig=sig,
            ),
            validator=ZERO,
        )
        for k, (_c, s) in enumerate(chain_sessions)
    ]


def session_op(
    chain: Chain,
    account: Account,
    redeemer: TestKey,
    call_data: bytes,
    *,
    session: Session,
    mode: SmartSessionMode = SmartSessionMode.USE,
    enable: EnableSessionData | None = None,
    extra_leaves: Sequence[bytes] = (),
    paymaster_and_data: bytes = b"",
    sign_with: TestKey | None = None,
    verification_gas_limit: int = 2_000_000,
    call_gas_limit: int = 2_000_000,
    nonce: int | None = None,
) -> PackedUserOperation:
    """A session userOp with the MEE short signature (leaf = userOpHash), as the node assembles it."""
    op = chain.user_op(
        sender=account.address,
        call_data=call_data,
        validator=SMART_SESSIONS_ADDRESS,
        paymaster_and_data=paymaster_and_data,
        verification_gas_limit=verification_gas_limit,
        call_gas_limit=call_gas_limit,
        nonce=nonce,
    )
    leaf = chain.user_op_hash(op)
    tree = MerkleTree([leaf, *extra_leaves])
    short = encode_mee_short_signature(
        super_tx_hash=tree.root,
        proof=tree.proof(leaf),
        signature=sign_personal(sign_with or redeemer, bytes(tree.root)),
    )
    signature = encode_smart_session_signature(
        mode=mode, permission_id=session.permission_id, signature=short, enable_session_data=enable
    )
    return op.model_copy(update={"signature": signature})
