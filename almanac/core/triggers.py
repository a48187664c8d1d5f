"""Event triggers: CEL expressions compiled once, evaluated purely, and durable request names.

A trigger's ``filter``, ``key`` and ``params`` are CEL over ``event`` (and ``step`` for
params). They are compiled once per spec by :func:`compile_triggers`, so a bad expression is
refused at admission with its field and ``line:column`` instead of failing on every event,
and the per-event path only evaluates ready programs (compiled programs are also cached by
source text, so replicas and re-reads of an unchanged spec do not compile again).

Exactly once from at-least-once delivery rests on :func:`request_name`: a RunRequest's name
is a pure function of (ScheduledJob uid, trigger name, event identity, step). A redelivered
event, or the same event seen by a new leader, yields the same names, and creating them
again fails with AlreadyExists instead of running twice. The identity is the event's ``id``
(fallback ``topic/partition/offset``), see :func:`event_identity`.

Everything here is pure: no I/O, no clock, no Kafka or Kubernetes client. Evaluation errors
become :class:`EventError`, naming the trigger field that failed and how to fix it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal, ParamSpec, TypeVar

import cel

from almanac.core.durations import format_duration, parse_duration
from almanac.core.errors import InvalidDurationError, InvalidInputError, InvalidSpecError
from almanac.core.models import KafkaSource, Trigger
from almanac.core.naming import MAX_RUN_NAME, rfc3339_utc, validate_object_name
from almanac.core.status import RunPhase
from almanac.core.zones import require_aware

__all__ = [
    "VARIABLES",
    "CompiledTrigger",
    "EventError",
    "KafkaMatcher",
    "PlannedRun",
    "after_event",
    "after_matches",
    "compile_expression",
    "compile_triggers",
    "event_identity",
    "event_key",
    "find_chain_cycle",
    "map_params",
    "matches",
    "parse_event",
    "plan_runs",
    "request_name",
    "validate_topic",
]

#: Variables a trigger expression may use: the event, and the sequence step (params only).
VARIABLES: Final = frozenset({"event", "step"})
_EVENT_ONLY: Final = frozenset({"event"})
# Type denotations (``type(x) == int``) and the ``optional`` namespace are reported as
# variables by the library; other namespaces (``math``, ``strings``) it does not implement.
_BUILTIN_NAMES: Final = frozenset(
    {"bool", "bytes", "double", "int", "uint", "string", "list", "map", "null_type", "type"}
    | {"optional"}
)
_MACROS: Final = "all|exists|exists_one|map|filter"
_POSITION: Final = re.compile(r"<input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)")
_EXPECTING: Final = re.compile(r"\s*expecting \{.*$")
_TOPIC: Final = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_LABEL_VALUE: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_EXAMPLE: Final = 'e.g. event.type == "ticket.opened"'
#: Bounds of RunRequest ``spec.source.id`` and ``spec.key`` (kept in step with runrequests).
_MAX_ID: Final = 1024
_MAX_KEY: Final = 1024
_HASH_LEN: Final = 10
_MAX_STEP: Final = 999_999
_AFTER_PHASES: Final[Mapping[str, frozenset[str]]] = {
    "Succeeded": frozenset({RunPhase.SUCCEEDED}),
    "Failed": frozenset({RunPhase.FAILED}),
    "Any": frozenset({RunPhase.SUCCEEDED, RunPhase.FAILED}),
}

_P = ParamSpec("_P")
_T = TypeVar("_T")


class EventError(InvalidInputError):
    """An event that cannot be used: not a JSON object, or an expression failed on it."""

    code: ClassVar[str] = "invalid_event"


# --- compiling ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> cel.Program:
    return cel.compile(source)


def _position(source: str, index: int) -> str:
    line = source.count("\n", 0, index) + 1
    column = index - source.rfind("\n", 0, index)
    return f"{line}:{column}"


def _syntax_message(source: str, error: ValueError) -> str:
    if not source.strip():
        return f"the expression is empty; write a CEL expression, {_EXAMPLE}"
    found = _POSITION.search(str(error))
    if found is None:
        return f"invalid CEL: {str(error).splitlines()[0]}; fix the expression, {_EXAMPLE}"
    line, column, reason = found.groups()
    reason = _EXPECTING.sub("", reason).replace("mismatched input '<EOF>'", "unexpected end")
    return (
        f"invalid CEL at {line}:{column}: {reason}; fix the expression there (quotes, "
        f"parentheses, operators), {_EXAMPLE}"
    )


def _is_bound(source: str, name: str) -> bool:
    """Whether ``name`` is a macro's loop variable (``event.tags.exists(t, t == "x")``)."""
    return re.search(rf"\.\s*(?:{_MACROS})\s*\(\s*{re.escape(name)}\s*,", source) is not None


