"""Self-signed serving certificates for the admission webhook, made with ``cryptography``.

Kopf's certificate helper needs oscrypto, which fails against this machine's OpenSSL 3
(operator-notes.md, "Webhooks"), so the webhook brings its own: a long-lived CA and a
shorter-lived serving certificate signed by it, written as ``ca.crt``, ``tls.crt`` and
``tls.key`` (the names cert-manager and ``kubernetes.io/tls`` Secrets use, so a mounted
Secret can stand in for the generated files).

Invariant protected: the API server always finds a certificate it trusts. Files are reused
while they are valid for longer than the renewal margin and cover the requested hosts; the
serving certificate is rotated before it expires, and the CA (whose PEM is the webhook
configuration's ``caBundle``) only when it nears its own, much later, expiry. Writes are
atomic and serialised by a lock file, so replicas sharing a directory never read a torn set.
"""

from __future__ import annotations

import base64
import fcntl
import ipaddress
import os
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_CERT",
    "CA_VALIDITY",
    "RENEW_BEFORE",
    "SERVING_CERT",
    "SERVING_KEY",
    "SERVING_VALIDITY",
    "CertificateCheck",
    "ca_bundle",
    "create_ssl_context",
    "ensure_certificates",
    "reload_ssl_context",
    "subject_alt_names",
]

SERVING_CERT: Final = "tls.crt"
SERVING_KEY: Final = "tls.key"
CA_CERT: Final = "ca.crt"
_CA_KEY: Final = "ca.key"
_LOCK: Final = ".lock"

SERVING_VALIDITY: Final = timedelta(days=365)
CA_VALIDITY: Final = timedelta(days=3650)
#: Rotate a certificate once it has less than this left.
RENEW_BEFORE: Final = timedelta(days=30)
#: Accept certificates issued a little "in the future" by a host whose clock runs ahead.
_BACKDATE: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class CertificateCheck:
    """What :func:`ensure_certificates` found or did.

    Attributes
    ----------
    serving_rotated
        A new serving certificate was written (reload the TLS context).
    ca_rotated
        A new CA was written: the webhook configuration's ``caBundle`` must be updated.
    expires
        ``notAfter`` of the serving certificate now on disk.
    """

    serving_rotated: bool
    ca_rotated: bool
    expires: datetime


def subject_alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """Map hosts to SANs: IP literals become IP addresses, anything else a DNS name."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def ensure_certificates(
    cert_dir: Path,
    hosts: Sequence[str],
    *,
    now: datetime | None = None,
    serving_validity: timedelta = SERVING_VALIDITY,
    ca_validity: timedelta = CA_VALIDITY,
    renew_before: timedelta = RENEW_BEFORE,
) -> CertificateCheck:
    """Make sure ``cert_dir`` holds a CA and a serving certificate for ``hosts``.

    Steps: (1) reuse the CA if it is valid for longer than ``renew_before`` plus
    ``serving_validity`` (a serving certificate never outlives its CA), else make a new
    one; (2) reuse the serving certificate if it was signed by that CA, its key
    matches, it covers exactly ``hosts`` and is valid for longer than ``renew_before``,
    else issue a new one.

    Parameters
    ----------
    hosts
        DNS names and IP addresses the API server uses to reach the webhook
        (``127.0.0.1``, ``almanac-webhook.<ns>.svc``); never empty.
    now
        The current instant (aware); the clock is read only when it is omitted.
    """
    if not hosts:
        raise ValueError("hosts is empty; give the DNS names or IPs the API server dials")
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise ValueError("now has no UTC offset; pass an aware datetime")
    cert_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cert_dir):
        # The CA must outlive every serving certificate it signs, with the margin to spare.
        ca = _load_ca(cert_dir, now, renew_before + serving_validity)
        ca_rotated = ca is None
        if ca is None:
            ca = _make_ca(now, ca_validity)
            _write(cert_dir / _CA_KEY, _key_pem(ca[1]), private=True)
            _write(cert_dir / CA_CERT, ca[0].public_bytes(serialization.Encoding.PEM))
        serving = None if ca_rotated else _load_serving(cert_dir, ca[0], hosts, now, renew_before)
        if serving is not None:
            return CertificateCheck(False, False, serving.not_valid_after_utc)
        cert, key = _make_serving(ca, hosts, now, serving_validity)
        _write(cert_dir / SERVING_KEY, _key_pem(key), private=True)
        _write(cert_dir / SERVING_CERT, cert.public_bytes(serialization.Encoding.PEM))
        return CertificateCheck(True, ca_rotated, cert.not_valid_after_utc)


def ca_bundle(cert_dir: Path) -> str:
    """The CA certificate as base64 PEM: the ``caBundle`` of the webhook configuration."""
    return base64.b64encode((cert_dir / CA_CERT).read_bytes()).decode("ascii")


def create_ssl_context(cert_dir: Path) -> ssl.SSLContext:
    """A TLS server context serving ``tls.crt``/``tls.key`` (TLS 1.2 or later).

    Call ``load_cert_chain`` on the same context again after a rotation: new handshakes
    then use the new certificate without restarting the server.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_dir / SERVING_CERT, cert_dir / SERVING_KEY)
    return context


def reload_ssl_context(context: ssl.SSLContext, cert_dir: Path) -> None:
    """Load the files now on disk into a live server context (after a rotation).

    The pair is first loaded into a throwaway context, under the lock writers hold, so a
    torn or broken pair raises here and leaves the live context serving the old one.
    """
    with _locked(cert_dir, shared=True):
        create_ssl_context(cert_dir)
        context.load_cert_chain(cert_dir / SERVING_CERT, cert_dir / SERVING_KEY)


# --- loading and checking ------------------------------------------------------------


def _still_valid(cert: x509.Certificate, now: datetime, renew_before: timedelta) -> bool:
    return cert.not_valid_before_utc <= now + _BACKDATE and (
        cert.not_valid_after_utc - now > renew_before
    )


def _load_ca(
    cert_dir: Path, now: datetime, renew_before: timedelta
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate((cert_dir / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((cert_dir / _CA_KEY).read_bytes(), None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    return (cert, key) if _still_valid(cert, now, renew_before) else None


def _load_serving(
    cert_dir: Path,
    ca: x509.Certificate,
    hosts: Sequence[str],
    now: datetime,
    renew_before: timedelta,
) -> x509.Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate((cert_dir / SERVING_CERT).read_bytes())
        key = serialization.load_pem_private_key((cert_dir / SERVING_KEY).read_bytes(), None)
        cert.verify_directly_issued_by(ca)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return None
    if key.public_key() != cert.public_key():
        return None
    if set(sans) != set(subject_alt_names(hosts)):
        return None
    return cert if _still_valid(cert, now, renew_before) else None


# --- issuing ------------------------------------------------------------------------


def _make_ca(
    now: datetime, validity: timedelta
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "almanac-webhook-ca")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        _builder(name, name, key.public_key(), now, validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_serving(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    hosts: Sequence[str],
    now: datetime,
    validity: timedelta,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64])])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), now, validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(hosts)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    validity: timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + validity)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# --- files --------------------------------------------------------------------------


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically (temp file + rename): a reader sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


@contextmanager
def _locked(cert_dir: Path, *, shared: bool = False) -> Iterator[None]:
    """Serialise check-and-rotate between processes sharing ``cert_dir``.

    Readers (``shared``) of a read-only directory (a mounted Secret, updated atomically by
    the kubelet) go without the lock.
    """
    try:
        lock = (cert_dir / _LOCK).open("a")
    except OSError:
        if not shared:
            raise
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
