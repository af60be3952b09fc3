"""``smartsessions session show / status / revoke``: a handoff file, for people.

``show`` says what a handoff grants, in words (per chain: the account, the permission, each function by name where
it is well known, each rule as a sentence, windows as dates), with no network at all: it is what an owner reads
before handing the file over, and what a bot developer reads when handed one. ``status`` says what the session may
still do, read from the chains (:func:`~smartsessions.sessions.status.session_status`: one round trip per chain, no
key, no node). ``revoke`` is the owner's way back: it
removes the permission on every chain of the handoff (or those named) in one super-transaction. Styles (colour) are
written only to a terminal; ``--json`` gives scripts the same facts as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidInputError, SmartSessionsError
from ._output import fail as _fail

__all__ = ["session"]


def _load(path: Path) -> Any:
    from ..sessions.handoff import SessionHandoff

    try:
        return SessionHandoff.load(path)
    except SmartSessionsError as err:
        _fail(err)


def _parse_rpc(values: tuple[str, ...]) -> dict[int, str]:
    urls: dict[int, str] = {}
    for value in values:
        chain, sep, url = value.partition("=")
        if not sep or not chain.strip().isdigit() or not url.strip():
            raise click.BadParameter(
                f"{value!r}: write CHAIN=URL, e.g. 8453=https://mainnet.base.org", param_hint="--rpc"
            )
        urls[int(chain)] = url.strip()
    return urls


def _parse_fee_token(value: str) -> Any:
    """``--fee-token CHAIN:ADDRESS`` as a :class:`~smartsessions.wire.mee.FeeTokenInfo`."""
    from ..wire.mee import FeeTokenInfo

    chain, sep, token = value.partition(":")
    if not sep or not chain.isdigit():
        raise click.BadParameter("write CHAIN:ADDRESS, e.g. 8453:0x833589fC...", param_hint="--fee-token")
    try:
        return FeeTokenInfo(address=token, chain_id=int(chain))
    except SmartSessionsError as err:
        _fail(err)


def _chain_configurations(handoff: Any, urls: dict[int, str], chain_ids: list[int]) -> list[Any]:
    """The handoff's account on ``chain_ids``, reached at ``urls`` (one per chain, or an error naming the one
    missing)."""
    from ..account.multichain import ChainConfiguration

    missing = [c for c in chain_ids if c not in urls]
    if missing:
        raise InvalidInputError(f"--rpc {missing[0]}=URL", "is missing", fix="pass an RPC URL for every chain")
    return [
        ChainConfiguration(
            chain_id=c,
            rpc_url=urls[c],
            version=handoff.chain(c).mee_version,
            account_address=handoff.chain(c).account_address,
        )
        for c in chain_ids
    ]


@click.group()
def session() -> None:
    """A session handoff file (what an owner hands a bot): show what it grants, what is left of it, revoke it."""


@session.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The same facts as JSON, for scripts.")
def show(file: Path, as_json: bool) -> None:
    """Say what the handoff FILE grants, chain by chain, in words. Reads nothing but the file."""
    from ..sessions.describe import describe_handoff

    handoff = _load(file)
    chains = describe_handoff(handoff)
    if as_json:
        click.echo(json.dumps({"sessionKey": handoff.session_key, "chains": [asdict(c) for c in chains]}, indent=2))
        return
    click.echo(f"Session key {click.style(handoff.session_key, bold=True)} (the bot's address; no key is in the file)")
    for chain in chains:
        click.echo("")
        click.echo(
            click.style(f"chain {chain.chain_id}", bold=True)
            + f"  account {chain.account_address}  permission {chain.permission_id}"
        )
        if chain.permission_wide:
            click.echo("  for the whole permission on this chain:")
            for rule in chain.permission_wide:
                click.echo(f"    - {rule}")
        for action in chain.actions:
            name = action.function if action.function == action.selector else f"{action.function} [{action.selector}]"
            click.echo(f"  may call {click.style(name, fg='cyan')} on {action.target}")
            for rule in action.rules:
                click.echo(f"    - {rule}")
        if not chain.actions:
            click.echo("  no action: nothing may be called")


@session.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rpc", "rpc", multiple=True, required=True, metavar="CHAIN=URL", help="An RPC URL per chain.")
@click.option("--fee-token", metavar="CHAIN:ADDRESS", help="The token the session pays fees in: adds what is left.")
@click.option("--json", "as_json", is_flag=True, help="The same figures as JSON, for scripts.")
def status(file: Path, rpc: tuple[str, ...], fee_token: str | None, as_json: bool) -> None:
    """What the session of the handoff FILE may still do, per chain: enabled or not, and per action and policy what
    is left, as of each chain's latest block."""
    handoff = _load(file)
    urls = _parse_rpc(rpc)
    fee = None if fee_token is None else _parse_fee_token(fee_token)
    try:
        configs = _chain_configurations(handoff, urls, [c.chain_id for c in handoff.chains])
    except SmartSessionsError as err:
        _fail(err)
    if not as_json and sys.stderr.isatty():
        click.echo(f"reading {len(handoff.chains)} chain(s)…", err=True)
    try:
        result = asyncio.run(_status(handoff, configs, fee))
    except SmartSessionsError as err:
        _fail(err)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json", by_alias=True), indent=2))
    else:
        click.echo(str(result))


