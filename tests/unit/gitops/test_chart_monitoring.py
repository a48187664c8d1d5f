"""The chart's per-job monitoring: the "not succeeded within k times its interval" alert
(k a value, its runbook linked), the operator's ServiceMonitor keeping the per-job
``namespace`` label, and the dashboard's per-job row templated by namespace and job."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.gitops.chart import REPO, render

MONITORING = "monitoring.coreos.com/v1"
BASE = "https://docs.example.com/almanac/runbooks/"


def _job_alert(values: dict[str, str]) -> dict[str, Any]:
    objects = render(values, api_versions=[MONITORING])
    (rule,) = [o for o in objects if o["kind"] == "PrometheusRule"]
    (alert,) = [
        r
        for g in rule["spec"]["groups"]
        for r in g["rules"]
        if r.get("alert") == "AlmanacJobNotSucceeding"
    ]
    return dict(alert)


def test_the_overdue_alert_compares_the_last_success_with_k_intervals() -> None:
    alert = _job_alert(
        {
            "metrics.prometheusRule.jobOverdueIntervals": "2",
            "metrics.prometheusRule.runbookBaseUrl": BASE,
        }
    )
    expr = " ".join(alert["expr"].split())
    assert (
        "time() - max by (namespace, scheduledjob) (almanac_job_last_success_timestamp_seconds"
        in expr
    )
    assert "> 2 * max by (namespace, scheduledjob) (almanac_job_interval_seconds" in expr
    assert "almanac_job_consecutive_failures{" in expr  # never succeeded: k failed runs
    assert expr.endswith("== 1)")
    assert "unless on (namespace, scheduledjob) (almanac_job_suspended" in expr
    assert 'namespace="' not in expr  # the job's namespace, not the operator's, is the label
    assert alert["labels"] == {"severity": "warning"}
    assert alert["annotations"]["runbook_url"] == BASE + "almanacjobnotsucceeding/"
    assert (REPO / "docs" / "runbooks" / "almanacjobnotsucceeding.md").is_file()


def test_the_default_k_is_three_intervals() -> None:
    assert "> 3 * max by" in " ".join(_job_alert({})["expr"].split())


def test_the_operator_scrape_keeps_the_jobs_namespace_label() -> None:
    monitors = [o for o in render(api_versions=[MONITORING]) if o["kind"] == "ServiceMonitor"]
    (operator,) = [m for m in monitors if m["metadata"]["name"].endswith("-operator")]
    assert operator["spec"]["endpoints"][0]["honorLabels"] is True


def test_the_dashboard_has_a_per_job_row_templated_by_namespace_and_job() -> None:
    (config,) = [c for c in render() if c["kind"] == "ConfigMap" and "almanac.json" in c["data"]]
    dashboard = json.loads(config["data"]["almanac.json"])
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert "$job_namespace" in variables["scheduledjob"]["query"]
    panels = dashboard["panels"]
    (row,) = [p for p in panels if p["type"] == "row"]
    below = [p for p in panels if p["gridPos"]["y"] > row["gridPos"]["y"]]
    exprs = [t["expr"] for p in below for t in p["targets"]]
    assert exprs
    for expr in exprs:
        assert 'namespace=~"$job_namespace", scheduledjob=~"$scheduledjob"' in expr, expr
    joined = " ".join(exprs)
    for series in ("run_duration_seconds_bucket", "interval_seconds", "consecutive_failures"):
        assert f"almanac_job_{series}" in joined
    assert len({p["id"] for p in panels}) == len(panels)
