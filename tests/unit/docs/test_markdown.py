"""The docs tests find headings and anchors as MkDocs does: checked against Python-Markdown
itself (the ``toc`` extension MkDocs uses) on every page of the site."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import markdown  # type: ignore[import-untyped]
import pytest

from hack.docs.markdown import heading_anchors

DOCS: Final = Path(__file__).resolve().parents[3] / "docs"
PAGES: Final = sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_heading_anchors_match_python_markdown(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    rendered = markdown.markdown(text, extensions=["toc", "tables", "fenced_code"])
    ids = set(re.findall(r'<h[1-6] id="([^"]+)"', rendered))
    assert heading_anchors(text) == ids
