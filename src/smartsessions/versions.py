"""MEE version configs and the production addresses (spec §8, §10.1, §12).

The devnet places its own contracts at these same addresses, so these defaults serve mainnet and devnet alike.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ._model import Address, Model, _wrap
from ._repr import bounded_repr
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_MEE_VERSION",
    "DETERMINISTIC_DEPLOYER_ADDRESS",
    "ENTRY_POINT_V07_ADDRESS",
    "MEE_VERSIONS",
    "MULTICALLER_WITH_SIGNER_ADDRESS",
    "OWNABLE_VALIDATOR_ADDRESS",
    "SAFE_SINGLETON_FACTORY_ADDRESS",
    "SMART_SESSIONS_ADDRESS",
    "SMART_SESSIONS_COMPATIBILITY_FALLBACK_ADDRESS",
    "SPONSORSHIP_GAS_TANK_ADDRESS",
    "USDC_BASE_ADDRESS",
    "MeeVersionConfig",
    "get_mee_version",
]

ENTRY_POINT_V07_ADDRESS = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
SMART_SESSIONS_ADDRESS = "0x00000000008bDABA73cD9815d79069c247Eb4bDA"
SMART_SESSIONS_COMPATIBILITY_FALLBACK_ADDRESS = "0x000000000052e9685932845660777DF43C2dC496"
OWNABLE_VALIDATOR_ADDRESS = "0x000000000013fdB5234E4E3162a810F54d9f7E98"
SPONSORSHIP_GAS_TANK_ADDRESS = "0x18eAc826f3dD77d065E75E285d3456B751AC80d5"
USDC_BASE_ADDRESS = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
SAFE_SINGLETON_FACTORY_ADDRESS = "0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7"
DETERMINISTIC_DEPLOYER_ADDRESS = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
MULTICALLER_WITH_SIGNER_ADDRESS = "0x000000000000D9ECebf3C23529de49815Dac1c4c"

DEFAULT_MEE_VERSION = "2.0.0"


def _omit_none(value: object) -> bool:
    return value is None


# Three runs of ASCII digits: int() alone would also take "2_1", " 2", "٢" (Arabic-Indic) and 5,000-digit parts.
_VERSION_NUMBER = re.compile(r"[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}")


def version_number(version: object, *, field: str = "version") -> tuple[int, int, int]:
    """``"2.1.0"`` as ``(2, 1, 0)``, for comparing versions; anything else is a :class:`ConfigurationError` naming
    ``field``."""
    if not isinstance(version, str) or not _VERSION_NUMBER.fullmatch(version):
        raise ConfigurationError(
            field,
            "is not an MEE version number (MAJOR.MINOR.PATCH in ASCII digits)",
            fix="write it as the MEE versions are written, e.g. '2.1.0'",
            value=version,
        )
    major, minor, patch = version.split(".")
    return int(major), int(minor), int(patch)


def _checked_version(value: object, field: str) -> str:
    version_number(value, field=field)
    return str(value)


_VersionNumber = Annotated[str, BeforeValidator(_wrap(_checked_version))]


class ModuleRegistry(Model):
    """MEE 1.x only: the ERC-7484 registry the account consults (unused by 2.x)."""

    registry_address: Address
    attesters: tuple[Address, ...] = ()
    attester_threshold: int = 0


class MeeVersionConfig(Model):
    """One entry of the SDK's ``DEFAULT_CONFIGURATIONS_BY_MEE_VERSION``; sent as ``meeVersions[].version``.

    Field order is the SDK's key order, which is the order the JSON is written in.
    """

    version: _VersionNumber
    account_id: str
    factory_address: Address
    boot_strap_address: Address = Field(alias="bootStrapAddress")
    implementation_address: Address
    validator_address: Address
    default_validator_address: Address
    module_registry: ModuleRegistry | None = Field(default=None, exclude_if=_omit_none)
    composable_module_address: Address | None = Field(default=None, exclude_if=_omit_none)
    eth_forwarder_address: Address
    composability_version: str
    submodules: dict[str, Address] | None = Field(default=None, exclude_if=_omit_none)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def session_validator_init_data_is_packed(self) -> bool:
        """MEE >= 3.0.0 wraps the redeemer with a stateless-validator address (spec §3.4)."""
        return version_number(self.version, field="MeeVersionConfig.version") >= (3, 0, 0)


_ZERO = "0x0000000000000000000000000000000000000000"
_FORWARDER = "0x000000Afe527A978Ecb761008Af475cfF04132a1"
_FORWARDER_1_1 = "0x000000001f1c68bD5bF69aa1cCc1d429700D41Da"
_FORWARDER_2_2 = "0x000000C48Cdf2b46bEc062483dBD27046dfE3b8d"
_NO_REGISTRY = ModuleRegistry(registry_address=_ZERO)


def _config(
    version: str,
    account_id: str,
    factory: str,
    bootstrap: str,
    implementation: str,
    validator: str,
    default_validator: str,
    forwarder: str,
    composability: str,
    **extra: Any,
) -> MeeVersionConfig:
    return MeeVersionConfig(
        version=version,
        account_id=account_id,
        factory_address=factory,
        boot_strap_address=bootstrap,
        implementation_address=implementation,
        validator_address=validator,
        default_validator_address=default_validator,
        eth_forwarder_address=forwarder,
        composability_version=composability,
        **extra,
    )


MEE_VERSIONS: dict[str, MeeVersionConfig] = {
    c.version: c
    for c in [
        _config(
            "3.0.0",
            "biconomy.nexus.1.3.1",
            "0x75Eb8D1621D193010425D34b4Ae81835E2409660",
            "0x33A8F72F236e02eD62B0312f48105AcBD651Cd17",
            "0x37DF3014c8B72372F2783aAF517bcdC6B516c8Df",
            "0x5e2181ccC1550f5e86F14298A12a7a9A04536F58",
            _ZERO,
            _FORWARDER_2_2,
            "1.1.0",
            submodules={
                "noStxModeVerifier": "0x03043fA2956d7729708E5871006E4D60f077BF9C",
                "SimpleModeSubmodule": "0x3dE6bd76AB8B77fc9E4b79168EaF2253Ff1F0410",
                "PermitSubmodule": "0x2eb293D700dEeaF923f6ff32741921C270Ff339b",
                "TxSubmodule": "0xBFf2aE0e9B523E8192A77c0Dd610b490eC45A08c",
                "SafeAccountSubmodule": "0xa35a716E8e1Df5Fb441bCDdC2357cf9b256AC566",
                "EoaStatelessValidator": "0xdD900Cd95f072eAe396bE0487C2546Bf81d01B48",
                "P256StatelessValidator": "0xa7B97e8152aCee107a098F95f691Cd24Cf2f9835",
            },
        ),
        _config(
            "2.3.0",
            "biconomy.nexus.1.3.1",
            "0x5836Bdb35913c7CBA6ef40675354445121449917",
            "0xCa8f48912A3a33fE694c318a1d097AD394CFAB76",
            "0x54F220e4f0DEAb58Be26153df5a674668B9d7Fb2",
            "0x1Cdae7dcc3f32551865EfE3d77AC2b88Ee2905B4",
            _ZERO,
            _FORWARDER_2_2,
            "1.1.0",
        ),
        _config(
            "2.2.1",
            "biconomy.nexus.1.3.1",
            "0x000000002c9A405a196f2dc766F2476B731693c3",
            "0x000000007BfEdA33ac982cb38eAaEf5D7bCC954c",
            "0x0000000020fe2F30453074aD916eDeB653eC7E9D",
            "0x0000000002d3cC5642A748B6783F32C032616E03",
            _ZERO,
            _FORWARDER_2_2,
            "1.1.0",
        ),
        _config(
            "2.1.0",
            "biconomy.nexus.1.2.0",
            "0x0000006648ED9B2B842552BE63Af870bC74af837",
            "0x0000003eDf18913c01cBc482C978bBD3D6E8ffA3",
            "0x00000000383e8cBe298514674Ea60Ee1d1de50ac",
            "0x0000000031ef4155C978d48a8A7d4EDba03b04fE",
            _ZERO,
            _FORWARDER,
            "1.0.0",
        ),
        _config(
            "2.0.0",
            "biconomy.nexus.1.2.0",
            "0x000000001D1D5004a02bAfAb9de2D6CE5b7B13de",
            "0x00000000D3254452a909E4eeD47455Af7E27C289",
            "0x000000004F43C49e93C970E84001853a70923B03",
            "0x00000000d12897DDAdC2044614A9677B191A2d95",
            _ZERO,
            _FORWARDER,
            "1.0.0",
        ),
        _config(
            "1.1.0",
            "biconomy.nexus.1.0.2",
            "0x0000000C8B6b3329cEa5d15C9d8C15F1f254ec3C",
            "0x000000c4781Be3349F81d341027fd7A4EdFa4Dd2",
            "0x000000001964d23C59962Fc7A912872EE8fB3b6A",
            "0x00000000E894100bEcFc7c934Ab7aC8FBA08A44c",
            "0x00000000E894100bEcFc7c934Ab7aC8FBA08A44c",
            _FORWARDER_1_1,
            "1.0.0",
            module_registry=_NO_REGISTRY,
            composable_module_address="0x000000eff5C221A6bdB12381868307c9Db5eB462",
        ),
        _config(
            "1.0.0",
            "biconomy.nexus.1.0.2",
            "0x000000c3A93d2c5E02Cb053AC675665b1c4217F9",
            "0x879fa30248eeb693dcCE3eA94a743622170a3658",
            "0x000000aC74357BFEa72BBD0781833631F732cf19",
            "0x00000000d12897DDAdC2044614A9677B191A2d95",
            "0x00000000d12897DDAdC2044614A9677B191A2d95",
            _FORWARDER,
            "1.0.0",
            module_registry=_NO_REGISTRY,
            composable_module_address="0x00000004430bB055dB66eBef6Fe5Ee1DA9668B10",
        ),
    ]
}


def get_mee_version(version: str | MeeVersionConfig = DEFAULT_MEE_VERSION) -> MeeVersionConfig:
    """The config of an MEE version by its number (``"2.1.0"``); a config passes through unchanged."""
    if isinstance(version, MeeVersionConfig):
        return version
    if not isinstance(version, str):
        raise ConfigurationError(
            "version",
            f"expected a version string or a MeeVersionConfig, got {type(version).__name__}",
            fix=f"use one of {', '.join(MEE_VERSIONS)} or pass a MeeVersionConfig",
            value=version,
        )
    try:
        return MEE_VERSIONS[version]
    except KeyError:
        raise ConfigurationError(
            "version",
            f"unknown MEE version {bounded_repr(version)}",
            fix=f"use one of {', '.join(MEE_VERSIONS)} or pass a MeeVersionConfig",
        ) from None
