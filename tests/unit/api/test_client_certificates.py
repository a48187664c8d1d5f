"""Mutual TLS from the gateway: the settings, the start-up checks of the files, the names
check on a verified client certificate and the ops port's routes (the handshake itself is
exercised on a real process in tests/integration/api/test_gateway_client_cert.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from almanac.api.errors import ForbiddenError
from almanac.api.gateway import check_client_names, client_certificate_names
from almanac.api.serving import api_port_app, check_tls_files, ops_app
from almanac.api.settings import ApiSettings
from almanac.core.errors import InvalidInputError
from tests.support.pki import Authority

CERT, KEY = "ALMANAC_API_TLS_CERTFILE", "ALMANAC_API_TLS_KEYFILE"
CA, NAMES = "ALMANAC_API_GATEWAY_CLIENT_CA", "ALMANAC_API_GATEWAY_CLIENT_NAMES"
OPS = "ALMANAC_API_OPS_PORT"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A valid set of files: the facade's certificate and key and the gateway's CA."""
    directory = tmp_path_factory.mktemp("pki")
    gateway_ca = Authority(directory, "gateway-ca")
    server = Authority(directory, "server-ca").issue("facade", "facade", dns=["localhost"])
    return {CERT: str(server.cert), KEY: str(server.key), CA: str(gateway_ca.files.cert)}


def test_without_tls_variables_the_facade_serves_plain_http_and_no_ops_port() -> None:
    settings = ApiSettings.from_env({})
    assert (settings.tls_certfile, settings.tls_keyfile, settings.gateway_client_ca) == (
        None,
        None,
        None,
    )
    assert settings.gateway_client_names == frozenset()
    assert settings.ops_port is None


def test_a_client_ca_requires_certificates_and_opens_the_ops_port_on_8081() -> None:
    env = {CERT: "/tls/tls.crt", KEY: "/tls/tls.key", CA: "/ca/ca.crt", NAMES: " gw, gw.ns.svc "}
    settings = ApiSettings.from_env(env)
    assert (settings.tls_certfile, settings.tls_keyfile) == ("/tls/tls.crt", "/tls/tls.key")
    assert settings.gateway_client_ca == "/ca/ca.crt"
    assert settings.gateway_client_names == {"gw", "gw.ns.svc"}
    assert settings.ops_port == 8081
    assert ApiSettings.from_env(env | {OPS: "9100"}).ops_port == 9100


def test_https_alone_keeps_probes_on_the_api_port_unless_an_ops_port_is_set() -> None:
    assert ApiSettings.from_env({CERT: "/c", KEY: "/k"}).ops_port is None
    assert ApiSettings.from_env({OPS: "8081"}).ops_port == 8081


