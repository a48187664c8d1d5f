"""Seed 000's payload shapes, accepted as documented aliases of the built-in types'. Pure.

Clients written against the seed send ``message`` as ``{"message": <text>}`` (the seed's
service knew its topic) and ``command`` as one string. The facade rewrites them into the
templates' own parameters before the schema check, so the stored spec, kubectl and the
run see one shape, and a job read back shows the canonical form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from almanac.api.errors import BadRequestError

__all__ = ["DEFAULT_TOPIC_VARIABLE", "canonical_payload"]

DEFAULT_TOPIC_VARIABLE = "ALMANAC_API_DEFAULT_MESSAGE_TOPIC"


def canonical_payload(
    template: str, payload: Mapping[str, Any], default_topic: str | None
) -> dict[str, Any]:
    """``payload`` in the template's own parameters (unchanged when it already is).

    * ``message`` with ``message`` and no ``value``: the text becomes ``value``, and
      ``topic`` defaults to ``default_topic`` (400 naming ``payload.topic`` without either);
    * ``command`` whose ``command`` is one string and ``shell`` is not given: run by the
      shell (``shell: true``), as the seed's service did.
    """
    canonical = dict(payload)
    if template == "message" and "message" in canonical and "value" not in canonical:
        canonical["value"] = canonical.pop("message")
        if "topic" not in canonical:
            if default_topic is None:
                raise BadRequestError(
                    'a message payload in the seed\'s shape ({"message": ...}) needs a topic: '
                    f"add payload.topic, or have the operator set {DEFAULT_TOPIC_VARIABLE}",
                    "payload.topic",
                )
            canonical["topic"] = default_topic
    if template == "command" and isinstance(canonical.get("command"), str):
        canonical.setdefault("shell", True)
    return canonical
