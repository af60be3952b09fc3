"""A quote's commitment: the node EOA's EIP-191 signature over the 32 raw bytes of ``quote.hash``, as
Biconomy's node makes it (viem ``signMessage({message: {raw: root}})``), recovered and checked by
:mod:`smartsessions.encoding.quote`."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from smartsessions.encoding.quote import recover_commitment_signer, verify_commitment
from smartsessions.signer import personal_sign
from smartsessions.wire.mee import GetQuotePayload, from_wire

NODE = Account.from_key("0x" + "44" * 32)
OTHER = Account.from_key("0x" + "55" * 32)
ROOT = bytes.fromhex("5c" * 32)


def _quote(commitment: bytes, node: str = NODE.address, root: bytes = ROOT) -> dict[str, object]:
    return {"hash": "0x" + root.hex(), "node": node, "commitment": "0x" + commitment.hex()}


def test_the_commitment_recovers_to_the_key_that_signed_the_root() -> None:
    commitment = bytes(personal_sign(NODE, ROOT))
    assert len(commitment) == 65 and commitment[64] in (27, 28)
    assert recover_commitment_signer(quote_hash=ROOT, commitment=commitment) == NODE.address
    # eth-account's own recovery of the same EIP-191 message agrees
    assert Account.recover_message(encode_defunct(primitive=ROOT), signature=commitment) == NODE.address
    wire = _quote(commitment)
    assert verify_commitment(wire) and verify_commitment(wire, NODE.address.lower())
    assert not verify_commitment(wire, OTHER.address)  # a client that knows its node's address
    assert not verify_commitment(_quote(commitment, node=OTHER.address))  # a quote naming another node
    assert not verify_commitment(_quote(commitment, root=b"\x01" * 32))  # another hash
    # a v of 0/1 (some signers' form) reads as 27/28
    assert recover_commitment_signer(quote_hash=ROOT, commitment=commitment[:64] + bytes([commitment[64] - 27])) == (
        NODE.address
    )


def test_the_root_is_signed_as_32_bytes_not_as_its_hex_string() -> None:
    """Our reading of the node's ``signMessage(root)``: the raw bytes. A signature over the root's hex text (66
    characters) recovers to someone else."""
    as_text = bytes(NODE.sign_message(encode_defunct(text="0x" + ROOT.hex())).signature)
    assert recover_commitment_signer(quote_hash=ROOT, commitment=as_text) not in (None, NODE.address)


def test_a_commitment_that_is_no_signature_recovers_to_nobody() -> None:
    good = bytes(personal_sign(NODE, ROOT))
    for bad in [good[:64], ROOT, b"", good[:64] + b"\x1d", bytes(64) + b"\x1b", "not hex"]:
        assert recover_commitment_signer(quote_hash=ROOT, commitment=bad) is None, bad
    assert not verify_commitment({"hash": "0x" + ROOT.hex(), "node": NODE.address})  # no commitment at all


def test_a_parsed_quote_is_checked_as_its_wire_json() -> None:
    commitment = bytes(personal_sign(NODE, ROOT))
    payload = from_wire(
        GetQuotePayload,
        {
            **_quote(commitment),
            "paymentInfo": {
                "sender": OTHER.address, "token": OTHER.address, "nonce": "0", "callGasLimit": "1",
                "verificationGasLimit": "1", "chainId": "8453", "tokenAmount": "0", "tokenWeiAmount": "0",
                "tokenValue": "0",
            },
            "userOps": [],
        },
    )  # fmt: skip
    assert bytes(payload.commitment) == commitment  # 65 bytes read as they are
    assert verify_commitment(payload) and not verify_commitment(payload, OTHER.address)


@settings(max_examples=25, deadline=None)
@given(root=st.binary(min_size=32, max_size=32), key=st.integers(min_value=1, max_value=2**255))
def test_sign_then_recover_round_trips(root: bytes, key: int) -> None:
    account = Account.from_key(key.to_bytes(32, "big"))
    commitment = personal_sign(account, root)
    assert recover_commitment_signer(quote_hash=root, commitment=commitment) == account.address
