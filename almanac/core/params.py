"""Check a ScheduledJob's ``params`` against its template's JSON Schema.

A template publishes ``paramsSchema`` so that bad params are refused where they enter
(admission, the REST facade: invariant refused-at-the-door) rather than inside a pod hours
later. Each problem becomes an :class:`~almanac.core.errors.InvalidInputError` whose field is the
exact path of the offending parameter (``spec.params.sources[0].application``) and whose
message says how to fix it; all problems are reported at once in an
:class:`~almanac.core.errors.InvalidSpecError`. Pure: no I/O, no remote ``$ref``.

Params are checked on the operator's event loop, so nothing here may run for long:

- every ``pattern`` and ``patternProperties`` key of a schema is vetted
  (:func:`almanac.core.patterns.pattern_problem`: no backreferences, no repeats that can
  backtrack for long) by :func:`pattern_problems`, which admission calls, and again before
  a schema is used (:func:`validate_params`), so a template admitted before the vetting
  existed refuses params with the reason instead of hanging the operator;
- strings searched with an unanchored pattern, and property names matched against
  ``patternProperties``, are limited to :data:`~almanac.core.patterns.MAX_MATCHED`
  characters (a refusal naming the field);
- ``format`` is asserted only for :data:`SAFE_FORMATS`, whose checks are linear in the
  string, whichever optional format libraries are installed (``uri`` checkers use large
  backtracking regexes; unlisted formats are annotations only).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import FormatChecker, validators
from jsonschema import exceptions as schema_errors
from jsonschema.protocols import Validator

from almanac.core.errors import InvalidInputError, InvalidSpecError
from almanac.core.patterns import MAX_MATCHED, anchored, pattern_problem

__all__ = [
    "SAFE_FORMATS",
    "SECRETS_ROOT",
    "SecretUse",
    "check_params_schema",
    "find_secret_refs",
    "params_problems",
    "pattern_problems",
    "validate_params",
]

#: Formats asserted when a schema names them (linear checks; others are annotations).
SAFE_FORMATS: Final = frozenset(
    {"date", "time", "email", "idn-email", "idn-hostname", "hostname", "ipv4", "ipv6"}
    | {"uuid", "regex", "json-pointer", "relative-json-pointer"}
)
#: Keywords whose values hold JSON data, not schemas: patterns there are not patterns.
_DATA_KEYWORDS: Final = frozenset({"enum", "const", "default", "examples"})

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
        if key not in known
        and len(str(key)) <= MAX_MATCHED  # refused on their own (_TooLong)
        and not any(p.search(str(key)) for p in patterns)
    )


class _TooLong(schema_errors.ValidationError):
    """A string or property name too long to be searched with a pattern on the loop."""


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: Any
) -> Iterator[schema_errors.ValidationError]:
    """``pattern``, but a long string is refused before an unanchored search of it."""
    if not validator.is_type(instance, "string"):
        return
    if len(instance) > MAX_MATCHED and not _anchored(pattern):
        yield _TooLong(
            f"is {len(instance):,} characters; a string checked against the pattern "
            f"{pattern!r} may have at most {MAX_MATCHED:,} (a pattern that starts with ^ "
            "has no such limit)"
        )
    elif not re.search(pattern, instance):
        yield schema_errors.ValidationError(f"{instance!r} does not match {pattern!r}")


_Keyword = Callable[[Validator, Any, Any, Any], Iterator[schema_errors.ValidationError]]


def _short_names(keyword: _Keyword) -> _Keyword:
    """A keyword that matches property names against ``patternProperties``, refusing an
    object with a property name too long to search first."""

    def guarded(
        validator: Validator, value: Any, instance: Any, schema: Any
    ) -> Iterator[schema_errors.ValidationError]:
        if validator.is_type(instance, "object"):
            long = next((k for k in instance if len(str(k)) > MAX_MATCHED), None)
            if long is not None:
                yield _TooLong(
                    f"has a property name of {len(str(long)):,} characters; names checked "
                    f"against patternProperties may have at most {MAX_MATCHED:,}"
                )
                return
        yield from keyword(validator, value, instance, schema)

    return guarded


@functools.lru_cache(maxsize=1024)
def _anchored(pattern: str) -> bool:
    return anchored(pattern)


def _problems_of(error: schema_errors.ValidationError, root: str) -> list[InvalidInputError]:
    here = list(error.absolute_path)
    kind = error.validator
    if isinstance(error, _TooLong):
        return [InvalidInputError(error.message, _path(here, root))]
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
    """Refuse a ``paramsSchema`` that is not a valid JSON Schema (of its own draft), or
    that has a pattern that can backtrack for long (:func:`pattern_problems`).

    Raises
    ------
    InvalidSpecError
        The problems, each naming its field under ``field`` and what is wrong.
    """
    _checked_validator(schema, field)


def pattern_problems(
    schema: Mapping[str, Any], field: str = "spec.paramsSchema"
) -> list[InvalidInputError]:
    """Every ``pattern`` and ``patternProperties`` key of ``schema`` that is refused, each
    naming its field (``spec.paramsSchema.properties.url.pattern``) and why.

    Admission calls this beside its meta-schema check; :func:`validate_params` does too,
    before using a schema, for templates admitted before the check existed.
    """
    return list(_pattern_problems(_canonical(schema), field))


def _canonical(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)


@functools.lru_cache(maxsize=512)
def _pattern_problems(schema_json: str, field: str) -> tuple[InvalidInputError, ...]:
    found: list[InvalidInputError] = []
    pending: list[tuple[Any, str]] = [(json.loads(schema_json), field)]
    while pending:
        node, where = pending.pop()
        if isinstance(node, list):
            pending += [(item, f"{where}[{i}]") for i, item in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            here = f"{where}.{key}"
            if key == "pattern" and isinstance(value, str):
                found += _refusal(value, here)
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    found += _refusal(pattern, f"{here}[{pattern!r}]")
            if key not in _DATA_KEYWORDS:
                pending.append((value, here))
    return tuple(sorted(found, key=lambda p: p.field))


def _refusal(pattern: str, field: str) -> list[InvalidInputError]:
    problem = pattern_problem(pattern)
    if problem is None:
        return []
    return [InvalidInputError(f"{problem}; fix the template's paramsSchema", field)]


# The same schema object (a template's, held until the template changes) is checked
# thousands of times in a launch burst: it is found by identity before it is serialised.
# Each entry keeps its schema alive, so an id is never reused while it is cached.
_BY_IDENTITY: dict[int, tuple[Mapping[str, Any], Validator]] = {}
_BY_IDENTITY_MAX = 512


def _checked_validator(schema: Mapping[str, Any], field: str = "spec.paramsSchema") -> Validator:
    known = _BY_IDENTITY.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    canonical = _canonical(schema)
    try:
        validator = _validator(canonical)
    except schema_errors.SchemaError as exc:
        where = _path(exc.absolute_path, field)
        raise InvalidSpecError(
            [InvalidInputError(f"is not a valid JSON Schema: {exc.message}", where)]
        ) from None
    unsafe = _pattern_problems(canonical, field)
    if unsafe:  # not cached by identity: every use of an unsafe schema is refused
        raise InvalidSpecError(list(unsafe))
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
    validator: Validator = _bounded(cls)(schema, format_checker=_FORMATS)
    return validator


_FORMATS: Final = FormatChecker(formats=sorted(SAFE_FORMATS & set(FormatChecker.checkers)))


@functools.cache
def _bounded(cls: type[Validator]) -> type[Validator]:
    """``cls`` with the keywords that search patterns bounded (see the module docstring)."""
    keywords: dict[str, _Keyword] = {"pattern": _pattern}
    for name in ("patternProperties", "additionalProperties", "unevaluatedProperties"):
        if name in cls.VALIDATORS:
            keywords[name] = _short_names(cls.VALIDATORS[name])
    bounded: type[Validator] = validators.extend(cls, keywords)  # type: ignore[no-untyped-call]
    return bounded


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
