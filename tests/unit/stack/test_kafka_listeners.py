"""The local broker's configuration: PLAINTEXT plus SASL and TLS listeners, made once per
stack (same ports, password and certificates on every start), secrets readable by root only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from hack.localstack import services
from hack.localstack.processes import State, free_port
from hack.localstack.settings import GATEWAY, Dirs


@pytest.fixture(autouse=True)
def _ports_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pod bridge's address exists only while a stack runs; the unit stage runs first
    on a fresh machine, so ports are picked on loopback (the choosing is what is tested)."""
    monkeypatch.setattr(services, "free_port", lambda _host: free_port("127.0.0.1"))


def _configured(tmp_path: Path) -> tuple[Dirs, State, dict[str, str]]:
    dirs = Dirs(state=tmp_path / "stack", cache=tmp_path / "cache")
    state = State(ports={"kafka": 9092, "kafka-controller": 9093})
    config = services.configure_kafka(dirs, state)
    lines = dict(line.split("=", 1) for line in config.read_text().splitlines() if line)
    return dirs, state, lines


def test_three_listeners_with_every_mechanism(tmp_path: Path) -> None:
    _, state, props = _configured(tmp_path)
    sasl, tls = state.ports["kafka-sasl"], state.ports["kafka-tls"]
    assert props["listeners"] == (
        f"PLAINTEXT://{GATEWAY}:9092,SASL://{GATEWAY}:{sasl},TLS://{GATEWAY}:{tls},"
        "CONTROLLER://127.0.0.1:9093"
    )
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert "SASL:SASL_PLAINTEXT,TLS:SASL_SSL" in props["listener.security.protocol.map"]
    assert props["sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    for listener in ("sasl", "tls"):
        for mechanism in ("plain", "scram-sha-256", "scram-sha-512"):
            assert f"listener.name.{listener}.{mechanism}.sasl.jaas.config" in props
    assert props["listener.name.tls.ssl.keystore.type"] == "PEM"


def test_the_server_certificate_names_the_gateway(tmp_path: Path) -> None:
    _, _, props = _configured(tmp_path)
    pem = Path(props["listener.name.tls.ssl.keystore.location"]).read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    server = x509.load_pem_x509_certificates(pem[pem.index(b"-----BEGIN CERTIFICATE") :])[0]
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert GATEWAY in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]


def test_a_second_start_keeps_ports_password_and_certificates(tmp_path: Path) -> None:
    dirs, state, _ = _configured(tmp_path)
    env = services.kafka_test_env(dirs, state)
    ca = Path(env["ALMANAC_TEST_KAFKA_CAFILE"]).read_bytes()
    password = Path(env["ALMANAC_TEST_KAFKA_SASL_PASSWORD_FILE"]).read_text()
    ports = dict(state.ports)
    services.configure_kafka(dirs, state)
    assert state.ports == ports
    assert services.kafka_test_env(dirs, state) == env
    assert Path(env["ALMANAC_TEST_KAFKA_CAFILE"]).read_bytes() == ca
    assert Path(env["ALMANAC_TEST_KAFKA_SASL_PASSWORD_FILE"]).read_text() == password
    assert password.strip() == state.secrets["kafka-sasl"]
    assert len(password.strip()) == 32
    assert not services.kafka_outdated(state)


def test_secrets_are_private_files(tmp_path: Path) -> None:
    dirs, state, props = _configured(tmp_path)
    env = services.kafka_test_env(dirs, state)
    for path in (
        env["ALMANAC_TEST_KAFKA_SASL_PASSWORD_FILE"],
        props["listener.name.tls.ssl.keystore.location"],
        str(dirs.state / "kafka" / "server.properties"),
    ):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600, path


def test_an_older_stack_is_outdated_and_prints_no_secured_listeners(tmp_path: Path) -> None:
    old = State(ports={"kafka": 9092, "kafka-controller": 9093})
    assert services.kafka_outdated(old)
    assert services.kafka_test_env(Dirs(tmp_path, tmp_path), old) == {}
