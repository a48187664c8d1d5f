"""Notification settings, read once from the environment at start-up.

``ALMANAC_KAFKA_BOOTSTRAP`` (host:port[,host:port]), ``ALMANAC_NOTIFY_ENABLED`` (default:
on when a bootstrap is set), ``ALMANAC_NOTIFY_TOPIC`` (platform notifications, default
``platform.notifications.ingress``), ``ALMANAC_EVENTS_TOPIC`` (lifecycle events, default
``almanac.events``), ``ALMANAC_NOTIFY_BUNDLE`` / ``ALMANAC_NOTIFY_APPLICATION`` (the platform
format's ``bundle`` and ``application``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from almanac.core.errors import InvalidInputError
from almanac.core.kafkanames import DEFAULT_NAMES

__all__ = ["NotifySettings"]

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})
_TOPIC: Final = r"^[A-Za-z0-9._-]{1,249}$"
_VARIABLES: Final = {
    "notify_topic": "ALMANAC_NOTIFY_TOPIC",
    "events_topic": "ALMANAC_EVENTS_TOPIC",
    "bundle": "ALMANAC_NOTIFY_BUNDLE",
    "application": "ALMANAC_NOTIFY_APPLICATION",
}


class NotifySettings(BaseModel):
    """Where and whether Almanac publishes notifications and lifecycle events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(False, description="Publish at all; off: nothing is enqueued.")
    bootstrap: str | None = Field(None, description="Kafka bootstrap servers, host:port,...")
    notify_topic: str = Field(
        DEFAULT_NAMES.notify_topic, pattern=_TOPIC, description="Completion notices."
    )
    events_topic: str = Field(
        DEFAULT_NAMES.events_topic, pattern=_TOPIC, description="Lifecycle events."
    )
    bundle: str = Field("rhel", min_length=1, description="Platform format ``bundle``.")
    application: str = Field(
        "insights-scheduler", min_length=1, description="Platform format ``application``."
    )
    version: str = Field("v1.2.0", description="Platform notification format version.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifySettings:
        """Read the ``ALMANAC_*`` variables; raise :class:`InvalidInputError` naming the bad one."""
        env = os.environ if env is None else env
        bootstrap = env.get("ALMANAC_KAFKA_BOOTSTRAP", "").strip() or None
        raw = env.get("ALMANAC_NOTIFY_ENABLED", "").strip().lower()
        if raw and raw not in _TRUE | _FALSE:
            raise InvalidInputError(
                f"ALMANAC_NOTIFY_ENABLED={raw!r} is not a boolean; use true or false",
                "ALMANAC_NOTIFY_ENABLED",
            )
        enabled = raw in _TRUE if raw else bootstrap is not None
        if enabled and bootstrap is None:
            raise InvalidInputError(
                "notifications are enabled but ALMANAC_KAFKA_BOOTSTRAP is unset; set it to "
                "host:port or set ALMANAC_NOTIFY_ENABLED=false",
                "ALMANAC_KAFKA_BOOTSTRAP",
            )
        values: dict[str, object] = {"enabled": enabled, "bootstrap": bootstrap}
        for field, name in _VARIABLES.items():
            if env.get(name):
                values[field] = env[name]
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            variable = _VARIABLES.get(field, field)
            raise InvalidInputError(
                f"{variable} is invalid ({error['msg']}); "
                "topics use letters, digits, '.', '_' and '-'",
                variable,
            ) from None
