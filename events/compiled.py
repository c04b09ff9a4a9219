"""Marshmallow schemas loaded without marshmallow's per-field machinery, for valid documents.

The wire schemas stay marshmallow schemas: they declare the fields, their checks and their
error messages, and the OpenAPI document is built from them. Loading a valid envelope with
marshmallow costs most of a batch's parsing (issue 16: 160 µs an envelope, two thirds of it
the generic machinery around our fields' own `_deserialize`). `load` runs the same fields'
`_deserialize` and validators straight, and only for documents it can load exactly as
marshmallow would; at the first sign of a problem (a missing or null value, an unknown key,
any field's ValidationError) it hands the document to the schema's own `load`, so every
refusal and its messages are marshmallow's. Schemas with hooks (`validates_schema`,
`pre_load`, ...) or field features the fast path does not reproduce are always loaded by
marshmallow. tests/unit/test_compiled_schemas.py checks the two agree on generated
documents, valid and not.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.utils import is_collection, missing

__all__ = ["compiled", "load"]

Loader = Callable[[Any], Any]


class _Slow(Exception):
    """The document needs marshmallow's own load (it is invalid, or unusual)."""


def load(schema: Schema, data: Any) -> Any:
    """`schema.load(data)`, through the compiled fast path when the document allows it."""
    fast = compiled(schema)
    if fast is not None:
        try:
            return fast(data)
        except (_Slow, ValidationError):
            pass
    return schema.load(data)


@functools.cache
def compiled(schema: Schema) -> Loader | None:
    """The schema's fast loader (raising _Slow or ValidationError where marshmallow would
    refuse or where it cannot tell), or None when the schema is always loaded by marshmallow."""
    if any(schema._hooks.values()) or schema.many or schema.partial or schema.unknown != RAISE:
        return None
    steps = []
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute or name
        if "." in attribute:
            return None
        value_of = _field_loader(field)
        if value_of is None:
            return None
        steps.append((key, attribute, value_of, field.required, field.load_default))
    known = frozenset(key for key, *_ in steps)
    steps_t = tuple(steps)

    def fast(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not known.issuperset(data):
            raise _Slow  # not a plain object, or unknown keys: marshmallow says which
        out: dict[str, Any] = {}
        for key, attribute, value_of, required, default in steps_t:
            value = data.get(key, missing)
            if value is missing:
                if required:
                    raise _Slow
                if default is not missing:
                    out[attribute] = default() if callable(default) else default
                continue
            out[attribute] = value_of(value, key, data)
        return out

    return fast


def _field_loader(field: fields.Field) -> Callable[[Any, str, Any], Any] | None:
    """`field.deserialize` for a present value, or None if the field is not compiled."""
    if field.pre_load or field.post_load or _overrides(field, "deserialize", "_validate",
                                                       "_validate_missing"):
        return None  # a field that does more than `_deserialize` and its validators
    convert: Callable[[Any, str, Any], Any]
    if isinstance(field, fields.Nested):
        nested = field.schema
        plain = not field.many and field.unknown in (None, RAISE)
        inner = compiled(nested) if plain else None
        if inner is None:
            return None

        def convert(value: Any, key: str, data: Any) -> Any:
            return inner(value)
    elif isinstance(field, fields.List):
        item = _field_loader(field.inner)
        if item is None:
            return None

        def convert(value: Any, key: str, data: Any) -> Any:
            if not is_collection(value):
                raise _Slow
            return [item(each, key, data) for each in value]
    elif isinstance(field, (fields.Tuple, fields.Pluck)) or (
            isinstance(field, fields.Mapping) and (field.key_field or field.value_field)):
        return None
    else:
        convert = field._deserialize
    validators = tuple(field.validators)
    allow_none = field.allow_none

    def value_of(value: Any, key: str, data: Any) -> Any:
        if value is None:
            if allow_none:
                return None
            raise _Slow
        output = convert(value, key, data)
        for validator in validators:
            if validator(output) is False:
                raise _Slow
        return output

    return value_of


def _overrides(field: fields.Field, *methods: str) -> bool:
    """Whether the field's class replaces any of marshmallow's `Field` methods named."""
    return any(getattr(type(field), name) is not getattr(fields.Field, name)
               for name in methods)
