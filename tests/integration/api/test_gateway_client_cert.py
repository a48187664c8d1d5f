"""Mutual TLS between the gateway and the facade, on a real facade process.

With ``ALMANAC_API_GATEWAY_CLIENT_CA`` the API port completes a TLS handshake only with a
client certificate the gateway's CA signed, and with ``ALMANAC_API_GATEWAY_CLIENT_NAMES``
only one carrying a listed name; the kubelet's probes use the plain-HTTP ops port, which
serves nothing but /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from almanac.api import BASE_PATH, encode_identity
from tests.integration.api.conftest import EXPORT_SERVICE_URL, FacadeProcess, _free_port
from tests.support import Kubectl
from tests.support.pki import Authority, Issued

#: A refused handshake answers at once; this only bounds a facade that would hang instead.
REFUSAL_TIMEOUT = httpx.Timeout(5.0)
GATEWAY_NAME = "gateway.edge.svc"


@dataclass
class MutualTlsFacade(FacadeProcess):
    """The shared launcher, pointed at the ops port: ``start`` waits for ``{url}/readyz``,
    and on the API port that would need the gateway's certificate, as the kubelet's would."""

    ops_port: int = field(default_factory=_free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ops_port}"

    @property
    def api_url(self) -> str:
        return f"https://localhost:{self.port}"


@dataclass(frozen=True)
class Pki:
    """The trust anchors and the certificates each kind of caller holds."""

    server_ca: Authority
    gateway: Issued
    wrong_name: Issued
    stranger: Issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    gateway_ca = Authority(directory, "gateway-ca")
    server_ca = Authority(directory, "server-ca")
    server_ca.issue("facade", "facade", dns=["localhost"], ips=["127.0.0.1"], server=True)
    # Both CA files in one place: the facade gets the gateway's, the callers the server's.
    return Pki(
        server_ca=server_ca,
        gateway=gateway_ca.issue("gateway", GATEWAY_NAME, dns=[GATEWAY_NAME]),
        wrong_name=gateway_ca.issue("mesh-peer", "billing.other.svc", dns=["billing.other.svc"]),
        stranger=Authority(directory, "other-ca").issue("stranger", GATEWAY_NAME),
    )


@pytest.fixture(scope="module")
def facade(
    crds: Kubectl, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MutualTlsFacade]:
    directory = pki.server_ca.directory
    process = MutualTlsFacade(
        tmp_path_factory.mktemp("facade-mtls") / "facade.log",
        env={
            "ALMANAC_EXPORT_SERVICE_URL": EXPORT_SERVICE_URL,
            "ALMANAC_API_TLS_CERTFILE": str(directory / "facade.crt"),
            "ALMANAC_API_TLS_KEYFILE": str(directory / "facade.key"),
            "ALMANAC_API_GATEWAY_CLIENT_CA": str(directory / "gateway-ca.crt"),
            "ALMANAC_API_GATEWAY_CLIENT_NAMES": f"{GATEWAY_NAME},gateway-2.edge.svc",
        },
    )
    process.env["ALMANAC_API_OPS_PORT"] = str(process.ops_port)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _client(
    pki: Pki,
    facade: MutualTlsFacade,
    cert: Issued | None,
    version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
) -> httpx.Client:
    """A caller that trusts the facade's CA, presents ``cert`` (or none) and speaks TLS up
    to ``version``."""
    context = ssl.create_default_context(cafile=str(pki.server_ca.files.cert))
    context.maximum_version = version
    if cert is not None:
        context.load_cert_chain(*cert.pair)
    org = uuid.uuid4().hex[:10]
    return httpx.Client(
        base_url=facade.api_url,
        verify=context,
        timeout=REFUSAL_TIMEOUT,
        headers={"x-rh-identity": encode_identity(org, username="jdoe")},
    )


def test_the_gateways_certificate_gets_an_answer(pki: Pki, facade: MutualTlsFacade) -> None:
    with _client(pki, facade, pki.gateway) as gateway:
        reply = gateway.get(f"{BASE_PATH}/templates")
    assert reply.status_code == 200, reply.text
    assert reply.http_version == "HTTP/1.1"


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"]
)
@pytest.mark.parametrize("holder", ["no-certificate", "another-ca"])
def test_a_client_without_the_gateways_certificate_fails_the_handshake(
    pki: Pki, facade: MutualTlsFacade, holder: str, version: ssl.TLSVersion
) -> None:
    cert = None if holder == "no-certificate" else pki.stranger
    with (
        _client(pki, facade, cert, version) as caller,
        pytest.raises(httpx.TransportError) as refused,
    ):
        caller.get(f"{BASE_PATH}/templates")
    if version is ssl.TLSVersion.TLSv1_2:
        # The server checks the certificate before its Finished: connecting itself fails.
        assert isinstance(refused.value, httpx.ConnectError), refused.value
    else:
        # TLS 1.3 clients finish their side before the server checks: the server then
        # closes the connection without reading the request.
        assert isinstance(refused.value, httpx.RemoteProtocolError | httpx.ReadError)


def test_a_certificate_of_the_gateways_ca_with_another_name_is_a_403_naming_it(
    pki: Pki, facade: MutualTlsFacade
) -> None:
    with _client(pki, facade, pki.wrong_name) as peer:
        reply = peer.get(f"{BASE_PATH}/templates")
        probe = peer.get("/readyz")
    assert reply.status_code == 403
    (error,) = reply.json()["errors"]
    assert error["field"] == "tls.client_certificate"
    assert "'billing.other.svc'" in error["message"]
    assert "ALMANAC_API_GATEWAY_CLIENT_NAMES" in error["message"]
    assert probe.status_code == 403  # the whole connection is refused, not just the API


def test_the_ops_port_answers_probes_without_a_certificate_and_nothing_else(
    facade: MutualTlsFacade,
) -> None:
    with httpx.Client(base_url=facade.url, timeout=REFUSAL_TIMEOUT) as kubelet:
        assert kubelet.get("/readyz").text == "ready"
        assert kubelet.get("/healthz").text == "ok"
        assert "almanac_api_requests" in kubelet.get("/metrics").text
        outside = kubelet.get(f"{BASE_PATH}/templates")
    assert outside.status_code == 404
    assert "ALMANAC_API_OPS_PORT" in outside.json()["errors"][0]["message"]


def test_plain_http_on_the_api_port_gets_no_answer(facade: MutualTlsFacade) -> None:
    with httpx.Client(timeout=REFUSAL_TIMEOUT) as plain, pytest.raises(httpx.TransportError):
        plain.get(f"http://127.0.0.1:{facade.port}{BASE_PATH}/templates")
