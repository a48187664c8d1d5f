"""Params of one payload, checked by its pydantic model, errors named ``params.<path>``.

Admission already checks params against the template's JSON Schema; the executor checks
again with the model it actually uses, because a custom template may publish a looser
schema and an old run may outlive a template edit. Unknown fields are refused (a typo
must fail loudly, not be ignored).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from almanac.core.base import SpecModel
from almanac.executor.errors import InvalidParamsError

__all__ = ["ParamsModel", "format_path", "parse_params"]

M = TypeVar("M", bound="ParamsModel")


class ParamsModel(SpecModel):
    """Base of payload params: camelCase keys, unknown keys refused, frozen."""


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


def _fix(error: Mapping[str, Any], accepted: Sequence[str]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required; add it"
    if kind == "extra_forbidden":
        hint = f" (accepted: {', '.join(accepted)})" if accepted else ""
        return f"unknown field; remove it or fix its spelling{hint}"
    return str(error["msg"])


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
        accepted = sorted(f.alias or n for n, f in model.model_fields.items())
        problems: dict[str, list[str]] = {}
        for error in exc.errors():
            path = _real_path(error["loc"], raw, error["type"] == "missing")
            top = accepted if len(path) == 1 else []
            message = _fix(error, top)
            messages = problems.setdefault(format_path(path), [])
            if message not in messages:
                messages.append(message)
        # A union (text or secret reference) fails once per alternative; when a deeper
        # path explains the problem, the shallow "not a string" adds only noise.
        deepest = [
            field
            for field in problems
            if not any(other.startswith((field + ".", field + "[")) for other in problems)
        ]
        raise InvalidParamsError(
            [(field, " or ".join(problems[field])) for field in deepest]
        ) from None
