"""Operator settings, read once from the environment at start-up.

Every variable is named in the error when it is malformed, with the fix.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from almanac.core.errors import InvalidInputError
from almanac.core.kafkanames import DEFAULT_NAMES, TOPIC_VARIABLES, KafkaNames
from almanac.core.runs import DEFAULT_IMAGE, IMAGE_VARIABLE

__all__ = ["OperatorConfig"]


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInputError(
            f"{name}={raw!r} is not a whole number from {low} to {high}; fix or unset it", name
        )
    return value


#: Operator settings handed on to every run pod (the executor reads them).
RUN_ENV_PASSED = ("ALMANAC_KAFKA_BOOTSTRAP", "ALMANAC_HTTP_ALLOW_CIDRS")
#: Where Almanac's own topics are, handed on too: ``message`` refuses to publish there.
RUN_TOPICS_PASSED = tuple(TOPIC_VARIABLES.values())


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _usernames(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of Kubernetes usernames (printable text)."""
    found = _list(env, name)
    if not all(user.isprintable() for user in found):
        raise InvalidInputError(
            f"{name} holds a non-printable character; list usernames separated by commas", name
        )
    return found


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """The value of ``name`` (default: the first allowed one), refused if not allowed."""
    value = env.get(name) or allowed[0]
    if value not in allowed:
        raise InvalidInputError(
            f"{name}={value!r} is not one of {', '.join(allowed)}; fix or unset it", name
        )
    return value


@dataclass(frozen=True)
class OperatorConfig:
    """What one operator process needs to know; see the README for each variable."""

    image: str
    lease_namespace: str
    lease_name: str = "almanac-operator"
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    namespaces: tuple[str, ...] = ()
    metrics_port: int = 8080
    launch_concurrency: int = 32
    #: ScheduledJobs with per-job series at most (0: none).
    job_metrics_limit: int = 1000
    run_env: tuple[tuple[str, str], ...] = ()
    #: Secrets (in each run's namespace) for pulling ``image`` in runs of built-in templates.
    run_image_pull_secrets: tuple[str, ...] = ()
    webhook_port: int | None = None
    webhook_cert_dir: Path = Path("/tmp/almanac-webhook-certs")
    webhook_hosts: tuple[str, ...] = ("127.0.0.1",)
    webhook_manage_certs: bool = True
    webhook_url: str | None = None
    webhook_bind: str = "0.0.0.0"
    webhook_failure_policy: Literal["Fail", "Ignore"] = "Fail"
    #: Users whose ScheduledJob writes skip the webhook (they check first: the facade);
    #: with the operator itself, the only users that may write RunRequests.
    webhook_trusted_users: tuple[str, ...] = ()
    #: Almanac's own Kafka topics here; admission refuses them to tenants.
    kafka_names: KafkaNames = DEFAULT_NAMES
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        namespaces = tuple(
            n.strip() for n in env.get("ALMANAC_WATCH_NAMESPACES", "").split(",") if n.strip()
        )
        return cls(
            kafka_names=KafkaNames.from_env(env),
            image=env.get(IMAGE_VARIABLE, DEFAULT_IMAGE),
            lease_namespace=env.get("ALMANAC_LEASE_NAMESPACE")
            or env.get("POD_NAMESPACE")
            or "default",
            lease_name=env.get("ALMANAC_LEASE_NAME", "almanac-operator"),
            identity=env.get("ALMANAC_IDENTITY")
            or env.get("POD_NAME")
            or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
            namespaces=namespaces,
            metrics_port=_int(env, "ALMANAC_METRICS_PORT", 8080, 0, 65535),
            launch_concurrency=_int(env, "ALMANAC_LAUNCH_CONCURRENCY", 32, 1, 256),
            job_metrics_limit=_int(env, "ALMANAC_JOB_METRICS_LIMIT", 1000, 0, 100_000),
            # Always set, even empty: an explicit variable beats one a pod imports with
            # envFrom, so a Secret cannot widen the run's HTTP allow-list or move the
            # reserved topics (empty means the default).
            run_env=tuple((k, env.get(k, "")) for k in RUN_ENV_PASSED + RUN_TOPICS_PASSED),
            run_image_pull_secrets=_list(env, "ALMANAC_RUN_IMAGE_PULL_SECRETS"),
            webhook_port=_int(env, "ALMANAC_WEBHOOK_PORT", 0, 0, 65535) or None,
            webhook_cert_dir=Path(
                env.get("ALMANAC_WEBHOOK_CERT_DIR", "/tmp/almanac-webhook-certs")
            ),
            webhook_hosts=_list(env, "ALMANAC_WEBHOOK_HOSTS") or ("127.0.0.1",),
            webhook_manage_certs=_choice(env, "ALMANAC_WEBHOOK_CERTS", ("generate", "external"))
            == "generate",
            webhook_url=env.get("ALMANAC_WEBHOOK_URL") or None,
            webhook_bind=env.get("ALMANAC_WEBHOOK_BIND", "0.0.0.0"),
            webhook_failure_policy="Ignore"
            if _choice(env, "ALMANAC_WEBHOOK_FAILURE_POLICY", ("Fail", "Ignore")) == "Ignore"
            else "Fail",
            webhook_trusted_users=_usernames(env, "ALMANAC_WEBHOOK_TRUSTED_USERS"),
            log_level=_choice(env, "ALMANAC_LOG_LEVEL", ("info", "debug", "warning", "error")),
        )
