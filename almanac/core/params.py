"""Check a ScheduledJob's ``params`` against its template's JSON Schema.

A template publishes ``paramsSchema`` so that bad params are refused where they enter
(admission, the REST facade: invariant 5) rather than inside a pod hours later. Each
problem becomes an :class:`~almanac.core.errors.InvalidInputError` whose field is the
exact path of the offending parameter (``spec.params.sources[0].application``) and whose
message says how to fix it; all problems are reported at once in an
:class:`~almanac.core.errors.InvalidSpecError`. Pure: no I/O, no remote ``$ref``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import exceptions as schema_errors
from jsonschema import validators
from jsonschema.protocols import Validator

from almanac.core.errors import InvalidInputError, InvalidSpecError

__all__ = [
    "SECRETS_ROOT",
    "SecretUse",
    "check_params_schema",
    "find_secret_refs",
    "params_problems",
    "validate_params",
]

#: Where the run pod finds a referenced Secret key: ``<root>/<secret>/<key>`` (read-only).
SECRETS_ROOT: Final = "/var/run/almanac/secrets"
_MAX_PROBLEMS: Final = 20
_MAX_VALUE_TEXT: Final = 60
_JSON_TYPES: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _path(parts: Iterable[Any], root: str) -> str:
    text = root
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_TEXT else text[: _MAX_VALUE_TEXT - 1] + "…"


def _type_name(value: Any) -> str:
    for name, test in (
        ("null", value is None),
        ("boolean", isinstance(value, bool)),
        ("integer", isinstance(value, int)),
        ("number", isinstance(value, float)),
        ("string", isinstance(value, str)),
        ("array", isinstance(value, list)),
        ("object", isinstance(value, dict)),
    ):
        if test:
            return name
    return type(value).__name__


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_JSON_TYPES.get(n, n) for n in names)


def _extras(error: schema_errors.ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    return sorted(
        str(key)
        for key in instance
        if key not in known and not any(p.search(str(key)) for p in patterns)
    )


def _problems_of(error: schema_errors.ValidationError, root: str) -> list[InvalidInputError]:
    here = list(error.absolute_path)
    kind = error.validator
    value: Any = error.validator_value
    if kind == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        missing = [name for name in value if name not in instance]
        return [
            InvalidInputError("is required by the template; add it", _path([*here, name], root))
            for name in missing
        ]
    if kind == "additionalProperties" and value is False:
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        accepted = ", ".join(sorted(schema.get("properties", {}))) or "none"
        return [
            InvalidInputError(
                f"is not a parameter of this template; remove it or fix its spelling "
                f"(accepted: {accepted})",
                _path([*here, name], root),
            )
            for name in _extras(error)
        ]
    field = _path(here, root)
    if kind == "type":
        message = f"must be {_expected(value)}, not {_type_name(error.instance)}"
    elif kind == "enum":
        message = f"{_short(error.instance)} is not allowed; use one of " + ", ".join(
            _short(v) for v in value
        )
    elif kind == "const":
        message = f"must be {_short(value)}"
    elif kind == "pattern":
        message = f"{_short(error.instance)} does not match the pattern {value!r}"
    elif kind in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        message = f"must be {bound[kind]} {value}, got {_short(error.instance)}"
    elif kind in {"minLength", "maxLength", "minItems", "maxItems"}:
        what = "characters" if kind.endswith("Length") else "items"
        side = "at least" if kind.startswith("min") else "at most"
        message = f"must have {side} {value} {what}"
    elif kind in {"oneOf", "anyOf"}:
        message = "matches none of the allowed shapes; see the template's paramsSchema"
    else:
        message = f"{error.message}; see the template's paramsSchema"
    return [InvalidInputError(message, field)]


def check_params_schema(schema: Mapping[str, Any], field: str = "spec.paramsSchema") -> None:
    """Refuse a ``paramsSchema`` that is not a valid JSON Schema (of its own draft).

    Raises
    ------
    InvalidSpecError
        One problem naming ``field`` and what is wrong with the schema.
    """
    _checked_validator(schema, field)


# The same schema object (a template's, held until the template changes) is checked
# thousands of times in a launch burst: it is found by identity before it is serialised.
# Each entry keeps its schema alive, so an id is never reused while it is cached.
_BY_IDENTITY: dict[int, tuple[Mapping[str, Any], Validator]] = {}
_BY_IDENTITY_MAX = 512


def _checked_validator(schema: Mapping[str, Any], field: str = "spec.paramsSchema") -> Validator:
    known = _BY_IDENTITY.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    try:
        validator = _validator(
            json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)
        )
    except schema_errors.SchemaError as exc:
        where = _path(exc.absolute_path, field)
        raise InvalidSpecError(
            [InvalidInputError(f"is not a valid JSON Schema: {exc.message}", where)]
        ) from None
    if len(_BY_IDENTITY) >= _BY_IDENTITY_MAX:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(schema)] = (schema, validator)
    return validator


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str) -> Validator:
    """The checked, compiled validator of one schema. Memoised: checking a schema against
    its meta-schema was most of the operator's CPU when it re-checked params on every
    pass (the same few template schemas, thousands of times a minute)."""
    schema = json.loads(schema_json)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    cls.check_schema(schema)
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def params_problems(
    params: Mapping[str, Any], schema: Mapping[str, Any], field: str = "spec.params"
) -> list[InvalidInputError]:
    """Every way ``params`` violates ``schema`` (at most 20), in path order."""
    validator = _checked_validator(schema)
    errors = sorted(validator.iter_errors(dict(params)), key=lambda e: [str(p) for p in e.path])
    problems: list[InvalidInputError] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        for problem in _problems_of(error, field):
            key = (problem.field, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems[:_MAX_PROBLEMS]


def validate_params(
    params: Mapping[str, Any],
    schema: Mapping[str, Any] | None,
    field: str = "spec.params",
) -> None:
    """Refuse ``params`` that do not satisfy ``schema`` (no schema: anything goes).

    Raises
    ------
    InvalidSpecError
        All problems, each naming its parameter path (``spec.params.url``) and the fix.
    """
    if schema is None:
        return
    problems = params_problems(params, schema, field)
    if problems:
        raise InvalidSpecError(problems)


@dataclass(frozen=True, order=True)
class SecretUse:
    """One ``{"secretKeyRef": {"name", "key"}}`` value inside params, and where it is."""

    name: str
    key: str
    field: str


def find_secret_refs(params: Any, field: str = "spec.params") -> list[SecretUse]:
    """Every Secret key referenced by ``params``, sorted, so the operator can mount them.

    A reference is a mapping whose only key is ``secretKeyRef`` holding string ``name``
    and ``key``; the executor reads it from ``SECRETS_ROOT/<name>/<key>``.
    """
    found: list[SecretUse] = []
    if isinstance(params, Mapping):
        ref = params.get("secretKeyRef") if set(params) == {"secretKeyRef"} else None
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
            if isinstance(ref.get("key"), str):
                found.append(SecretUse(ref["name"], ref["key"], field))
            return found
        for key, value in params.items():
            found += find_secret_refs(value, f"{field}.{key}")
    elif isinstance(params, list):
        for index, value in enumerate(params):
            found += find_secret_refs(value, f"{field}[{index}]")
    return sorted(found)
