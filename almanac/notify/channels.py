"""Sending one delivery over its channel: SMTP, a webhook, or a Kafka topic.

Each sender raises :class:`DeliveryFailed` with a sentence a person can act on (it goes in
the delivery's row, the operator's log and an Event on the ScheduledJob), and never with a
secret in it: a webhook's Secret-valued header or URL is read here, used, and dropped.

* **E-mail** goes through the operator's SMTP server (settings, not the spec): smtplib in a
  worker thread, bounded by the time-out, STARTTLS or TLS with certificate checks.
* **Webhooks** go through the :class:`~almanac.notify.webhookguard.WebhookGuard`: the URL
  (or the Secret holding it) resolved and vetted at every send, no redirects, a 2xx
  answer required, its body read to a cap and dropped.
* **Kafka** records are checked again at send time, since the namespace's allow-list may
  have narrowed since admission, and against Almanac's reserved names.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from almanac.core.errors import AlmanacError
from almanac.core.kafkanames import KafkaNames, publish_problems
from almanac.core.topicpolicy import TopicAllowList
from almanac.notify.deliveries import Delivery
from almanac.notify.messages import Notice, email_message, kafka_record, slack_body
from almanac.notify.noticesettings import NoticeSettings
from almanac.notify.publisher import Message, NamespacedMessage, Publisher
from almanac.notify.webhookguard import WebhookGuard

__all__ = ["Channels", "DeliveryFailed", "SecretReader"]

#: The header naming a delivery (receivers drop repeats by it).
DELIVERY_HEADER = "Almanac-Delivery-Id"


class DeliveryFailed(AlmanacError):
    """A delivery did not go through (now); the message says why and what to check."""

    code = "delivery_failed"


class SecretReader(Protocol):
    """Reads one key of a Secret in a namespace (the operator's client)."""

    async def __call__(self, namespace: str, name: str, key: str) -> str: ...


TopicsOf = Callable[[str], Awaitable[TopicAllowList]]


class Channels:
    """The three senders, with what each needs."""

    def __init__(
        self,
        settings: NoticeSettings,
        *,
        webhook: WebhookGuard,
        secrets: SecretReader,
        kafka: Publisher | None,
        topics: TopicsOf,
        names: KafkaNames,
    ) -> None:
        self._settings = settings
        self._webhook = webhook
        self._secrets = secrets
        self._kafka = kafka
        self._kafka_started = False
        self._topics = topics
        self._names = names

    async def send(self, d: Delivery) -> None:
        """Send ``d``; raise :class:`DeliveryFailed` saying why it did not go."""
        notice = Notice.from_json(d.notice)
        field = f"spec.notifications[{d.entry}].{d.channel}"
        try:
            if d.channel == "email":
                await self._email(d, notice)
            elif d.channel == "webhook":
                await self._post(d, notice, field)
            else:
                await self._publish(d, notice, field)
        except DeliveryFailed:
            raise
        except AlmanacError as exc:
            raise DeliveryFailed(exc.message, exc.field or field) from None

    # -- e-mail ---------------------------------------------------------------------------

    async def _email(self, d: Delivery, notice: Notice) -> None:
        s = self._settings
        if s.smtp_host is None:
            raise DeliveryFailed(
                "no SMTP server is configured; the platform sets "
                "ALMANAC_NOTIFICATIONS_SMTP_HOST (the chart's notifications.smtp.host)",
                f"spec.notifications[{d.entry}].email",
            )
        to = [str(a) for a in d.target.get("to", [])]
        message = email_message(notice, s.sender, to, d.delivery_id)
        where = f"{s.smtp_host}:{s.smtp_port}"
        try:
            async with asyncio.timeout(s.timeout + 1):
                refused = await asyncio.to_thread(self._smtp, message)
        except (TimeoutError, OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise DeliveryFailed(
                f"SMTP {where} did not take the message ({type(exc).__name__}: {exc}); check "
                "the operator's ALMANAC_NOTIFICATIONS_SMTP_* settings and the server",
                f"spec.notifications[{d.entry}].email",
            ) from None
        if refused:
            raise DeliveryFailed(
                f"SMTP {where} refused {len(refused)} of {len(to)} recipients: "
                f"{', '.join(sorted(refused))}",
                f"spec.notifications[{d.entry}].email.to",
            )

    def _smtp(self, message: Any) -> Any:
        s = self._settings
        assert s.smtp_host is not None
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password)
            return smtp.send_message(message)

    # -- webhooks -------------------------------------------------------------------------

    async def _secret(self, d: Delivery, ref: dict[str, Any], field: str) -> str:
        try:
            return await self._secrets(d.namespace, str(ref["name"]), str(ref["key"]))
        except DeliveryFailed:
            raise
        except Exception as exc:
            raise DeliveryFailed(
                f"cannot read key {ref.get('key')!r} of Secret {ref.get('name')!r} in "
                f"{d.namespace!r} ({type(exc).__name__}); check that it exists and that the "
                "operator may read it (the chart's notifications.webhookSecrets)",
                field,
            ) from None

    async def _post(self, d: Delivery, notice: Notice, field: str) -> None:
        target = d.target
        url = target.get("url")
        if url is None:
            url = (await self._secret(d, target["urlFrom"], f"{field}.urlFrom")).strip()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "almanac-notifications",
            DELIVERY_HEADER: d.delivery_id,
        }
        secret_name = None
        if header := target.get("secretHeader"):
            secret_name = str(header["name"])
            ref = header["secretKeyRef"]
            headers[secret_name] = await self._secret(d, ref, f"{field}.secretHeader")
        body = json.dumps(slack_body(notice)).encode()
        where = f"{field}.url" if target.get("url") else f"{field}.urlFrom"
        reply = await self._webhook.post(url, body, headers, field=where, secret=secret_name)
        if not 200 <= reply.status < 300:
            said = reply.body[:200].decode("utf-8", "replace").strip()
            raise DeliveryFailed(
                f"the webhook answered HTTP {reply.status}"
                + (f" ({said})" if said else "")
                + ("; redirects are not followed" if 300 <= reply.status < 400 else ""),
                where,
            )

    # -- Kafka ----------------------------------------------------------------------------

    async def _publish(self, d: Delivery, notice: Notice, field: str) -> None:
        topic = str(d.target.get("topic", ""))
        problems = publish_problems(topic, None, self._names, field)
        if problems:
            raise DeliveryFailed(problems[0].message, problems[0].field)
        allowed = await self._topics(d.namespace)
        if not allowed.allows(topic):
            refusal = allowed.refusal(topic, f"{field}.topic")
            raise DeliveryFailed(refusal.message, refusal.field)
        if self._kafka is None:
            raise DeliveryFailed(
                "Kafka is not configured on the operator (ALMANAC_KAFKA_BOOTSTRAP)", field
            )
        if not self._kafka_started:
            await self._kafka.start()
            self._kafka_started = True
        value = json.dumps(kafka_record(notice, d.delivery_id), sort_keys=True).encode()
        message: Message = NamespacedMessage(
            topic=topic,
            key=d.scheduledjob_uid,
            value=value,
            event_id=d.delivery_id,
            namespace=d.namespace,
        )
        [outcome] = await asyncio.wait_for(self._kafka.publish([message]), 15.0)
        if outcome is not None:
            raise DeliveryFailed(f"Kafka did not take the record ({outcome})", f"{field}.topic")

    async def aclose(self) -> None:
        await self._webhook.aclose()
        if self._kafka is not None and self._kafka_started:
            self._kafka_started = False
            await asyncio.wait_for(self._kafka.stop(), 5.0)
