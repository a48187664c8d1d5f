"""The seeds' route tables (docs/seeds.md) name only routes the facade serves: each row's
Almanac column must be an operation of the OpenAPI document, and each seed-000 route the
same path under the facade's base path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

from almanac.api import BASE_PATH, ApiSettings, create_app

PAGE: Final = Path(__file__).resolve().parents[3] / "docs" / "seeds.md"
_ROW: Final = re.compile(r"^\| `(?P<seed>[A-Z]+ [^`]+)` \| `(?P<almanac>[A-Z]+ [^`]+)` \|")
_PARAM: Final = re.compile(r"\{[^}]+\}")


def _operations() -> set[tuple[str, str]]:
    document = create_app(ApiSettings()).openapi()
    return {
        (method.upper(), _PARAM.sub("{}", path.removeprefix(BASE_PATH)))
        for path, item in document["paths"].items()
        for method in item
    }


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in PAGE.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            rows.append((match["seed"], match["almanac"]))
    return rows


ROWS: Final = _rows()
OPERATIONS: Final = _operations()


def test_the_page_has_every_seed_table() -> None:
    seeds = {seed.split()[1].split("/")[1] for seed, _ in ROWS}
    assert len(ROWS) >= 11 + 10 + 15, ROWS
    assert {"jobs", "api"} <= seeds


@pytest.mark.parametrize(("seed", "almanac"), ROWS, ids=[s for s, _ in ROWS])
def test_each_rows_almanac_route_is_served(seed: str, almanac: str) -> None:
    method, path = almanac.split(" ", 1)
    assert (method, _PARAM.sub("{}", path)) in OPERATIONS, almanac


def test_seed_000_routes_keep_their_paths() -> None:
    first_table = ROWS[:11]
    for seed, almanac in first_table:
        seed_method, seed_path = seed.split(" ", 1)
        method, path = almanac.split(" ", 1)
        assert seed_method == method
        assert _PARAM.sub("{}", seed_path) == _PARAM.sub("{}", path)
