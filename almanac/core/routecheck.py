"""One trigger route evaluated on one event, as data that can cross a process boundary.

The trigger consumer asks one question per (route, event): does the source's ``filter``
accept it, what is its ``key``, and (for a run) what does each step's ``params`` mapping
give. :func:`evaluate_check` answers it with a :class:`Verdict`; nothing here raises for a
bad event, every failure is in the verdict, naming the field.

Why data and JSON: the operator evaluates in separate processes it can kill at a deadline
(:mod:`almanac.operator.evaluation`; the CEL library holds the GIL and has no cost limit,
see :mod:`almanac.core.celbounds`). A :class:`RouteCheck` travels as its expressions'
source text (``to_wire``) and is recompiled there from the compile cache (``from_wire``);
the :class:`Verdict` comes back as plain JSON. Due times and request names need no CEL, so
the operator computes them itself (:func:`almanac.core.triggers.assemble_runs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, cast

import cel

from almanac.core.events import (
    CompiledTrigger,
    EventError,
    KafkaMatcher,
    event_key,
    map_each,
    matches,
)
from almanac.core.expressions import program_of

__all__ = ["Role", "RouteCheck", "Verdict", "check_of", "evaluate_check"]

Role = Literal["start", "cancel", "after"]
_ROLES: Final = ("start", "cancel", "after")


@dataclass(frozen=True)
class RouteCheck:
    """What evaluating one route on an event needs.

    Attributes
    ----------
    role
        ``start`` (a Kafka source that starts runs), ``cancel`` (a ``cancelOn`` source) or
        ``after`` (a chain: no filter, the event is the upstream run).
    matcher
        The Kafka source (``start`` and ``cancel``).
    params, params_field, steps
        The trigger's param programs, its path (``spec.triggers[0]``) and how many steps
        it maps (``start`` and ``after``).
    """

    role: Role
    matcher: KafkaMatcher | None = None
    params: Mapping[str, cel.Program] = field(default_factory=lambda: MappingProxyType({}))
    params_field: str = ""
    steps: int = 0

    def to_wire(self) -> dict[str, Any]:
        """JSON for the evaluator process: the expressions as source text."""
        matcher = self.matcher
        return {
            "role": self.role,
            "matcher": None
            if matcher is None
            else {
                "topic": matcher.topic,
                "field": matcher.field,
                "filter": matcher.filter.source if matcher.filter is not None else None,
                "key": matcher.key.source if matcher.key is not None else None,
            },
            "params": {name: program.source for name, program in self.params.items()},
            "paramsField": self.params_field,
            "steps": self.steps,
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> RouteCheck:
        """The check :meth:`to_wire` described (programs from the compile cache).

        Raises
        ------
        ValueError
            Not a check this module wrote.
        """
        if wire.get("role") not in _ROLES:
            raise ValueError(f"unknown role {wire.get('role')!r}")
        found = wire.get("matcher")
        matcher = None
        if isinstance(found, Mapping):
            matcher = KafkaMatcher(
                topic=str(found["topic"]),
                filter=program_of(found["filter"]) if found.get("filter") else None,
                key=program_of(found["key"]) if found.get("key") else None,
                field=str(found["field"]),
            )
        return cls(
            role=cast(Role, wire["role"]),
            matcher=matcher,
            params=MappingProxyType({n: program_of(s) for n, s in wire["params"].items()}),
            params_field=str(wire["paramsField"]),
            steps=int(wire["steps"]),
        )


def check_of(role: Role, matcher: KafkaMatcher | None, trigger: CompiledTrigger) -> RouteCheck:
    """The check of one route: ``matcher`` is the trigger's source, one of its ``cancelOn``
    sources, or ``None`` for an ``after`` chain."""
    if role == "cancel":
        return RouteCheck(role, matcher)
    return RouteCheck(role, matcher, trigger.params, trigger.field, len(trigger.delays))


@dataclass(frozen=True)
class Verdict:
    """The answer for one route: ``matched``, the ``key`` and one params mapping per step;
    or ``error`` (a message) naming ``field`` when an expression failed on the event."""

    matched: bool
    key: str | None = None
    params: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    field: str = ""

    @classmethod
    def failed(cls, message: str, field: str) -> Verdict:
        return cls(matched=False, error=message, field=field)

    @property
    def failure(self) -> EventError | None:
        """The failure as the error the rest of the core raises, if there was one."""
        return EventError(self.error, self.field) if self.error is not None else None

    def to_wire(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "key": self.key,
            "params": list(self.params),
            "error": self.error,
            "field": self.field,
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Verdict:
        return cls(
            matched=bool(wire["matched"]),
            key=wire.get("key"),
            params=tuple(wire.get("params") or ()),
            error=wire.get("error"),
            field=str(wire.get("field") or ""),
        )


def evaluate_check(check: RouteCheck, event: Mapping[str, Any]) -> Verdict:
    """Evaluate one route on one event; an expression failing on it is a failed verdict.

    A ``start`` or ``cancel`` source that does not match gives ``matched=False`` and
    evaluates nothing more; a ``cancel`` evaluates no params.
    """
    try:
        if check.matcher is not None and not matches(check.matcher, event):
            return Verdict(matched=False)
        key = event_key(check.matcher, event) if check.matcher is not None else None
        if check.role == "cancel":
            return Verdict(matched=True, key=key)
        params = tuple(
            map_each(check.params, check.params_field, event, step) for step in range(check.steps)
        )
    except EventError as exc:
        return Verdict.failed(exc.message, exc.field)
    return Verdict(matched=True, key=key, params=params)
