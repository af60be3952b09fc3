"""The worked example of the protocol spec (Appendix A): values computed by the reference SDK and accepted by the
production contracts. One path through every layer of the pure core, checked end to end."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from smartsessions import (
    ActionData,
    ChainDigest,
    EnableSession,
    EnableSessionData,
    Session,
    encode_smart_session_signature,
    get_action_id,
    get_session_digest,
    get_sudo_policy,
    get_user_op_hash,
    hash_chain_digests,
)
from smartsessions.account import Call, encode_execute, to_bootstrap_call, to_factory_data, to_init_code, to_init_data
from smartsessions.encoding import MerkleTree, PackedUserOperation, get_mee_user_op_hash, get_nonce_key, to_nonce
from smartsessions.encoding.eip712 import hash_action_data, hash_erc7739_data, hash_policy_data
from smartsessions.encoding.quote import sign_quote
from smartsessions.encoding.session import ERC7739Data
from smartsessions.encoding.signature import encode_enable_session_payload, encode_mee_short_signature
from smartsessions.policies.payment import payment_action
from smartsessions.signer import personal_sign, sign_typed_digest

OWNER = Account.from_key(b"\x01" * 32)
REDEEMER = Account.from_key(b"\x02" * 32)
ACCOUNT = "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
COUNTER = "0x000000000000000000000000000000000000c0Fe"
ZERO = "0x0000000000000000000000000000000000000000"


def h(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


@pytest.fixture(scope="module")
def session() -> Session:
    return Session(
        session_validator="0x0000000031ef4155C978d48a8A7d4EDba03b04fE",
        session_validator_init_data=REDEEMER.address,
        salt=(1).to_bytes(32, "big"),
        user_op_policies=[get_sudo_policy()],
        actions=[
            ActionData(action_target_selector="0xd09de08a", action_target=COUNTER, action_policies=[get_sudo_policy()]),
            payment_action(fee_token=USDC, max_payment_amount=5_000_000),
        ],
        permit_erc4337_paymaster=True,
    )


def test_keys() -> None:
    assert OWNER.address == "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1"
    assert REDEEMER.address == "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c"


def test_account_creation_data_2_1_0() -> None:
    bootstrap = to_bootstrap_call(owner=OWNER.address)
    assert len(bootstrap) == 516 and bootstrap[:4] == h("41bede03")
    init_data = to_init_data(owner=OWNER.address, version="2.1.0")
    assert len(init_data) == 640
    assert keccak(bytes(init_data)) == h("0xe7fc25498299cf5e23b321ab35cf47be9877658eb5a4b8723f8609998f1901f1")
    factory_data = to_factory_data(owner=OWNER.address, version="2.1.0")
    assert len(factory_data) == 740
    assert keccak(bytes(factory_data)) == h("0x76c5d943bfac2fe8b1da47ef5855bfcdac86be2f94589bdf401c47a91bab5bc7")
    init_code = to_init_code(owner=OWNER.address, version="2.1.0")
    assert len(init_code) == 760
    assert keccak(bytes(init_code)) == h("0x8d69b18ba928f8dbb06f4fc9f14a32955bfd542fbe10b0f64147f827f27c07dc")


def test_account_init_data_2_0_0() -> None:
    init_data = to_init_data(owner=OWNER.address, version="2.0.0")
    assert keccak(bytes(init_data)) == h("0x2d40ed1ab565afd2b8d9a95b22e80d6637ee14afa1b168f73e7a757e11545013")


def test_nonce_key() -> None:
    key = get_nonce_key(validator="0x00000000008bDABA73cD9815d79069c247Eb4bDA", now_ms=1750000000123)
    assert to_nonce(key, 0) == 15583473781657454347353692956697954556111071849332263858910775438844631187456


def test_session_ids_and_hashes(session: Session) -> None:
    assert session.permission_id == h("0x99495d22cbe27e3dd0fd90149032ba8d31c91ba0c13aed50401a740dd25fc43f")
    assert get_action_id(target=COUNTER, selector="0xd09de08a") == h(
        "0xb21115646aa128587bc792c13e5a27e2a6be108d918b0c3110b580aa12509c27"
    )
    assert get_action_id(target=USDC, selector="0xa9059cbb") == h(
        "0x7ff5e760a190b87478a7184809cb1ad6b0f3f74bd383c0856cd634b47d18bf22"
    )
    payment_init = bytes(session.actions[1].action_policies[0].init_data)
    assert len(payment_init) == 3136
    assert keccak(payment_init) == h("0x1f22501f0428d8e01b17fc4607973406d8f4bdafacbe0813f188c8464331e996")
    assert hash_policy_data(get_sudo_policy()) == h(
        "0xac625a821a9b844c8456686f821b3b578edaa0f884bc662474bf521297455f1b"
    )
    assert hash_action_data(session.actions[0]) == h(
        "0x3fe99dca861eff69b4154782aabb245e1f833045c34f0202de85e5eae3e15193"
    )
    assert hash_action_data(session.actions[1]) == h(
        "0xc14fa733b4d4312a85f5bd1e076211f2592e6f017a0335b33639427119156c52"
    )
    assert hash_erc7739_data(ERC7739Data()) == h("0xfeca9caec1f564ce2463160a6ad382004fe2b2406f36ae9e63cef06241466ef3")


def test_digests_and_grant_signatures(session: Session) -> None:
    unsafe = get_session_digest(session, account=ACCOUNT, mode="UNSAFE_ENABLE", nonce=0)
    assert unsafe == h("0xc6c7e12c3003bbd952b0aa7d0f03f01b0d41c309deb0560242c8c36eef0f58f2")
    enable = get_session_digest(session, account=ACCOUNT, mode="ENABLE", nonce=0)
    assert enable == h("0x0c6495d8c553c7e577b786f457f71b5ba51f8f7636e8aba0c1c95c72d8abd87d")
    digest = hash_chain_digests([ChainDigest(chain_id=8453, session_digest=unsafe)])
    assert digest == h("0x8e135d3a40a47b92a4a0b4b51d28c5c9ce02c16557eabe9869a8cf72fdac0237")
    assert sign_typed_digest(OWNER, digest) == h(
        "0xa32aa151802d292a81af75d8389a4e8a9c480b7bdb7aef61a4fecab4aa254e69"
        "4502b75b0e9234ed590aa9105c4fb83d7c774bd320619d76fe0e46ba225eb3ec1c"
    )
    assert personal_sign(OWNER, digest) == h(
        "0xb6fcd89a21d7b30b0e8f14c89429ab209e8d34ea2d423b89327ef25be972e083"
        "558d4357bdf39175fdbe36a755385802c128bfab2a873b380dc9e05b97cf54981c"
    )


def test_user_op_super_tx_and_session_signatures(session: Session) -> None:
    call_data = encode_execute([Call(to=COUNTER, data="0xd09de08a")])
    assert call_data == h(
        "0xe9ae5c53000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000"
        "38000000000000000000000000000000000000c0fe0000000000000000000000000000000000000000000000000000000000"
        "000000d09de08a0000000000000000"
    )
    # Appendix A.4 does not name the nonce: it is the A.2 nonce (seq 0 of the SmartSessions lane).
    user_op = PackedUserOperation(
        sender=ACCOUNT,
        nonce=15583473781657454347353692956697954556111071849332263858910775438844631187456,
        call_data=call_data,
        call_gas_limit=100_000,
        verification_gas_limit=250_000,
        pre_verification_gas=50_000,
        max_fee_per_gas=10**9,
        max_priority_fee_per_gas=10**6,
    )
    assert user_op.account_gas_limits == h("0x0000000000000000000000000003d090000000000000000000000000000186a0")
    assert user_op.gas_fees == h("0x000000000000000000000000000f42400000000000000000000000003b9aca00")
    user_op_hash = get_user_op_hash(user_op, chain_id=8453)
    assert user_op_hash == h("0x6e84c0a4903bea5804c80929db3788a6edfb8cfc6aa03fdca3c86c0e5c38e4be")
    other = get_mee_user_op_hash(b"\xab" * 32, lower_bound_timestamp=1750000000, upper_bound_timestamp=1750000180)
    assert other == h("0x625182d90dda33e1e17f9adfa974da182770e4732fcab09222f5fa09e9890c44")
    tree = MerkleTree([user_op_hash, other])
    assert tree.root == h("0x6260a45686c7d54eea9f2fca71ce0946014cb469bb2aaaea041997d162989ced")
    assert tree.proof(user_op_hash) == [other]
    assert tree.proof(other) == [user_op_hash]
    quote_sig = sign_quote(REDEEMER, tree.root)
    assert quote_sig == h(
        "0x177eee0063294bd7eda90d01794a0f1252c42a0c20d8752a53fdac23656e5eadbddfec2465ed696cec87c204d9c7534b0049c2"
        "28494e84b99fc26665f0c792c64d3afa751b"
    )
    short = encode_mee_short_signature(super_tx_hash=tree.root, proof=tree.proof(user_op_hash), signature=quote_sig[4:])
    assert len(short) == 292
    assert short[:36] == h("0x177eee006260a45686c7d54eea9f2fca71ce0946014cb469bb2aaaea041997d162989ced")
    use = encode_smart_session_signature(mode="USE", permission_id=session.permission_id, signature=short)
    assert len(use) == 325
    assert use[:37] == h("0x0099495d22cbe27e3dd0fd90149032ba8d31c91ba0c13aed50401a740dd25fc43f177eee00")

    unsafe = get_session_digest(session, account=ACCOUNT, mode="UNSAFE_ENABLE", nonce=0)
    digest = hash_chain_digests([ChainDigest(chain_id=8453, session_digest=unsafe)])
    data = EnableSessionData(
        enable_session=EnableSession(
            chain_digest_index=0,
            hashes_and_chain_ids=[ChainDigest(chain_id=8453, session_digest=unsafe)],
            session_to_enable=session,
            permission_enable_sig=sign_typed_digest(OWNER, digest),
        ),
        validator=ZERO,
    )
    payload = encode_enable_session_payload(enable_session_data=data, signature=short)
    assert len(payload) == 5088
    assert keccak(payload) == h("0xf97933d496ebca663663db08060b4f3b6722ab1e9dfab91022412acd3dc7afa8")
    enable = encode_smart_session_signature(mode="ENABLE_AND_USE", signature=short, enable_session_data=data)
    assert len(enable) == 638
    assert keccak(bytes(enable)) == h("0xc04cd62e71921f76110374db612f98ec7c5674d64f9f0093905bf29d57043d81")
    assert enable.hex().startswith("02010000e014010040e0141d020012802004e03300e0173f00e0e0155c0111c0e0151f0100012003e0")
