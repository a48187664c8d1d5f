"""Almanac's own Kafka names, named once: the topics and headers users may not touch.

Why: tenants share one Kafka. The facade publishes ``POST /events`` onto the trigger topic
with the header ``almanac-namespace``, which the operator routes by; the operator publishes
notices and every organisation's lifecycle events. A run publishing there with any header
could trigger or cancel another organisation's jobs or forge notices; a trigger reading the
events topic would see every organisation's run results. So (invariant records-by-almanac:
Almanac's records are written by Almanac only, and reach a tenant only when routed to its
namespace):

* topics starting with ``almanac.`` and the configured notification, events and trigger
  topics are Almanac's own: a ``message`` run may not publish there (Kafka treats ``.`` and
  ``_`` as colliding, so ``almanac_x`` counts as ``almanac.x``);
* headers starting with ``almanac-`` (any case) are reserved;
* a trigger may not read those topics, except the trigger topic, whose records reach only
  the namespace their header names (and, without one, nobody: :func:`reaches`).

Every refusal is a :class:`ReservedKafkaNameError` naming the field and the fix. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from almanac.core.errors import ReservedKafkaNameError

__all__ = [
    "DEFAULT_NAMES",
    "NAMESPACE_HEADER",
    "RESERVED_HEADER_PREFIX",
    "RESERVED_TOPIC_PREFIX",
    "TOPIC_VARIABLES",
    "KafkaNames",
    "check_subscription",
    "is_reserved_header",
    "publish_problems",
    "reaches",
]

RESERVED_TOPIC_PREFIX: Final = "almanac."
RESERVED_HEADER_PREFIX: Final = "almanac-"
#: Header naming the one namespace a trigger-topic record may reach (set by the facade).
NAMESPACE_HEADER: Final = "almanac-namespace"
#: The settings that move Almanac's topics; run pods get them too (see the operator config).
TOPIC_VARIABLES: Final = {
    "trigger_topic": "ALMANAC_TRIGGER_TOPIC",
    "events_topic": "ALMANAC_EVENTS_TOPIC",
    "notify_topic": "ALMANAC_NOTIFY_TOPIC",
}


def _collision_form(topic: str) -> str:
    """Kafka's own collision rule: topics equal once ``.`` reads as ``_`` collide."""
    return topic.replace(".", "_")


@dataclass(frozen=True)
class KafkaNames:
    """Where Almanac's topics are here: ``POST /events`` records (triggers may read them),
    every organisation's lifecycle events, and platform notices."""

    trigger_topic: str = "almanac.triggers"
    events_topic: str = "almanac.events"
    notify_topic: str = "platform.notifications.ingress"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaNames:
        """The names from the ``ALMANAC_*_TOPIC`` variables; unset or blank: the default."""
        defaults = cls()
        return cls(
            **{
                attr: env.get(variable, "").strip() or getattr(defaults, attr)
                for attr, variable in TOPIC_VARIABLES.items()
            }
        )

    def is_reserved_topic(self, topic: str) -> bool:
        """Whether ``topic`` is Almanac's own (the trigger topic included)."""
        own = (RESERVED_TOPIC_PREFIX, self.trigger_topic, self.events_topic, self.notify_topic)
        form = _collision_form(topic)
        return form.startswith(_collision_form(own[0])) or form in map(_collision_form, own[1:])


DEFAULT_NAMES: Final = KafkaNames()


def is_reserved_header(name: str) -> bool:
    """Whether a record header ``name`` is Almanac's (``almanac-*``, any case)."""
    return name.lower().startswith(RESERVED_HEADER_PREFIX)


def publish_problems(
    topic: object, headers: object, names: KafkaNames = DEFAULT_NAMES, field: str = "params"
) -> list[ReservedKafkaNameError]:
    """Why a run may not publish to ``topic`` with ``headers`` (empty: it may), naming
    ``<field>.topic`` and ``<field>.headers.<name>``; wrong types are the schema's job."""
    problems: list[ReservedKafkaNameError] = []
    if isinstance(topic, str) and names.is_reserved_topic(topic):
        problems.append(
            ReservedKafkaNameError(
                f"topic {topic!r} is reserved for Almanac (topics starting with "
                f"{RESERVED_TOPIC_PREFIX!r} and {names.notify_topic!r} carry Almanac's own "
                "events and notices); publish to a topic of your own",
                f"{field}.topic",
            )
        )
    for name in headers if isinstance(headers, Mapping) else ():
        if isinstance(name, str) and is_reserved_header(name):
            problems.append(
                ReservedKafkaNameError(
                    f"header {name!r} is reserved for Almanac (headers starting with "
                    f"{RESERVED_HEADER_PREFIX!r} route Almanac's own records); rename it, "
                    f"e.g. {'x-' + name[len(RESERVED_HEADER_PREFIX) :]!r}",
                    f"{field}.headers.{name}",
                )
            )
    return problems


def check_subscription(topic: str, field: str, names: KafkaNames = DEFAULT_NAMES) -> str:
    """Return ``topic`` if a trigger may read it, else raise a
    :class:`ReservedKafkaNameError` naming ``field``."""
    if topic != names.trigger_topic and names.is_reserved_topic(topic):
        raise ReservedKafkaNameError(
            f"topic {topic!r} is reserved for Almanac and carries every organisation's "
            f"records; trigger on a topic of your own, or on {names.trigger_topic!r} "
            "(POST /events), whose records reach only their own namespace",
            field,
        )
    return topic


def reaches(
    topic: str, namespaces: Iterable[str], target: str, names: KafkaNames = DEFAULT_NAMES
) -> bool:
    """Whether a record on ``topic`` with these ``almanac-namespace`` header values may
    trigger (or cancel) jobs in namespace ``target``.

    A header confines a record to its namespace on any topic; on the trigger topic a record
    without one reaches nobody (only the facade publishes there, always with it), and on
    Almanac's other topics nothing reaches anyone.
    """
    found = set(namespaces)
    if topic != names.trigger_topic and names.is_reserved_topic(topic):
        return False
    if not found:
        return topic != names.trigger_topic
    return found == {target}
