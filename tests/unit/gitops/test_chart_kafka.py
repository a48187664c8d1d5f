"""``kafka.security``: the operator and the facade get the same TLS/SASL settings, the
password and the CA as files from Secrets (never a value in the manifest); none by default."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gitops.chart import HelmError, render

SECURED = {
    "kafka.bootstrap": "kafka.example:9093",
    "kafka.security.protocol": "SASL_SSL",
    "kafka.security.saslMechanism": "SCRAM-SHA-512",
    "kafka.security.username": "almanac",
    "kafka.security.passwordSecret": "kafka-password",
    "kafka.security.caSecret": "kafka-ca",
}


def deployments(values: dict[str, str]) -> list[dict[str, Any]]:
    return [o for o in render(values) if o["kind"] == "Deployment"]


def test_operator_and_facade_get_the_same_kafka_security() -> None:
    found = deployments(SECURED)
    assert len(found) == 2  # the operator and the facade
    for deployment in found:
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["ALMANAC_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["ALMANAC_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["ALMANAC_KAFKA_SASL_USERNAME"] == "almanac"
        assert env["ALMANAC_KAFKA_SASL_PASSWORD_FILE"] == "/var/run/almanac/kafka-sasl/password"
        assert env["ALMANAC_KAFKA_SSL_CAFILE"] == "/var/run/almanac/kafka-tls/ca.crt"
        assert "ALMANAC_KAFKA_SASL_PASSWORD" not in env
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["kafka-sasl"]["readOnly"] is True
        assert mounts["kafka-tls"]["mountPath"] == "/var/run/almanac/kafka-tls"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["kafka-sasl"]["secret"]["secretName"] == "kafka-password"
        assert volumes["kafka-tls"]["secret"]["secretName"] == "kafka-ca"


def test_by_default_no_kafka_security_is_set() -> None:
    for deployment in deployments({"kafka.bootstrap": "kafka.example:9092"}):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        names = {e["name"] for e in container["env"]}
        assert not {n for n in names if n.startswith("ALMANAC_KAFKA_S")}
        assert not [m for m in container["volumeMounts"] if m["name"].startswith("kafka-")]


def test_an_unknown_protocol_is_refused_by_the_values_schema() -> None:
    with pytest.raises(HelmError, match="protocol"):
        render({"kafka.security.protocol": "SASL"})
