"""``python -m almanac``: preview output and errors, CRD regeneration (run as a process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def almanac(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "almanac", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )


def test_preview_cron_in_berlin_across_fall_back() -> None:
    result = almanac(
        "preview",
        "--cron",
        "30 2 * * *",
        "--tz",
        "Europe/Berlin",
        "--from",
        "2026-10-24T12:00:00Z",
        "--count",
        "3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    assert result.stderr == ""


def test_preview_is_strictly_after_from() -> None:
    result = almanac("preview", "--every", "1h", "--from", "2026-01-01T10:00:00Z", "--count", "2")
    assert result.stdout.splitlines() == ["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"]


def test_preview_several_cron_flags_and_at() -> None:
    result = almanac(
        "preview",
        "--cron",
        "0 9 * * *",
        "--cron",
        "0 17 * * *",
        "--tz",
        "Asia/Tokyo",
        "--from",
        "2026-01-01T00:00:00Z",
        "--count",
        "3",
    )
    assert result.stdout.splitlines() == [
        "2026-01-01T17:00:00+09:00",
        "2026-01-02T09:00:00+09:00",
        "2026-01-02T17:00:00+09:00",
    ]
    once = almanac("preview", "--at", "2026-12-01T10:00:00Z", "--from", "2026-01-01T00:00:00Z")
    assert once.stdout.splitlines() == ["2026-12-01T10:00:00Z"]


def test_preview_reads_a_scheduled_job_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "sj.yaml"
    manifest.write_text(
        "apiVersion: almanac.dev/v1alpha1\nkind: ScheduledJob\n"
        "metadata: {name: nightly}\n"
        "spec:\n  template: export\n"
        "  schedule: {cron: '0 2 * * *', timeZone: America/New_York}\n",
        encoding="utf-8",
    )
    result = almanac(
        "preview", "--file", str(manifest), "--from", "2026-03-07T12:00:00Z", "--count", "2"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--cron", "61 * * * *"], "--cron", id="bad-cron"),
        pytest.param(["--cron", "0 0 30 2 *"], "never fires", id="never-fires"),
        pytest.param(["--cron", "* * * * *", "--tz", "Europe/Berln"], "--tz", id="bad-zone"),
        pytest.param(["--every", "0s"], "--every", id="zero-every"),
        pytest.param(
            ["--every", "1h", "--at", "2026-01-01T00:00:00Z"], "exactly one", id="two-kinds"
        ),
        pytest.param([], "give one of --cron", id="nothing"),
        pytest.param(["--every", "1h", "--from", "2026-01-01T00:00:00"], "--from", id="naive-from"),
        pytest.param(["--every", "1h", "--count", "0"], "--count", id="zero-count"),
        pytest.param(["--file", "/nonexistent.yaml"], "--file", id="missing-file"),
    ],
)
def test_preview_errors_go_to_stderr_with_exit_2(args: list[str], message: str) -> None:
    result = almanac("preview", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith("error: ")


def test_crds_check_passes_on_committed_yaml() -> None:
    result = almanac("crds", "--check")
    assert result.returncode == 0, result.stderr


def test_crds_check_fails_on_drift(tmp_path: Path) -> None:
    assert almanac("crds", "--dir", str(tmp_path)).returncode == 0
    (tmp_path / "almanac.dev_scheduledjobs.yaml").write_text("drift", encoding="utf-8")
    result = almanac("crds", "--check", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "almanac.dev_scheduledjobs.yaml" in result.stderr
