"""The entry point: the grammar (every verb of the contract), ``--version``, and the exit
statuses and one-line messages of bad input and missing setup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from almanac.cli import main as cli
from almanac.cli.control import run_params
from almanac.cli.errors import SetupError, missing_extra
from almanac.cli.kube import find_kubeconfig
from almanac.cli.main import package_version, program_name
from almanac.cli.parsers import VERBS, build_parser
from tests.unit.cli.support import almanac_cli

#: No kubeconfig anywhere and not in a pod.
NO_CLUSTER = {"KUBECONFIG": "/nonexistent/config", "HOME": "/nonexistent"}


def test_every_verb_of_the_contract_and_the_processes_parse() -> None:
    parser = build_parser("almanac")
    (verbs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(VERBS) | {"operator", "executor", "api", "crds"} == set(verbs.choices)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["get", "-n", "team-a", "--kubeconfig", "k", "-o", "wide"],
         {"namespace": "team-a", "kubeconfig": "k", "output": "wide"}),
        (["run", "nightly", "--key", "k1", "--api", "http://x"], {"name": "nightly", "key": "k1"}),
        (["suspend", "-l", "team=a", "--reason", "freeze"],
         {"selector": "team=a", "reason": "freeze"}),
        (["backfill", "j", "--start", "a", "--end", "b", "--sequential"], {"sequential": True}),
        (["logs", "j", "--run", "r", "-f"], {"run": "r", "follow": True}),
        (["lint", "-f", "a.yaml", "b.yaml", "--templates", "t"],
         {"files": [Path("a.yaml"), Path("b.yaml")], "templates": [Path("t")]}),
        (["render", "-f", "a.yaml", "--slot", "2026-01-01T00:00:00Z"],
         {"slot": "2026-01-01T00:00:00Z"}),
    ],
    ids=["get", "run", "suspend", "backfill", "logs", "lint", "render"],
)  # fmt: skip
def test_flags_parse_as_kubectl_spells_them(argv: list[str], expected: dict[str, object]) -> None:
    args = build_parser("almanac").parse_args(argv)
    assert {key: getattr(args, key) for key in expected} == expected


def test_kubectl_plugin_name_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert program_name("/usr/local/bin/kubectl-almanac") == "kubectl almanac"
    assert program_name("/usr/local/bin/almanac") == "almanac"
    assert cli(["--version"]) == 0
    assert capsys.readouterr().out == f"almanac {package_version()}\n"
    assert package_version()[0].isdigit()


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["backfill", "j", "--start", "yesterday", "--end", "2026-01-01T00:00:00Z"], "--start"),
        (["backfill", "j", "--start", "2026-01-01T00:00:00", "--end", "2026-01-01T00:00:00Z"],
         "--start"),
        (["backfill", "j", "--start", "2026-01-02T00:00:00Z", "--end", "2026-01-01T00:00:00Z"],
         "--end"),
        (["suspend"], "JOB"),
        (["resume", "a", "-l", "x=y"], "JOB"),
        (["run", "j", "--key", " "], "--key"),
        (["render"], "JOB"),
        (["runs", "j", "--limit", "0"], "--limit"),
        (["run", "j", "--param", "no-equals"], "--param"),
        (["run", "j", "--param", "format=csv"], "--param"),
    ],
    ids=["naive words", "no offset", "end before start", "suspend nothing", "names and selector",
         "blank key", "render nothing", "no runs", "param without =", "param without --api"],
)  # fmt: skip
def test_bad_input_exits_2_naming_the_flag(
    argv: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {field}: ")
    assert err.count("\n") == 1


def test_no_kubeconfig_exits_2_naming_kubeconfig_and_the_flag() -> None:
    result = almanac_cli("get", env=NO_CLUSTER)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: no kubeconfig found: set KUBECONFIG or pass --kubeconfig"
    )
    assert result.stderr.count("\n") == 1


def test_kubeconfig_is_found_as_kubectl_finds_it(tmp_path: Path) -> None:
    second = tmp_path / "second"
    second.write_text("{}")
    listed = f"{tmp_path / 'missing'}:{second}"
    assert find_kubeconfig(None, {"KUBECONFIG": listed, "HOME": "/nonexistent"}) == str(second)
    assert (
        find_kubeconfig(None, {"KUBECONFIG": "/no", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}) is None
    )
    with pytest.raises(SetupError, match="no kubeconfig file at /no"):
        find_kubeconfig("/no", {})


def test_a_missing_extra_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes_asyncio", None)  # as if not installed
    for module in ("almanac.cli.kube", "almanac.cli.jobs"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    assert cli(["get", "--kubeconfig", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: kubernetes_asyncio is not installed; install the CLI's dependencies with "
        "pip install 'almanac[runtime]'\n"
    )
    assert missing_extra(ModuleNotFoundError(name="httpx")).field == ""


def test_lint_needs_no_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes_asyncio", None)
    for module in ("almanac.cli.offline", "almanac.cli.kube"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert cli(["lint", "-f", str(empty)]) == 0


def test_run_params_read_json_values_and_text_otherwise() -> None:
    assert run_params(["n=3", 'tags=["a"]', "format=csv", "empty="]) == {
        "n": 3,
        "tags": ["a"],
        "format": "csv",
        "empty": "",
    }