@pytest.mark.parametrize(
    ("env", "named", "fix"),
    [
        ({CERT: "/c"}, KEY, "set both"),
        ({KEY: "/k"}, CERT, "set both"),
        ({CA: "/ca"}, CA, CERT),
        ({CA: "/ca", CERT: "/c"}, KEY, "set both"),
        ({NAMES: "gw"}, NAMES, "set the CA"),
        ({OPS: "8000"}, OPS, "another port"),
        ({OPS: "ops"}, OPS, "0 to 65535"),
        ({CERT: "/c", KEY: "/k", CA: "/ca", "ALMANAC_API_PORT": "8081"}, OPS, "another port"),
    ],
    ids=[
        "cert-without-key",
        "key-without-cert",
        "ca-without-tls",
        "ca-with-half-tls",
        "names-without-ca",
        "ops-port-is-api-port",
        "ops-port-not-a-number",
        "default-ops-port-is-api-port",
    ],
)
def test_an_incomplete_combination_is_refused_naming_the_variable_and_the_fix(
    env: dict[str, str], named: str, fix: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        ApiSettings.from_env(env)
    assert refused.value.field == named
    assert named in refused.value.message
    assert fix in refused.value.message


def test_usable_files_pass_the_start_up_check(pki: dict[str, str]) -> None:
    check_tls_files(ApiSettings.from_env(pki))
    check_tls_files(ApiSettings.from_env({}))  # nothing to check


@pytest.mark.parametrize(
    ("variable", "content", "said"),
    [
        (CERT, None, "cannot be read"),
        (CERT, b"not a certificate", "holds no PEM certificate"),
        (KEY, None, "cannot be read"),
        (KEY, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private key"),
        (CA, None, "cannot be read"),
        (CA, b"", "holds no PEM certificate"),
    ],
    ids=["cert-missing", "cert-garbage", "key-missing", "key-garbage", "ca-missing", "ca-empty"],
)
def test_a_file_that_cannot_be_used_is_refused_at_start_naming_its_variable(
    pki: dict[str, str], tmp_path: Path, variable: str, content: bytes | None, said: str
) -> None:
    path = tmp_path / "file.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInputError) as refused:
        check_tls_files(ApiSettings.from_env(pki | {variable: str(path)}))
    assert refused.value.field == variable
    assert refused.value.message.startswith(f"{variable}={str(path)!r}")
    assert said in refused.value.message


def test_a_directory_where_the_key_should_be_is_refused_as_unreadable(
    pki: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_tls_files(ApiSettings.from_env(pki | {KEY: str(tmp_path)}))
    assert refused.value.field == KEY
    assert "cannot be read" in refused.value.message


def test_the_key_of_another_certificate_is_refused(pki: dict[str, str], tmp_path: Path) -> None:
    other = Authority(tmp_path, "other-ca").issue("other", "other")
    with pytest.raises(InvalidInputError) as refused:
        check_tls_files(ApiSettings.from_env(pki | {KEY: str(other.key)}))
    assert refused.value.field == KEY
    assert "is not the key of the certificate" in refused.value.message


def test_python_m_almanac_api_exits_2_naming_a_missing_certificate(tmp_path: Path) -> None:
    missing = str(tmp_path / "tls.crt")
    result = subprocess.run(
        [sys.executable, "-m", "almanac", "api"],
        env=dict(os.environ, **{CERT: missing, KEY: missing}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {CERT}: {CERT}={missing!r} cannot be read")


# ssl.SSLSocket.getpeercert() of a verified certificate, as the names check receives it.
PEERCERT: dict[str, Any] = {
    "subject": ((("organizationName", "Platform"),), (("commonName", "gateway"),)),
    "subjectAltName": (("DNS", "gateway.edge.svc"), ("IP Address", "10.0.0.1")),
}


def test_the_names_of_a_client_certificate_are_its_common_name_and_dns_names() -> None:
    assert client_certificate_names(PEERCERT) == ("gateway", "gateway.edge.svc")
    assert client_certificate_names({}) == ()


@pytest.mark.parametrize(
    "allowed",
    [frozenset(), frozenset({"gateway"}), frozenset({"other", "Gateway.Edge.SVC"})],
    ids=["no-names-configured", "common-name", "dns-name-any-case"],
)
def test_a_certificate_with_an_allowed_name_passes(allowed: frozenset[str]) -> None:
    check_client_names(allowed, PEERCERT)


@pytest.mark.parametrize("peercert", [PEERCERT, {}, None], ids=["other-names", "empty", "none"])
def test_a_certificate_without_an_allowed_name_is_a_403_naming_what_it_carries(
    peercert: dict[str, Any] | None,
) -> None:
    with pytest.raises(ForbiddenError) as refused:
        check_client_names(frozenset({"gw", "*.edge.svc"}), peercert)
    assert refused.value.field == "tls.client_certificate"
    assert NAMES in refused.value.message
    if peercert:
        assert "'gateway', 'gateway.edge.svc'" in refused.value.message


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse(f"app {scope['path']}")(scope, receive, send)


async def test_the_ops_port_serves_probes_and_metrics_and_nothing_else() -> None:
    started = False
    ops = ops_app(_echo, lambda: started)
    transport = httpx.ASGITransport(app=ops)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        not_yet = await client.get("/readyz")
        assert (not_yet.status_code, not_yet.text) == (503, "not ready: the API port is starting")
        assert (await client.get("/healthz")).text == "app /healthz"
        started = True
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(path)).text == f"app {path}"
        for path in ("/api/scheduler/v1/jobs", "/", "/api/scheduler/v1/openapi.json"):
            refused = await client.get(path)
            assert refused.status_code == 404, path
            assert refused.json()["errors"][0]["field"] == "path"
            assert OPS in refused.json()["errors"][0]["message"]


async def test_with_an_ops_port_the_api_port_serves_all_but_the_metrics() -> None:
    api = api_port_app(_echo)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        for path in ("/healthz", "/readyz", "/api/scheduler/v1/jobs"):
            assert (await client.get(path)).text == f"app {path}"
        refused = await client.get("/metrics")
        assert refused.status_code == 404
        assert OPS in refused.json()["errors"][0]["message"]
