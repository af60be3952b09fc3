"""The SmartSessions structs (spec §1) and the ids derived from them (spec §2.1–§2.3).

Names and field orders follow module-sdk and ``DataTypes.sol``; attribute names are the snake_case of the TypeScript
ones. ``to_abi()`` gives the tuple that ``eth_abi`` encodes, in the contract's field order.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

from hexbytes import HexBytes
from pydantic import BeforeValidator, Field, PlainSerializer, field_validator, model_validator

from .._coerce import keccak, to_address, to_bytes
from .._model import Address, Bytes4, Bytes32, HexData, Model, Text, Uint8, Uint64, Uint256, _wrap
from ..errors import InvalidInputError
from ..permission_id import PermissionId
from .abi import abi_encode

__all__ = [
    "FALLBACK_ACTIONID",
    "FALLBACK_ACTIONID_SMARTSESSION_CALL",
    "FALLBACK_TARGET_FLAG",
    "FALLBACK_TARGET_SELECTOR_FLAG",
    "FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION",
    "ActionData",
    "ChainDigest",
    "ChainSession",
    "ERC7739Context",
    "ERC7739Data",
    "EnableSession",
    "EnableSessionData",
    "Mode",
    "PolicyData",
    "Session",
    "SignedPermissions",
    "SignedSession",
    "SmartSessionMode",
    "get_action_id",
    "get_permission_id",
    "permission_id_of",
]


class SmartSessionMode(IntEnum):
    """The first byte of a SmartSessions userOp signature."""

    USE = 0
    ENABLE = 1
    UNSAFE_ENABLE = 2

    @property
    def hex(self) -> str:
        """The ``"0x00"`` form used in session details JSON."""
        return f"0x{self.value:02x}"

    @classmethod
    def parse(cls, value: object, *, field: str = "mode") -> SmartSessionMode:
        """Accept the enum, its int, ``"0x02"`` hex, the name, or the seed's ``"ENABLE_AND_USE"``."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            upper = value.upper()
            if upper == "ENABLE_AND_USE":
                return cls.UNSAFE_ENABLE
            if upper in cls.__members__:
                return cls[upper]
            if value in ("0x00", "0x01", "0x02"):  # exactly (int() would also take "0x_1" or "0x 1")
                return cls(int(value, 16))
        elif isinstance(value, (bytes, bytearray)) and len(value) == 1:
            if value[0] in (0, 1, 2):
                return cls(value[0])
        elif isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2):
            return cls(value)
        raise InvalidInputError(
            field,
            "unknown SmartSessions mode",
            fix="use SmartSessionMode.USE / ENABLE / UNSAFE_ENABLE, 0x00 / 0x01 / 0x02, or 'ENABLE_AND_USE'",
            value=value,
        )


# Wrapped like the other field types of the model layer, so that a bad mode inside a model reports its full path.
_parse_mode = _wrap(lambda value, field: SmartSessionMode.parse(value, field=field))


#: A mode field: accepts what :meth:`SmartSessionMode.parse` accepts, writes ``"0x00"`` / ``"0x02"`` to JSON.
Mode = Annotated[SmartSessionMode, BeforeValidator(_parse_mode), PlainSerializer(lambda m: m.hex, return_type=str)]

# Special action targets/selectors of the contract (spec §1.3). The SDK never creates them.
FALLBACK_TARGET_FLAG = "0x0000000000000000000000000000000000000001"
FALLBACK_TARGET_SELECTOR_FLAG = bytes.fromhex("00000001")
FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION = bytes.fromhex("00000002")


def _omit_none(value: object) -> bool:
    return value is None


class PolicyData(Model):
    policy: Address  # address
    init_data: HexData  # bytes
    # module-sdk's builders repeat the policy address under `address`; kept so the reference's JSON round-trips.
    address: Address | None = Field(default=None, exclude_if=_omit_none)

    def to_abi(self) -> tuple[str, bytes]:
        return (self.policy, bytes(self.init_data))


class ActionData(Model):
    action_target_selector: Bytes4  # bytes4
    action_target: Address  # address
    action_policies: tuple[PolicyData, ...]  # PolicyData[]
    # The grant flow leaves each action's numeric chainId in the session; not part of the ABI tuple.
    chain_id: Uint64 | None = Field(default=None, exclude_if=_omit_none)

    def to_abi(self) -> tuple[bytes, str, list[tuple[str, bytes]]]:
        return (
            bytes(self.action_target_selector),
            self.action_target,
            [p.to_abi() for p in self.action_policies],
        )


class ERC7739Context(Model):
    app_domain_separator: Bytes32  # bytes32
    content_name: tuple[Text, ...]  # string[] (the Solidity field is `contentNames`; ABI/EIP-712 say contentName)

    def to_abi(self) -> tuple[bytes, list[str]]:
        return (bytes(self.app_domain_separator), list(self.content_name))


class ERC7739Data(Model):
    allowed_erc7739_content: tuple[ERC7739Context, ...] = Field(
        default=(), alias="allowedERC7739Content"
    )  # ERC7739Context[]
    erc1271_policies: tuple[PolicyData, ...] = ()  # PolicyData[]

    def to_abi(self) -> tuple[list[Any], list[Any]]:
        return (
            [c.to_abi() for c in self.allowed_erc7739_content],
            [p.to_abi() for p in self.erc1271_policies],
        )


