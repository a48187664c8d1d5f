"""Params of one payload, checked by its pydantic model, errors named ``params.<path>``.

Admission already checks params against the template's JSON Schema; the executor checks
again with the model it actually uses, because a custom template may publish a looser
schema and an old run may outlive a template edit. Unknown fields are refused (a typo
must fail loudly, not be ignored).

pydantic's own sentences ("Input should be a valid string") say what is wrong but not
what to write instead, and a union reports each alternative separately; so every error
is rewritten here as ``must be <what is accepted>, got <what was given>``. Only the JSON
kind of a wrong value is echoed (never the value: someone may have pasted a password
where a ``secretKeyRef`` belongs), except for enumerations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar, get_args

from pydantic import ValidationError

from almanac.core.base import Duration, SpecModel
from almanac.executor.errors import InvalidParamsError

__all__ = ["SECRET_REF_SHAPE", "ParamError", "ParamsModel", "format_path", "parse_params"]

M = TypeVar("M", bound="ParamsModel")

SECRET_REF_SHAPE: Final = '{"secretKeyRef": {"name": "<secret>", "key": "<key>"}}'
_EXPECTED: Final = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
}
_DURATION_MARKS: Final = get_args(Duration)[1:]
_MODEL_TYPES: Final = frozenset({"model_type", "model_attributes_type"})
_REWORDED: Final = (
    ("Input should be", "must be"),
    ("String should", "must"),
    ("List should", "must"),
    ("Dictionary should", "must"),
    ("Value should", "must"),
)
_ECHO_LIMIT: Final = 64


class ParamsModel(SpecModel):
    """Base of payload params: camelCase keys, unknown keys refused, frozen."""


class ParamError(ValueError):
    """A rule of a params model broken at ``field`` (a camelCase path below ``params``).

    Raised from a model validator, where pydantic itself would only blame ``params``.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def format_path(parts: Sequence[str | int], root: str = "params") -> str:
    """``("headers", "X-Token")`` → ``params.headers.X-Token``; ints become ``[i]``."""
    text = root
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _real_path(loc: Sequence[str | int], data: Any, missing: bool) -> list[str | int]:
    # pydantic inserts union member tags ("str", "SecretRef") into ``loc``; keep only the
    # steps that exist in the input, plus the final key of a "missing" error.
    path: list[str | int] = []
    node = data
    for index, step in enumerate(loc):
        present = (isinstance(node, Mapping) and isinstance(step, str) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if present:
            path.append(step)
            node = node[step]
        elif missing and index == len(loc) - 1 and isinstance(step, str):
            path.append(step)
    return path


def _kind(value: Any) -> str:
    """The JSON kind of ``value`` (``a string``, ``null`` ...), never the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _duration_fields(model: type[ParamsModel]) -> frozenset[str]:
    """Top-level params typed :data:`~almanac.core.base.Duration` (by alias)."""
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if any(mark is known for mark in field.metadata for known in _DURATION_MARKS)
    )


def _expected(error: Mapping[str, Any], duration: bool) -> str | None:
    """What a type error wanted, in words; ``None`` for errors about the value itself."""
    kind = error["type"]
    if kind == "string_type" and duration:
        return 'a duration such as "30s", "5m" or "1h30m"'
    if kind in _MODEL_TYPES:
        name = (error.get("ctx") or {}).get("class_name")
        return f"a Secret reference {SECRET_REF_SHAPE}" if name == "SecretRef" else "an object"
    return _EXPECTED.get(kind)


def _reword(message: str) -> str:
    for old, new in _REWORDED:
        if message.startswith(old):
            return new + message[len(old) :]
    return message


def _message(error: Mapping[str, Any], accepted: Sequence[str]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required; add it"
    if kind == "extra_forbidden":
        hint = f" (accepted: {', '.join(accepted)})" if accepted else ""
        return f"unknown field; remove it or fix its spelling{hint}"
    if kind == "literal_error":
        given = repr(error["input"])
        given = given if len(given) <= _ECHO_LIMIT else given[:_ECHO_LIMIT] + "…"
        return f"must be one of {ctx.get('expected')}, got {given}"
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    return _reword(str(error["msg"]))


def _problems(
    model: type[ParamsModel], raw: Mapping[str, Any], exc: ValidationError
) -> dict[str, list[str]]:
    accepted = sorted(f.alias or n for n, f in model.model_fields.items())
    durations = _duration_fields(model)
    expected: dict[str, list[str]] = {}
    given: dict[str, Any] = {}
    other: dict[str, list[str]] = {}
    for error in exc.errors():
        path = _real_path(error["loc"], raw, error["type"] == "missing")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ParamError):
            path = [*path, *cause.field.split(".")]
        field = format_path(path)
        wanted = _expected(error, len(path) == 1 and path[0] in durations)
        if wanted is not None:
            if wanted not in expected.setdefault(field, []):
                expected[field].append(wanted)
            given[field] = error["input"]
            continue
        message = _message(error, accepted if len(path) == 1 else [])
        if message not in other.setdefault(field, []):
            other[field].append(message)
    problems: dict[str, list[str]] = {}
    for field, alternatives in expected.items():
        text = f"must be {' or '.join(alternatives)}, got {_kind(given[field])}"
        if any(a.startswith("a Secret reference") for a in alternatives) and isinstance(
            given[field], str
        ):
            text += "; never write a secret value in params: store it in a Secret, reference it"
        problems[field] = [text]
    for field, messages in other.items():
        problems.setdefault(field, []).extend(messages)
    return problems


def parse_params(model: type[M], raw: Mapping[str, Any]) -> M:
    """Validate ``raw`` with ``model``.

    Raises
    ------
    InvalidParamsError
        One problem per field (union alternatives merged), each with a fix.
    """
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = _problems(model, raw, exc)
        # A union (text or secret reference) fails once per alternative; when a deeper
        # path explains the problem, the shallow "not a string" adds only noise.
        deepest = [
            field
            for field in problems
            if not any(other.startswith((field + ".", field + "[")) for other in problems)
        ]
        raise InvalidParamsError(
            [(field, "; ".join(problems[field])) for field in deepest]
        ) from None