def _unknown_message(source: str, name: str, variables: frozenset[str]) -> str:
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", source)
    where = f" at {_position(source, found.start())}" if found else ""
    allowed = " and ".join(sorted(variables)) or "no variables"
    hint = "; step is only defined in params" if name in VARIABLES else ""
    return f"unknown variable {name!r}{where}; expressions can use {allowed}{hint}"


def compile_expression(
    source: str, field: str, *, variables: frozenset[str] = VARIABLES
) -> cel.Program:
    """Compile one CEL expression of a spec, or refuse it naming ``field`` and the position.

    Compiled programs are cached by source text: a spec read again compiles nothing.

    Raises
    ------
    InvalidInputError
        Syntax errors (with ``line:column``) and references to variables outside
        ``variables`` (loop variables of ``all``/``exists``/``map``/... are allowed).
    """
    try:
        program = _compile(source)
    except ValueError as exc:
        raise InvalidInputError(_syntax_message(source, exc), field) from None
    for name in program.variables():
        if name not in variables and name not in _BUILTIN_NAMES and not _is_bound(source, name):
            raise InvalidInputError(_unknown_message(source, name, variables), field)
    return program


def validate_topic(topic: str, field: str) -> str:
    """Return ``topic`` if Kafka accepts it as a topic name, else raise naming ``field``."""
    if _TOPIC.fullmatch(topic) is None or topic in {".", ".."}:
        raise InvalidInputError(
            f"{topic!r} is not a Kafka topic name; use 1-249 letters, digits, '.', '_' and "
            "'-' (but not '.' or '..' alone)",
            field,
        )
    return topic


@dataclass(frozen=True)
class KafkaMatcher:
    """A compiled Kafka source: which topic, which events count, how they are keyed.

    ``field`` is the source's path (``spec.triggers[0].cancelOn[1].kafka``); evaluation
    errors name ``<field>.filter`` or ``<field>.key``.
    """

    topic: str
    filter: cel.Program | None
    key: cel.Program | None
    field: str


@dataclass(frozen=True)
class CompiledTrigger:
    """One ``spec.triggers[i]``, ready to evaluate events without compiling anything.

    Attributes
    ----------
    name
        ``spec.triggers[i].name`` or ``trigger-<i>``; unique within the spec, part of the
        request names, so renaming a trigger starts a new dedup space.
    source, after
        Exactly one is set: the Kafka source, or ``(upstream ScheduledJob, result)``.
    delays
        One run per entry (``(0,)`` without delay or sequence); the index is ``step``.
    cancel
        ``cancelOn`` sources; each has a key, and so has ``source``.
    params
        Param name to program over ``event`` and ``step``.
    """

    index: int
    name: str
    field: str
    source: KafkaMatcher | None
    after: tuple[str, str] | None
    delays: tuple[timedelta, ...]
    cancel: tuple[KafkaMatcher, ...]
    params: Mapping[str, cel.Program]

    @property
    def kind(self) -> Literal["event", "after"]:
        """``event`` for Kafka triggers, ``after`` for chains (RunRequest ``spec.kind``)."""
        return "event" if self.source is not None else "after"


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


