"""``spec.notifications``: who hears about a ScheduledJob's runs, as pydantic models.

A fleet-wide alert fires on a failure ratio across all jobs, so one nightly job failing
every night never pages anyone; these let the job's owner name the people (an e-mail
list), a chat channel (a Slack-compatible webhook) or a Kafka topic of their own that hear
about its outcomes: ``Failed`` (failed for good, retries spent), ``Succeeded``,
``DeadLettered`` (failed with retries configured and spent) and ``Recovered`` (the first
success after a run failed for good).

What a tenant may write here is deliberately narrow. The SMTP server, its credentials and
the sender are the operator's settings, never the spec's; a webhook's credentials come
from a Secret *reference* in the job's namespace (admission checks the writer may read it:
no confused deputy), never a literal; its URL is checked again, resolved, at every send
(the operator's network position is privileged: :mod:`almanac.notify.webhookguard`); a
Kafka topic passes the namespace's allow-list and Almanac's reserved names like any other
topic a job names (:mod:`almanac.core.topicpolicy`, :mod:`almanac.core.kafkanames`).

YAML note: ``on`` is a boolean in YAML 1.1 (kubectl's and PyYAML's dialect), so write the
key quoted, ``"on": [Failed]``; a bare ``on:`` arrives as ``true`` and is refused with
that hint.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Final, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from almanac.core.base import ObjectName, SpecModel
from almanac.core.errors import InvalidInputError

__all__ = [
    "MAX_NOTIFICATIONS",
    "EmailTarget",
    "KafkaTarget",
    "Notification",
    "NotifyOn",
    "SecretHeader",
    "SecretKeyRef",
    "WebhookTarget",
]

#: Entries of ``spec.notifications`` at most: each is a delivery per outcome.
MAX_NOTIFICATIONS: Final = 8
#: Recipients of one e-mail entry at most.
MAX_RECIPIENTS: Final = 20
_ADDRESS: Final = r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\]+$"
_HEADER_NAME: Final = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
#: Headers a secret header may not replace: the request's own framing and routing.
_FIXED_HEADERS: Final = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection"}
)


def _address(text: str) -> str:
    if not re.fullmatch(_ADDRESS, text):
        raise InvalidInputError(
            f"{text!r} is not an e-mail address like name@example.com (no names, brackets "
            "or commas: one address per list item)",
            "",
        )
    return text


#: One address: the schema's pattern for kubectl, the validator's message for everyone.
EmailAddress = Annotated[
    str,
    AfterValidator(_address),
    Field(min_length=3, max_length=254, json_schema_extra={"pattern": _ADDRESS}),
]


class NotifyOn(StrEnum):
    """The run outcomes a notification entry subscribes to."""

    FAILED = "Failed"
    SUCCEEDED = "Succeeded"
    DEAD_LETTERED = "DeadLettered"
    RECOVERED = "Recovered"


class EmailTarget(SpecModel):
    """E-mail through the operator's SMTP server (its settings name server and sender)."""

    to: list[EmailAddress] = Field(
        min_length=1,
        max_length=MAX_RECIPIENTS,
        description="Recipients (name@example.com); at most 20.",
    )


class SecretKeyRef(SpecModel):
    """A key of a Secret in the ScheduledJob's namespace."""

    name: ObjectName = Field(description="Secret name.")
    key: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="Key inside the Secret.",
    )


class SecretHeader(SpecModel):
    """A request header whose value is read from a Secret at each send (never logged)."""

    name: str = Field(
        pattern=_HEADER_NAME, description="Header name, e.g. Authorization or X-Token."
    )
    secret_key_ref: SecretKeyRef = Field(description="Where the header's value is.")

    @model_validator(mode="after")
    def _check_name(self) -> Self:
        if self.name.lower() in _FIXED_HEADERS or self.name.lower().startswith("almanac-"):
            raise InvalidInputError(
                f"header {self.name!r} is set by Almanac; name another header "
                "(e.g. Authorization or X-Webhook-Token)",
                ".name",
            )
        return self


