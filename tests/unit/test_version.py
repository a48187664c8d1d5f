"""One version everywhere: the package, its metadata, the chart's appVersion, and the
``almanac_build_info`` series of the operator and the facade."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from almanac import __version__
from almanac.api.metrics import ApiMetrics
from almanac.operator.observability import Metrics

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_pyproject_and_chart_name_one_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    chart = yaml.safe_load((ROOT / "charts/almanac/Chart.yaml").read_text())
    assert project["version"] == chart["appVersion"] == __version__


def test_both_processes_say_their_build_on_metrics() -> None:
    for registry, component in (
        (Metrics().registry, "operator"),
        (ApiMetrics().registry, "facade"),
    ):
        page = generate_latest(registry).decode()
        assert f'almanac_build_info{{component="{component}",python=' in page
        assert f'version="{__version__}"}} 1.0' in page