def _matcher(problems: list[InvalidInputError], kafka: KafkaSource, field: str) -> KafkaMatcher:
    _attempt(problems, validate_topic, kafka.topic, f"{field}.topic")
    return KafkaMatcher(
        topic=kafka.topic,
        filter=_expression(problems, kafka.filter, f"{field}.filter", _EVENT_ONLY),
        key=_expression(problems, kafka.key, f"{field}.key", _EVENT_ONLY),
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
    problems: list[InvalidInputError], index: int, trigger: Trigger, field: str
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
    source = _matcher(problems, trigger.kafka, f"{field}.kafka") if trigger.kafka else None
    delays = _delays(problems, trigger, field)
    cancel = tuple(
        _matcher(problems, c.kafka, f"{field}.cancelOn[{i}].kafka")
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
    triggers: Sequence[Trigger] | None, field: str = "spec.triggers"
) -> tuple[CompiledTrigger, ...]:
    """Compile ``spec.triggers`` once per spec generation, reporting every problem at once.

    ``after`` cycles need the other ScheduledJobs and are found by
    :func:`find_chain_cycle`.

    Raises
    ------
    InvalidSpecError
        Each problem names its field (``spec.triggers[0].kafka.filter``,
        ``spec.triggers[1].params.ticket``, ``spec.triggers[0].cancelOn[0].kafka.key``).
    """
    problems: list[InvalidInputError] = []
    compiled = tuple(
        _compile_trigger(problems, index, trigger, f"{field}[{index}]")
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


# --- evaluating -----------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_event(raw: bytes) -> dict[str, Any]:
    """Decode one Kafka message value into an event (a JSON object).

    Raises
    ------
    EventError
        Not UTF-8, not JSON (``NaN`` and ``Infinity`` included), or not an object.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventError(
            f"the event is not UTF-8 (bad byte at offset {exc.start}); publish UTF-8 JSON",
            "event",
        ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise EventError("the event nests too deeply; flatten it", "event") from None
    except ValueError as exc:
        raise EventError(
            f"the event is not JSON ({exc}); publish a JSON object such as "
            '{"id": "42", "type": "ticket.opened"}',
            "event",
        ) from None
    if not isinstance(value, dict):
        raise EventError(
            f"the event is a JSON {_json_type(value)}, not an object; publish a JSON object "
            'such as {"id": "42", "type": "ticket.opened"}',
            "event",
        )
    return value


def event_identity(event: Mapping[str, Any], topic: str, partition: int, offset: int) -> str:
    """The event's dedup identity: its ``id`` (non-empty string or integer), else its position.

    The position fallback dedups redelivery of one message only; producers that may publish
    an event twice should set ``id``. An ``id`` longer than RunRequests can record (1024
    characters) is replaced by ``sha256:<hex>`` of it: still one identity per id, never an
    error.
    """
    ident = event.get("id")
    if (isinstance(ident, str) and ident) or type(ident) is int:  # bool is not an id
        text = str(ident)
        if len(text) > _MAX_ID:
            return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        return text
    return f"{topic}/{partition}/{offset}"


def _missing_key(source: str, error: KeyError) -> str:
    key = str(error.args[0]) if error.args else ""
    chain = r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
    path = re.search(rf"{chain}\.{re.escape(key)}(?!\w)", source)
    guard = f"has({path.group(0)})" if path else "has() or the in operator"
    return f"evaluation failed: no such key {key!r}; guard it with {guard}"


def _evaluate(program: cel.Program, context: dict[str, Any], field: str) -> Any:
    """Run ``program``, turning the library's exceptions into :class:`EventError`."""
    try:
        return program.execute(context)
    except KeyError as exc:
        raise EventError(_missing_key(program.source, exc), field) from None
    except (LookupError, TypeError, ValueError, RuntimeError, ArithmeticError) as exc:
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise EventError(f"evaluation failed: {text}", field) from None


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def matches(matcher: KafkaMatcher, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes the matcher's filter (no filter: every event does).

    Raises
    ------
    EventError
        The filter failed on this event or did not return a bool.
    """
    if matcher.filter is None:
        return True
    field = f"{matcher.field}.filter"
    result = _evaluate(matcher.filter, {"event": dict(event)}, field)
    if not isinstance(result, bool):
        raise EventError(
            f"evaluated to {_describe(result)}, not a bool; make the filter a condition, "
            f"{_EXAMPLE}",
            field,
        )
    return result


def event_key(matcher: KafkaMatcher, event: Mapping[str, Any]) -> str | None:
    """The correlation key of ``event`` as text (``None`` without a key expression).

    Integers and strings that look alike give the same key (``42`` and ``"42"``), so start
    and cancel events may carry the id in either form; booleans read ``true``/``false``.

    Raises
    ------
    EventError
        Evaluation failed, the value is not a string, integer or bool, or it is empty or
        longer than 1024 characters.
    """
    if matcher.key is None:
        return None
    field = f"{matcher.field}.key"
    value = _evaluate(matcher.key, {"event": dict(event)}, field)
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int):
        raise EventError(
            f"evaluated to {_describe(value)}; a key must be a string, integer or bool, e.g. "
            "string(event.ticket)",
            field,
        )
    text = str(value)
    if not text or len(text) > _MAX_KEY:
        raise EventError(
            f"evaluated to a key of {len(text)} characters; keys need 1-{_MAX_KEY}", field
        )
    return text


def _to_json(value: Any, field: str) -> Any:
    """Plain JSON for a CEL result: timestamps as RFC 3339 UTC, durations in the Almanac
    grammar, bytes as base64 (as CEL's JSON mapping does), optionals unwrapped, map keys
    sorted (CEL maps are unordered; sorted keys keep RunRequests byte-for-byte stable)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise EventError(
            f"evaluated to {value}, which JSON cannot hold; return a finite number", field
        )
    if isinstance(value, list):
        return [_to_json(item, field) for item in value]
    if isinstance(value, dict):
        bad = next((k for k in value if not isinstance(k, str)), None)
        if bad is not None:
            raise EventError(
                f"map key {bad!r} is not a string; JSON objects need string keys, e.g. string(key)",
                field,
            )
        return {k: _to_json(value[k], field) for k in sorted(value)}
    if isinstance(value, datetime):
        return rfc3339_utc(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, cel.OptionalValue):
        return _to_json(value.value(), field) if value.has_value() else None
    if isinstance(value, timedelta):
        try:
            return format_duration(value)
        except InvalidDurationError:
            raise EventError(
                f"evaluated to a negative duration ({value}); return one of 0s or more", field
            ) from None
    raise EventError(
        f"evaluated to {_describe(value)}, which JSON cannot hold; return a string, number, "
        "bool, null, list or map",
        field,
    )


def map_params(trigger: CompiledTrigger, event: Mapping[str, Any], step: int) -> dict[str, Any]:
    """Evaluate the trigger's params for one event and step, as JSON-compatible values.

    Raises
    ------
    EventError
        A param failed or produced something JSON cannot hold (NaN, a map with integer
        keys, ...), naming ``spec.triggers[i].params.<name>``.
    """
    context = {"event": dict(event), "step": step}
    params: dict[str, Any] = {}
    for name, program in trigger.params.items():
        field = f"{trigger.field}.params.{name}"
        params[name] = _to_json(_evaluate(program, context, field), field)
    return params


# --- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRun:
    """One RunRequest to create for an accepted event: when, with what, under which name."""

    step: int
    due: datetime
    params: dict[str, Any]
    key: str | None
    name: str


def request_name(scheduled_job: str, uid: str, trigger: str, event_id: str, step: int = 0) -> str:
    """Deterministic RunRequest name: ``<ScheduledJob name>-<10 hex>[-s<step>]``.

    The hex is sha256 of (uid, trigger, event_id), so every step of one event shares it and
    the steps list together; ``-s<step>`` is added for steps after the first, so a trigger's
    first run keeps its name when a delay becomes a sequence. The ScheduledJob name
    (dots turned into ``-``) is truncated to fit 63 characters: always a DNS-1123 label.
    """
    validate_object_name(scheduled_job, "scheduledJob")
    if not 0 <= step <= _MAX_STEP:
        raise InvalidInputError(f"step {step} is outside 0..{_MAX_STEP}", "step")
    identity = json.dumps([uid, trigger, event_id], ensure_ascii=False).encode()
    suffix = f"-{hashlib.sha256(identity).hexdigest()[:_HASH_LEN]}" + (f"-s{step}" if step else "")
    prefix = scheduled_job.replace(".", "-")[: MAX_RUN_NAME - len(suffix)].rstrip("-")
    return prefix + suffix


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
    received = require_aware(received_at, "received_at")
    key = event_key(trigger.source, event) if trigger.source is not None else None
    return [
        PlannedRun(
            step=step,
            due=received + delay,
            params=map_params(trigger, event, step),
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


def after_event(
    upstream: str, run: str, phase: str, result: Any, exit_code: int | None
) -> dict[str, Any]:
    """The ``event`` an ``after`` trigger's params see: the upstream run that finished."""
    return {
        "scheduledJob": upstream,
        "run": run,
        "phase": str(phase),
        "result": result,
        "exitCode": exit_code,
    }


def after_matches(expected: str, phase: str) -> bool:
    """Whether an upstream run in ``phase`` fires an ``after`` trigger expecting ``expected``.

    Only finished runs count: ``Any`` is Succeeded or Failed; Cancelled, Skipped and
    unfinished runs match nothing.
    """
    wanted = _AFTER_PHASES.get(expected)
    if wanted is None:
        raise InvalidInputError(
            f"unknown result {expected!r}; use Succeeded, Failed or Any", "after.result"
        )
    return phase in wanted
