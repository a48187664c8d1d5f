"""``main`` in-process: every outcome is a result file and an exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from almanac.executor import main
from tests.unit.executor.fakes import FakeResolver
from tests.unit.executor.support import RUN_ENV


def run_main(
    tmp_path: Path,
    template: str,
    params: dict[str, Any],
    argv: list[str] | None = None,
    **extra: str,
) -> tuple[int, dict[str, Any]]:
    env = RUN_ENV | {
        "ALMANAC_TEMPLATE": template,
        "ALMANAC_PARAMS": json.dumps(params),
        "ALMANAC_RESULT_PATH": str(tmp_path / "result.json"),
        "ALMANAC_SECRETS_DIR": str(tmp_path / "secrets"),
    }
    code = main(argv or [], env | extra, FakeResolver({"metadata.internal": ["169.254.169.254"]}))
    result: dict[str, Any] = json.loads((tmp_path / "result.json").read_text())
    return code, result


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return [json.loads(line) for line in captured.out.splitlines()]


def test_success_exits_zero_and_logs_json_lines_with_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_main(tmp_path, "command", {"command": ["true"]})
    assert (code, result["status"]) == (0, "succeeded")
    lines = log_lines(capsys)
    assert [line["msg"] for line in lines] == ["run started", "run finished"]
    for line in lines:
        assert line["run"] == "nightly-202601010200"
        assert line["scheduledjob"] == "org-000101/nightly"
        assert {"ts", "level", "namespace", "template", "attempt", "trigger"} <= set(line)


def test_unknown_template_names_the_built_ins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run_main(tmp_path, "fortune", {})
    assert code == 1
    assert result["details"]["error"] == "unknown_payload"
    assert result["details"]["field"] == "ALMANAC_TEMPLATE"
    assert "command, email, export, http, message, sql" in result["summary"]
    log_lines(capsys)


def test_payload_flag_lets_a_custom_template_name_use_a_built_in(tmp_path: Path) -> None:
    code, result = run_main(
        tmp_path, "nightly-ping", {"command": ["true"]}, ["--payload", "command"]
    )
    assert (code, result["status"]) == (0, "succeeded")


def test_missing_variable_is_a_failed_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"ALMANAC_RESULT_PATH": str(tmp_path / "result.json")}
    assert main([], env) == 1
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["details"] == {"error": "invalid_environment", "field": "ALMANAC_PARAMS"}
    assert result["summary"].startswith("ALMANAC_PARAMS is missing")
    log_lines(capsys)


def test_params_violating_the_model_are_named(tmp_path: Path) -> None:
    code, result = run_main(tmp_path, "http", {"url": "https://example.com", "verb": "GET"})
    assert code == 1
    assert result["details"]["error"] == "invalid_params"
    assert result["details"]["field"] == "params.verb"


def test_ssrf_target_is_refused_without_connecting(tmp_path: Path) -> None:
    code, result = run_main(tmp_path, "http", {"url": "http://metadata.internal/latest"})
    assert code == 1
    assert result["details"]["error"] == "refused_target"
    assert result["details"]["address"] == "169.254.169.254"
    assert result["details"]["allowed"] == []


def test_template_policy_in_args_joins_the_operator_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--allow-cidrs", "10.244.0.0/24", "--allow-cidrs", "fd00:10::/64,10.244.0.0/24"]
    params = {"url": "http://metadata.internal/latest"}
    code, result = run_main(tmp_path, "http", params, argv, ALMANAC_HTTP_ALLOW_CIDRS="10.0.0.0/24")
    assert code == 1
    assert result["details"]["allowed"] == ["10.0.0.0/24", "10.244.0.0/24", "fd00:10::/64"]
    assert "(now: 10.0.0.0/24, 10.244.0.0/24, fd00:10::/64)" in result["summary"]
    started = log_lines(capsys)[0]
    assert started["allowCidrs"] == ["10.0.0.0/24", "10.244.0.0/24", "fd00:10::/64"]


@pytest.mark.parametrize(
    ("argv", "field", "hint"),
    [
        pytest.param(["--allow-cidr", "10.0.0.0/8"], "args", "unrecognized arguments", id="typo"),
        pytest.param(["--payload"], "args", "expected one argument", id="missing-value"),
        pytest.param(["--allow-cidrs", "10.0.0.0/33"], "--allow-cidrs", "not a CIDR", id="bad"),
    ],
)
def test_bad_template_args_are_a_failed_result_not_a_usage_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], field: str, hint: str
) -> None:
    code, result = run_main(tmp_path, "command", {"command": ["true"]}, argv)
    assert code == 1
    assert result["details"] == {"error": "invalid_arguments", "field": field}
    assert hint in result["summary"]
    assert capsys.readouterr().err == ""


def test_secret_values_are_scrubbed_from_result_and_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secrets" / "api").mkdir(parents=True)
    (tmp_path / "secrets" / "api" / "token").write_text("s3cr3t-token")
    params = {
        "command": 'echo "token=$TOKEN"; exit 1',
        "shell": True,
        "env": {"TOKEN": {"secretKeyRef": {"name": "api", "key": "token"}}},
    }
    code, result = run_main(tmp_path, "command", params)
    assert code == 1
    assert result["details"]["stdoutTail"] == "token=***\n"
    assert "s3cr3t-token" not in capsys.readouterr().out


def test_missing_secret_names_the_param(tmp_path: Path) -> None:
    params = {"command": ["true"], "env": {"T": {"secretKeyRef": {"name": "api", "key": "t"}}}}
    code, result = run_main(tmp_path, "command", params)
    assert code == 1
    assert result["details"] == {"error": "secret_not_found", "field": "params.env.T"}
    assert "Secret 'api' key 't'" in result["summary"]


def test_overall_deadline_ends_a_hanging_payload(tmp_path: Path) -> None:
    params = {"command": ["sleep", "30"], "timeout": "1h"}
    code, result = run_main(tmp_path, "command", params, ALMANAC_TIMEOUT="300ms")
    assert code == 1
    assert result["details"]["error"] == "deadline_exceeded"
    assert "deadline of 300ms" in result["summary"]


def test_unwritable_result_path_still_returns_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = RUN_ENV | {
        "ALMANAC_TEMPLATE": "command",
        "ALMANAC_PARAMS": '{"command": ["true"]}',
        "ALMANAC_RESULT_PATH": str(tmp_path / "missing-dir" / "result.json"),
    }
    assert main([], env) == 0
    assert any(line["msg"] == "result not written" for line in log_lines(capsys))
