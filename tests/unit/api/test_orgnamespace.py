"""The objects every organisation namespace gets: the file is checked at start-up and a
bad one stops the facade naming the variable and the item at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from almanac.api.orgnamespace import read_namespace_defaults
from almanac.api.settings import ApiSettings
from almanac.core.errors import InvalidInputError

QUOTA = {
    "apiVersion": "v1",
    "kind": "ResourceQuota",
    "metadata": {"name": "org-quota"},
    "spec": {"hard": {"pods": "20"}},
}
DENY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny-ingress"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def _file(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "defaults.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return str(path)


def test_a_list_of_quota_limits_and_policy_is_read(tmp_path: Path) -> None:
    env = {"ALMANAC_API_NAMESPACE_DEFAULTS": _file(tmp_path, [QUOTA, DENY])}
    assert ApiSettings.from_env(env).namespace_defaults == (QUOTA, DENY)


def test_unset_or_empty_means_nothing(tmp_path: Path) -> None:
    assert read_namespace_defaults(None) == ()
    assert read_namespace_defaults(_file(tmp_path, "")) == ()


ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "x"},
    "spec": {},
}
BAD = {
    "not-a-list": ({"kind": "ResourceQuota"}, "must hold a YAML list"),
    "not-yaml": ("a: [", "is not YAML"),
    "a-kind-that-grants-rights": ([ROLE], "has kind 'RoleBinding'; allowed: ResourceQuota"),
    "wrong-api-version": ([QUOTA | {"apiVersion": "v2"}], "needs apiVersion v1"),
    "no-name": ([QUOTA | {"metadata": {}}], "has no metadata.name"),
    "names-a-namespace": (
        [QUOTA | {"metadata": {"name": "q", "namespace": "kube-system"}}],
        "names a namespace",
    ),
    "no-spec": ([{k: v for k, v in QUOTA.items() if k != "spec"}], "has no spec"),
}


@pytest.mark.parametrize(("content", "message"), BAD.values(), ids=BAD.keys())
def test_a_bad_file_stops_start_up_naming_the_variable(
    tmp_path: Path, content: Any, message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        ApiSettings.from_env({"ALMANAC_API_NAMESPACE_DEFAULTS": _file(tmp_path, content)})
    assert refused.value.field == "ALMANAC_API_NAMESPACE_DEFAULTS"
    assert message in refused.value.message
    assert "fix the file or unset it" in refused.value.message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        read_namespace_defaults(str(tmp_path / "absent.yaml"))
