"""Event triggers: a spec's triggers compiled once, and the runs an event plans.

:func:`compile_triggers` compiles ``spec.triggers`` once per spec generation and reports
every problem at once, each naming its field; CEL itself is compiled by
:mod:`almanac.core.expressions`, and events are evaluated by :mod:`almanac.core.events`.

Exactly once from at-least-once delivery rests on the RunRequest names of
:mod:`almanac.core.requestnames`: a pure function of (ScheduledJob uid, trigger name,
event identity, step). A redelivered event, or the same event seen by a new leader, yields
the same names, and creating them again fails with AlreadyExists instead of running twice.
The identity is the event's ``id`` (fallback ``topic/partition/offset``), see
:func:`event_identity`.

Everything here is pure: no I/O, no clock, no Kafka or Kubernetes client.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, ParamSpec, TypeVar

import cel

from almanac.core.durations import format_duration, parse_duration
from almanac.core.errors import InvalidInputError, InvalidSpecError
from almanac.core.events import (
    MAX_PARAMS_BYTES,
    NAMESPACE_HEADER,
    CompiledTrigger,
    EventError,
    KafkaMatcher,
    after_event,
    after_matches,
    event_identity,
    event_key,
    map_each,
    map_params,
    matches,
    parse_event,
)
from almanac.core.expressions import EVENT_ONLY, VARIABLES, compile_expression
from almanac.core.kafkanames import KafkaNames, check_subscription
from almanac.core.models import KafkaSource, Trigger
from almanac.core.requestnames import request_name
from almanac.core.zones import require_aware

__all__ = [
    "MAX_PARAMS_BYTES",
    "NAMESPACE_HEADER",
    "VARIABLES",
    "CompiledTrigger",
    "EventError",
    "KafkaMatcher",
    "PlannedRun",
    "after_event",
    "after_matches",
    "assemble_runs",
    "compile_expression",
    "compile_triggers",
    "event_identity",
    "event_key",
    "find_chain_cycle",
    "map_each",
    "map_params",
    "matches",
    "parse_event",
    "plan_runs",
    "validate_topic",
]

_TOPIC: Final = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_LABEL_VALUE: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")

_P = ParamSpec("_P")
_T = TypeVar("_T")


# --- compiling ------------------------------------------------------------------------------


def validate_topic(topic: str, field: str) -> str:
    """Return ``topic`` if Kafka accepts it as a topic name, else raise naming ``field``."""
    if _TOPIC.fullmatch(topic) is None or topic in {".", ".."}:
        raise InvalidInputError(
            f"{topic!r} is not a Kafka topic name; use 1-249 letters, digits, '.', '_' and "
            "'-' (but not '.' or '..' alone)",
            field,
        )
    return topic


def _attempt(
    problems: list[InvalidInputError], check: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
) -> _T | None:
    """Run ``check``, collecting its error instead of stopping at the first one."""
    try:
        return check(*args, **kwargs)
    except InvalidSpecError as exc:
        problems.extend(exc.problems)
    except InvalidInputError as exc:
        problems.append(exc)
    return None


def _expression(
    problems: list[InvalidInputError], source: str | None, field: str, variables: frozenset[str]
) -> cel.Program | None:
    if source is None:
        return None
    return _attempt(problems, compile_expression, source, field, variables=variables)


def _matcher(
    problems: list[InvalidInputError], kafka: KafkaSource, field: str, names: KafkaNames | None
) -> KafkaMatcher:
    if _attempt(problems, validate_topic, kafka.topic, f"{field}.topic") and names is not None:
        _attempt(problems, check_subscription, kafka.topic, f"{field}.topic", names)
    return KafkaMatcher(
        topic=kafka.topic,
        filter=_expression(problems, kafka.filter, f"{field}.filter", EVENT_ONLY),
        key=_expression(problems, kafka.key, f"{field}.key", EVENT_ONLY),
        field=field,
    )


def _delays(
    problems: list[InvalidInputError], trigger: Trigger, field: str
) -> tuple[timedelta, ...]:
    if trigger.sequence is None:
        if trigger.delay is None:
            return (timedelta(0),)
        delay = _attempt(problems, parse_duration, trigger.delay, f"{field}.delay", allow_zero=True)
        return (delay or timedelta(0),)
    if not trigger.sequence:
        problems.append(
            InvalidInputError(
                "sequence is empty; list one delay per run, e.g. [0s, 1d]", f"{field}.sequence"
            )
        )
    delays: list[timedelta] = []
    for step, text in enumerate(trigger.sequence):
        where = f"{field}.sequence[{step}]"
        delay = _attempt(problems, parse_duration, text, where, allow_zero=True)
        if delay is not None and delays and delay <= delays[-1]:
            problems.append(
                InvalidInputError(
                    f"{text!r} is not after the previous step ({format_duration(delays[-1])}); "
                    "list the delays in increasing order, e.g. [0s, 1d, 3d]",
                    where,
                )
            )
        delays.append(delay if delay is not None else timedelta(0))
    return tuple(delays)


def _cancel_problems(trigger: Trigger, field: str) -> list[InvalidInputError]:
    """cancelOn finds pending runs by key, so both sides need one; chains have no key."""
    if not trigger.cancel_on:
        return []
    if trigger.after is not None:
        return [
            InvalidInputError(
                "cancelOn only applies to kafka triggers (it matches pending runs by the "
                "event key); remove cancelOn or trigger on kafka",
                f"{field}.cancelOn",
            )
        ]
    problems = []
    if trigger.kafka is not None and trigger.kafka.key is None:
        problems.append(
            InvalidInputError(
                "cancelOn needs a key on the trigger's kafka source to find the pending runs "
                "to cancel; add kafka.key, e.g. event.ticket",
                f"{field}.kafka.key",
            )
        )
    for index, cancel in enumerate(trigger.cancel_on):
        if cancel.kafka.key is None:
            problems.append(
                InvalidInputError(
                    "a cancelOn source needs a key, compared with the trigger's key; add "
                    "key, e.g. event.ticket",
                    f"{field}.cancelOn[{index}].kafka.key",
                )
            )
    return problems


def _compile_trigger(
    problems: list[InvalidInputError],
    index: int,
    trigger: Trigger,
    field: str,
    names: KafkaNames | None,
) -> CompiledTrigger:
    name = trigger.name if trigger.name is not None else f"trigger-{index}"
    if _LABEL_VALUE.fullmatch(name) is None:
        problems.append(
            InvalidInputError(
                f"{name!r} is not a valid trigger name (it is used as a label value); use at "
                "most 63 letters, digits, '-', '_' and '.', starting and ending with a letter "
                "or digit",
                f"{field}.name",
            )
        )
    # Problems are collected in the order the fields appear in the spec.
    source = _matcher(problems, trigger.kafka, f"{field}.kafka", names) if trigger.kafka else None
    delays = _delays(problems, trigger, field)
    cancel = tuple(
        _matcher(problems, c.kafka, f"{field}.cancelOn[{i}].kafka", names)
        for i, c in enumerate(trigger.cancel_on or ())
    )
    problems.extend(_cancel_problems(trigger, field))
    params = {
        param: _expression(problems, text, f"{field}.params.{param}", VARIABLES)
        for param, text in (trigger.params or {}).items()
    }
    return CompiledTrigger(
        index=index,
        name=name,
        field=field,
        source=source,
        after=(trigger.after.scheduled_job, trigger.after.result) if trigger.after else None,
        delays=delays,
        cancel=cancel,
        params=MappingProxyType({k: p for k, p in params.items() if p is not None}),
    )


def compile_triggers(
    triggers: Sequence[Trigger] | None,
    field: str = "spec.triggers",
    *,
    names: KafkaNames | None = None,
) -> tuple[CompiledTrigger, ...]:
    """Compile ``spec.triggers`` once per spec generation, reporting every problem at once.

    ``after`` cycles need the other ScheduledJobs and are found by
    :func:`find_chain_cycle`. With ``names``, Kafka sources on Almanac's own topics
    (except the trigger topic) are refused, as admission does; the operator compiles
    without them (objects admitted earlier keep compiling) and stops reading those topics
    at run time instead.

    Raises
    ------
    InvalidSpecError
        Each problem names its field (``spec.triggers[0].kafka.filter``,
        ``spec.triggers[1].params.ticket``, ``spec.triggers[0].cancelOn[0].kafka.key``,
        ``spec.triggers[0].kafka.topic`` for a reserved topic).
    """
    problems: list[InvalidInputError] = []
    compiled = tuple(
        _compile_trigger(problems, index, trigger, f"{field}[{index}]", names)
        for index, trigger in enumerate(triggers or ())
    )
    first: dict[str, int] = {}
    for trigger in compiled:
        other = first.setdefault(trigger.name, trigger.index)
        if other != trigger.index:
            problems.append(
                InvalidInputError(
                    f"trigger name {trigger.name!r} is also used by {field}[{other}]; give "
                    "each trigger a unique name",
                    f"{trigger.field}.name",
                )
            )
    if problems:
        raise InvalidSpecError(problems)
    return compiled


# --- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRun:
    """One RunRequest to create for an accepted event: when, with what, under which name."""

    step: int
    due: datetime
    params: dict[str, Any]
    key: str | None
    name: str


def plan_runs(
    trigger: CompiledTrigger,
    *,
    scheduled_job: str,
    uid: str,
    event_id: str,
    event: Mapping[str, Any],
    received_at: datetime,
) -> list[PlannedRun]:
    """The runs an accepted event (already :func:`matches`) asks for, one per delay.

    Due times count from ``received_at``; the same event gives the same names every time.
    """
    key = event_key(trigger.source, event) if trigger.source is not None else None
    params = [map_params(trigger, event, step) for step in range(len(trigger.delays))]
    return assemble_runs(
        trigger,
        key=key,
        params=params,
        scheduled_job=scheduled_job,
        uid=uid,
        event_id=event_id,
        received_at=received_at,
    )


def assemble_runs(
    trigger: CompiledTrigger,
    *,
    key: str | None,
    params: Sequence[dict[str, Any]],
    scheduled_job: str,
    uid: str,
    event_id: str,
    received_at: datetime,
) -> list[PlannedRun]:
    """:func:`plan_runs` once the expressions were evaluated (``params`` per step, e.g. by
    the operator's evaluator process): due times and names need no CEL."""
    received = require_aware(received_at, "received_at")
    if len(params) != len(trigger.delays):
        raise InvalidInputError(
            f"{len(params)} params for {len(trigger.delays)} steps", f"{trigger.field}.params"
        )
    return [
        PlannedRun(
            step=step,
            due=received + delay,
            params=params[step],
            key=key,
            name=request_name(scheduled_job, uid, trigger.name, event_id, step),
        )
        for step, delay in enumerate(trigger.delays)
    ]


# --- chains ---------------------------------------------------------------------------------


def find_chain_cycle(edges: Mapping[str, Iterable[str]], start: str) -> list[str] | None:
    """A shortest cycle of ``after`` triggers through ``start``, or ``None``.

    ``edges[b]`` lists the ScheduledJobs that ``b`` runs after; the result reads along
    them: ``["a", "b", "a"]`` means a runs after b, which runs after a. Cycles elsewhere in
    the graph are not reported here (they are refused when one of their members is admitted).
    """
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for upstream in sorted(set(edges.get(node, ()))):
            if upstream == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if upstream not in parent:
                parent[upstream] = node
                queue.append(upstream)
    return None
