"""A remote signer for tests: the key stays in a LocalAccount, but only ``sign_hash`` is offered, as a coroutine (the
shape of a KMS or HSM client), and the recovery id may come back as 0/1."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_typing import Hash32


@dataclass
class RemoteSigner:
    """A key held elsewhere: only ``sign_hash``, answered by a coroutine (as a KMS client would)."""

    account: LocalAccount
    recovery_id_base: int = 27  # 0: the signer answers v as 0/1, as many KMS APIs do
    calls: int = 0

    @property
    def address(self) -> str:
        return self.account.address

    async def sign_hash(self, digest: bytes) -> bytes:
        self.calls += 1
        await asyncio.sleep(0)
        sig = bytes(self.account.unsafe_sign_hash(Hash32(digest)).signature)
        return sig[:64] + bytes([sig[64] - 27 + self.recovery_id_base])
