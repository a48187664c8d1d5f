"""The engine's whole verdict on a ScheduledJob spec, shared by every writer's check.

The admission webhook (``kubectl apply``, GitOps) and the REST facade call this one
function before a spec is stored, so a spec one of them accepts the other accepts too. The
facade's own writes can therefore skip the webhook's round trip (see the webhook
configuration's ``trusted_users``) without letting anything the webhook would refuse in.
Both must pass the same :class:`~almanac.core.kafkanames.KafkaNames` for that to hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from almanac.core.errors import InvalidInputError, InvalidSpecError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames, publish_problems
from almanac.core.models import ScheduledJobSpec
from almanac.core.plan import compile_spec
from almanac.core.resource import parse_spec
from almanac.core.triggers import compile_triggers

__all__ = ["MESSAGE_TEMPLATE", "check_spec"]

#: The built-in ClusterJobTemplate that publishes one Kafka record (params topic, headers).
MESSAGE_TEMPLATE: Final = "message"


def check_spec(
    data: Mapping[str, Any], *, kafka_names: KafkaNames = DEFAULT_NAMES
) -> ScheduledJobSpec:
    """Parse ``data`` and compile its schedule and triggers, as the operator will; refuse
    what would reach Almanac's own Kafka names (see :mod:`almanac.core.kafkanames`).

    ``kafka_names`` is where this installation's Almanac topics are; the default is right
    for the default settings.

    Raises
    ------
    AlmanacError
        The first layer that refuses it: field problems (``InvalidSpecError``, one per
        field), a schedule that cannot fire; then, together, triggers whose CEL does not
        compile or that read a reserved topic (``spec.triggers[0].kafka.topic``) and a
        ``message`` job publishing to a reserved topic or with a reserved header
        (``spec.params.topic``, ``spec.params.headers.<name>``), or a notification to a
        reserved topic (``spec.notifications[0].kafka.topic``).
    """
    spec = parse_spec(data)
    compile_spec(spec)
    problems: list[InvalidInputError] = []
    if spec.template == MESSAGE_TEMPLATE:
        params = spec.params
        problems.extend(
            publish_problems(params.get("topic"), params.get("headers"), kafka_names, "spec.params")
        )
    for i, notification in enumerate(spec.notifications or ()):
        if notification.kafka is not None:
            field = f"spec.notifications[{i}].kafka"
            problems.extend(publish_problems(notification.kafka.topic, None, kafka_names, field))
    try:
        compile_triggers(spec.triggers, names=kafka_names)
    except InvalidSpecError as exc:
        problems.extend(exc.problems)
    if problems:
        raise InvalidSpecError(problems)
    return spec
