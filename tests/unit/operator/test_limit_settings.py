"""The launch limits' settings: all off by default, each one checked at start with the
variable named (exit 2 through OperatorSettings)."""

from __future__ import annotations

import pytest

from almanac.core.errors import InvalidInputError
from almanac.core.queueing import Limits
from almanac.operator.limitsettings import LimitSettings
from almanac.operator.settings import OperatorSettings


def test_no_variable_means_no_limit() -> None:
    limits = LimitSettings.from_env({}).limits
    assert limits == Limits()
    assert not limits.caps_active
    assert limits.launches_per_second is None


def test_every_limit_is_read() -> None:
    limits = LimitSettings.from_env(
        {
            "ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE": "2",
            "ALMANAC_MAX_ACTIVE_RUNS_PER_ORG": "5",
            "ALMANAC_MAX_ACTIVE_RUNS": "100",
            "ALMANAC_LAUNCHES_PER_SECOND": "2.5",
            "ALMANAC_LAUNCH_BURST": "10",
        }
    ).limits
    assert limits == Limits(2, 5, 100, 2.5, 10)


def test_the_burst_defaults_to_a_seconds_launches() -> None:
    assert LimitSettings.from_env({"ALMANAC_LAUNCHES_PER_SECOND": "20"}).limits.burst == 20
    assert LimitSettings.from_env({"ALMANAC_LAUNCHES_PER_SECOND": "0.2"}).limits.burst == 1


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE": "0"}, "ALMANAC_MAX_ACTIVE_RUNS_PER_NAMESPACE"),
        ({"ALMANAC_MAX_ACTIVE_RUNS_PER_ORG": "many"}, "ALMANAC_MAX_ACTIVE_RUNS_PER_ORG"),
        ({"ALMANAC_MAX_ACTIVE_RUNS": "-3"}, "ALMANAC_MAX_ACTIVE_RUNS"),
        ({"ALMANAC_LAUNCHES_PER_SECOND": "fast"}, "ALMANAC_LAUNCHES_PER_SECOND"),
        ({"ALMANAC_LAUNCHES_PER_SECOND": "0"}, "ALMANAC_LAUNCHES_PER_SECOND"),
        ({"ALMANAC_LAUNCH_BURST": "5"}, "ALMANAC_LAUNCH_BURST"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        LimitSettings.from_env(env)
    assert refused.value.field == variable
    with pytest.raises(InvalidInputError, match=variable):
        OperatorSettings.from_env(env)
