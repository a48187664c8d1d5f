"""The operator reads every setting once, at start, and names every bad one at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from almanac.core.errors import InvalidInputError
from almanac.operator.settings import OperatorSettings


def test_every_section_is_read_from_one_environment() -> None:
    settings = OperatorSettings.from_env(
        {
            "ALMANAC_IMAGE": "registry.example.com/almanac:1",
            "ALMANAC_LAUNCH_CONCURRENCY": "8",
            "ALMANAC_HISTORY_RETENTION": "7d",
        }
    )
    assert settings.process.image == "registry.example.com/almanac:1"
    assert settings.process.launch_concurrency == 8
    assert settings.history.retention == timedelta(days=7)
    assert settings.triggers.bootstrap is None  # no Kafka: no event triggers


def test_two_bad_variables_in_two_sections_are_named_together() -> None:
    with pytest.raises(InvalidInputError) as caught:
        OperatorSettings.from_env(
            {"ALMANAC_LAUNCH_CONCURRENCY": "lots", "ALMANAC_HISTORY_RETENTION": "forever"}
        )
    message = str(caught.value)
    assert "ALMANAC_LAUNCH_CONCURRENCY" in message
    assert "ALMANAC_HISTORY_RETENTION" in message


def test_one_bad_variable_keeps_its_own_error_and_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        OperatorSettings.from_env({"ALMANAC_HISTORY_RETENTION": "forever"})
    assert caught.value.field == "ALMANAC_HISTORY_RETENTION"


def test_run_log_limits_are_read_and_bad_ones_named() -> None:
    default = OperatorSettings.from_env({}).history.logs
    assert (default.lines, default.bytes) == (200, 65536)
    env = {"ALMANAC_HISTORY_LOG_LINES": "0", "ALMANAC_HISTORY_LOG_BYTES": "4096"}
    off = OperatorSettings.from_env(env).history.logs
    assert (off.lines, off.bytes, off.enabled) == (0, 4096, False)
    for name, value in (
        ("ALMANAC_HISTORY_LOG_LINES", "-1"),
        ("ALMANAC_HISTORY_LOG_LINES", "10001"),
        ("ALMANAC_HISTORY_LOG_BYTES", "2MiB"),
    ):
        with pytest.raises(InvalidInputError) as caught:
            OperatorSettings.from_env({name: value})
        assert caught.value.field == name
