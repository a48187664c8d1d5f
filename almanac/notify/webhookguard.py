"""The egress guard for notification webhooks: a tenant-written URL, sent from the operator.

The operator sits inside the cluster network with a ServiceAccount token; a tenant who
could make it POST to ``http://10.0.0.5:8080/admin`` or the cloud metadata service would
borrow that position. The rule is the executor's (:mod:`almanac.executor.netguard`), reused
rather than rewritten: resolve the host once, refuse when *any* address is loopback,
link-local, private or otherwise internal, and connect to the vetted address itself (no
second DNS answer). On top of it, for the operator:

* the API server's own addresses (and ports) and the cloud metadata addresses are refused
  always, whatever the allow-list says: no notification has business there;
* the operator's ``ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW`` admits internal destinations by
  exact host name or by network (the executor's ``ALMANAC_HTTP_ALLOW_CIDRS`` does not: runs
  and the operator sit in different places);
* redirects are not followed, the response body is read to a small cap and discarded,
  every step has a timeout.

The refusal happens before any connection (the tests assert nothing was connected to).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import httpx

from almanac.core.errors import AlmanacError
from almanac.executor.errors import RefusedTargetError
from almanac.executor.guardedhttp import GuardedHttp
from almanac.executor.netguard import IPAddress, Resolver, SystemResolver, classify_address
from almanac.notify.noticesettings import WebhookAllowList

__all__ = ["METADATA_ADDRESSES", "WebhookGuard", "WebhookRefused", "WebhookReply"]

#: Cloud metadata services (AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba).
METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
#: Bytes of a webhook's answer read (then dropped): enough for an error message.
BODY_CAP: Final = 2048
_ANY: Final = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
_PORTS: Final = {"http": 80, "https": 443}


class WebhookRefused(AlmanacError):
    """The URL's destination is not one a notification may reach; nothing was sent."""

    code = "webhook_refused"


@dataclass(frozen=True)
class WebhookReply:
    status: int
    address: str
    body: bytes


class _Pinned:
    """A resolver that answers with the addresses the guard already vetted."""

    def __init__(self, addresses: list[IPAddress]) -> None:
        self._addresses = addresses

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        return list(self._addresses)


class WebhookGuard:
    """Vets and sends webhook requests for the notifications.

    Parameters
    ----------
    allow
        Internal hosts and networks the operator's settings admit.
    api_servers
        ``(host, port)`` of the Kubernetes API server as this process reaches it:
        refused always.
    resolver
        Name resolution (injected by tests, which then send no packet).
    """

    def __init__(
        self,
        allow: WebhookAllowList,
        *,
        api_servers: Iterable[tuple[str, int]] = (),
        resolver: Resolver | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow = allow
        self._api_servers = tuple(api_servers)
        self._resolver = resolver or SystemResolver()
        self._timeout = timeout
        self._client = httpx.AsyncClient(trust_env=False, transport=transport, verify=True)

    async def vet(self, url: str, field: str) -> tuple[str, int, list[IPAddress]]:
        """Resolve the URL's host and refuse what it may not reach (before connecting)."""
        parts = urlsplit(url)
        host, scheme = parts.hostname or "", parts.scheme.lower()
        if scheme not in _PORTS or not host:
            raise WebhookRefused(f"{url!r} is not an http(s) URL with a host", field)
        port = parts.port or _PORTS[scheme]
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = await self._resolver.resolve(host, port)
            except (OSError, TimeoutError) as exc:
                raise WebhookRefused(f"cannot resolve {host!r} ({exc})", field) from None
        if not addresses:
            raise WebhookRefused(f"{host!r} resolves to no address", field)
        denied = await self._denied(port)
        for address in addresses:
            self._check(host, port, address, denied, field)
        return host, port, addresses

    async def _denied(self, port: int) -> set[IPAddress]:
        """The API server's addresses on ``port`` (its own port only: a receiver on another
        port of a shared loopback is not the API server)."""
        found: set[IPAddress] = set()
        for host, api_port in self._api_servers:
            if api_port != port:
                continue
            try:
                found.add(ipaddress.ip_address(host))
            except ValueError:
                try:
                    found.update(await self._resolver.resolve(host, api_port))
                except (OSError, TimeoutError):
                    continue
        return found

    def _check(
        self, host: str, port: int, address: IPAddress, denied: set[IPAddress], field: str
    ) -> None:
        if address in METADATA_ADDRESSES or address in denied:
            what = "a cloud metadata service" if address in METADATA_ADDRESSES else "the API server"
            raise WebhookRefused(
                f"refused: {host!r} resolves to {address}, {what}; a notification never goes "
                "there. Point the webhook elsewhere",
                field,
            )
        reason = classify_address(address)
        if reason is None or self._allow.allows_host(host):
            return
        if any(address.version == n.version and address in n for n in self._allow.networks):
            return
        raise WebhookRefused(
            f"refused: {host!r} resolves to {address}, a {reason} address; webhooks may only "
            "reach public addresses unless the operator allows the host or network "
            "(ALMANAC_NOTIFICATIONS_WEBHOOK_ALLOW). Use a public URL or ask the platform team",
            field,
        )

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, field: str, secret: str | None
    ) -> WebhookReply:
        """POST ``body`` to ``url`` pinned to its vetted address; ``secret`` names the
        header whose value came from a Secret (never logged, never sent to a redirect:
        redirects are not followed at all)."""
        _, _, addresses = await self.vet(url, field)
        # Vetted above with the operator's rules; the executor's client then pins the
        # connection to that answer (its own check would repeat the run's rules).
        http = GuardedHttp(self._client, _Pinned(addresses), _ANY)
        try:
            reply = await http.request(
                "POST",
                url,
                field=field,
                headers=headers,
                content=body,
                timeout=self._timeout,
                body_limit=BODY_CAP,
                secret_headers=(secret,) if secret else (),
            )
        except RefusedTargetError as exc:  # the executor's guard, in its words
            raise WebhookRefused(exc.message, field) from None
        return WebhookReply(reply.status_code, reply.address, reply.body)

    async def aclose(self) -> None:
        await self._client.aclose()
