"""Nexus 1.2.0 account creation data (spec §10.2, §10.3): bootstrap call, init data, factory data and initCode.

The owner becomes the K1MeeValidator owner through the account's default validator, so the same owner and index
give the same account address on every chain where the factory sits at the same address.
"""

from __future__ import annotations

from hexbytes import HexBytes

from .._coerce import keccak, to_address, to_bytes, to_uint
from ..encoding.abi import abi_encode, selector
from ..versions import MeeVersionConfig, get_mee_version

__all__ = [
    "BOOTSTRAP_SELECTOR",
    "CREATE_ACCOUNT_SELECTOR",
    "INITIALIZE_ACCOUNT_SELECTOR",
    "compute_account_address",
    "to_bootstrap_call",
    "to_factory_data",
    "to_init_code",
    "to_init_data",
]

BOOTSTRAP_SELECTOR = selector(
    "initNexusWithDefaultValidatorAndOtherModulesNoRegistry("
    "bytes,(address,bytes)[],(address,bytes)[],(address,bytes),(address,bytes)[],(uint256,address,bytes)[])"
)
CREATE_ACCOUNT_SELECTOR = selector("createAccount(bytes,bytes32)")
INITIALIZE_ACCOUNT_SELECTOR = selector("initializeAccount(bytes)")
_ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def to_bootstrap_call(*, owner: object) -> HexBytes:
    """``initNexusWithDefaultValidatorAndOtherModulesNoRegistry(owner, [], [], (0x0, 32 zero bytes), [], [])``.

    The hook's data is 32 zero bytes (viem's ``zeroHash``), not empty: it changes the init data and so the address.
    """
    owner_bytes = bytes.fromhex(to_address(owner, field="owner")[2:])
    args = abi_encode(
        [
            "bytes",
            "(address,bytes)[]",
            "(address,bytes)[]",
            "(address,bytes)",
            "(address,bytes)[]",
            "(uint256,address,bytes)[]",
        ],
        [owner_bytes, [], [], (_ZERO_ADDRESS, bytes(32)), [], []],
        what="bootstrap call",
    )
    return HexBytes(BOOTSTRAP_SELECTOR + args)


def to_init_data(*, owner: object, version: str | MeeVersionConfig = "2.0.0") -> HexBytes:
    """``abi.encode(address bootstrap, bytes bootstrapCall)``: what the factory hands to ``initializeAccount``."""
    config = get_mee_version(version)
    return HexBytes(
        abi_encode(
            ["address", "bytes"],
            [config.boot_strap_address, bytes(to_bootstrap_call(owner=owner))],
            what="init data",
        )
    )


def _salt(index: object) -> bytes:
    return to_uint(index, field="index", bits=256).to_bytes(32, "big")


def to_factory_data(*, owner: object, index: object = 0, version: str | MeeVersionConfig = "2.0.0") -> HexBytes:
    """``createAccount(initData, bytes32(index))``."""
    init_data = bytes(to_init_data(owner=owner, version=version))
    return HexBytes(
        CREATE_ACCOUNT_SELECTOR + abi_encode(["bytes", "bytes32"], [init_data, _salt(index)], what="factory data")
    )


def to_init_code(*, owner: object, index: object = 0, version: str | MeeVersionConfig = "2.0.0") -> HexBytes:
    """``factory ‖ factoryData``: the userOp ``initCode`` that deploys the account on first use."""
    config = get_mee_version(version)
    factory = bytes.fromhex(config.factory_address[2:])
    return HexBytes(factory + bytes(to_factory_data(owner=owner, index=index, version=version)))


def compute_account_address(
    *,
    factory: object,
    implementation: object,
    init_data: object,
    index: object = 0,
    proxy_creation_code: object,
) -> str:
    """The CREATE2 address the factory deploys to, offline.

    ``proxy_creation_code`` is the factory's embedded proxy creation code, which differs between the production
    factory and the devnet's; the reference SDK asks the factory (``computeAccountAddress``), and so should callers
    that do not know it.
    """
    init_call = INITIALIZE_ACCOUNT_SELECTOR + abi_encode(
        ["bytes"], [bytes(to_bytes(init_data, field="init_data"))], what="init data"
    )
    ctor = abi_encode(
        ["address", "bytes"], [to_address(implementation, field="implementation"), init_call], what="proxy"
    )
    code_hash = keccak(bytes(to_bytes(proxy_creation_code, field="proxy_creation_code")) + ctor)
    factory_bytes = bytes.fromhex(to_address(factory, field="factory")[2:])
    digest = keccak(b"\xff" + factory_bytes + _salt(index) + code_hash)
    return to_address(digest[12:], field="address")
