"""Events at run time: decoding a Kafka message and evaluating compiled triggers on it.

The per-event path only evaluates programs that :mod:`almanac.core.triggers` compiled when
the spec was admitted. Everything here is pure (no I/O, no clock, no Kafka or Kubernetes
client), and every failure becomes :class:`EventError`, naming the trigger field that
failed and how to fix it, so one bad event is reported and skipped without stopping the
consumer.

:class:`KafkaMatcher` and :class:`CompiledTrigger`, what
:func:`~almanac.core.triggers.compile_triggers` produces, are defined here beside the
functions that evaluate them: :mod:`almanac.core.triggers` imports this module (to plan runs
and to re-export its names), so the dependency runs one way and there is no import cycle.

``NAMESPACE_HEADER`` (defined with Almanac's other reserved names in
:mod:`almanac.core.kafkanames`) is re-exported here; who a record may reach is
:func:`almanac.core.kafkanames.reaches`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final, Literal

import cel

from almanac.core.durations import format_duration
from almanac.core.errors import InvalidDurationError, InvalidInputError
from almanac.core.expressions import FILTER_EXAMPLE
from almanac.core.kafkanames import NAMESPACE_HEADER
from almanac.core.naming import rfc3339_utc
from almanac.core.status import RunPhase

__all__ = [
    "MAX_PARAMS_BYTES",
    "NAMESPACE_HEADER",
    "CompiledTrigger",
    "EventError",
    "KafkaMatcher",
    "after_event",
    "after_matches",
    "event_identity",
    "event_key",
    "map_each",
    "map_params",
    "matches",
    "parse_event",
]

#: Mapped params travel in the RunRequest, the Job's environment and the history row: a
#: mapping that makes more (a 3.6 MB param was seen) is refused as the event's failure,
#: before the API server refuses every retry of it.
MAX_PARAMS_BYTES: Final = 64 * 1024
#: Bounds of RunRequest ``spec.source.id`` and ``spec.key`` (kept in step with runrequests).
_MAX_ID: Final = 1024
_MAX_KEY: Final = 1024
_AFTER_PHASES: Final[Mapping[str, frozenset[str]]] = {
    "Succeeded": frozenset({RunPhase.SUCCEEDED}),
    "Failed": frozenset({RunPhase.FAILED}),
    "Any": frozenset({RunPhase.SUCCEEDED, RunPhase.FAILED}),
}


class EventError(InvalidInputError):
    """An event that cannot be used: not a JSON object, or an expression failed on it."""

    code: ClassVar[str] = "invalid_event"


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
            f"{FILTER_EXAMPLE}",
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
        keys, ...), naming ``spec.triggers[i].params.<name>``; or the params together are
        larger than :data:`MAX_PARAMS_BYTES` as JSON, naming the param that went over.
    """
    return map_each(trigger.params, trigger.field, event, step)


def map_each(
    programs: Mapping[str, cel.Program], field: str, event: Mapping[str, Any], step: int
) -> dict[str, Any]:
    """:func:`map_params` over bare programs (``field`` is the trigger's path), for callers
    that hold the programs without their trigger (the evaluator process)."""
    context = {"event": dict(event), "step": step}
    params: dict[str, Any] = {}
    size = 2  # "{}"
    for name, program in programs.items():
        where = f"{field}.params.{name}"
        params[name] = _to_json(_evaluate(program, context, where), where)
        entry = json.dumps({name: params[name]}, separators=(",", ":"), ensure_ascii=False)
        size += len(entry.encode()) - 1  # without its braces, with a comma
        if size > MAX_PARAMS_BYTES:
            raise EventError(
                f"the mapped params reach {size // 1024:,} KiB with this one; at most "
                f"{MAX_PARAMS_BYTES // 1024} KiB are allowed: map smaller values (the run "
                "gets the whole event as ALMANAC_EVENT anyway)",
                where,
            )
    return params


# --- chains ---------------------------------------------------------------------------------


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
