"""``email`` payload: send one message over SMTP.

Params (camelCase)::

    host: smtp.example.com        (required)
    port: 587                     (default: 587 starttls, 465 ssl, 25 none)
    security: starttls|ssl|none   (default starttls; certificates are verified)
    username: reports             (optional; then password is required)
    password: {secretKeyRef: {name, key}}     (only from a Secret, never inline)
    from: almanac@example.com
    to: [a@example.com, ...]      cc: [...]
    subject: "Nightly report"     body: "text"
    timeout: 30s

smtplib is blocking, so the exchange runs in a worker thread, bounded by ``timeout`` both
per socket operation and overall.

``host`` goes through the egress guard (:mod:`almanac.executor.netguard`) like an ``http``
URL: an internal address is refused before any connection, naming ``params.host``,
unless the template's ``--allow-cidrs`` or the operator's ``ALMANAC_HTTP_ALLOW_CIDRS``
allows it. The socket then connects to the vetted address, while TLS (``starttls``,
``ssl``) still checks the certificate against ``host``.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Final, Literal, Self, cast

from pydantic import Field, model_validator

from almanac.core.base import Duration
from almanac.executor.context import PayloadContext
from almanac.executor.errors import PayloadFailedError
from almanac.executor.netguard import IPAddress, vet_host
from almanac.executor.paramsmodel import ParamError, ParamsModel, parse_params
from almanac.executor.payloads.common import seconds
from almanac.executor.result import Result
from almanac.executor.secrets import SecretRef

__all__ = ["EmailParams", "execute"]

_DEFAULT_PORTS: Final = {"starttls": 587, "ssl": 465, "none": 25}
_ADDRESS: Final = r"^[^@\s<>]+@[^@\s<>]+$"


class EmailParams(ParamsModel):
    """Params of the ``email`` payload."""

    host: str = Field(min_length=1, max_length=253, description="SMTP server.")
    port: int | None = Field(None, ge=1, le=65535, description="SMTP port.")
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="Transport.")
    username: str | None = Field(None, min_length=1, max_length=255, description="SMTP login.")
    password: SecretRef | None = Field(None, description="SMTP password (Secret only).")
    from_: str = Field(alias="from", pattern=_ADDRESS, max_length=320, description="Sender.")
    to: list[str] = Field(min_length=1, max_length=100, description="Recipients.")
    cc: list[str] = Field(default_factory=list, max_length=100, description="Copy recipients.")
    subject: str = Field(min_length=1, max_length=998, description="Subject line.")
    body: str = Field(max_length=1_000_000, description="Plain-text body.")
    timeout: Duration = Field("30s", description="Deadline of the whole exchange.")

    @model_validator(mode="after")
    def _check_login(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ParamError(
                "password" if self.password is None else "username",
                "give username and password together (password as a secretKeyRef)",
            )
        for name, addresses in (("to", self.to), ("cc", self.cc)):
            for index, address in enumerate(addresses):
                if "@" not in address or any(c in address for c in " <>\r\n"):
                    raise ParamError(
                        f"{name}[{index}]",
                        f"{address!r} is not an e-mail address like name@example.com",
                    )
        return self


def _message(params: EmailParams, run: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = params.from_
    message["To"] = ", ".join(params.to)
    if params.cc:
        message["Cc"] = ", ".join(params.cc)
    message["Subject"] = params.subject
    message["Message-ID"] = make_msgid(domain=params.from_.rpartition("@")[2])
    message["X-Almanac-Run"] = run
    message.set_content(params.body)
    return message


class _PinnedSMTP(smtplib.SMTP):
    """SMTP connected to the vetted address; ``_host`` (starttls' server name) stays the name.

    smtplib resolves the host itself in ``_get_socket``; overriding that one hook (the one
    ``SMTP_SSL`` and ``LMTP`` override, though typeshed omits it) is how the guard's
    answer, not a second DNS lookup, decides where the socket goes.
    """

    def __init__(self, address: IPAddress, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connect = super()._get_socket  # type: ignore[misc]
        return cast(socket.socket, connect(str(self._address), port, timeout))


class _PinnedSMTPSSL(_PinnedSMTP, smtplib.SMTP_SSL):
    """Implicit TLS to the vetted address; SMTP_SSL wraps with ``server_hostname=host``."""


def _send(
    params: EmailParams,
    address: IPAddress,
    password: str | None,
    message: EmailMessage,
    timeout: float,
) -> Any:
    port = params.port or _DEFAULT_PORTS[params.security]
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if params.security == "ssl":
        smtp = _PinnedSMTPSSL(
            address, host=params.host, port=port, timeout=timeout, context=context
        )
    else:
        smtp = _PinnedSMTP(address, host=params.host, port=port, timeout=timeout)
    with smtp:
        if params.security == "starttls":
            smtp.starttls(context=context)
        if params.username is not None and password is not None:
            smtp.login(params.username, password)
        return smtp.send_message(message)


async def execute(raw: Mapping[str, Any], ctx: PayloadContext) -> Result:
    """Send the message; succeed when the server accepted every recipient."""
    params = parse_params(EmailParams, raw)
    password = ctx.secrets.read(params.password, "params.password") if params.password else None
    message = _message(params, ctx.run.run)
    timeout = seconds(params.timeout, "params.timeout")
    port = params.port or _DEFAULT_PORTS[params.security]
    where = f"{params.host}:{port}"
    try:
        async with asyncio.timeout(timeout + 1):
            vetted = await vet_host(
                params.host,
                port,
                resolver=ctx.resolver,
                allow=ctx.settings.allow_cidrs,
                field="params.host",
            )
            refused = await asyncio.to_thread(
                _send, params, vetted.address, password, message, timeout
            )
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        raise PayloadFailedError(
            f"SMTP {where} timed out or disconnected after {params.timeout} ({exc}); check "
            "the server or raise params.timeout",
            "params.host",
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise PayloadFailedError(
            f"SMTP {where} refused the login of {params.username!r} ({exc.smtp_code}); check "
            "params.username and the password Secret",
            "params.password",
        ) from None
    except smtplib.SMTPException as exc:
        raise PayloadFailedError(
            f"SMTP {where} refused the message: {exc}", "params.host"
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise PayloadFailedError(
            f"cannot talk to SMTP {where}: {exc}; check params.host, params.port and "
            "params.security",
            "params.host",
        ) from None
    recipients = len(params.to) + len(params.cc)
    if refused:
        return Result.failed(
            f"SMTP {where} refused {len(refused)} of {recipients} recipients",
            refused=sorted(refused),
        )
    return Result.succeeded(
        f"sent {params.subject!r} to {recipients} recipients via {where}",
        messageId=message["Message-ID"],
        recipients=recipients,
    )