class Session(Model):
    """What ``enableSessions`` stores. ``chain_id`` is SDK bookkeeping, not part of the ABI tuple."""

    session_validator: Address  # address
    session_validator_init_data: HexData  # bytes
    salt: Bytes32  # bytes32
    user_op_policies: tuple[PolicyData, ...] = ()  # PolicyData[]
    erc7739_policies: ERC7739Data = ERC7739Data()  # ERC7739Data
    actions: tuple[ActionData, ...] = ()  # ActionData[]
    permit_erc4337_paymaster: bool = Field(default=False, alias="permitERC4337Paymaster")  # bool
    chain_id: Uint64 | None = None

    def to_abi(self) -> tuple[Any, ...]:
        return (
            self.session_validator,
            bytes(self.session_validator_init_data),
            bytes(self.salt),
            [p.to_abi() for p in self.user_op_policies],
            self.erc7739_policies.to_abi(),
            [a.to_abi() for a in self.actions],
            self.permit_erc4337_paymaster,
        )

    @property
    def permission_id(self) -> PermissionId:
        return get_permission_id(self)


class SignedPermissions(Model):
    permit_generic_policy: bool = False
    permit_admin_access: bool = False
    ignore_security_attestations: bool = False
    permit_erc4337_paymaster: bool = Field(default=False, alias="permitERC4337Paymaster")
    user_op_policies: tuple[PolicyData, ...] = ()
    erc7739_policies: ERC7739Data = ERC7739Data()
    actions: tuple[ActionData, ...] = ()


class SignedSession(Model):
    account: Address
    permissions: SignedPermissions
    session_validator: Address
    session_validator_init_data: HexData
    salt: Bytes32
    smart_session: Address
    nonce: Uint256


class ChainSession(Model):
    chain_id: Uint64
    session: SignedSession


class ChainDigest(Model):
    chain_id: Uint64
    # bytes32; session details of the prepare flow carry a dummy "0x" here (they are only ever used in USE mode).
    session_digest: HexData

    @field_validator("session_digest")
    @classmethod
    def _digest_length(cls, value: HexBytes) -> HexBytes:
        if len(value) not in (0, 32):
            raise ValueError(f"a session digest is 32 bytes, got {len(value)}")
        return value

    def to_abi(self) -> tuple[int, bytes]:
        if len(self.session_digest) != 32:
            raise InvalidInputError(
                "hashes_and_chain_ids.session_digest",
                "is empty: these session details come from prepare_for_permissions and cannot enable a session",
                fix="use mode USE with these session details",
            )
        return (self.chain_id, bytes(self.session_digest))


class EnableSession(Model):
    """``permission_enable_sig`` holds the owner's raw signature; the validator prefix is added when encoding."""

    chain_digest_index: Uint8
    hashes_and_chain_ids: tuple[ChainDigest, ...]
    session_to_enable: Session
    permission_enable_sig: HexData

    @model_validator(mode="after")
    def _index_in_range(self) -> EnableSession:
        if self.chain_digest_index >= len(self.hashes_and_chain_ids):
            raise ValueError(
                f"chain_digest_index {self.chain_digest_index} is out of range for "
                f"{len(self.hashes_and_chain_ids)} hashes_and_chain_ids entries"
            )
        return self


class EnableSessionData(Model):
    enable_session: EnableSession
    validator: Address
    account_type: str = "nexus"


def get_permission_id(session: Session | Any) -> PermissionId:
    """``keccak256(abi.encode(sessionValidator, sessionValidatorInitData, salt))`` — independent of policies.

    Accepts a :class:`Session` or any object/dict with those three fields, as module-sdk does.
    """
    if isinstance(session, Session):
        validator, init_data, salt = (
            session.session_validator,
            session.session_validator_init_data,
            session.salt,
        )
    else:

        def get(key: str, default: Any = None) -> Any:
            if isinstance(session, dict):
                return session.get(key, default)
            return getattr(session, key, default)

        validator = to_address(get("session_validator", get("sessionValidator")), field="session.session_validator")
        init_data = to_bytes(
            get("session_validator_init_data", get("sessionValidatorInitData")),
            field="session.session_validator_init_data",
        )
        salt = to_bytes(get("salt"), field="session.salt", length=32)
    return permission_id_of(validator, bytes(init_data), bytes(salt))


def permission_id_of(session_validator: str, session_validator_init_data: bytes, salt: bytes) -> PermissionId:
    """The permission id from the three fields that make it (a checksummed address, the init data, 32 bytes of salt):
    what a grant needs before its session's actions are known (the SmartSessions nonce is read by it)."""
    encoded = abi_encode(
        ["address", "bytes", "bytes32"], [session_validator, session_validator_init_data, salt], what="session"
    )
    return PermissionId(keccak(encoded))


def get_action_id(*, target: object, selector: object) -> HexData:
    """``keccak256(abi.encodePacked(address target, bytes4 selector))``."""
    addr = to_address(target, field="target")
    sel = to_bytes(selector, field="selector", length=4)
    return HexBytes(keccak(bytes.fromhex(addr[2:]) + bytes(sel)))


FALLBACK_ACTIONID = get_action_id(target=FALLBACK_TARGET_FLAG, selector=FALLBACK_TARGET_SELECTOR_FLAG)
FALLBACK_ACTIONID_SMARTSESSION_CALL = get_action_id(
    target=FALLBACK_TARGET_FLAG, selector=FALLBACK_TARGET_SELECTOR_FLAG_PERMITTED_TO_CALL_SMARTSESSION
)
