"""Kafka security against the stack's broker: its SASL_PLAINTEXT listener (PLAIN,
SCRAM-SHA-256, SCRAM-SHA-512) and its SASL_SSL listener (the stack's own CA).

Every client is built the way Almanac builds its own: :class:`KafkaSecurity` from
``ALMANAC_KAFKA_*`` variables, the :class:`KafkaPublisher` of the relay and the facade, the
trigger consumer's :class:`TriggerSettings`, and the executor's ``message`` payload. The
controls: a wrong password, a TLS client without the stack's CA and a client without SASL
are refused at once; a run publishing to brokers from its params never gets the
platform's credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from almanac.executor.context import PayloadContext
from almanac.executor.environment import RunInfo, Settings
from almanac.executor.errors import PayloadFailedError
from almanac.executor.payloads.message import execute
from almanac.kafkasecurity import KafkaSecurity
from almanac.notify import KafkaPublisher, Message
from almanac.operator.triggersettings import TriggerSettings
from tests.integration.executor.conftest import RUN_TIMEOUT, executor_env
from tests.support import eventually
from tests.support.kafka import reading

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
#: A refused connection must fail fast: aiokafka gives up after one bootstrap round.
REFUSAL_SECONDS = 15.0


@dataclasses.dataclass(frozen=True)
class Listeners:
    """The stack's secured listeners and the credentials ``hack/stack env`` prints."""

    sasl: str
    tls: str
    plaintext: str
    cafile: str
    user: str
    password_file: str

    @property
    def password(self) -> str:
        return Path(self.password_file).read_text().rstrip("\n")

    def env(self, protocol: str, mechanism: str, **more: str) -> dict[str, str]:
        """``ALMANAC_KAFKA_*`` as a deployment sets them (the password as a mounted file)."""
        return {
            "ALMANAC_KAFKA_SECURITY_PROTOCOL": protocol,
            "ALMANAC_KAFKA_SASL_MECHANISM": mechanism,
            "ALMANAC_KAFKA_SASL_USERNAME": self.user,
            "ALMANAC_KAFKA_SASL_PASSWORD_FILE": self.password_file,
            **({"ALMANAC_KAFKA_SSL_CAFILE": self.cafile} if protocol == "SASL_SSL" else {}),
            **more,
        }


@pytest.fixture
def listeners(stack: dict[str, str]) -> Listeners:
    missing = [
        k for k in ("SASL_BOOTSTRAP", "TLS_BOOTSTRAP") if f"ALMANAC_TEST_KAFKA_{k}" not in stack
    ]
    assert not missing, (
        "the stack's Kafka has no SASL/TLS listeners: run 'hack/stack restart kafka'"
    )
    return Listeners(
        sasl=stack["ALMANAC_TEST_KAFKA_SASL_BOOTSTRAP"],
        tls=stack["ALMANAC_TEST_KAFKA_TLS_BOOTSTRAP"],
        plaintext=stack["ALMANAC_KAFKA_BOOTSTRAP"],
        cafile=stack["ALMANAC_TEST_KAFKA_CAFILE"],
        user=stack["ALMANAC_TEST_KAFKA_SASL_USER"],
        password_file=stack["ALMANAC_TEST_KAFKA_SASL_PASSWORD_FILE"],
    )


def _topic() -> str:
    return f"t-security-{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def _trigger_consumer(
    bootstrap: str, topic: str, env: dict[str, str]
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer secured like the operator's trigger consumer: from TriggerSettings."""
    settings = TriggerSettings.from_env({"ALMANAC_KAFKA_BOOTSTRAP": bootstrap, **env})
    assert settings.bootstrap is not None
    client = {"group_id": f"g-{topic}", **settings.security.client_kwargs()}
    async with reading(settings.bootstrap, topic, **client) as consumer:
        yield consumer


