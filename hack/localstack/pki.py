"""Certificates for the control plane: one CA, the API server's serving certificate, an
admin client certificate (``system:masters``) shared by the components, and the key pair
that signs service-account tokens. Made once per stack directory.

Kafka's TLS listener has a CA of its own (:func:`make_kafka_tls`): a client given the
broker's CA file must not thereby trust the API server, nor the other way round."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .settings import GATEWAY, SERVICE_IP

__all__ = ["KafkaTls", "Pki", "issue_client_cert", "make_kafka_tls", "make_pki", "write_kubeconfig"]

VALIDITY = dt.timedelta(days=365)
API_SERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
API_SERVER_IPS = ("127.0.0.1", SERVICE_IP, GATEWAY)


@dataclass(frozen=True)
class Pki:
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ca_cert(self) -> Path:
        return self.path("ca.crt")

    @property
    def admin_cert(self) -> Path:
        return self.path("admin.crt")

    @property
    def admin_key(self) -> Path:
        return self.path("admin.key")


@dataclass(frozen=True)
class KafkaTls:
    """The broker's TLS files: the CA clients trust and the broker's PEM keystore."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def keystore(self) -> Path:
        """Unencrypted PKCS#8 key, then the certificate chain: Kafka's ``PEM`` keystore."""
        return self.folder / "server.pem"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    usages: list[x509.ObjectIdentifier] | None = None,
    names: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if names:
        builder = builder.add_extension(names, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _make_ca(
    common_name: str, key_path: Path, cert_path: Path
) -> tuple[x509.Name, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new self-signed CA, its key (0600) and certificate written to the paths given."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = _issue(name, key, None, ca=True)
    _write_key(key_path, key)
    cert_path.write_bytes(_pem(cert))
    return name, key, cert


def make_pki(folder: Path) -> Pki:
    """Create the stack's certificates unless they already exist."""
    pki = Pki(folder)
    if pki.admin_cert.exists():
        return pki
    folder.mkdir(parents=True, exist_ok=True)
    ca_name, ca_key, _ = _make_ca("almanac-local-ca", pki.path("ca.key"), pki.ca_cert)

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_names = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in API_SERVER_NAMES]
        + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in API_SERVER_IPS]
    )
    server_cert = _issue(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        server_key,
        (ca_name, ca_key),
        usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        names=server_names,
    )
    _write_key(pki.path("apiserver.key"), server_key)
    pki.path("apiserver.crt").write_bytes(_pem(server_cert))

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.path("sa.key"), sa_key)
    pki.path("sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    # Written last: its presence means the set is complete.
    issue_client_cert(pki, "admin", "admin", "system:masters")
    return pki


def issue_client_cert(pki: Pki, stem: str, user: str, group: str) -> None:
    """``<stem>.crt``/``<stem>.key``: a client certificate for ``user`` in ``group``, signed
    by the stack's CA, unless it exists (the key is written first, the certificate last)."""
    if pki.path(f"{stem}.crt").exists():
        return
    ca_key = serialization.load_pem_private_key(pki.path("ca.key").read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.path('ca.key')} is not the stack's EC key; run make down")
    ca_name = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes()).subject
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, group),
                x509.NameAttribute(NameOID.COMMON_NAME, user),
            ]
        ),
        key,
        (ca_name, ca_key),
        usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    _write_key(pki.path(f"{stem}.key"), key)
    pki.path(f"{stem}.crt").write_bytes(_pem(cert))


def write_kubeconfig(path: Path, pki: Pki, server: str, stem: str = "admin") -> None:
    """A kubeconfig with the client certificate ``stem`` (the admin's: the components and
    people; ``make dev``'s facade has one of its own)."""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: almanac
  cluster:
    server: {server}
    certificate-authority: {pki.ca_cert}
users:
- name: {stem}
  user:
    client-certificate: {pki.path(f"{stem}.crt")}
    client-key: {pki.path(f"{stem}.key")}
contexts:
- name: almanac
  context: {{cluster: almanac, user: {stem}}}
current-context: almanac
"""
    )
    path.chmod(0o600)


def make_kafka_tls(folder: Path, ips: tuple[str, ...]) -> KafkaTls:
    """The broker's CA and serving certificate (for ``ips`` and ``localhost``), made once;
    the keystore is written last, so its presence means the set is complete."""
    tls = KafkaTls(folder)
    if tls.keystore.exists():
        return tls
    folder.mkdir(parents=True, exist_ok=True)
    ca_name, ca_key, ca_cert = _make_ca("almanac-local-kafka-ca", folder / "ca.key", tls.ca_cert)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kafka")]),
        key,
        (ca_name, ca_key),
        usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        names=x509.SubjectAlternativeName(
            [x509.DNSName("localhost")] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        ),
    )
    staging = folder / "server.pem.tmp"
    _write_key(staging, key)
    with staging.open("ab") as out:
        out.write(_pem(cert) + _pem(ca_cert))
    staging.replace(tls.keystore)
    return tls
