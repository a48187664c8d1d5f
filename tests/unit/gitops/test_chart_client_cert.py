"""facade.gateway.clientCertificate: the facade's TLS files and the gateway's CA mounted
read-only, the variables that make the facade require the gateway's certificate, and the
probes on the plain-HTTP ops port (the kubelet has no client certificate), as without it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gitops.chart import HelmError, render

MTLS = {
    "facade.gateway.clientCertificate.enabled": "true",
    "facade.gateway.clientCertificate.caSecret": "gateway-ca",
    "facade.gateway.clientCertificate.tlsSecret": "facade-tls",
}


def facade(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The facade's pod spec and its Service."""
    objects = render(values, show_only="templates/facade.yaml")
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (service,) = [o for o in objects if o["kind"] == "Service"]
    return deployment["spec"]["template"]["spec"], service


def test_by_default_the_facade_speaks_plain_http_and_is_probed_on_its_ops_port() -> None:
    pod, service = facade({})
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert not env.keys() & {"ALMANAC_API_TLS_CERTFILE", "ALMANAC_API_GATEWAY_CLIENT_CA"}
    assert env["ALMANAC_API_OPS_PORT"] == "8081"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": 8000,
        "ops": 8081,
    }
    assert container["readinessProbe"]["httpGet"]["port"] == "ops"
    # The metrics are scraped from the ops port; the API port does not serve them.
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    assert ports == {"http": (80, "http"), "http-metrics": (8081, "ops")}


def test_client_certificates_mount_both_secrets_and_probe_the_ops_port() -> None:
    pod, service = facade(MTLS | {"facade.gateway.clientCertificate.names": "{gw.edge.svc,gw2}"})
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ALMANAC_API_TLS_CERTFILE"] == "/etc/almanac/facade-tls/tls.crt"
    assert env["ALMANAC_API_TLS_KEYFILE"] == "/etc/almanac/facade-tls/tls.key"
    assert env["ALMANAC_API_GATEWAY_CLIENT_CA"] == "/etc/almanac/gateway-ca/ca.crt"
    assert env["ALMANAC_API_GATEWAY_CLIENT_NAMES"] == "gw.edge.svc,gw2"
    assert env["ALMANAC_API_OPS_PORT"] == "8081"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000, "ops": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["facade-tls"]["readOnly"] is mounts["gateway-ca"]["readOnly"] is True
    volumes = {v["name"]: v.get("secret") for v in pod["volumes"]}
    assert volumes["facade-tls"]["secretName"] == "facade-tls"
    assert volumes["gateway-ca"]["secretName"] == "gateway-ca"
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http", "ops"]


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"facade.gateway.clientCertificate.enabled": "true"}, "needs caSecret"),
        (MTLS | {"facade.opsPort": "8000"}, "must differ"),
    ],
    ids=["without-secrets", "ops-port-is-the-api-port"],
)
def test_an_incomplete_client_certificate_setup_is_refused(
    values: dict[str, str], said: str
) -> None:
    with pytest.raises(HelmError, match=said):
        render(values)