async def _round_trip(bootstrap: str, env: dict[str, str]) -> None:
    """Publish through KafkaPublisher, read back through the trigger consumer's settings."""
    topic = _topic()
    event_id = str(uuid.uuid4())
    publisher = KafkaPublisher(bootstrap, security=KafkaSecurity.from_env(env))
    await publisher.start()
    try:
        outcomes = await publisher.publish(
            [Message(topic=topic, key="k", value=b'{"ok":true}', event_id=event_id)]
        )
    finally:
        await publisher.stop()
    assert outcomes == [None]
    async with _trigger_consumer(bootstrap, topic, env) as consumer:

        async def received() -> list[Any]:
            batches = await consumer.getmany(timeout_ms=500)
            return [record for records in batches.values() for record in records]

        (record,) = await eventually(received, timeout=30, interval=0.1, what="the record")
    assert json.loads(record.value) == {"ok": True}
    assert dict(record.headers)["event-id"] == event_id.encode()


async def _refused_quickly(publisher: KafkaPublisher) -> None:
    began = time.monotonic()
    with pytest.raises(KafkaConnectionError):
        async with asyncio.timeout(REFUSAL_SECONDS):
            await publisher.start()
    assert time.monotonic() - began < REFUSAL_SECONDS


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_round_trip_over_sasl(listeners: Listeners, mechanism: str) -> None:
    await _round_trip(listeners.sasl, listeners.env("SASL_PLAINTEXT", mechanism))


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_round_trip_over_tls_with_the_stack_ca(listeners: Listeners, mechanism: str) -> None:
    await _round_trip(listeners.tls, listeners.env("SASL_SSL", mechanism))


