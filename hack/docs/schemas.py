"""Describing one JSON Schema node in words: its type, its default, its limits.

The REST reference reads OpenAPI 3.1 schemas (``anyOf`` with ``null``, ``$ref``), the CRD
reference structural OpenAPI v3 schemas (``x-kubernetes-*``); both go through these
functions so a field reads the same on either page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from hack.docs.markdown import code

__all__ = ["Linker", "default_label", "non_null", "notes", "type_label"]

#: Turns a ``$ref`` target's name into Markdown (a link, or just the name).
Linker = Callable[[str], str]

_BOUNDS: Final = (
    ("minLength", "maxLength", "length"),
    ("minItems", "maxItems", "items"),
    ("minimum", "maximum", "value"),
    ("minProperties", "maxProperties", "keys"),
)


def _plain(name: str) -> str:
    return name


def non_null(schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The schema without its ``null`` branch, and whether it had one."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return schema, schema.get("type") == "null"
    rest = [o for o in options if o.get("type") != "null"]
    if len(rest) == 1:
        merged = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        return {**rest[0], **merged}, len(rest) != len(options)
    return schema, len(rest) != len(options)


def type_label(schema: Mapping[str, Any], link: Linker = _plain) -> str:
    """``string``, ``array of Job``, ``integer or string``, ``map of string``, ``any``..."""
    inner, nullable = non_null(schema)
    label = _label(inner, link)
    return f"{label} or null" if nullable else label


def _label(schema: Mapping[str, Any], link: Linker) -> str:
    if "$ref" in schema:
        return link(str(schema["$ref"]).rsplit("/", 1)[-1])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        labels = [_label(o, link) for o in options if o.get("type") != "null"]
        return " or ".join(dict.fromkeys(labels))
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = schema.get("type")
    if kind == "array":
        return "array of " + _label(schema.get("items", {}), link)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if "properties" not in schema and isinstance(extra, Mapping) and extra:
            return "map of " + _label(extra, link)
        return "object"
    if kind is None:
        return "any"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def default_label(schema: Mapping[str, Any]) -> str:
    """The default as inline code, or ``""`` when there is none."""
    if "default" not in schema:
        return ""
    return code(json.dumps(schema["default"], ensure_ascii=False))


def notes(
    schema: Mapping[str, Any],
    *,
    required: bool = False,
    patterns: Mapping[str, str] | None = None,
) -> list[str]:
    """Short sentences for what limits a value: required, enum, bounds, pattern, rules.

    ``patterns`` names well-known regular expressions (the duration grammar) in words, so
    a reader sees "a duration" instead of the same regex on twenty rows."""
    inner = _closed_bounds(non_null(schema)[0])
    found = ["Required."] if required else []
    if "enum" in inner:
        found.append("One of " + ", ".join(code(_text(v)) for v in inner["enum"]) + ".")
    for low_key, high_key, what in _BOUNDS:
        low, high = inner.get(low_key), inner.get(high_key)
        if low is not None or high is not None:
            found.append(_bound(what, low, high, inner))
    if "pattern" in inner:
        pattern = str(inner["pattern"])
        known = (patterns or {}).get(pattern)
        found.append(known if known else f"Pattern {code(pattern)}.")
    if inner.get("x-kubernetes-preserve-unknown-fields") and inner.get("type") != "object":
        found.append("Any JSON value; checked by admission.")
    for rule in inner.get("x-kubernetes-validations", ()):
        found.append(f"Rule: {str(rule['message']).rstrip('.')}.")
    return found


def _closed_bounds(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """OpenAPI 3.1's numeric ``exclusiveMinimum``/``Maximum`` in the 3.0 form (a bound plus
    ``true``), so :func:`_bound` reads one shape."""
    out = dict(schema)
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(exclusive)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[bound], out[exclusive] = value, True
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _bound(what: str, low: Any, high: Any, schema: Mapping[str, Any]) -> str:
    """``Length 1 to 253.``, ``Value ≥ 0.``, ``Value > 0.`` (exclusive bounds in the
    OpenAPI 3.0 form, see :func:`_closed_bounds`)."""
    low_op = ">" if schema.get("exclusiveMinimum") is True else "≥"
    high_op = "<" if schema.get("exclusiveMaximum") is True else "≤"
    if low is not None and high is not None and low_op == "≥" and high_op == "≤":
        return f"{what.capitalize()} {low} to {high}."
    parts = []
    if low is not None:
        parts.append(f"{low_op} {low}")
    if high is not None:
        parts.append(f"{high_op} {high}")
    return f"{what.capitalize()} {' and '.join(parts)}."