async def _status(handoff: Any, configs: list[Any], fee: Any) -> Any:
    from types import SimpleNamespace

    from eth_account import Account

    from ..account.multichain import to_multichain_nexus_account
    from ..sessions.status import session_status

    # Reads only: the signer is never asked to sign, so a throwaway key stands in for the bot's.
    account = await to_multichain_nexus_account(signer=Account.create(), chain_configurations=configs)
    try:
        return await session_status(
            SimpleNamespace(account=account), session_details=list(handoff.session_details), fee_token=fee
        )
    finally:
        await account.aclose()


@session.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rpc", "rpc", multiple=True, required=True, metavar="CHAIN=URL", help="An RPC URL per chain.")
@click.option("--node", "node_url", required=True, help="The MEE node's URL.")
@click.option("--api-key-env", default="SMARTSESSIONS_API_KEY", show_default=True, help="Env var with the node's key.")
@click.option(
    "--owner-key-env",
    default="SMARTSESSIONS_OWNER_KEY",
    show_default=True,
    help="Env var holding the owner's private key (never a command-line argument: shells keep those).",
)
@click.option("--chain", "chain_ids", multiple=True, type=int, help="Only these chains (default: all of the file's).")
@click.option("--fee-token", required=True, metavar="CHAIN:ADDRESS", help="The token the owner pays the fee in.")
def revoke(
    file: Path,
    rpc: tuple[str, ...],
    node_url: str,
    api_key_env: str,
    owner_key_env: str,
    chain_ids: tuple[int, ...],
    fee_token: str,
) -> None:
    """Remove the permission of the handoff FILE on its chains, signed by the owner, in one super-transaction."""
    handoff = _load(file)
    urls = _parse_rpc(rpc)
    key = os.environ.get(owner_key_env, "")
    if not key:
        _fail(
            InvalidInputError(
                owner_key_env, "is not set", fix=f"export {owner_key_env}=0x... (the owner's key) and run it again"
            )
        )
    fee = _parse_fee_token(fee_token)
    chosen = list(chain_ids) or [c.chain_id for c in handoff.chains]
    try:
        hash_ = asyncio.run(
            _revoke(handoff, owner_key_env, key, urls, node_url, os.environ.get(api_key_env), chosen, fee)
        )
    except SmartSessionsError as err:
        _fail(err)
    click.echo(f"revoked on {', '.join(map(str, chosen))}: super-transaction {hash_}")


async def _owner_of(deployment: Any) -> str:
    """The account's owner as its K1MeeValidator holds it (``smartAccountOwners``, public in production too)."""
    from .._coerce import to_address
    from ..encoding.abi import encode_function_call
    from ..rpc import call_word

    data = encode_function_call("smartAccountOwners(address)", [deployment.address])
    answer = await deployment.rpc.call(deployment.version.validator_address, data)
    word = call_word("0x" + answer.hex(), what="K1MeeValidator.smartAccountOwners", bits=160, empty=0)
    return to_address(word.to_bytes(20, "big"), field="owner")


async def _revoke(
    handoff: Any,
    owner_key_env: str,
    key: str,
    urls: dict[int, str],
    node_url: str,
    api_key: str | None,
    chain_ids: list[int],
    fee_token: Any,
) -> str:
    from eth_account import Account

    from ..account.multichain import to_multichain_nexus_account
    from ..mee.client import create_mee_client
    from ..sessions.mee_actions import revoke_permission

    try:
        owner = Account.from_key(key)
    except (ValueError, TypeError):  # the message of eth-account would quote the value: not a key's
        raise InvalidInputError(owner_key_env, "is not a private key", fix="set it to the owner's 0x... key") from None
    configs = _chain_configurations(handoff, urls, chain_ids)
    account = await to_multichain_nexus_account(signer=owner, chain_configurations=configs)
    try:
        owners = await asyncio.gather(*(_owner_of(account.deployment_on(c)) for c in chain_ids))
    except BaseException:
        await account.aclose()
        raise
    wrong = [(c, o) for c, o in zip(chain_ids, owners, strict=True) if o != owner.address]
    if wrong:
        await account.aclose()
        chain_id, actual = wrong[0]
        raise InvalidInputError(
            owner_key_env,
            f"holds the key of {owner.address}, but the handoff's account {handoff.chain(chain_id).account_address} "
            f"is owned by {actual} on chain {chain_id}",
            fix="use the key of the owner who granted this handoff",
        )
    client = await create_mee_client(account=account, url=node_url, api_key=api_key)
    try:
        result = await revoke_permission(
            client,
            permission_id=handoff.permission_ids,
            chain_id=chain_ids,
            fee_token=fee_token,
        )
        receipt = await client.wait_for_supertransaction_receipt(result.hash)
        return f"{result.hash} {receipt.status}"
    finally:
        await client.aclose()
