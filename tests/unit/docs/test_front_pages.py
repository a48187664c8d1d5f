"""The README and the changelog: outside the MkDocs site, so ``mkdocs build --strict`` does
not check their links; this does. The README also stays short enough to read (≤ 200
lines): details belong in ``docs/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

from hack.docs.markdown import heading_anchors

REPO: Final = Path(__file__).resolve().parents[3]
FRONT_PAGES: Final = ("README.md", "CHANGELOG.md")
LINK: Final = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _code_free(markdown: str) -> str:
    """The text without fenced blocks and inline code (links there are examples)."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", markdown)


@pytest.mark.parametrize("name", FRONT_PAGES)
def test_every_relative_link_reaches_a_file_and_its_heading(name: str) -> None:
    page = REPO / name
    text = _code_free(page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no {path}")
        elif fragment and fragment not in heading_anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{fragment} in {path or name}")
    assert broken == [], f"{name}: " + "; ".join(broken)


def test_the_readme_stays_under_two_hundred_lines() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move detail into docs/"


def test_the_readme_links_the_changelog_and_every_reference_page() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for target in (
        "CHANGELOG.md",
        "docs/rest-reference.md",
        "docs/crd-reference.md",
        "docs/configuration.md",
        "docs/runbooks/index.md",
    ):
        assert f"]({target})" in text, target
