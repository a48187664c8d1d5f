"""Read the run's ``ALMANAC_*`` variables into typed values, naming the bad one.

The operator sets these variables on every run pod (``almanac.core.runs``); a custom
image gets the same. Parsing happens once, here, so the payloads receive checked values
and a broken pod spec yields a result that names the variable instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from almanac.core.durations import parse_duration
from almanac.core.errors import InvalidDurationError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames
from almanac.core.params import SECRETS_ROOT
from almanac.core.status import TriggerKind
from almanac.core.topicpolicy import ANY_TOPIC, TOPICS_VARIABLE, TopicAllowList
from almanac.core.tracing import TRACEPARENT_VARIABLE, TraceParent, parse_traceparent
from almanac.executor.errors import ExecutorError, InvalidEnvironmentError

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_RESULT_PATH",
    "DEFAULT_SECRETS_DIR",
    "IPNetwork",
    "RunInfo",
    "Settings",
    "parse_cidrs",
    "parse_run",
    "parse_settings",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_RESULT_PATH: Final = Path("/dev/termination-log")
DEFAULT_SECRETS_DIR: Final = Path(SECRETS_ROOT)
#: Overall deadline when ``ALMANAC_TIMEOUT`` is unset; the Job's activeDeadlineSeconds
#: usually ends the pod sooner, this only guarantees the process never waits forever.
DEFAULT_DEADLINE: Final = timedelta(hours=1)
_FIX: Final = "the operator sets it on every run pod; check the Job's pod template"


@dataclass(frozen=True)
class RunInfo:
    """Who this run is: the values every log line and result refers to."""

    run: str
    scheduledjob: str
    namespace: str
    template: str
    params: dict[str, Any]
    slot: datetime
    attempt: int
    trigger: str
    event: dict[str, Any] | None = None
    #: The trace context the run's outgoing HTTP calls carry (``TRACEPARENT``); ``None``
    #: when absent or malformed: a run never fails over its tracing.
    trace: TraceParent | None = None

    def log_fields(self) -> dict[str, Any]:
        """Fields stamped on every log line (never params: they may be long)."""
        return {
            "run": self.run,
            "scheduledjob": f"{self.namespace}/{self.scheduledjob}",
            "namespace": self.namespace,
            "template": self.template,
            "slot": self.slot.isoformat().replace("+00:00", "Z"),
            "attempt": self.attempt,
            "trigger": self.trigger,
        }


@dataclass(frozen=True)
class Settings:
    """Process settings that are not about the run itself (paths, policy, deadline)."""

    result_path: Path = DEFAULT_RESULT_PATH
    secrets_dir: Path = DEFAULT_SECRETS_DIR
    deadline: timedelta = DEFAULT_DEADLINE
    #: Internal networks the egress guard lets runs reach (``http``/``export`` URLs,
    #: ``email`` host, ``message`` bootstrap from params): the template's and the operator's.
    allow_cidrs: tuple[IPNetwork, ...] = ()
    kafka_bootstrap: str | None = None
    #: Almanac's own topics (``ALMANAC_*_TOPIC``, passed on by the operator): ``message``
    #: refuses to publish there.
    kafka_names: KafkaNames = DEFAULT_NAMES
    #: The namespace's topic allow-list (``ALMANAC_KAFKA_TOPICS``, from its annotation, set
    #: by the operator): ``message`` publishes only there. Unset: every other topic.
    kafka_topics: TopicAllowList = ANY_TOPIC


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise InvalidEnvironmentError(f"{name} is missing or empty; {_FIX}", name)
    return value


def _json_object(env: Mapping[str, str], name: str, *, required: bool) -> dict[str, Any] | None:
    text = env.get(name, "").strip()
    if not text:
        if required:
            raise InvalidEnvironmentError(
                f"{name} is missing; it must hold a JSON object (use {{}} for none); {_FIX}",
                name,
            )
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEnvironmentError(
            f"{name} is not valid JSON ({exc.msg} at character {exc.pos}); "
            'it must hold a JSON object such as {"url": "https://example.com"}',
            name,
        ) from None
    if not isinstance(value, dict):
        raise InvalidEnvironmentError(
            f"{name} must be a JSON object, got {type(value).__name__}; wrap the values in {{}}",
            name,
        )
    return value


def _slot(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidEnvironmentError(
            f"ALMANAC_SLOT {text!r} is not an RFC 3339 instant with an offset; "
            "write e.g. 2026-10-24T12:00:00Z",
            "ALMANAC_SLOT",
        )
    return value


def _attempt(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise InvalidEnvironmentError(
            f"ALMANAC_ATTEMPT {text!r} is not a positive integer; attempts count from 1",
            "ALMANAC_ATTEMPT",
        )
    return int(text)


def _trigger(text: str) -> str:
    known = [kind.value for kind in TriggerKind]
    if text not in known:
        raise InvalidEnvironmentError(
            f"ALMANAC_TRIGGER {text!r} is not a trigger; use one of {', '.join(known)}",
            "ALMANAC_TRIGGER",
        )
    return text


def parse_run(env: Mapping[str, str]) -> RunInfo:
    """Parse the run's identity and params from ``env``.

    Raises
    ------
    InvalidEnvironmentError
        The first missing or malformed variable, by name.
    """
    params = _json_object(env, "ALMANAC_PARAMS", required=True)
    assert params is not None
    return RunInfo(
        run=_required(env, "ALMANAC_RUN"),
        scheduledjob=_required(env, "ALMANAC_SCHEDULEDJOB"),
        namespace=_required(env, "ALMANAC_NAMESPACE"),
        template=_required(env, "ALMANAC_TEMPLATE"),
        params=params,
        slot=_slot(_required(env, "ALMANAC_SLOT")),
        attempt=_attempt(_required(env, "ALMANAC_ATTEMPT")),
        trigger=_trigger(_required(env, "ALMANAC_TRIGGER")),
        event=_json_object(env, "ALMANAC_EVENT", required=False),
        trace=parse_traceparent(env.get(TRACEPARENT_VARIABLE)),
    )


def parse_cidrs(
    text: str, field: str, error: type[ExecutorError] = InvalidEnvironmentError
) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (blank entries ignored); a bad entry raises ``error`` naming
    ``field``."""
    networks: list[IPNetwork] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise error(
                f"{field} entry {part!r} is not a CIDR; write comma-separated networks such "
                "as 10.244.0.0/24,fd00::/8",
                field,
            ) from None
    return tuple(networks)


