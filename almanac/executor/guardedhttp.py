"""HTTP through the egress guard: every hop vetted, every connection pinned to its address.

Used by the ``http`` and ``export`` payloads. The request goes to the IP that
:func:`~almanac.executor.netguard.vet_host` approved, with the original ``Host`` header
and TLS server name (SNI, certificate check) so virtual hosting and HTTPS still work.
Proxies from the environment are ignored (``trust_env=False``): a proxy would connect to
the unvetted name. httpx errors are translated to :class:`PayloadFailedError` here, in
one place.

Redirects are off unless the caller asks for hops (``max_redirects``; the ``http``
payload's ``followRedirects``, default 0: a 3xx is then the final answer, returned as is
without a second request). Each hop is vetted and pinned again, and a hop to another
origin (scheme, host or port differ) drops the credentials first - ``Authorization``,
``Proxy-Authorization``, ``Cookie`` and every header whose value came from a Secret - so
a redirect cannot hand a token meant for ``api.example.com`` to whoever it points at.
Once dropped they stay dropped, even if a later hop comes back to the first origin.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from almanac.executor.environment import IPNetwork
from almanac.executor.errors import PayloadFailedError
from almanac.executor.netguard import Resolver, vet_host

__all__ = ["GuardedHttp", "HttpReply"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
#: Headers that are credentials whatever their value's origin (lower case).
_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie"})


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and effective port: what must match for credentials to follow."""
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _without_credentials(
    headers: Mapping[str, str], secret_headers: Collection[str]
) -> tuple[dict[str, str], list[str]]:
    """``headers`` minus the credential and Secret-valued ones, and the names dropped."""
    private = _CREDENTIAL_HEADERS | {name.lower() for name in secret_headers}
    kept = {name: value for name, value in headers.items() if name.lower() not in private}
    return kept, [name for name in headers if name not in kept]


@dataclass(frozen=True)
class HttpReply:
    """A response, its body cut to the caller's limit, and where it really came from."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    address: str
    elapsed_ms: int
    redirects: int
    #: Header names not sent on a later hop because it went to another origin.
    dropped_headers: tuple[str, ...] = ()


class GuardedHttp:
    """Sends requests through the egress guard.

    Parameters
    ----------
    client
        An ``httpx.AsyncClient`` created with ``trust_env=False`` (see module docstring).
    resolver, allow
        The guard's resolver and the CIDRs the template's policy allows.
    """

    def __init__(
        self, client: httpx.AsyncClient, resolver: Resolver, allow: Sequence[IPNetwork]
    ) -> None:
        self._client = client
        self._resolver = resolver
        self._allow = tuple(allow)

    async def request(
        self,
        method: str,
        url: str,
        *,
        field: str,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float,
        body_limit: int,
        max_redirects: int = 0,
        secret_headers: Collection[str] = (),
    ) -> HttpReply:
        """Send one request (following up to ``max_redirects`` vetted redirects).

        ``secret_headers`` names the headers whose values came from Secrets: like
        ``Authorization``, they are not sent to another origin after a redirect.
        """
        started = time.monotonic()
        target = httpx.URL(url)
        sent_headers = dict(headers or {})
        dropped: list[str] = []
        for hop in range(max_redirects + 1):
            status, reply_headers, body, address = await self._send_once(
                method,
                target,
                field=field,
                headers=sent_headers,
                content=content,
                timeout=timeout,
                body_limit=body_limit,
            )
            location = reply_headers.get("location")
            if status in _REDIRECTS and location and hop < max_redirects:
                following = target.join(location)  # httpx already refused a bad Location
                if _origin(following) != _origin(target):
                    sent_headers, gone = _without_credentials(sent_headers, secret_headers)
                    dropped += gone
                target = following
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, content = "GET", None
                continue
            return HttpReply(
                status,
                reply_headers,
                body,
                str(target),
                address,
                int((time.monotonic() - started) * 1000),
                hop,
                tuple(dropped),
            )
        raise AssertionError("unreachable: the loop returns on its last hop")

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        *,
        field: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout: float,
        body_limit: int,
    ) -> tuple[int, dict[str, str], bytes, str]:
        if url.scheme not in _DEFAULT_PORTS or not url.host:
            raise PayloadFailedError(
                f"{str(url)!r} is not an http(s) URL with a host; write e.g. "
                "https://example.com/path",
                field,
            )
        port = url.port or _DEFAULT_PORTS[url.scheme]
        vetted = await vet_host(
            url.host, port, resolver=self._resolver, allow=self._allow, field=field
        )
        pinned = url.copy_with(host=str(vetted.address))
        extensions: dict[str, Any] = {"sni_hostname": url.host} if url.scheme == "https" else {}
        request = self._client.build_request(
            method,
            pinned,
            headers={**headers, "Host": url.netloc.decode("ascii")},
            content=content,
            timeout=httpx.Timeout(timeout),
            extensions=extensions,
        )
        where = f"{url.host}:{port} ({vetted.address})"
        try:
            response = await self._client.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= body_limit:
                        break
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise PayloadFailedError(
                f"{method} {where} timed out after {timeout:g}s; raise params.timeout or "
                "check that the endpoint answers",
                field,
            ) from None
        except httpx.ConnectError as exc:
            raise PayloadFailedError(
                f"cannot connect to {where}: {exc or 'connection failed'}; check the URL and "
                "that the endpoint is up",
                field,
            ) from None
        except httpx.HTTPError as exc:
            raise PayloadFailedError(
                f"{method} {where} failed: {type(exc).__name__}: {exc}", field
            ) from None
        return (
            response.status_code,
            dict(response.headers),
            bytes(body[:body_limit]),
            str(vetted.address),
        )
