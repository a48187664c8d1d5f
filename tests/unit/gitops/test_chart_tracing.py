"""``tracing.otlpEndpoint``: off by default; set, the operator and the facade export to it."""

from __future__ import annotations

import pytest

from tests.unit.gitops.chart import HelmError, render

ENDPOINT = "http://otel-collector.observability:4318"


def endpoints(values: dict[str, str]) -> list[str | None]:
    found = []
    for deployment in (o for o in render(values) if o["kind"] == "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        found.append(env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    return found


def test_no_traces_by_default() -> None:
    assert endpoints({}) == [None, None]


def test_the_endpoint_reaches_the_operator_and_the_facade() -> None:
    assert endpoints({"tracing.otlpEndpoint": ENDPOINT}) == [ENDPOINT, ENDPOINT]


def test_an_endpoint_that_is_no_url_is_refused_by_the_values_schema() -> None:
    with pytest.raises(HelmError, match="otlpEndpoint"):
        render({"tracing.otlpEndpoint": "otel-collector:4318"})
