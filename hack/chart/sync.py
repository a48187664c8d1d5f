#!/usr/bin/env python3
"""Copy the generated CRDs and the built-in templates into the chart and the package
(``--check``: only compare). The chart cannot read files outside its folder, and the wheel
carries only the package, so both hold copies; this keeps them equal to ``crds/`` and
``config/templates/`` (a unit test fails if they drift)."""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHART_FILES = REPO / "charts" / "almanac" / "files"
#: Source folder -> a copy of it (the package's copy gives built-in types their schemas).
COPIES = (
    (REPO / "crds", CHART_FILES / "crds"),
    (REPO / "config" / "templates", CHART_FILES / "templates"),
    (REPO / "config" / "templates", REPO / "almanac" / "templates"),
)


def drift() -> list[str]:
    """Files that differ, are missing from the chart, or are stale in it."""
    problems = []
    for source, target in COPIES:
        wanted = {p.name for p in source.glob("*.yaml")}
        present = {p.name for p in target.glob("*.yaml")} if target.exists() else set()
        problems += [f"{target / n} is stale" for n in sorted(present - wanted)]
        for name in sorted(wanted):
            if name not in present or not filecmp.cmp(source / name, target / name, shallow=False):
                problems.append(f"{target / name} differs from {source / name}")
    return problems


def sync() -> None:
    for source, target in COPIES:
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*.yaml"):
            stale.unlink()
        for path in source.glob("*.yaml"):
            shutil.copyfile(path, target / path.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a copy drifted")
    args = parser.parse_args()
    if args.check:
        problems = drift()
        for problem in problems:
            print(f"{problem}; run hack/chart/sync.py", file=sys.stderr)
        return 1 if problems else 0
    sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())
