"""Hypothesis round trips for every encoder/decoder pair of the pure core."""

from __future__ import annotations

from math import trunc
from typing import Literal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from smartsessions import (
    ActionData,
    ChainDigest,
    EnableSession,
    EnableSessionData,
    ERC7739Context,
    ERC7739Data,
    ParamCondition,
    ParamRule,
    PolicyData,
    Session,
    SessionDetails,
    SmartSessionMode,
    decode_smart_session_signature,
    encode_smart_session_signature,
    flz_compress,
    flz_decompress,
    get_universal_action_policy,
    session_details_from_json,
    session_details_to_json,
)
from smartsessions.encoding import MerkleTree, verify_proof
from smartsessions.encoding.abi import SESSION, abi_decode, abi_encode
from smartsessions.encoding.flz import _HASH_SCALE
from smartsessions.encoding.signature import _session_from_abi, decode_mee_short_signature, encode_mee_short_signature
from smartsessions.policies import LimitUsage, decode_action_config


def model(cls: type, **fields: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Like st.builds, without hypothesis guessing at the optional fields of the pydantic signature."""
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))


addresses = st.binary(min_size=20, max_size=20)
# Any text UTF-8 encodes, set up at import (see UTF8_TEXT in test_abi.py: st.text()'s default alphabet costs over a
# second on a fresh clone, inside the first draw).
utf8_characters = st.characters(exclude_categories=["Cs"])
utf8_characters.validate()
bytes32 = st.binary(min_size=32, max_size=32)
small_bytes = st.binary(max_size=200)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
uint256 = st.integers(min_value=0, max_value=2**256 - 1)

policies = model(PolicyData, policy=addresses, init_data=small_bytes)
actions = model(
    ActionData,
    action_target_selector=st.binary(min_size=4, max_size=4),
    action_target=addresses,
    action_policies=st.lists(policies, max_size=3).map(tuple),
)
contexts = model(
    ERC7739Context,
    app_domain_separator=bytes32,
    content_name=st.lists(st.text(utf8_characters, max_size=12), max_size=3).map(tuple),
)
sessions = model(
    Session,
    session_validator=addresses,
    session_validator_init_data=small_bytes,
    salt=bytes32,
    user_op_policies=st.lists(policies, max_size=2).map(tuple),
    erc7739_policies=model(
        ERC7739Data,
        allowed_erc7739_content=st.lists(contexts, max_size=2).map(tuple),
        erc1271_policies=st.lists(policies, max_size=2).map(tuple),
    ),
    actions=st.lists(actions, max_size=4).map(tuple),
    permit_erc4337_paymaster=st.booleans(),
)
digests = model(ChainDigest, chain_id=uint64, session_digest=bytes32)


@st.composite
def enable_data(draw: st.DrawFn) -> EnableSessionData:
    hashes = draw(st.lists(digests, min_size=1, max_size=4))
    return EnableSessionData(
        enable_session=EnableSession(
            chain_digest_index=draw(st.integers(0, len(hashes) - 1)),
            hashes_and_chain_ids=tuple(hashes),
            session_to_enable=draw(sessions),
            permission_enable_sig=draw(st.binary(min_size=65, max_size=65)),
        ),
        validator=draw(addresses),
        account_type=draw(st.sampled_from(["nexus", "safe", "erc7579-implementation", "kernel"])),
    )


@given(
    st.one_of(
        st.binary(max_size=3000),
        st.lists(st.sampled_from([b"\x00" * 40, b"abc", b"\xff\x01"]), max_size=80).map(b"".join),
    )
)
@settings(max_examples=300)
def test_flz_round_trip(data: bytes) -> None:
    assert flz_decompress(flz_compress(data)) == data


@st.composite
def repeats_with_changes(draw: st.DrawFn) -> bytes:
    """A block, then copies of it (whole or cut) with a few bytes changed: long matches that end anywhere."""
    block = draw(st.binary(min_size=1, max_size=600))
    out = bytearray(block)
    for _ in range(draw(st.integers(1, 4))):
        copy = bytearray(block[: draw(st.integers(0, len(block)))])
        for at in draw(st.lists(st.integers(0, max(len(copy) - 1, 0)), max_size=3)):
            if copy:
                copy[at] ^= draw(st.integers(1, 255))
        out += copy + draw(st.binary(max_size=8))
    return bytes(out)


@given(repeats_with_changes())
@settings(max_examples=300)
def test_flz_round_trip_near_copies(data: bytes) -> None:
    # Byte identity with the reference is what tests/vectors/flz.json checks; this checks validity on many more
    # inputs shaped like the ones where the encoder's match-length arithmetic matters.
    assert flz_decompress(flz_compress(data)) == data


def _js_flz_hash(x: int) -> int:
    """The reference's ``((2654435769 * x) >> 19) & 8191`` in exact integers: an IEEE-754 double multiply (round to
    53 bits, ties to even), then ToInt32 (the low 32 bits), of which the shift and mask keep bits 19..31."""
    product = 2654435769 * x
    excess = product.bit_length() - 53
    if excess > 0:
        kept, rest = divmod(product, 1 << excess)
        half = 1 << (excess - 1)
        if rest > half or (rest == half and kept & 1):
            kept += 1
        product = kept << excess
    return (product >> 19) & 8191


@given(st.integers(min_value=0, max_value=(1 << 24) - 1))
@example(3883895)  # the first x whose rounding carries into bit 19: the integer product would hash differently
@example(6505335)
@example((1 << 24) - 1)
@settings(max_examples=2000)
def test_flz_hash_is_the_references_double_multiply(x: int) -> None:
    # flz_compress hashes a 24-bit value as trunc(x * _HASH_SCALE) & 8191 (see the comment at _HASH_SCALE).
    assert trunc(x * _HASH_SCALE) & 8191 == _js_flz_hash(x)


@given(sessions)
def test_session_abi_round_trip(session: Session) -> None:
    [raw] = abi_decode([SESSION], abi_encode([SESSION], [session.to_abi()], what="session"), what="session")
    assert _session_from_abi(raw) == session


@given(pid=bytes32, sig=small_bytes)
def test_use_signature_round_trip(pid: bytes, sig: bytes) -> None:
    decoded = decode_smart_session_signature(
        signature=encode_smart_session_signature(mode="USE", permission_id=pid, signature=sig)
    )
    assert (decoded.mode, bytes(decoded.permission_id), decoded.signature) == (SmartSessionMode.USE, pid, sig)


@given(
    data=enable_data(), sig=small_bytes, mode=st.sampled_from([SmartSessionMode.ENABLE, SmartSessionMode.UNSAFE_ENABLE])
)
@settings(max_examples=60)
def test_enable_signature_round_trip(data: EnableSessionData, sig: bytes, mode: SmartSessionMode) -> None:
    encoded = encode_smart_session_signature(mode=mode, signature=sig, enable_session_data=data)
    decoded = decode_smart_session_signature(signature=encoded, account_type=data.account_type)
    assert decoded.mode == mode
    assert decoded.signature == sig
    assert decoded.enable_session_data == data
    assert decoded.permission_id == data.enable_session.session_to_enable.permission_id


@given(root=bytes32, proof=st.lists(bytes32, max_size=5), sig=small_bytes)
def test_short_signature_round_trip(root: bytes, proof: list[bytes], sig: bytes) -> None:
    decoded = decode_mee_short_signature(encode_mee_short_signature(super_tx_hash=root, proof=proof, signature=sig))
    assert (decoded.super_tx_hash, list(decoded.proof), decoded.signature) == (root, proof, sig)


rules = model(
    ParamRule,
    condition=st.sampled_from(list(ParamCondition)),
    offset=uint64,
    is_limited=st.booleans(),
    ref=bytes32,
    usage=model(LimitUsage, limit=uint256, used=uint256),
)


@given(value=uint256, items=st.lists(rules, max_size=16))
def test_universal_action_config_round_trip(value: int, items: list[ParamRule]) -> None:
    policy = get_universal_action_policy(value_limit_per_use=value, param_rules=items)
    assert len(policy.init_data) == 3136
    config = decode_action_config(policy.init_data)
    assert config.value_limit_per_use == value
    assert config.param_rules.length == len(items)
    assert list(config.param_rules.rules[: len(items)]) == items
    assert all(r.condition == 0 and r.offset == 0 and not r.is_limited for r in config.param_rules.rules[len(items) :])


@given(st.lists(bytes32, min_size=1, max_size=12))
def test_merkle_proofs_verify(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    for leaf in leaves:
        assert verify_proof(tree.root, leaf, tree.proof(leaf))


@given(
    data=enable_data(),
    mode=st.sampled_from(list(SmartSessionMode)),
    chain_id=st.one_of(st.none(), uint64),
    form=st.sampled_from(["reference", "wire"]),
)
@settings(max_examples=60)
def test_session_details_json_round_trip(
    data: EnableSessionData, mode: SmartSessionMode, chain_id: int | None, form: Literal["reference", "wire"]
) -> None:
    session = data.enable_session.session_to_enable.model_copy(update={"chain_id": chain_id})
    data = data.model_copy(
        update={"enable_session": data.enable_session.model_copy(update={"session_to_enable": session})}
    )
    details = SessionDetails(mode=mode, permission_id=session.permission_id, enable_session_data=data)
    assert session_details_from_json(session_details_to_json([details, details], form=form)) == [details, details]
    assert session_details_from_json(session_details_to_json(details, form=form)) == [details]