async def test_password_given_as_a_variable(listeners: Listeners) -> None:
    env = listeners.env("SASL_PLAINTEXT", "SCRAM-SHA-256")
    del env["ALMANAC_KAFKA_SASL_PASSWORD_FILE"]
    await _round_trip(listeners.sasl, env | {"ALMANAC_KAFKA_SASL_PASSWORD": listeners.password})


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_a_wrong_password_is_refused(
    listeners: Listeners, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    env = listeners.env("SASL_PLAINTEXT", mechanism)
    del env["ALMANAC_KAFKA_SASL_PASSWORD_FILE"]
    security = KafkaSecurity.from_env(env | {"ALMANAC_KAFKA_SASL_PASSWORD": wrong})
    caplog.set_level(logging.DEBUG)
    await _refused_quickly(KafkaPublisher(listeners.sasl, security=security))
    assert "SaslAuthenticationFailed" in caplog.text
    assert wrong not in caplog.text
    assert listeners.password not in caplog.text


async def test_tls_without_the_stack_ca_is_refused(
    listeners: Listeners, caplog: pytest.LogCaptureFixture
) -> None:
    env = listeners.env("SASL_SSL", "SCRAM-SHA-512")
    del env["ALMANAC_KAFKA_SSL_CAFILE"]  # the system's CAs do not know the stack's
    caplog.set_level(logging.DEBUG)
    await _refused_quickly(KafkaPublisher(listeners.tls, security=KafkaSecurity.from_env(env)))
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


async def test_a_client_without_sasl_is_refused(listeners: Listeners) -> None:
    await _refused_quickly(KafkaPublisher(listeners.sasl))


# -- the executor's message payload ---------------------------------------------------------


class _RecordingProducers:
    """Real producers, whose keyword arguments are kept: what each connection was given."""

    def __init__(self) -> None:
        self.made: list[dict[str, Any]] = []

    def __call__(self, **options: Any) -> AIOKafkaProducer:
        self.made.append(options)
        return AIOKafkaProducer(**options)


def _context(
    tmp_path: Path, platform: str, security: KafkaSecurity, producers: _RecordingProducers
) -> PayloadContext:
    run = RunInfo(
        run="nightly-202601010200",
        scheduledjob="nightly",
        namespace="org-000101",
        template="message",
        params={},
        slot=datetime(2026, 1, 1, 2, tzinfo=UTC),
        attempt=1,
        trigger="schedule",
    )
    settings = Settings(
        result_path=tmp_path / "result.json",
        secrets_dir=tmp_path / "secrets",
        kafka_bootstrap=platform,
        allow_cidrs=(ipaddress.ip_network("10.244.0.1/32"),),  # the stack's brokers
    )
    context = PayloadContext.create(run, settings, producers=producers)
    return dataclasses.replace(context, kafka_security=security)


async def test_message_sends_platform_credentials_to_the_platform_brokers_only(
    listeners: Listeners, tmp_path: Path
) -> None:
    """The platform is the SASL listener; a tenant names brokers in params. The platform's
    run authenticates; a tenant's broker gets no password: a plain one works without it,
    one that asks for SASL refuses the run instead of receiving the platform's password."""
    security = KafkaSecurity.from_env(listeners.env("SASL_PLAINTEXT", "SCRAM-SHA-256"))
    producers = _RecordingProducers()
    ctx = _context(tmp_path, listeners.sasl, security, producers)

    platform = await execute({"topic": _topic(), "value": "platform", "timeout": "20s"}, ctx)
    assert platform.ok, platform.summary
    assert producers.made[-1]["sasl_plain_password"] == listeners.password

    plain = {"topic": _topic(), "value": "tenant", "bootstrap": listeners.plaintext}
    tenant = await execute(plain | {"timeout": "20s"}, ctx)
    assert tenant.ok, tenant.summary
    assert not {"security_protocol", "sasl_plain_password", "ssl_context"} & set(producers.made[-1])

    # The platform's own listener, named by the tenant (so not verbatim the platform's
    # bootstrap): it accepts the platform's credentials, and refuses a client without them.
    demanding = {"topic": _topic(), "value": "x", "bootstrap": f"{listeners.sasl},{listeners.sasl}"}
    with pytest.raises(PayloadFailedError) as refused:
        await execute(demanding | {"timeout": "5s"}, ctx)
    assert refused.value.field == "params.bootstrap"
    assert "sasl_plain_password" not in producers.made[-1]
    assert listeners.password not in str(refused.value)


@dataclasses.dataclass(frozen=True)
class ExecutorRun:
    code: int
    result: dict[str, Any]
    output: str


@pytest.fixture
def run_message(tmp_path: Path) -> Callable[..., ExecutorRun]:
    """``python -m almanac.executor`` running the ``message`` payload, as the run pod does."""

    def run(params: dict[str, Any], **env: str) -> ExecutorRun:
        secrets = tmp_path / "secrets"
        secrets.mkdir(exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "almanac.executor"],
            env=executor_env(tmp_path, secrets, "message", params, **env),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        result = json.loads((tmp_path / "result-message.json").read_text())
        return ExecutorRun(done.returncode, result, done.stdout + done.stderr)

    return run


def test_the_executor_reads_the_security_variables_for_the_platform_brokers(
    run_message: Callable[..., ExecutorRun], listeners: Listeners
) -> None:
    """The run pod's environment secures the platform bootstrap; neither the result nor
    the logs carry the password."""
    params = {"topic": _topic(), "value": {"secured": True}, "timeout": "20s"}
    env = listeners.env("SASL_SSL", "SCRAM-SHA-512")
    run = run_message(params, ALMANAC_KAFKA_BOOTSTRAP=listeners.tls, **env)
    assert run.code == 0, run.result
    assert run.result["details"]["topic"] == params["topic"]
    assert listeners.password not in json.dumps(run.result) + run.output


def test_a_bad_security_variable_fails_the_run_naming_it(
    run_message: Callable[..., ExecutorRun], listeners: Listeners
) -> None:
    env = listeners.env("SASL_SSL", "SCRAM-SHA-512", ALMANAC_KAFKA_SSL_CAFILE="/nonexistent/ca")
    run = run_message(
        {"topic": _topic(), "value": "x"}, ALMANAC_KAFKA_BOOTSTRAP=listeners.tls, **env
    )
    assert run.code == 1
    assert run.result["details"]["field"] == "ALMANAC_KAFKA_SSL_CAFILE"
    assert listeners.password not in json.dumps(run.result) + run.output
