"""Secret values come from mounted files, never from the spec; missing ones are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from almanac.executor.errors import SecretNotFoundError
from almanac.executor.secrets import SecretRef, SecretStore


def ref(name: str, key: str) -> SecretRef:
    return SecretRef.model_validate({"secretKeyRef": {"name": name, "key": key}})


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    (tmp_path / "smtp").mkdir()
    (tmp_path / "smtp" / "password").write_text("hunter22\n")
    (tmp_path / "smtp" / "binary").write_bytes(b"\xff\xfe")
    return SecretStore(tmp_path)


def test_value_is_read_verbatim_and_remembered(store: SecretStore) -> None:
    assert store.read(ref("smtp", "password"), "params.password") == "hunter22\n"
    assert {"hunter22\n", "hunter22"} <= store.values


def test_missing_key_names_param_secret_and_fix(store: SecretStore) -> None:
    with pytest.raises(SecretNotFoundError) as caught:
        store.read(ref("smtp", "token"), "params.headers.Authorization")
    error = caught.value
    assert error.field == "params.headers.Authorization"
    assert "Secret 'smtp' key 'token'" in error.message
    assert "kubectl create secret generic smtp" in error.message


def test_missing_secret_names_it(store: SecretStore) -> None:
    with pytest.raises(SecretNotFoundError, match="Secret 'db' key 'dsn' is not mounted"):
        store.read(ref("db", "dsn"), "params.dsn")


def test_non_utf8_value_is_refused_without_echoing_it(store: SecretStore) -> None:
    with pytest.raises(SecretNotFoundError, match="not UTF-8"):
        store.read(ref("smtp", "binary"), "params.password")


@pytest.mark.parametrize(
    "selector",
    [{"name": "../etc", "key": "passwd"}, {"name": "smtp", "key": "a/b"}, {"name": "smtp"}],
    ids=["name-walks-up", "key-with-slash", "key-missing"],
)
def test_malformed_reference_is_refused_by_the_model(selector: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="secretKeyRef"):
        SecretRef.model_validate({"secretKeyRef": selector})


def test_dot_dot_key_is_refused(store: SecretStore) -> None:
    with pytest.raises(SecretNotFoundError, match="not a Secret key"):
        store.read(ref("smtp", ".."), "params.password")


def test_unreadable_file_names_the_pod_setting_to_fix(
    store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)  # tests run as root: no real EACCES
    with pytest.raises(SecretNotFoundError) as caught:
        store.read(ref("smtp", "password"), "params.password")
    assert "may not read it" in caught.value.message
    assert "fsGroup" in caught.value.message
