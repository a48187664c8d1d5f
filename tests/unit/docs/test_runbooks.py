"""Every alert of the chart's PrometheusRule links to a runbook page that exists.

The rule is rendered with the chart (as a cluster would get it), each ``runbook_url`` is
mapped back to the page MkDocs publishes at that address (``<base>/<name>/`` is
``docs/runbooks/<name>.md``), and the page must be that alert's: titled with its name,
stating its severity and duration, and listed on the runbooks index.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import pytest

from hack.docs.markdown import heading_anchors, headings
from tests.unit.gitops.chart import REPO, render

RUNBOOKS: Final = REPO / "docs" / "runbooks"
MONITORING: Final = "monitoring.coreos.com/v1"
FACTS: Final = re.compile(r"\*\*Severity:\*\* `(\w+)` · \*\*For:\*\* `(\w+)`")


def _alerts(base: str) -> list[dict[str, Any]]:
    objects = render({"metrics.prometheusRule.runbookBaseUrl": base}, api_versions=[MONITORING])
    (rule,) = [o for o in objects if o["kind"] == "PrometheusRule"]
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]


def _page(url: str, base: str) -> tuple[Path, str]:
    """The docs page (and anchor, maybe empty) that ``url`` under ``base`` addresses."""
    root = base.rstrip("/") + "/"
    assert url.startswith(root), url
    path, _, fragment = url.removeprefix(root).partition("#")
    assert path.endswith("/"), f"{url}: want <base>/<page>/"
    assert path.count("/") == 1, f"{url}: want <base>/<page>/"
    return RUNBOOKS / f"{path.rstrip('/')}.md", fragment


@pytest.mark.parametrize(
    "base", ["https://docs.example.com/almanac/runbooks/", "https://runbooks.example.com"]
)
def test_every_alert_links_to_its_own_runbook_page(base: str) -> None:
    alerts = _alerts(base)
    assert len(alerts) >= 8
    for alert in alerts:
        name = alert["alert"]
        page, fragment = _page(alert["annotations"]["runbook_url"], base)
        assert page.is_file(), f"{name}: no page {page.relative_to(REPO)}"
        text = page.read_text(encoding="utf-8")
        assert headings(text)[0] == (1, name), f"{page.name} is not titled {name}"
        assert not fragment or fragment in heading_anchors(text), f"{name}: no #{fragment}"
        facts = FACTS.search(text)
        assert facts, f"{page.name}: no '**Severity:** `...` · **For:** `...`' line"
        assert facts[1] == alert["labels"]["severity"], f"{name}: severity"
        assert facts[2] == alert["for"], f"{name}: for"


def test_every_runbook_page_belongs_to_an_alert_and_is_on_the_index() -> None:
    names = {alert["alert"].lower(): alert["alert"] for alert in _alerts("https://x/")}
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"index"}
    assert pages == set(names), "a runbook page without an alert, or an alert without a page"
    index = (RUNBOOKS / "index.md").read_text(encoding="utf-8")
    for stem, name in names.items():
        assert f"[{name}]({stem}.md)" in index, f"index.md does not link {name}"


def test_the_readme_counts_the_alerts_the_chart_has() -> None:
    """The README's "has N alerts" is the number of alerts the chart renders."""
    words = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
    ]
    said = re.search(r"PrometheusRule has (\w+) alerts", (REPO / "README.md").read_text())
    assert said is not None, "the README no longer counts the alerts: drop this test"
    assert words.index(said.group(1)) == len(_alerts("https://docs.example.com/runbooks/"))
