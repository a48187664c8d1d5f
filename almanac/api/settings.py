"""Facade settings, read once from the environment at start-up.

A malformed variable stops the process with a message naming it and the fix, before any
client is created: a facade that half-starts would answer 500s instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from almanac.api.errors import BadRequestError
from almanac.api.orgnamespace import DEFAULTS_VARIABLE, read_namespace_defaults
from almanac.api.payloadaliases import DEFAULT_TOPIC_VARIABLE
from almanac.core.errors import InvalidInputError
from almanac.core.kafkanames import DEFAULT_NAMES, KafkaNames
from almanac.history.errors import DATABASE_URL_VARIABLE
from almanac.operator.config import RUN_ENV_PASSED

__all__ = [
    "BOOTSTRAP_VARIABLE",
    "CLIENT_CA_VARIABLE",
    "CLIENT_NAMES_VARIABLE",
    "GATEWAY_SECRET_VARIABLE",
    "OPS_PORT_VARIABLE",
    "TLS_CERT_VARIABLE",
    "TLS_KEY_VARIABLE",
    "TRIGGER_TOPIC_VARIABLE",
    "ApiSettings",
    "namespace_for",
]

_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_FLAGS: Final = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_TOPIC: Final = re.compile(r"[a-zA-Z0-9._-]{1,249}")
BOOTSTRAP_VARIABLE: Final = "ALMANAC_KAFKA_BOOTSTRAP"
TRIGGER_TOPIC_VARIABLE: Final = "ALMANAC_TRIGGER_TOPIC"
GATEWAY_SECRET_VARIABLE: Final = "ALMANAC_API_GATEWAY_SECRET"
TLS_CERT_VARIABLE: Final = "ALMANAC_API_TLS_CERTFILE"
TLS_KEY_VARIABLE: Final = "ALMANAC_API_TLS_KEYFILE"
CLIENT_CA_VARIABLE: Final = "ALMANAC_API_GATEWAY_CLIENT_CA"
CLIENT_NAMES_VARIABLE: Final = "ALMANAC_API_GATEWAY_CLIENT_NAMES"
OPS_PORT_VARIABLE: Final = "ALMANAC_API_OPS_PORT"
HISTORY_VARIABLE: Final = "ALMANAC_API_HISTORY_ENABLED"
#: The ops port when client certificates are required and ALMANAC_API_OPS_PORT is unset
#: (the operator's metrics port is 8080, the facade's API port 8000).
DEFAULT_OPS_PORT: Final = 8081
_TLS_VARIABLES: Final = (TLS_CERT_VARIABLE, TLS_KEY_VARIABLE, CLIENT_CA_VARIABLE)


def namespace_for(pattern: str, org_id: str) -> str:
    """The organisation's namespace; an org id that cannot make a namespace name is a 400."""
    name = pattern.replace("{org_id}", org_id.lower())
    if len(name) > 63 or _LABEL.fullmatch(name) is None:
        raise BadRequestError(
            f"org id {org_id!r} does not give a valid namespace name ({name!r}); org ids may "
            "hold letters, digits and '-'",
            "x-rh-identity.identity.org_id",
        )
    return name


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise InvalidInputError(
            f"{name}={raw!r} is not a port from 0 to 65535; fix or unset it", name
        )
    return int(raw)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number ≥ 0 (0: no limit)."""
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise InvalidInputError(
            f"{name}={raw!r} is not a whole number from 0 (no limit) to 1000000; fix or unset it",
            name,
        )
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _FLAGS:
        raise InvalidInputError(f"{name}={raw!r} is not true or false; fix or unset it", name)
    return _FLAGS[raw]


def _pattern(env: Mapping[str, str], name: str) -> str:
    pattern = env.get(name) or "org-{org_id}"
    probe = pattern.replace("{org_id}", "1")
    if "{org_id}" not in pattern or _LABEL.fullmatch(probe) is None or len(probe) > 40:
        raise InvalidInputError(
            f"{name}={pattern!r} must contain {{org_id}} and otherwise only lower-case letters, "
            "digits and '-' (e.g. org-{org_id}); fix or unset it",
            name,
        )
    return pattern


def _names(env: Mapping[str, str], name: str) -> frozenset[str]:
    """A comma-separated list of usernames (blank entries ignored)."""
    return frozenset(n.strip() for n in env.get(name, "").split(",") if n.strip())


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A shared secret long enough not to be guessed; unset means no check."""
    raw = env.get(name, "")
    if not raw:
        return None
    if len(raw) < 16 or raw != raw.strip():
        raise InvalidInputError(
            f"{name} must be at least 16 characters without surrounding spaces (e.g. from "
            "`openssl rand -hex 32`); fix or unset it",
            name,
        )
    return raw


