"""How Almanac's Kafka clients authenticate and encrypt: TLS and SASL from the environment.

Every platform client (the outbox relay and the trigger consumer in the operator, the
facade's ``POST /events``, the executor's ``message`` payload publishing to the platform
bootstrap) builds its aiokafka keyword arguments here, so they all speak to the brokers the
same way and a mistake is refused at start-up, naming the variable and the fix, instead of
surfacing later as aiokafka's bare "Unable to bootstrap".

Variables (unset or empty means "not set")::

    ALMANAC_KAFKA_SECURITY_PROTOCOL    PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
    ALMANAC_KAFKA_SASL_MECHANISM       PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (SASL: required)
    ALMANAC_KAFKA_SASL_USERNAME        SASL: required
    ALMANAC_KAFKA_SASL_PASSWORD_FILE   SASL: a file holding the password (a mounted Secret)
    ALMANAC_KAFKA_SASL_PASSWORD        SASL: the password itself, if no file (one of the two)
    ALMANAC_KAFKA_SSL_CAFILE           TLS: PEM CA bundle (default: the system's CAs)
    ALMANAC_KAFKA_SSL_CERTFILE         TLS: client certificate (PEM), for brokers that ask
    ALMANAC_KAFKA_SSL_KEYFILE          TLS: its key, if not in the certificate file

A setting the chosen protocol would ignore (a username with ``SSL``, a CA file with
``SASL_PLAINTEXT``) is refused too: silently ignoring it would connect without the
protection the administrator asked for. The password is a :class:`~pydantic.SecretStr`
(masked in ``repr``) and no error message quotes it; the file is read again for each new
client, so a rotated Secret is picked up by the next connection. aiokafka logs every
request at DEBUG, the SASL PLAIN password included: a SASL client installs a filter on its
``aiokafka.conn`` logger that blanks those requests (:class:`_HideSaslBytes`).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, model_validator

from almanac.core.errors import InvalidInputError

__all__ = ["PLAINTEXT", "VARIABLES", "KafkaSecurity", "SaslMechanism", "SecurityProtocol"]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

#: Field of :class:`KafkaSecurity` -> the environment variable it is read from.
VARIABLES: Final = {
    "protocol": "ALMANAC_KAFKA_SECURITY_PROTOCOL",
    "mechanism": "ALMANAC_KAFKA_SASL_MECHANISM",
    "username": "ALMANAC_KAFKA_SASL_USERNAME",
    "password": "ALMANAC_KAFKA_SASL_PASSWORD",
    "password_file": "ALMANAC_KAFKA_SASL_PASSWORD_FILE",
    "cafile": "ALMANAC_KAFKA_SSL_CAFILE",
    "certfile": "ALMANAC_KAFKA_SSL_CERTFILE",
    "keyfile": "ALMANAC_KAFKA_SSL_KEYFILE",
}
_PROTOCOL: Final = VARIABLES["protocol"]
_SASL_FIELDS: Final = ("mechanism", "username", "password", "password_file")
_TLS_FIELDS: Final = ("cafile", "certfile", "keyfile")


class _HideSaslBytes(logging.Filter):
    """Blank aiokafka's DEBUG lines of SASL authentication requests: their bytes carry the
    PLAIN password (and SCRAM proofs). Runs only for records that pass the level check."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "sasl_auth_bytes" in record.getMessage():
            record.msg, record.args = "SASL authentication request (bytes not logged)", None
        return True


_AIOKAFKA_CONN: Final = logging.getLogger("aiokafka.conn")


def _hide_sasl_bytes() -> None:
    if not any(isinstance(f, _HideSaslBytes) for f in _AIOKAFKA_CONN.filters):
        _AIOKAFKA_CONN.addFilter(_HideSaslBytes())


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]


def _refuse(field: str, message: str) -> InvalidInputError:
    variable = VARIABLES[field]
    return InvalidInputError(f"{variable} {message}", variable)


def _strip_newline(text: str) -> str:
    """A Secret made from a file usually ends in a newline that is no part of the password."""
    return text.rstrip("\r\n")


