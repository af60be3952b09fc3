"""The one model base: frozen, snake_case attributes, camelCase JSON, canonical values inside.

Field types are ``Annotated`` aliases that accept what users naturally pass (``0x`` strings, bytes, ints, decimal
strings) and store one canonical form (``HexBytes``, checksummed ``str`` addresses, ``int``). Validation failures are
re-raised as :class:`~smartsessions.errors.InvalidInputError` naming the dotted path of the field, so pydantic's
exception type never reaches the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self, cast

from hexbytes import HexBytes
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
)
from pydantic.alias_generators import to_camel, to_snake
from pydantic_core import PydanticCustomError

from ._coerce import to_address, to_bytes, to_hex, to_permission_id, to_text, to_uint
from .errors import InvalidInputError
from .permission_id import PermissionId

__all__ = [
    "Address",
    "Bytes4",
    "Bytes32",
    "HexData",
    "Model",
    "PermissionIdField",
    "Text",
    "Uint8",
    "Uint48",
    "Uint64",
    "Uint128",
    "Uint256",
    "parse_by_type",
    "validation_error",
]


def _field(info: ValidationInfo) -> str:
    return info.field_name or "value"


def _wrap(fn: Any) -> Any:
    def validator(value: object, info: ValidationInfo) -> object:
        try:
            return fn(value, _field(info))
        except InvalidInputError as exc:
            fix = next((m[5:] for m in exc.meta_messages if m.startswith("Fix: ")), "")
            raise PydanticCustomError("smartsessions", "{problem}|{fix}", {"problem": exc.problem, "fix": fix}) from exc

    return validator


def _bytes_of(length: int | None) -> Any:
    return _wrap(lambda v, f: to_bytes(v, field=f, length=length))


def _uint_of(bits: int) -> Any:
    return _wrap(lambda v, f: to_uint(v, field=f, bits=bits))


_hex_serializer = PlainSerializer(to_hex, return_type=str)

HexData = Annotated[HexBytes, BeforeValidator(_bytes_of(None)), _hex_serializer]
Bytes4 = Annotated[HexBytes, BeforeValidator(_bytes_of(4)), _hex_serializer]
Bytes32 = Annotated[HexBytes, BeforeValidator(_bytes_of(32)), _hex_serializer]
Address = Annotated[str, BeforeValidator(_wrap(lambda v, f: to_address(v, field=f)))]
PermissionIdField = Annotated[PermissionId, BeforeValidator(_wrap(lambda v, f: to_permission_id(v, field=f)))]
Uint8 = Annotated[int, BeforeValidator(_uint_of(8))]
Uint48 = Annotated[int, BeforeValidator(_uint_of(48))]
Uint64 = Annotated[int, BeforeValidator(_uint_of(64))]
Uint128 = Annotated[int, BeforeValidator(_uint_of(128))]
Uint256 = Annotated[int, BeforeValidator(_uint_of(256))]
#: A ``str`` that UTF-8 can encode (no lone surrogates): what is hashed or ABI-encoded as a Solidity ``string``.
Text = Annotated[str, AfterValidator(_wrap(lambda v, f: to_text(v, field=f)))]


def validation_error(model: str, exc: ValidationError) -> InvalidInputError:
    """Turn pydantic's error into ours, naming the dotted path of the first bad field."""
    first = exc.errors()[0]
    loc = ".".join(to_snake(p) if isinstance(p, str) else str(p) for p in first["loc"]) or model
    field = f"{model}.{loc}"
    if first["type"] == "smartsessions":
        problem, _, fix = first["msg"].partition("|")
        return InvalidInputError(field, problem, fix=fix or None, value=first.get("input"), cause=exc)
    if first["type"] == "missing":
        return InvalidInputError(field, "is required", fix=f"pass `{loc}`", cause=exc)
    if first["type"] == "extra_forbidden":
        return InvalidInputError(field, "is not a known field", fix="remove it or check its spelling", cause=exc)
    return InvalidInputError(field, first["msg"], value=first.get("input"), cause=exc)


class Model(BaseModel):
    """Frozen, snake_case in Python, camelCase in JSON; construction errors are ``InvalidInputError``."""

    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        arbitrary_types_allowed=True,
        extra="forbid",
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise validation_error(type(self).__name__, exc) from exc

    # Tell pydantic this is not a custom __init__: nested models are then validated in one pass (fast, and the error
    # keeps the full path), while direct construction still goes through the wrapper above.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]  # pydantic's marker on a function

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: Any = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        try:
            return super().model_validate(
                obj,
                strict=strict,
                extra=extra,
                from_attributes=from_attributes,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        except ValidationError as exc:
            raise validation_error(cls.__name__, exc) from exc


def parse_by_type(
    params: object,
    fields: Mapping[str, Any],
    models: Mapping[str, type[Model]],
    *,
    accepted: tuple[type, ...] = (),
    what: str,
    model_names: str,
    example: str,
) -> Model:
    """One of ``models`` (by its ``type``) from a model (of ``models`` or ``accepted``), a mapping, or keyword
    ``fields``: the input every builder of the reference's ``{type, ...}`` shape takes (``build_action_policy``,
    ``build_session_action``). ``what`` names the kind (``"action policy"``), ``model_names`` the models
    (``"Build*ActionPolicyParams"``), ``example`` a call that works."""
    if isinstance(params, (*accepted, *models.values())):
        if fields:
            raise InvalidInputError("params", "pass either a params model or keyword fields, not both")
        return cast(Model, params)
    if params is None:
        data: dict[str, Any] = dict(fields)
    elif isinstance(params, Mapping):
        data = {**params, **fields}
    else:
        raise InvalidInputError(
            "params",
            f"expected a {model_names} model or a mapping, got {type(params).__name__}",
            fix=f"call {example}, or pass a model",
        )
    kind = data.get("type")
    model = models.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InvalidInputError(
            "type",
            f"{kind!r} is not {what} type",
            fix="use one of " + ", ".join(repr(t) for t in models),
            value=kind,
        )
    return model.model_validate(data)
