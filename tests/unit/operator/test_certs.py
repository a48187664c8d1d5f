"""Webhook certificates: validity, SANs, reuse and rotation with an injected ``now``."""

from __future__ import annotations

import base64
import ipaddress
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from almanac.operator.certs import (
    CA_CERT,
    CA_VALIDITY,
    RENEW_BEFORE,
    SERVING_CERT,
    SERVING_KEY,
    SERVING_VALIDITY,
    CertificateCheck,
    ca_bundle,
    create_ssl_context,
    ensure_certificates,
    reload_ssl_context,
)

#: Fixed anchor for issuing; every "later" is relative to it.
ISSUED = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
HOSTS = ["127.0.0.1", "almanac-webhook.almanac.svc", "almanac-webhook.almanac.svc.cluster.local"]


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    check = ensure_certificates(tmp_path, HOSTS, now=ISSUED)
    assert check == CertificateCheck(True, True, check.expires)
    return tmp_path


def test_new_serving_certificate_is_valid_for_a_year_and_signed_by_the_ca(issued: Path) -> None:
    ca, cert = load(issued / CA_CERT), load(issued / SERVING_CERT)
    cert.verify_directly_issued_by(ca)
    assert cert.not_valid_after_utc == ISSUED + SERVING_VALIDITY
    assert cert.not_valid_before_utc <= ISSUED
    assert ca.not_valid_after_utc == ISSUED + CA_VALIDITY
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_new_serving_certificate_names_every_host_as_ip_or_dns(issued: Path) -> None:
    sans = load(issued / SERVING_CERT).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert sans.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.value.get_values_for_type(x509.DNSName) == HOSTS[1:]


def test_private_keys_are_readable_by_the_owner_only(issued: Path) -> None:
    assert stat.S_IMODE((issued / SERVING_KEY).stat().st_mode) == 0o600
    key = serialization.load_pem_private_key((issued / SERVING_KEY).read_bytes(), None)
    assert key.public_key() == load(issued / SERVING_CERT).public_key()


def test_ca_bundle_is_the_ca_pem_in_base64(issued: Path) -> None:
    assert base64.b64decode(ca_bundle(issued)) == (issued / CA_CERT).read_bytes()
    assert ca_bundle(issued).isascii()


@pytest.mark.parametrize(
    "later",
    [
        pytest.param(timedelta(0), id="same-instant"),
        pytest.param(timedelta(days=1), id="next-day"),
        pytest.param(SERVING_VALIDITY - RENEW_BEFORE - timedelta(days=1), id="31-days-left"),
    ],
)
def test_valid_files_are_reused(issued: Path, later: timedelta) -> None:
    before = {p.name: p.read_bytes() for p in issued.iterdir()}
    check = ensure_certificates(issued, HOSTS, now=ISSUED + later)
    assert check == CertificateCheck(False, False, ISSUED + SERVING_VALIDITY)
    assert {p.name: p.read_bytes() for p in issued.iterdir()} == before


@pytest.mark.parametrize(
    "later",
    [
        pytest.param(SERVING_VALIDITY - RENEW_BEFORE, id="30-days-left"),
        pytest.param(SERVING_VALIDITY - timedelta(days=1), id="1-day-left"),
        pytest.param(SERVING_VALIDITY + timedelta(days=10), id="expired"),
    ],
)
def test_serving_certificate_is_rotated_within_the_margin_keeping_the_ca(
    issued: Path, later: timedelta
) -> None:
    bundle = ca_bundle(issued)
    now = ISSUED + later
    check = ensure_certificates(issued, HOSTS, now=now)
    assert check == CertificateCheck(True, False, now + SERVING_VALIDITY)
    assert ca_bundle(issued) == bundle
    load(issued / SERVING_CERT).verify_directly_issued_by(load(issued / CA_CERT))


def test_ca_is_rotated_before_it_could_expire_under_a_serving_certificate(issued: Path) -> None:
    bundle = ca_bundle(issued)
    now = ISSUED + CA_VALIDITY - SERVING_VALIDITY - RENEW_BEFORE
    check = ensure_certificates(issued, HOSTS, now=now)
    assert check == CertificateCheck(True, True, now + SERVING_VALIDITY)
    assert ca_bundle(issued) != bundle
    assert load(issued / CA_CERT).not_valid_after_utc == now + CA_VALIDITY
    load(issued / SERVING_CERT).verify_directly_issued_by(load(issued / CA_CERT))


def test_changed_hosts_reissue_the_serving_certificate(issued: Path) -> None:
    check = ensure_certificates(issued, ["10.244.0.1"], now=ISSUED)
    assert (check.serving_rotated, check.ca_rotated) == (True, False)
    sans = load(issued / SERVING_CERT).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert sans.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.244.0.1")]


@pytest.mark.parametrize(
    ("file", "content"),
    [
        pytest.param(SERVING_CERT, b"garbage", id="serving-cert-corrupt"),
        pytest.param(SERVING_KEY, b"", id="serving-key-empty"),
    ],
)
def test_broken_serving_files_are_replaced(issued: Path, file: str, content: bytes) -> None:
    (issued / file).write_bytes(content)
    assert ensure_certificates(issued, HOSTS, now=ISSUED).serving_rotated
    create_ssl_context(issued)


def test_serving_key_of_another_certificate_is_replaced(issued: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    ensure_certificates(other, HOSTS, now=ISSUED)
    (issued / SERVING_KEY).write_bytes((other / SERVING_KEY).read_bytes())
    assert ensure_certificates(issued, HOSTS, now=ISSUED).serving_rotated
    create_ssl_context(issued)


def test_missing_ca_rotates_everything(issued: Path) -> None:
    (issued / CA_CERT).unlink()
    check = ensure_certificates(issued, HOSTS, now=ISSUED)
    assert (check.serving_rotated, check.ca_rotated) == (True, True)
    load(issued / SERVING_CERT).verify_directly_issued_by(load(issued / CA_CERT))


def test_naive_now_and_empty_hosts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        ensure_certificates(tmp_path, HOSTS, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="hosts is empty"):
        ensure_certificates(tmp_path, [], now=ISSUED)


def test_reload_keeps_the_live_context_when_the_pair_is_broken(issued: Path) -> None:
    context = create_ssl_context(issued)
    (issued / SERVING_KEY).write_bytes(b"")
    served = handshake(context)
    (issued / SERVING_KEY).write_bytes(b"")
    with pytest.raises(ssl.SSLError):
        reload_ssl_context(context, issued)
    assert handshake(context) == served


def test_reload_serves_the_rotated_certificate(issued: Path) -> None:
    context = create_ssl_context(issued)
    served = handshake(context)
    ensure_certificates(issued, HOSTS, now=ISSUED + SERVING_VALIDITY)
    reload_ssl_context(context, issued)
    assert handshake(context) != served
    assert handshake(context) == load(issued / SERVING_CERT).public_bytes(
        serialization.Encoding.DER
    )


def handshake(server: ssl.SSLContext) -> bytes:
    """Complete a TLS handshake in memory; return the certificate the server presented."""
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    ends = (
        client.wrap_bio(to_client, to_server, server_side=False),
        server.wrap_bio(to_server, to_client, server_side=True),
    )
    done = [False, False]
    for _ in range(10):
        for i, end in enumerate(ends):
            try:
                end.do_handshake()
                done[i] = True
            except ssl.SSLWantReadError:
                pass
        if all(done):
            break
    der = ends[0].getpeercert(binary_form=True)
    assert der is not None, "handshake did not complete"
    return der
