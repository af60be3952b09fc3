"""The multichain Nexus account against the devnet: addresses from the factories, deployment, nonces, errors."""

from __future__ import annotations

import pytest
from eth_account import Account

from smartsessions.account import Call
from smartsessions.account.multichain import ChainConfiguration, Instruction, to_multichain_nexus_account
from smartsessions.devnet.network import Devnet
from smartsessions.errors import ConfigurationError
from smartsessions.versions import SMART_SESSIONS_ADDRESS

from ..contracts.flows import COUNTER, INCREMENT


def configs(devnet: Devnet, version: str = "2.0.0", **extra: object) -> list[ChainConfiguration]:
    return [ChainConfiguration(chain_id=c, rpc_url=devnet.url(c), version=version, **extra) for c in (8453, 10)]


async def test_same_address_on_every_chain_from_the_factory(devnet: Devnet) -> None:
    owner = Account.from_key(devnet.key("owner").private_key)
    account = await to_multichain_nexus_account(signer=owner, chain_configurations=configs(devnet))
    try:
        assert account.address_on(8453) == account.address_on(10) == account.address
        other = await to_multichain_nexus_account(signer=owner, chain_configurations=configs(devnet), index=1)
        assert other.address != account.address
        await other.aclose()
        v21 = await to_multichain_nexus_account(signer=owner, chain_configurations=configs(devnet, "2.1.0"))
        assert v21.address != account.address  # another factory, another address
        await v21.aclose()
        deployment = account.deployment_on(10)
        assert deployment.owner == owner.address
        assert not await deployment.is_deployed()
        assert not await deployment.is_module_installed(1, SMART_SESSIONS_ADDRESS)
        assert deployment.init_code[:20] == bytes.fromhex(deployment.version.factory_address[2:])
        nonce = await deployment.get_nonce(validator=SMART_SESSIONS_ADDRESS, now_ms=1750000000123)
        assert nonce == 15583473781657454347353692956697954556111071849332263858910775438844631187456
    finally:
        await account.aclose()


async def test_redeemer_side_uses_the_granters_address(devnet: Devnet) -> None:
    owner = Account.from_key(devnet.key("owner").private_key)
    redeemer = Account.from_key(devnet.key("session_signer").private_key)
    granter = await to_multichain_nexus_account(signer=owner, chain_configurations=configs(devnet))
    theirs = await to_multichain_nexus_account(
        signer=redeemer, chain_configurations=configs(devnet, account_address=granter.address)
    )
    try:
        assert theirs.address == granter.address
        assert theirs.deployment_on(8453).owner is None
        with pytest.raises(Exception, match="owner is unknown"):
            _ = theirs.deployment_on(8453).init_code
    finally:
        await granter.aclose()
        await theirs.aclose()


async def test_configuration_errors(devnet: Devnet) -> None:
    owner = Account.from_key(devnet.key("owner").private_key)
    account = await to_multichain_nexus_account(signer=owner, chain_configurations=configs(devnet)[:1])
    with pytest.raises(ConfigurationError, match="not configured on chain 10"):
        account.deployment_on(10)
    await account.aclose()
    wrong = [ChainConfiguration(chain_id=10, rpc_url=devnet.url(8453))]
    with pytest.raises(ConfigurationError, match="serves chain 8453, not 10"):
        await to_multichain_nexus_account(signer=owner, chain_configurations=wrong)
    with pytest.raises(ConfigurationError, match=r"contracts are missing on chain 8453"):
        await to_multichain_nexus_account(
            signer=owner,
            chain_configurations=[ChainConfiguration(chain_id=8453, rpc_url=devnet.url(8453), version="3.0.0")],
        )
    with pytest.raises(ConfigurationError, match="lists a chain twice"):
        await to_multichain_nexus_account(signer=owner, chain_configurations=configs(devnet) * 2)


def test_instruction_call_data_and_gas() -> None:
    one = Instruction(chain_id=8453, calls=[Call(to=COUNTER, data=INCREMENT)])
    two = Instruction(
        chain_id=8453, calls=[Call(to=COUNTER, data=INCREMENT, gas_limit=50_000), Call(to=COUNTER, data=INCREMENT)]
    )
    assert one.call_data[:4].hex() == "e9ae5c53" and one.call_data[4:36] == bytes(32)
    assert two.call_data[4:5] == b"\x01"
    assert (one.call_gas_limit, two.call_gas_limit) == (700_000, 750_000)
