"""What the examples share: reading ``devnet.json`` (chains, contracts, test keys, the MEE node) and making the
owner's and the session signer's clients. Not part of the library: an application would take its URLs, keys and API
key from its own configuration."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from smartsessions import (
    ChainConfiguration,
    DevnetError,
    FeeTokenInfo,
    SessionClient,
    create_mee_client,
    mee_session_actions,
    to_multichain_nexus_account,
    to_smart_sessions_module,
)
from smartsessions.devnet.network import read_state
from smartsessions.encoding.abi import encode_function_call
from smartsessions.mee.results import SupertransactionReceipt

MEE_VERSION = "2.1.0"


def state_path() -> Path:
    return Path(sys.argv[1] if len(sys.argv) > 1 else "devnet.json")


def line(label: str, value: object) -> None:
    print(f"  {label:<22} {value}")


def show(receipt: SupertransactionReceipt) -> None:
    pay = receipt.payload.payment_info
    line("super-transaction", f"{receipt.hash} {receipt.status}")
    line("userOps", ", ".join(f"chain {op.chain_id}: {op.execution_status}" for op in receipt.user_ops))
    line("gas used", f"{receipt.gas_used:,}" if receipt.gas_used is not None else "-")
    line("fee", "sponsored" if pay.sponsored else f"{pay.token_amount} USDC")


@dataclass
class Devnet:
    state: dict[str, Any]
    owner: LocalAccount
    session_signer: LocalAccount
    opened: list[Any]

    @classmethod
    def load(cls, path: Path) -> Devnet:
        try:  # a missing, foreign or corrupt file: a message naming it, not a traceback
            state = read_state(path)
        except DevnetError as exc:
            raise SystemExit(str(exc)) from None
        if not state.get("node"):
            raise SystemExit(f"{path} names no MEE node: start the devnet with `smartsessions devnet up`")
        keys = {k["role"]: k["privateKey"] for k in state["keys"]}
        return cls(state, Account.from_key(keys["owner"]), Account.from_key(keys["session_signer"]), [])

    @property
    def chain_ids(self) -> list[int]:
        return [int(c["chainId"]) for c in self.state["chains"]]

    def contract(self, chain_id: int, name: str) -> str:
        return str(next(c for c in self.state["chains"] if c["chainId"] == chain_id)["contracts"][name])

    def fee_token(self, chain_id: int | None = None) -> FeeTokenInfo:
        chain_id = chain_id or self.chain_ids[0]
        return FeeTokenInfo(address=self.contract(chain_id, "USDC"), chain_id=chain_id)

    def configs(self, account_address: str | None = None) -> list[ChainConfiguration]:
        return [
            ChainConfiguration(
                chain_id=c["chainId"], rpc_url=c["rpcUrl"], version=MEE_VERSION, account_address=account_address
            )
            for c in self.state["chains"]
        ]

    async def client(self, signer: LocalAccount, account_address: str | None = None) -> SessionClient:
        account = await to_multichain_nexus_account(signer=signer, chain_configurations=self.configs(account_address))
        client = await create_mee_client(
            account=account, url=self.state["node"]["url"], api_key=self.state["node"]["apiKey"]
        )
        self.opened.append(client)  # closing it closes the account's connections too
        return client.extend(mee_session_actions)

    async def owner_client(self) -> SessionClient:
        return await self.client(self.owner)

    async def session_client(self, account_address: str) -> SessionClient:
        """The session signer's client: the owner's account address, the session signer's key."""
        return await self.client(self.session_signer, account_address)

    async def prepare(self, owner: SessionClient, *, sponsorship: bool = False, fund: int = 10_000_000) -> None:
        """Deploy and prepare the account on every chain; with a fee token, also fund it by a permit of ``fund``."""
        module = to_smart_sessions_module(signer=self.session_signer)
        if sponsorship:
            result = await owner.prepare_for_permissions(smart_sessions_validator=module, sponsorship=True)
        else:
            home = self.chain_ids[0]
            result = await owner.prepare_for_permissions(
                smart_sessions_validator=module,
                fee_token=self.fee_token(),
                trigger={"token_address": self.contract(home, "USDC"), "chain_id": home, "amount": fund},
            )
        if result is not None:
            receipt = await owner.wait_for_supertransaction_receipt(result.hash)
            print("prepared the account:")
            show(receipt)

    async def read(self, client: SessionClient, chain_id: int, to: str, signature: str, args: Any = ()) -> int:
        rpc = client.account.deployment_on(chain_id).rpc
        return int.from_bytes(await rpc.call(to, encode_function_call(signature, list(args))), "big")

    async def aclose(self) -> None:
        for item in self.opened:
            await item.aclose()
