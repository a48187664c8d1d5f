"""``python -m almanac api`` refuses a malformed setting before starting anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALMANAC_API_PORT", "http"),
        ("ALMANAC_API_CREATE_NAMESPACES", "perhaps"),
        ("ALMANAC_TRIGGER_TOPIC", ".."),
    ],
)
def test_bad_variable_exits_2_naming_it(name: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "almanac", "api"],
        env=dict(os.environ, **{name: value}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {name}: {name}={value!r}")
    assert result.stdout == ""


def test_a_bad_kafka_security_setting_exits_2_naming_it() -> None:
    env = dict(
        os.environ,
        ALMANAC_KAFKA_BOOTSTRAP="127.0.0.1:9",
        ALMANAC_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        ALMANAC_KAFKA_SASL_USERNAME="almanac",
        ALMANAC_KAFKA_SASL_PASSWORD="s3cret-never-shown",
    )
    result = subprocess.run(
        [sys.executable, "-m", "almanac", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ALMANAC_KAFKA_SASL_MECHANISM: ")
    assert "s3cret-never-shown" not in result.stderr
