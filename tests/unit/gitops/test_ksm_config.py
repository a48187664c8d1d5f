"""The kube-state-metrics CustomResourceState config reads only what a ScheduledJob has:
every path it names exists in the CRD's schema (a renamed status field would otherwise
leave a series silently empty), with the type its gauge can read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

import pytest
import yaml

from almanac.core.vocabulary import GROUP, VERSION
from tests.unit.gitops.chart import CHART, REPO

CONFIG: Final = CHART / "files" / "kube-state-metrics" / "scheduledjobs.yaml"
CRD: Final = REPO / "crds" / "almanac.dev_scheduledjobs.yaml"
#: What a gauge turns into a number: numbers, booleans, RFC 3339 instants, "True"/"False".
GAUGE_TYPES: Final = {"integer", "number", "boolean", "string"}
#: Metadata every object has (not in the CRD's schema, which leaves it to the API server).
METADATA: Final = {("metadata", "name"), ("metadata", "namespace")}


def _resource() -> dict[str, Any]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["kind"] == "CustomResourceStateMetrics"
    (resource,) = config["spec"]["resources"]
    return dict(resource)


def _schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text(encoding="utf-8"))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == VERSION]
    return dict(version["schema"]["openAPIV3Schema"])


def _walk(schema: dict[str, Any], path: Sequence[str], where: str) -> dict[str, Any]:
    node = schema
    for part in path:
        properties = node.get("properties") or {}
        assert part in properties, f"{where}: {'.'.join(path)} has no {part!r} in the CRD"
        node = properties[part]
    return node


def _gauges() -> Iterator[tuple[str, dict[str, Any]]]:
    for metric in _resource()["metrics"]:
        yield metric["name"], metric["each"]["gauge"]


def test_the_config_is_for_the_scheduledjob_kind_this_version_serves() -> None:
    gvk = _resource()["groupVersionKind"]
    assert gvk == {"group": GROUP, "version": VERSION, "kind": "ScheduledJob"}


def test_the_labels_name_the_job_as_the_operators_per_job_series_do() -> None:
    labels = {name: tuple(path) for name, path in _resource()["labelsFromPath"].items()}
    assert labels == {"namespace": ("metadata", "namespace"), "scheduledjob": ("metadata", "name")}
    assert set(labels.values()) <= METADATA


@pytest.mark.parametrize(("name", "gauge"), list(_gauges()), ids=[n for n, _ in _gauges()])
def test_every_gauge_reads_a_field_the_crd_has(name: str, gauge: dict[str, Any]) -> None:
    path = gauge["path"]
    assert path[0] in ("spec", "status"), f"{name}: reads {path}"
    node = _walk(_schema(), path, name)
    if node.get("type") == "array":
        # Each item is one series: its labels and its value come from the item.
        item = node["items"]
        for label_path in gauge.get("labelsFromPath", {}).values():
            _walk(item, label_path, name)
        node = _walk(item, gauge["valueFrom"], name)
    assert node.get("type") in GAUGE_TYPES, f"{name}: {path} is {node.get('type')}"


def test_the_pause_streak_and_its_limit_are_exported() -> None:
    paths = {tuple(gauge["path"]) for _, gauge in _gauges()}
    assert ("status", "consecutiveFailures") in paths
    assert ("spec", "pauseAfterFailures") in paths


def test_the_config_is_documented() -> None:
    page = (REPO / "docs" / "observability.md").read_text(encoding="utf-8")
    assert str(CONFIG.relative_to(REPO)) in page
