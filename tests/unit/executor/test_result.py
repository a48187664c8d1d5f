"""Results always fit the 4 KiB termination message and stay valid JSON."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from almanac.executor.result import RESULT_LIMIT, Result, encode_result, redact, write_result

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3000),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=30,
)


def test_small_result_is_written_unchanged() -> None:
    result = Result.succeeded("GET returned 200", statusCode=200)
    assert json.loads(encode_result(result)) == {
        "status": "succeeded",
        "summary": "GET returned 200",
        "details": {"statusCode": 200},
    }


def test_long_detail_strings_are_cut_and_marked() -> None:
    result = Result.failed("exit 1", stdoutTail="x" * 10_000, exitCode=1)
    decoded = json.loads(encode_result(result))
    assert decoded["details"]["truncated"] is True
    assert decoded["details"]["exitCode"] == 1
    assert decoded["details"]["stdoutTail"].endswith("…")
    assert len(encode_result(result)) <= RESULT_LIMIT


def test_huge_summary_is_cut_to_fit_and_status_is_kept() -> None:
    encoded = encode_result(Result.failed("é" * 9000, many=list(range(5000))))
    decoded = json.loads(encoded)
    assert len(encoded) <= RESULT_LIMIT
    assert decoded["status"] == "failed"
    assert decoded["details"] == {"truncated": True}
    assert decoded["summary"].endswith("…")


@given(summary=st.text(max_size=6000), details=st.dictionaries(st.text(max_size=30), json_values))
def test_any_result_encodes_to_valid_json_within_the_limit(
    summary: str, details: dict[str, object]
) -> None:
    encoded = encode_result(Result("failed", summary, details))
    assert len(encoded) <= RESULT_LIMIT
    assert json.loads(encoded)["status"] == "failed"


def test_redact_replaces_secret_values_everywhere() -> None:
    value = {"a": "token s3cr3t-value here", "b": ["s3cr3t-value"], "c": 3}
    assert redact(value, ["s3cr3t-value"]) == {"a": "token *** here", "b": ["***"], "c": 3}


def test_write_result_scrubs_secrets_from_summary_and_details(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    write_result(Result.failed("login pw=hunter22 failed", echo="hunter22"), path, ["hunter22"])
    assert "hunter22" not in path.read_text()
    assert json.loads(path.read_text())["summary"] == "login pw=*** failed"
