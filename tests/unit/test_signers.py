"""A signer may be eth-account's ``LocalAccount`` or a remote one with ``sign_hash`` (a coroutine or not): each gives
the same 65 bytes for the same digest, the async calls take both, and a synchronous call refuses a signer that
answers later, naming the call to use instead."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32

from smartsessions import HashSigner, InvalidInputError, Signer
from smartsessions.encoding.quote import QUOTE_PREFIX_SIMPLE, asign_quote, sign_quote
from smartsessions.encoding.session import ChainDigest
from smartsessions.sessions.grant import asign_grant, sign_grant
from smartsessions.signer import apersonal_sign, asign_typed_digest, personal_sign, sign_typed_digest

from ..signers import RemoteSigner

KEY = "0x" + "42" * 32
DIGEST = bytes(range(32))


@dataclass
class SyncHashSigner:
    account: LocalAccount

    @property
    def address(self) -> str:
        return self.account.address

    def sign_hash(self, digest: bytes) -> bytes:
        return bytes(self.account.unsafe_sign_hash(Hash32(digest)).signature)


def local() -> LocalAccount:
    account: LocalAccount = Account.from_key(KEY)
    return account


def test_the_shapes_are_recognised() -> None:
    assert isinstance(local(), Signer) and not isinstance(local(), HashSigner)
    assert isinstance(RemoteSigner(local()), HashSigner) and isinstance(SyncHashSigner(local()), HashSigner)


@pytest.mark.parametrize("base", [27, 0])
async def test_a_remote_signer_signs_what_a_local_key_signs(base: int) -> None:
    remote = RemoteSigner(local(), recovery_id_base=base)
    assert await asign_typed_digest(remote, DIGEST) == sign_typed_digest(local(), DIGEST)
    assert await apersonal_sign(remote, DIGEST) == personal_sign(local(), DIGEST)
    expected_personal = bytes(local().sign_message(encode_defunct(primitive=DIGEST)).signature)
    assert bytes(await apersonal_sign(remote, DIGEST)) == expected_personal
    assert await asign_quote(remote, DIGEST) == sign_quote(local(), DIGEST)
    assert bytes(await asign_quote(remote, DIGEST))[:4] == QUOTE_PREFIX_SIMPLE
    digests = [ChainDigest(chain_id=8453, session_digest=DIGEST)]
    for variant in ("typed", "personal"):
        assert await asign_grant(remote, digests, variant=variant) == sign_grant(local(), digests, variant=variant)
    assert remote.calls == 7


async def test_the_async_calls_take_a_local_key_as_they_always_did() -> None:
    assert await asign_typed_digest(local(), DIGEST) == sign_typed_digest(local(), DIGEST)
    assert await apersonal_sign(local(), DIGEST) == personal_sign(local(), DIGEST)


def test_a_sign_hash_that_answers_at_once_works_in_the_synchronous_calls() -> None:
    signer = SyncHashSigner(local())
    assert sign_typed_digest(signer, DIGEST) == sign_typed_digest(local(), DIGEST)
    assert personal_sign(signer, DIGEST) == personal_sign(local(), DIGEST)


def test_a_synchronous_call_refuses_an_async_signer_and_names_the_async_calls() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coroutine is closed, never left "never awaited"
        with pytest.raises(InvalidInputError, match="signs asynchronously, and sign_typed_digest is synchronous") as e:
            sign_typed_digest(RemoteSigner(local()), DIGEST)
        assert "grant_permission_typed_data_sign" in str(e.value)
        with pytest.raises(InvalidInputError, match="personal_sign is synchronous"):
            sign_quote(RemoteSigner(local()), DIGEST)


async def test_a_signature_of_the_wrong_length_is_refused() -> None:
    class Short:
        address = local().address

        async def sign_hash(self, digest: bytes) -> bytes:
            return b"\x01" * 64

    with pytest.raises(InvalidInputError, match="returned a 64-byte signature"):
        await asign_typed_digest(Short(), DIGEST)
