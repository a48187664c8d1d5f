"""What a namespace's metadata says about the jobs in it: its organisation and its topics.

Both are set by the platform on the namespace object, which tenants cannot edit: the
``almanac.dev/org-id`` label (an export runs as that organisation, :mod:`.orgs`) and the
``almanac.dev/kafka-topics`` annotation (:mod:`.topicpolicy`). Admission, the facade and
the operator read them through this one parser. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from almanac.core.errors import InvalidInputError
from almanac.core.orgs import LABEL_ORG_ID
from almanac.core.topicpolicy import ANNOTATION_KAFKA_TOPICS, ANY_TOPIC, TopicAllowList

__all__ = ["NamespacePolicy"]


@dataclass(frozen=True)
class NamespacePolicy:
    """A namespace's organisation (``None``: none) and topic allow-list; ``problem`` is set
    when the annotation is malformed, and then no topic is allowed (fail closed)."""

    org_id: str | None = None
    topics: TopicAllowList = ANY_TOPIC
    problem: InvalidInputError | None = field(default=None, compare=False)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> NamespacePolicy:
        metadata = metadata or {}
        labels = metadata.get("labels") or {}
        annotations = metadata.get("annotations") or {}
        org = labels.get(LABEL_ORG_ID)
        org_id = org if isinstance(org, str) and org else None
        text = annotations.get(ANNOTATION_KAFKA_TOPICS)
        try:
            topics = TopicAllowList.parse(text if isinstance(text, str) else None)
        except InvalidInputError as exc:
            return cls(org_id, TopicAllowList(()), exc)
        return cls(org_id, topics)