def parse_settings(env: Mapping[str, str], template_allow: tuple[IPNetwork, ...] = ()) -> Settings:
    """Parse the process settings (all optional) from ``env``.

    ``template_allow`` is the template's own egress policy (``--allow-cidrs`` in its
    ``args``); the networks a run may reach are those plus the operator-wide
    ``ALMANAC_HTTP_ALLOW_CIDRS``.
    """
    deadline = DEFAULT_DEADLINE
    if env.get("ALMANAC_TIMEOUT", "").strip():
        try:
            deadline = parse_duration(env["ALMANAC_TIMEOUT"].strip(), "ALMANAC_TIMEOUT")
        except InvalidDurationError as exc:
            raise InvalidEnvironmentError(f"ALMANAC_TIMEOUT: {exc.message}", exc.field) from None
    return Settings(
        result_path=Path(env.get("ALMANAC_RESULT_PATH") or DEFAULT_RESULT_PATH),
        secrets_dir=Path(env.get("ALMANAC_SECRETS_DIR") or DEFAULT_SECRETS_DIR),
        deadline=deadline,
        allow_cidrs=tuple(
            dict.fromkeys(
                parse_cidrs(env.get("ALMANAC_HTTP_ALLOW_CIDRS", ""), "ALMANAC_HTTP_ALLOW_CIDRS")
                + template_allow
            )
        ),
        kafka_bootstrap=env.get("ALMANAC_KAFKA_BOOTSTRAP", "").strip() or None,
        kafka_names=KafkaNames.from_env(env),
        kafka_topics=TopicAllowList.parse(env.get(TOPICS_VARIABLE), TOPICS_VARIABLE),
    )