def _read_password(path: Path) -> str:
    try:
        password = _strip_newline(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise _refuse(
            "password_file",
            f"={path} cannot be read ({reason}); mount the Secret holding the password there "
            "or correct the path",
        ) from None
    if not password:
        raise _refuse("password_file", f"={path} is empty; put the SASL password in it")
    return password


class KafkaSecurity(BaseModel):
    """TLS and SASL settings of the platform's Kafka clients; :meth:`client_kwargs` gives
    the keyword arguments of ``AIOKafkaProducer`` / ``AIOKafkaConsumer``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol: SecurityProtocol = "PLAINTEXT"
    mechanism: SaslMechanism | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def sasl(self) -> bool:
        """The protocol authenticates with SASL."""
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def tls(self) -> bool:
        """The protocol encrypts with TLS."""
        return self.protocol in ("SSL", "SASL_SSL")

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        """Refuse settings the protocol would ignore or lack, and unreadable files."""
        for fields, needs, uses in (
            (_SASL_FIELDS, self.sasl, "SASL_SSL or SASL_PLAINTEXT"),
            (_TLS_FIELDS, self.tls, "SSL or SASL_SSL"),
        ):
            for field in fields if not needs else ():
                if getattr(self, field) is not None:
                    raise _refuse(
                        field,
                        f"is set but {_PROTOCOL}={self.protocol} does not use it; set "
                        f"{_PROTOCOL} to {uses}, or unset {VARIABLES[field]}",
                    )
        if self.sasl:
            self._check_sasl()
        if self.tls:
            self.ssl_context()  # a CA or key that does not load is refused now
        return self

    def _check_sasl(self) -> None:
        if self.mechanism is None:
            raise _refuse(
                "mechanism",
                f"is unset; {self.protocol} needs one of {_one_of(get_args(SaslMechanism))} "
                "(one the broker's listener enables)",
            )
        if not self.username:
            raise _refuse("username", f"is unset; {self.protocol} needs the SASL user name")
        if self.password is not None and self.password_file is not None:
            raise _refuse(
                "password",
                f"and {VARIABLES['password_file']} are both set; keep only the file "
                "(a mounted Secret)",
            )
        if self.password is None and self.password_file is None:
            raise _refuse(
                "password_file",
                f"is unset; {self.protocol} needs a password: set it to a file holding the "
                f"password (a mounted Secret), or set {VARIABLES['password']}",
            )
        if self.password is not None and not self.password.get_secret_value():
            raise _refuse("password", "is empty; set the SASL password")
        if self.password_file is not None:
            _read_password(self.password_file)

    def sasl_password(self) -> str:
        """The SASL password; the file is read on each call (a rotated Secret applies)."""
        if self.password_file is not None:
            return _read_password(self.password_file)
        return self.password.get_secret_value() if self.password is not None else ""

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context (hostname checked): the CA file if set, else the
        system's CAs, plus the client certificate if set."""
        for field in _TLS_FIELDS:
            path: Path | None = getattr(self, field)
            if path is not None and not path.is_file():
                raise _refuse(field, f"={path} is not a file; mount it there or correct the path")
        if self.keyfile is not None and self.certfile is None:
            raise _refuse(
                "keyfile",
                f"is set without {VARIABLES['certfile']}; set the client certificate too",
            )
        try:
            context = ssl.create_default_context(
                cafile=str(self.cafile) if self.cafile is not None else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise _refuse(
                "cafile", f"={self.cafile} holds no PEM CA certificate ({exc}); check the file"
            ) from None
        if self.certfile is not None:
            try:
                context.load_cert_chain(self.certfile, self.keyfile)
            except (OSError, ssl.SSLError) as exc:
                raise _refuse(
                    "certfile",
                    f"={self.certfile} (key: {self.keyfile or 'in the same file'}) does not "
                    f"load ({exc}); give a PEM certificate and its unencrypted key",
                ) from None
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """aiokafka's security keyword arguments; none for PLAINTEXT (aiokafka's default).
        The result holds the password: pass it on, never log it."""
        if self.protocol == "PLAINTEXT":
            return {}
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            kwargs["ssl_context"] = self.ssl_context()
        if self.sasl:
            _hide_sasl_bytes()
            kwargs["sasl_mechanism"] = self.mechanism
            kwargs["sasl_plain_username"] = self.username
            kwargs["sasl_plain_password"] = self.sasl_password()
        return kwargs

    def describe(self) -> str:
        """For logs: protocol, mechanism and user, never the password."""
        if not self.sasl:
            return self.protocol
        return f"{self.protocol} {self.mechanism} as {self.username}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        """Read the ``ALMANAC_KAFKA_*`` security variables; raise :class:`InvalidInputError`
        naming the bad one (the processes exit 2 on it, like other settings)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field, variable in VARIABLES.items():
            raw = env.get(variable, "")
            value = _strip_newline(raw) if field == "password" else raw.strip()
            if value:
                values[field] = value
        for field, choices in (
            ("protocol", get_args(SecurityProtocol)),
            ("mechanism", get_args(SaslMechanism)),
        ):
            if field in values:
                values[field] = values[field].upper()
                if values[field] not in choices:
                    raise _refuse(
                        field,
                        f"={env[VARIABLES[field]]!r} is not supported; use {_one_of(choices)}",
                    )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, InvalidInputError):
                raise cause from None
            field = str(error["loc"][0]) if error["loc"] else "protocol"
            raise _refuse(field, f"is invalid ({error['msg']})") from None


#: The default: no TLS, no SASL (what every client used before these settings existed).
PLAINTEXT: Final = KafkaSecurity()
