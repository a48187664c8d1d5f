"""The http payload against a real HTTP server on 127.0.0.1 (allowed by policy)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.executor.conftest import RunExecutor, write_secret
from tests.integration.executor.peers import RecordingServer

ALLOW = {"ALMANAC_HTTP_ALLOW_CIDRS": "127.0.0.1/32"}


def test_get_succeeds_with_status_and_excerpt(
    run_executor: RunExecutor, http_peer: RecordingServer
) -> None:
    http_peer.routes["/health"] = (200, "all good " * 100)
    params = {"url": f"{http_peer.base_url}/health?probe=1", "responseExcerptBytes": 8}
    run = run_executor("http", params, **ALLOW)
    assert run.code == 0
    assert run.details["statusCode"] == 200
    assert run.details["responseExcerpt"] == "all good"
    assert run.details["address"] == "127.0.0.1"
    assert [r.path for r in http_peer.requests] == ["/health?probe=1"]


def test_post_sends_json_body_and_secret_header(
    run_executor: RunExecutor, http_peer: RecordingServer, secrets_dir: Path
) -> None:
    http_peer.routes["/hook"] = (201, "created")
    token = write_secret(secrets_dir, "hook-token", "authorization", "Bearer abc123xyz")
    params = {
        "method": "POST",
        "url": f"{http_peer.base_url}/hook",
        "headers": {"Authorization": token, "X-Source": "almanac"},
        "body": {"event": "nightly", "count": 3},
        "expectedStatus": [201],
    }
    run = run_executor("http", params, **ALLOW)
    assert run.code == 0, run.result
    (request,) = http_peer.requests
    assert request.headers["authorization"] == "Bearer abc123xyz"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == http_peer.base_url.removeprefix("http://")
    assert json.loads(request.body) == {"event": "nightly", "count": 3}
    assert "abc123xyz" not in json.dumps(run.logs)


def test_unexpected_status_fails_with_the_response_excerpt(
    run_executor: RunExecutor, http_peer: RecordingServer
) -> None:
    http_peer.routes["/broken"] = (503, "maintenance")
    run = run_executor("http", {"url": f"{http_peer.base_url}/broken"}, **ALLOW)
    assert run.code == 1
    assert "returned 503, expected 2xx" in run.result["summary"]
    assert run.details["responseExcerpt"] == "maintenance"


def test_unreachable_endpoint_fails_clearly(run_executor: RunExecutor, closed_port: int) -> None:
    run = run_executor("http", {"url": f"http://127.0.0.1:{closed_port}/"}, **ALLOW)
    assert run.code == 1
    assert run.details["error"] == "payload_failed"
    assert f"cannot connect to 127.0.0.1:{closed_port}" in run.result["summary"]


def test_silent_endpoint_times_out_instead_of_hanging(
    run_executor: RunExecutor, silent_port: int
) -> None:
    params = {"url": f"http://127.0.0.1:{silent_port}/", "timeout": "500ms"}
    run = run_executor("http", params, **ALLOW)
    assert run.code == 1
    assert "timed out after" in run.result["summary"]


def test_loopback_is_refused_without_policy(
    run_executor: RunExecutor, http_peer: RecordingServer
) -> None:
    run = run_executor("http", {"url": f"{http_peer.base_url}/health"})
    assert run.code == 1
    assert run.details["error"] == "refused_target"
    assert run.details["reason"] == "loopback"
    assert http_peer.requests == []


def test_template_args_grant_a_network_to_the_runs_of_that_template(
    run_executor: RunExecutor, http_peer: RecordingServer
) -> None:
    http_peer.routes["/health"] = (200, "ok")
    params = {"url": f"{http_peer.base_url}/health"}
    run = run_executor(
        "intranet-probe", params, args=["--payload", "http", "--allow-cidrs", "127.0.0.0/8"]
    )
    assert run.code == 0, run.result
    assert run.details["address"] == "127.0.0.1"


def test_misspelt_template_args_fail_the_run_with_a_result(run_executor: RunExecutor) -> None:
    run = run_executor("http", {"url": "https://example.com"}, args=["--allow-cidr", "10.0.0.0/8"])
    assert run.code == 1
    assert run.details == {"error": "invalid_arguments", "field": "args"}
    assert "unrecognized arguments: --allow-cidr" in run.result["summary"]


def test_params_violating_the_schema_are_named(run_executor: RunExecutor) -> None:
    run = run_executor("http", {"url": "https://example.com", "method": "FETCH"})
    assert run.code == 1
    assert run.details["error"] == "invalid_params"
    assert run.details["field"] == "params.method"
