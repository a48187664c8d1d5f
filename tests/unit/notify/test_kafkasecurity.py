"""The Kafka clients' TLS/SASL settings: every variable, every refusal naming its variable,
and a password that never shows (repr, errors, logs)."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from almanac import kafkasecurity
from almanac.core.errors import InvalidInputError
from almanac.kafkasecurity import PLAINTEXT, VARIABLES, KafkaSecurity

SECRET = "s3cr3t-Pa55word"  # a test value that must never appear in any output


def _pem_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate and its unencrypted key (a CA, or a client certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    return _pem_pair(tmp_path, "ca")[0]


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(SECRET + "\n")  # a Secret made from a file ends in a newline
    return path


def _sasl(mechanism: str = "SCRAM-SHA-512", **more: str) -> dict[str, str]:
    return {
        "ALMANAC_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "ALMANAC_KAFKA_SASL_MECHANISM": mechanism,
        "ALMANAC_KAFKA_SASL_USERNAME": "almanac",
        **more,
    }


def _refused(env: dict[str, str]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        KafkaSecurity.from_env(env)
    assert SECRET not in str(caught.value)
    return caught.value


# -- what each setting yields ---------------------------------------------------------------


def test_nothing_set_is_plaintext_with_aiokafka_defaults() -> None:
    security = KafkaSecurity.from_env({})
    assert security == PLAINTEXT
    assert security.client_kwargs() == {}
    assert KafkaSecurity.from_env({"ALMANAC_KAFKA_SECURITY_PROTOCOL": "  "}) == PLAINTEXT


def test_explicit_plaintext_in_any_case() -> None:
    security = KafkaSecurity.from_env({"ALMANAC_KAFKA_SECURITY_PROTOCOL": "plaintext"})
    assert security.protocol == "PLAINTEXT"
    assert security.client_kwargs() == {}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "scram-sha-512"])
def test_each_sasl_mechanism_with_a_password_file(mechanism: str, password_file: Path) -> None:
    env = _sasl(mechanism, ALMANAC_KAFKA_SASL_PASSWORD_FILE=str(password_file))
    kwargs = KafkaSecurity.from_env(env).client_kwargs()
    assert kwargs == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism.upper(),
        "sasl_plain_username": "almanac",
        "sasl_plain_password": SECRET,  # without the file's newline
    }


def test_password_from_the_variable() -> None:
    security = KafkaSecurity.from_env(_sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET))
    assert security.client_kwargs()["sasl_plain_password"] == SECRET


def test_the_password_file_is_read_again_for_each_client(password_file: Path) -> None:
    security = KafkaSecurity.from_env(_sasl(ALMANAC_KAFKA_SASL_PASSWORD_FILE=str(password_file)))
    password_file.write_text("rotated\n")
    assert security.client_kwargs()["sasl_plain_password"] == "rotated"


def test_ssl_with_the_ca_file_verifies_the_broker(ca: Path) -> None:
    env = {"ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL", "ALMANAC_KAFKA_SSL_CAFILE": str(ca)}
    kwargs = KafkaSecurity.from_env(env).client_kwargs()
    assert set(kwargs) == {"security_protocol", "ssl_context"}
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "ca"),),)]


def test_ssl_without_a_ca_file_trusts_the_system_cas() -> None:
    security = KafkaSecurity.from_env({"ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL"})
    assert security.client_kwargs()["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_sasl_ssl_with_a_client_certificate(ca: Path, tmp_path: Path) -> None:
    cert, key = _pem_pair(tmp_path, "client")
    env = _sasl(
        ALMANAC_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        ALMANAC_KAFKA_SASL_PASSWORD=SECRET,
        ALMANAC_KAFKA_SSL_CAFILE=str(ca),
        ALMANAC_KAFKA_SSL_CERTFILE=str(cert),
        ALMANAC_KAFKA_SSL_KEYFILE=str(key),
    )
    kwargs = KafkaSecurity.from_env(env).client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"


def test_a_certificate_file_holding_its_key(ca: Path, tmp_path: Path) -> None:
    cert, key = _pem_pair(tmp_path, "client")
    both = tmp_path / "both.pem"
    both.write_bytes(cert.read_bytes() + key.read_bytes())
    env = {
        "ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL",
        "ALMANAC_KAFKA_SSL_CAFILE": str(ca),
        "ALMANAC_KAFKA_SSL_CERTFILE": str(both),
    }
    assert KafkaSecurity.from_env(env).tls


def test_describe_names_protocol_mechanism_and_user_only() -> None:
    security = KafkaSecurity.from_env(_sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET))
    assert security.describe() == "SASL_PLAINTEXT SCRAM-SHA-512 as almanac"
    assert PLAINTEXT.describe() == "PLAINTEXT"


# -- refusals, each naming its variable -----------------------------------------------------


@pytest.mark.parametrize(
    ("env", "variable", "fix"),
    [
        ({"ALMANAC_KAFKA_SECURITY_PROTOCOL": "TLS"}, "ALMANAC_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        (
            _sasl("GSSAPI", ALMANAC_KAFKA_SASL_PASSWORD=SECRET),
            "ALMANAC_KAFKA_SASL_MECHANISM",
            "SCRAM-SHA-512",
        ),
        (
            {k: v for k, v in _sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET).items() if "MECH" not in k},
            "ALMANAC_KAFKA_SASL_MECHANISM",
            "is unset",
        ),
        (
            {k: v for k, v in _sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET).items() if "USER" not in k},
            "ALMANAC_KAFKA_SASL_USERNAME",
            "user name",
        ),
        (_sasl(), "ALMANAC_KAFKA_SASL_PASSWORD_FILE", "mounted Secret"),
        (_sasl(ALMANAC_KAFKA_SASL_PASSWORD="\n"), "ALMANAC_KAFKA_SASL_PASSWORD_FILE", "is unset"),
        (
            _sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET, ALMANAC_KAFKA_SASL_PASSWORD_FILE="/x"),
            "ALMANAC_KAFKA_SASL_PASSWORD",
            "keep only the file",
        ),
        (
            _sasl(ALMANAC_KAFKA_SASL_PASSWORD_FILE="/nonexistent/password"),
            "ALMANAC_KAFKA_SASL_PASSWORD_FILE",
            "cannot be read",
        ),
        (
            _sasl(ALMANAC_KAFKA_SASL_PASSWORD_FILE="/"),  # a directory
            "ALMANAC_KAFKA_SASL_PASSWORD_FILE",
            "cannot be read",
        ),
        (
            {"ALMANAC_KAFKA_SASL_USERNAME": "almanac"},
            "ALMANAC_KAFKA_SASL_USERNAME",
            "PLAINTEXT does not use it",
        ),
        (
            {"ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL", "ALMANAC_KAFKA_SASL_PASSWORD": SECRET},
            "ALMANAC_KAFKA_SASL_PASSWORD",
            "SASL_SSL or SASL_PLAINTEXT",
        ),
        (
            _sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET, ALMANAC_KAFKA_SSL_CAFILE="/etc/hostname"),
            "ALMANAC_KAFKA_SSL_CAFILE",
            "SSL or SASL_SSL",
        ),
        (
            {"ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL", "ALMANAC_KAFKA_SSL_CAFILE": "/no/ca.crt"},
            "ALMANAC_KAFKA_SSL_CAFILE",
            "is not a file",
        ),
        (
            {"ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL", "ALMANAC_KAFKA_SSL_CERTFILE": "/no/c.crt"},
            "ALMANAC_KAFKA_SSL_CERTFILE",
            "is not a file",
        ),
    ],
)
def test_refusals_name_the_variable_and_the_fix(
    env: dict[str, str], variable: str, fix: str
) -> None:
    error = _refused(env)
    assert error.field == variable
    assert error.message.startswith(variable)
    assert fix in error.message


def test_an_empty_password_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    error = _refused(_sasl(ALMANAC_KAFKA_SASL_PASSWORD_FILE=str(empty)))
    assert (error.field, "is empty" in error.message) == ("ALMANAC_KAFKA_SASL_PASSWORD_FILE", True)


def test_a_ca_file_that_is_no_certificate_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.crt"
    bogus.write_text("not a certificate\n")
    env = {"ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL", "ALMANAC_KAFKA_SSL_CAFILE": str(bogus)}
    error = _refused(env)
    assert error.field == "ALMANAC_KAFKA_SSL_CAFILE"
    assert "holds no PEM CA certificate" in error.message


def test_a_key_without_its_certificate_is_refused(ca: Path, tmp_path: Path) -> None:
    _, key = _pem_pair(tmp_path, "client")
    env = {
        "ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL",
        "ALMANAC_KAFKA_SSL_CAFILE": str(ca),
        "ALMANAC_KAFKA_SSL_KEYFILE": str(key),
    }
    error = _refused(env)
    assert error.field == "ALMANAC_KAFKA_SSL_KEYFILE"
    assert "ALMANAC_KAFKA_SSL_CERTFILE" in error.message


def test_a_certificate_that_does_not_match_its_key_is_refused(ca: Path, tmp_path: Path) -> None:
    cert, _ = _pem_pair(tmp_path, "client")
    _, other_key = _pem_pair(tmp_path, "other")
    env = {
        "ALMANAC_KAFKA_SECURITY_PROTOCOL": "SSL",
        "ALMANAC_KAFKA_SSL_CAFILE": str(ca),
        "ALMANAC_KAFKA_SSL_CERTFILE": str(cert),
        "ALMANAC_KAFKA_SSL_KEYFILE": str(other_key),
    }
    error = _refused(env)
    assert error.field == "ALMANAC_KAFKA_SSL_CERTFILE"
    assert "does not load" in error.message


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ValueError, match="ALMANAC_KAFKA_SASL_USERNAME is unset"):
        KafkaSecurity(protocol="SASL_SSL", mechanism="PLAIN", password=SECRET)


def test_every_variable_is_documented_in_the_module() -> None:
    assert all(variable in (kafkasecurity.__doc__ or "") for variable in VARIABLES.values())


# -- the password never shows ---------------------------------------------------------------


def test_the_password_is_masked_in_repr_str_and_dumps(password_file: Path) -> None:
    for env in (
        _sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET),
        _sasl(ALMANAC_KAFKA_SASL_PASSWORD_FILE=str(password_file)),
    ):
        security = KafkaSecurity.from_env(env)
        shown = [
            repr(security),
            str(security),
            security.describe(),
            security.model_dump_json(),
            str(security.model_dump()),
        ]
        assert all(SECRET not in text for text in shown), shown


def test_nothing_is_logged_with_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    KafkaSecurity.from_env(_sasl(ALMANAC_KAFKA_SASL_PASSWORD=SECRET)).client_kwargs()
    _refused({"ALMANAC_KAFKA_SASL_PASSWORD": SECRET})
    assert SECRET not in caplog.text


def test_the_operator_exits_2_naming_the_variable_and_never_the_password() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "ALMANAC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "ALMANAC_KAFKA_SASL_MECHANISM": "PLAIN",
        "ALMANAC_KAFKA_SASL_PASSWORD": SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "almanac", "operator"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "ALMANAC_KAFKA_SASL_USERNAME is unset" in done.stderr
    assert SECRET not in done.stdout + done.stderr