class WebhookTarget(SpecModel):
    """An HTTP(S) POST of Slack-compatible JSON (``{"text": ..., "blocks": [...]}``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.url) != has(self.urlFrom)",
                    "message": "a webhook needs exactly one of url or urlFrom",
                }
            ]
        }
    )

    url: str | None = Field(
        None,
        min_length=8,
        max_length=2048,
        pattern=r"^[hH][tT][tT][pP][sS]?://",
        description="http(s) URL; resolved and checked against internal addresses at each "
        "send. A URL that is itself a credential (a Slack incoming webhook) belongs in "
        "urlFrom.",
    )
    url_from: SecretKeyRef | None = Field(
        None, description="The URL read from a Secret key, for URLs that embed a token."
    )
    secret_header: SecretHeader | None = Field(
        None, description="One header whose value comes from a Secret (e.g. a bearer token)."
    )

    @model_validator(mode="after")
    def _check_url(self) -> Self:
        if (self.url is None) == (self.url_from is None):
            raise InvalidInputError("a webhook needs exactly one of url or urlFrom", ".url")
        if self.url is not None:
            check_webhook_url(self.url, ".url")
        return self


def check_webhook_url(url: str, field: str) -> str:
    """Refuse a URL that is not ``http(s)://host[:port]/path``, or that carries a literal
    credential (``user:password@``); return it unchanged. Pure: resolving the host and
    refusing internal addresses happens at each send, where the answer is current."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInputError(
            f"is not a URL ({exc}); write e.g. https://hooks.example.com/x", field
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            "must be an http or https URL with a host, e.g. https://hooks.example.com/almanac",
            field,
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(
            "must not carry credentials (user:password@); put them in secretHeader, or the "
            "whole URL in urlFrom (a Secret)",
            field,
        )
    if port == 0 or any(c in url for c in " \r\n\t"):
        raise InvalidInputError("has a bad port or white space; fix the URL", field)
    return url


class KafkaTarget(SpecModel):
    """A JSON record on a Kafka topic of the namespace's own."""

    topic: str = Field(
        min_length=1,
        max_length=249,
        pattern=r"^[a-zA-Z0-9._-]+$",
        description="Topic name; must pass the namespace's Kafka topic allow-list and "
        "may not be one of Almanac's own topics.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self != '.' && self != '..'", "message": "Kafka refuses '.' and '..'"}
            ]
        },
    )


class Notification(SpecModel):
    """One target (exactly one of email, webhook, kafka) and the outcomes it hears about."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.email) ? 1 : 0) + (has(self.webhook) ? 1 : 0) + "
                    "(has(self.kafka) ? 1 : 0) == 1",
                    "message": "a notification needs exactly one of email, webhook or kafka",
                }
            ]
        }
    )

    on: list[NotifyOn] = Field(
        min_length=1,
        max_length=4,
        description="Outcomes to send: Failed, Succeeded, DeadLettered, Recovered (quote the "
        'key in YAML: "on").',
    )
    email: EmailTarget | None = Field(None, description="E-mail recipients.")
    webhook: WebhookTarget | None = Field(None, description="A Slack-compatible webhook.")
    kafka: KafkaTarget | None = Field(None, description="A Kafka topic.")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        if isinstance(data, dict) and "on" not in data and (True in data or "true" in data):
            raise InvalidInputError(
                'has "true" where "on" was meant: YAML 1.1 reads a bare on as a boolean; '
                'quote the key: "on": [Failed]',
                ".on",
            )
        return data

    @model_validator(mode="after")
    def _check_target(self) -> Self:
        targets = [t for t in (self.email, self.webhook, self.kafka) if t is not None]
        if len(targets) != 1:
            raise InvalidInputError(
                "needs exactly one of email, webhook or kafka; use one entry per target",
                "",
            )
        if len(set(self.on)) != len(self.on):
            raise InvalidInputError("lists an outcome twice; list each once", ".on")
        return self

    @property
    def channel(self) -> str:
        """``email``, ``webhook`` or ``kafka``: the metric's and the log's word for it."""
        return "email" if self.email else "webhook" if self.webhook else "kafka"
