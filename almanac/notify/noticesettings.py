"""Settings of the notifications to people (``spec.notifications``), read once at start.

Everything a tenant must not choose is here, not in the spec: the SMTP server, its port,
security and login, the sender; which internal hosts or networks a webhook may reach after
all (none by default: the operator sits inside the cluster network); how many messages a
job may send an hour; the facade's public address for the links to runs. The chart fills
the SMTP login from a Secret. Variables (all optional):

``ALMANAC_NOTIFICATIONS_SMTP_HOST``, ``_SMTP_PORT``, ``_SMTP_SECURITY`` (``starttls``,
``ssl``, ``none``), ``_SMTP_USERNAME``, ``_SMTP_PASSWORD``, ``_FROM``; ``_WEBHOOK_ALLOW``
(comma-separated host names and CIDRs); ``_PER_HOUR``; ``_LINK_BASE``; ``_TIMEOUT``;
``_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from almanac.core.errors import InvalidInputError

__all__ = ["NoticeSettings", "WebhookAllowList"]

_SECURITY: Final = ("starttls", "ssl", "none")
_DEFAULT_PORTS: Final = {"starttls": 587, "ssl": 465, "none": 25}
_HOST: Final = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_ADDRESS: Final = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebhookAllowList:
    """Internal destinations a webhook may reach although the guard refuses internal
    addresses: exact host names (as written in the URL, any case) and networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str, variable: str) -> WebhookAllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST.fullmatch(part):
                raise InvalidInputError(
                    f"{variable} entry {part!r} is neither a host name nor a CIDR; write e.g. "
                    "hooks.internal.example,10.20.0.0/16",
                    variable,
                )
            hosts.add(part.lower())
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts


@dataclass(frozen=True)
class NoticeSettings:
    """Where e-mail goes through, what webhooks may reach, how often, and the link base."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    sender: str = "almanac@localhost"
    webhook_allow: WebhookAllowList = field(default_factory=WebhookAllowList)
    per_hour: int = 20
    link_base: str | None = None
    timeout: float = 10.0
    max_attempts: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NoticeSettings:
        """Read the variables; raise :class:`InvalidInputError` naming the bad one."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(name, "").strip()

        security = get("ALMANAC_NOTIFICATIONS_SMTP_SECURITY") or "starttls"
        if security not in _SECURITY:
            raise InvalidInputError(
                f"ALMANAC_NOTIFICATIONS_SMTP_SECURITY={security!r}; use starttls, ssl or none",
                "ALMANAC_NOTIFICATIONS_SMTP_SECURITY",
            )
        username, password = (
            get("ALMANAC_NOTIFICATIONS_SMTP_USERNAME") or None,
            env.get("ALMANAC_NOTIFICATIONS_SMTP_PASSWORD") or None,
        )
        if (username is None) != (password is None):
            raise InvalidInputError(
                "give the SMTP login as both ALMANAC_NOTIFICATIONS_SMTP_USERNAME and "
                "ALMANAC_NOTIFICATIONS_SMTP_PASSWORD, or neither",
                "ALMANAC_NOTIFICATIONS_SMTP_USERNAME",
            )
        sender = get("ALMANAC_NOTIFICATIONS_FROM") or cls.sender
        if not _ADDRESS.fullmatch(sender):
            raise InvalidInputError(
                f"ALMANAC_NOTIFICATIONS_FROM={sender!r} is not an e-mail address like "
                "almanac@example.com",
                "ALMANAC_NOTIFICATIONS_FROM",
            )
        link = get("ALMANAC_NOTIFICATIONS_LINK_BASE") or None
        if link is not None and not link.lower().startswith(("http://", "https://")):
            raise InvalidInputError(
                f"ALMANAC_NOTIFICATIONS_LINK_BASE={link!r} is not an http(s) URL; give the "
                "facade's address as users reach it, e.g. https://almanac.example.com",
                "ALMANAC_NOTIFICATIONS_LINK_BASE",
            )
        return cls(
            smtp_host=get("ALMANAC_NOTIFICATIONS_SMTP_HOST") or None,
            smtp_port=_number(
                env, "ALMANAC_NOTIFICATIONS_SMTP_PORT", _DEFAULT_PORTS[security], 1, 65535
            ),
            smtp_security=security,  # type: ignore[arg-type]
            smtp_username=username,
            smtp_password=password,
            sender=sender,
            webhook_allow=WebhookAllowList.parse(
                get("ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW"), "ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW"
            ),
            per_hour=_number(env, "ALMANAC_NOTIFICATIONS_PER_HOUR", cls.per_hour, 1, 10_000),
            link_base=link,
            timeout=float(_number(env, "ALMANAC_NOTIFICATIONS_TIMEOUT", int(cls.timeout), 1, 120)),
            max_attempts=_number(
                env, "ALMANAC_NOTIFICATIONS_MAX_ATTEMPTS", cls.max_attempts, 1, 100
            ),
        )


def _number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInputError(
            f"{name}={raw!r} is not a whole number from {low} to {high}; e.g. {default}",
            name,
        )
    return int(raw)
