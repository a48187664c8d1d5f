"""Which Kafka topics a namespace's jobs may use: an allow-list its administrator sets.

Tenants share one Kafka. Almanac's own topics are off limits to everyone
(:mod:`almanac.core.kafkanames`); beyond that, a platform may confine each namespace to its
own topics with the namespace annotation ``almanac.dev/kafka-topics``: a comma-separated
list of topic names, or prefixes ending in ``*`` (``orders.*, billing-events``). Without
the annotation every other topic is allowed; with it empty, none is.

The list is enforced where a topic is chosen and where it is used: at admission (the
webhook, and the facade, which skips the webhook) for a ``message`` job's ``params.topic``,
every trigger's topic and every notification's; by the operator, which routes an event to
a namespace's triggers only when the list allows its topic and sends a notification only
when it allows the notification's; and by the ``message`` run, which the operator hands
the list (``ALMANAC_KAFKA_TOPICS``) and which refuses before it connects. The annotation is
on the namespace, which tenants cannot edit: the platform, not the tenant, widens it. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from almanac.core.errors import InvalidInputError
from almanac.core.vocabulary import ANNOTATION_KAFKA_TOPICS

__all__ = [
    "ANNOTATION_KAFKA_TOPICS",
    "ANY_TOPIC",
    "TOPICS_VARIABLE",
    "TopicAllowList",
    "spec_topics",
    "topic_problems",
]

#: The run's copy of the allow-list (the ``message`` payload checks its topic against it).
TOPICS_VARIABLE: Final = "ALMANAC_KAFKA_TOPICS"
_MAX_ENTRIES: Final = 256
_MESSAGE_TEMPLATE: Final = "message"


@dataclass(frozen=True)
class TopicAllowList:
    """Exact topics and topic prefixes; ``None`` allows every topic (no annotation)."""

    entries: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, text: str | None, field: str = ANNOTATION_KAFKA_TOPICS) -> TopicAllowList:
        """The list ``text`` spells (``None``: no list); a malformed entry is refused
        naming ``field``, so a typo cannot silently allow or forbid more than meant."""
        if text is None:
            return ANY_TOPIC
        entries = tuple(e.strip() for e in text.split(",") if e.strip())
        if len(entries) > _MAX_ENTRIES:
            raise InvalidInputError(
                f"lists {len(entries)} topics; keep it to {_MAX_ENTRIES} (use prefixes: "
                "'orders.*')",
                field,
            )
        for entry in entries:
            name = entry.removesuffix("*")
            if "*" in name or not all(c.isalnum() or c in "._-" for c in name):
                raise InvalidInputError(
                    f"{entry!r} is neither a topic name nor a prefix ending in '*'; list "
                    "names like 'orders' or prefixes like 'orders.*', separated by commas",
                    field,
                )
        return cls(entries)

    def allows(self, topic: str) -> bool:
        if self.entries is None:
            return True
        return any(
            topic.startswith(e[:-1]) if e.endswith("*") else topic == e for e in self.entries
        )

    def text(self) -> str | None:
        """The list as the annotation (and the run's variable) spell it."""
        return None if self.entries is None else ",".join(self.entries)

    def refusal(self, topic: str, field: str) -> InvalidInputError:
        allowed = ", ".join(self.entries or ()) or "none"
        return InvalidInputError(
            f"topic {topic!r} is not one this namespace may use (its {ANNOTATION_KAFKA_TOPICS} "
            f"annotation allows: {allowed}); use one of those, or ask the platform to add it",
            field,
        )


ANY_TOPIC: Final = TopicAllowList()


def spec_topics(spec: Mapping[str, Any], prefix: str = "spec") -> list[tuple[str, str]]:
    """``(field, topic)`` of every topic a (raw) ScheduledJob spec names: a ``message``
    job's ``params.topic``, each trigger's and each ``cancelOn`` source's topic, and each
    notification's ``kafka.topic``."""
    found: list[tuple[str, str]] = []
    params = spec.get("params")
    if spec.get("template") == _MESSAGE_TEMPLATE and isinstance(params, Mapping):
        topic = params.get("topic")
        if isinstance(topic, str):
            found.append((f"{prefix}.params.topic", topic))
    triggers = spec.get("triggers")
    for i, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if not isinstance(trigger, Mapping):
            continue
        sources = [(f"{prefix}.triggers[{i}]", trigger)]
        cancels = trigger.get("cancelOn")
        for j, cancel in enumerate(cancels if isinstance(cancels, list) else []):
            if isinstance(cancel, Mapping):
                sources.append((f"{prefix}.triggers[{i}].cancelOn[{j}]", cancel))
        for field, source in sources:
            kafka = source.get("kafka")
            topic = kafka.get("topic") if isinstance(kafka, Mapping) else None
            if isinstance(topic, str):
                found.append((f"{field}.kafka.topic", topic))
    notifications = spec.get("notifications")
    for i, entry in enumerate(notifications if isinstance(notifications, list) else []):
        kafka = entry.get("kafka") if isinstance(entry, Mapping) else None
        topic = kafka.get("topic") if isinstance(kafka, Mapping) else None
        if isinstance(topic, str):
            found.append((f"{prefix}.notifications[{i}].kafka.topic", topic))
    return found


def topic_problems(
    spec: Mapping[str, Any], allowed: TopicAllowList, prefix: str = "spec"
) -> list[InvalidInputError]:
    """A refusal for every topic of ``spec`` the namespace's list does not allow."""
    return [
        allowed.refusal(topic, field)
        for field, topic in spec_topics(spec, prefix)
        if not allowed.allows(topic)
    ]