def _bootstrap(env: Mapping[str, str], name: str) -> str | None:
    """``host:port[,host:port]`` or unset; a port the client would choke on is caught here
    rather than as a 500 on every ``POST /events``."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    for entry in raw.split(","):
        host, _, port = entry.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) <= 65535:
            raise InvalidInputError(
                f"{name}={raw!r} is not host:port[,host:port] with ports from 1 to 65535 "
                "(e.g. kafka:9092); fix or unset it",
                name,
            )
    return raw


def _topic(env: Mapping[str, str], name: str, default: str) -> str:
    """A Kafka topic name as the broker accepts it, so a typo fails at start-up instead of
    turning every ``POST /events`` into a 503."""
    topic = env.get(name, "").strip() or default
    if _TOPIC.fullmatch(topic) is None or topic in (".", ".."):
        raise InvalidInputError(
            f"{name}={topic!r} is not a Kafka topic name: use 1 to 249 letters, digits, '.', "
            "'_' or '-' (not '.' or '..'); fix or unset it",
            name,
        )
    return topic


def _tls(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """The facade's certificate, its key and the gateway's CA, as paths (their contents are
    checked by :func:`almanac.api.serving.check_tls_files` at start). Only whole
    combinations are accepted: a half-configured TLS would serve plain HTTP, or ask for
    client certificates it cannot check, without anyone noticing."""
    cert, key, ca = (env.get(n, "").strip() or None for n in _TLS_VARIABLES)
    if (cert is None) != (key is None):
        missing, given = (TLS_KEY_VARIABLE, TLS_CERT_VARIABLE)
        if cert is None:
            missing, given = given, missing
        raise InvalidInputError(
            f"{missing} is unset but {given} is set: set both (the facade's PEM certificate "
            "and its private key, e.g. tls.crt and tls.key of a kubernetes.io/tls Secret) "
            "or neither",
            missing,
        )
    if ca is not None and cert is None:
        raise InvalidInputError(
            f"{CLIENT_CA_VARIABLE}={ca!r} requires {TLS_CERT_VARIABLE} and {TLS_KEY_VARIABLE}: "
            "the facade can only ask the gateway for a client certificate over HTTPS; set "
            f"them or unset {CLIENT_CA_VARIABLE}",
            CLIENT_CA_VARIABLE,
        )
    return cert, key, ca


def _client_names(env: Mapping[str, str], client_ca: str | None) -> frozenset[str]:
    """Names the gateway's certificate may carry (subject CN or a DNS SAN); empty: any
    certificate the CA signed."""
    names = _names(env, CLIENT_NAMES_VARIABLE)
    if names and client_ca is None:
        raise InvalidInputError(
            f"{CLIENT_NAMES_VARIABLE} is set but {CLIENT_CA_VARIABLE} is not: names are "
            "checked on verified client certificates only; set the CA or unset the names",
            CLIENT_NAMES_VARIABLE,
        )
    return names


def _ops_port(env: Mapping[str, str], api_port: int, client_ca: str | None) -> int | None:
    """The plain-HTTP port for probes and metrics: as set, else 8081 when client
    certificates are required (the kubelet cannot present one), else none."""
    if not env.get(OPS_PORT_VARIABLE, "").strip() and client_ca is None:
        return None
    port = _port(env, OPS_PORT_VARIABLE, DEFAULT_OPS_PORT)
    if port == api_port and port != 0:
        raise InvalidInputError(
            f"{OPS_PORT_VARIABLE}={port} is also the API port (ALMANAC_API_PORT): set "
            f"{OPS_PORT_VARIABLE} to another port",
            OPS_PORT_VARIABLE,
        )
    return port


@dataclass(frozen=True)
class ApiSettings:
    """What one facade process needs; see the README for each variable."""

    host: str = "0.0.0.0"
    port: int = 8000
    namespace_pattern: str = "org-{org_id}"
    create_namespaces: bool = True
    database_url: str | None = None
    #: False: no run history at all (the chart's trial mode, whose database lives in the
    #: operator pod); history routes answer 503 saying so instead of opening a database of
    #: the facade's own that the operator never writes.
    history_enabled: bool = True
    image: str = "localhost/almanac:dev"
    run_env: tuple[tuple[str, str], ...] = ()
    max_backfill: int = 100
    export_service_url: str | None = None
    kafka_bootstrap: str | None = None
    trigger_topic: str = "almanac.triggers"
    #: Where a seed-000 ``{"message": ...}`` payload without a topic publishes.
    default_message_topic: str | None = None
    gateway_secret: str | None = field(default=None, repr=False)
    admin_users: frozenset[str] = frozenset()
    readonly_users: frozenset[str] = frozenset()
    #: Almanac's own Kafka topics (the webhook's, from the same variables).
    kafka_names: KafkaNames = DEFAULT_NAMES
    max_jobs_per_org: int = 1000
    manual_runs_per_hour: int = 10
    #: Objects every organisation namespace gets (see :mod:`almanac.api.orgnamespace`).
    namespace_defaults: tuple[dict[str, Any], ...] = ()
    #: The facade's own certificate and key (PEM paths): set, the API port speaks HTTPS.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    #: The gateway's CA bundle: set, every client of the API port must present a
    #: certificate it signed (the TLS handshake fails otherwise).
    gateway_client_ca: str | None = None
    #: Subject CNs / DNS SANs the gateway's certificate may carry; empty: any.
    gateway_client_names: frozenset[str] = frozenset()
    #: Plain-HTTP port serving only /healthz, /readyz and /metrics; None: no such port.
    ops_port: int | None = None
    #: The web console's dev sign-in page (``ALMANAC_CONSOLE_DEV_LOGIN``): local stacks only.
    console_dev_login: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Read ``ALMANAC_API_*`` and the shared variables; raise naming a bad one."""
        env = os.environ if env is None else env
        port = _port(env, "ALMANAC_API_PORT", 8000)
        certfile, keyfile, client_ca = _tls(env)
        return cls(
            host=env.get("ALMANAC_API_HOST") or "0.0.0.0",
            port=port,
            namespace_pattern=_pattern(env, "ALMANAC_API_NAMESPACE_PATTERN"),
            create_namespaces=_flag(env, "ALMANAC_API_CREATE_NAMESPACES", True),
            database_url=env.get(DATABASE_URL_VARIABLE) or None,
            history_enabled=_flag(env, HISTORY_VARIABLE, True),
            image=env.get("ALMANAC_IMAGE") or "localhost/almanac:dev",
            run_env=tuple((k, env[k]) for k in RUN_ENV_PASSED if env.get(k)),
            export_service_url=env.get("ALMANAC_EXPORT_SERVICE_URL") or None,
            kafka_bootstrap=_bootstrap(env, BOOTSTRAP_VARIABLE),
            trigger_topic=_topic(env, TRIGGER_TOPIC_VARIABLE, "almanac.triggers"),
            default_message_topic=(
                _topic(env, DEFAULT_TOPIC_VARIABLE, "") if env.get(DEFAULT_TOPIC_VARIABLE) else None
            ),
            gateway_secret=_secret(env, GATEWAY_SECRET_VARIABLE),
            admin_users=_names(env, "ALMANAC_API_ADMIN_USERS"),
            readonly_users=_names(env, "ALMANAC_API_READONLY_USERS"),
            kafka_names=KafkaNames.from_env(env),
            max_jobs_per_org=_count(env, "ALMANAC_API_MAX_JOBS_PER_ORG", 1000),
            manual_runs_per_hour=_count(env, "ALMANAC_API_MANUAL_RUNS_PER_HOUR", 10),
            namespace_defaults=read_namespace_defaults(env.get(DEFAULTS_VARIABLE)),
            tls_certfile=certfile,
            tls_keyfile=keyfile,
            gateway_client_ca=client_ca,
            gateway_client_names=_client_names(env, client_ca),
            ops_port=_ops_port(env, port, client_ca),
            console_dev_login=_flag(env, "ALMANAC_CONSOLE_DEV_LOGIN", False),
        )

    def namespace(self, org_id: str) -> str:
        """The namespace of ``org_id`` under this facade's pattern."""
        return namespace_for(self.namespace_pattern, org_id)
