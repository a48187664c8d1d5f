"""Markdown building blocks shared by the generated pages and the docs tests.

Tables must render the same on the MkDocs site (Python-Markdown) and on GitHub: the two
disagree about a ``|`` inside a code span, so such text is written as HTML ``<code>`` with
the pipe as an entity, which both read alike. Anchors follow Python-Markdown's ``toc``
slugs, which is what ``mkdocs build --strict`` checks links against.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["anchor", "cell", "code", "heading_anchors", "headings", "table"]

_FENCE: Final = re.compile(r"^(```|~~~)")
_HEADING: Final = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LINK: Final = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def anchor(heading: str) -> str:
    """The id MkDocs gives a heading with this text: inline markup dropped, accents folded
    to ASCII, punctuation but ``-`` and ``_`` removed, lower case, runs of spaces and
    hyphens made one hyphen (Python-Markdown's default ``toc`` slug)."""
    text = _LINK.sub(r"\1", heading)
    text = html.unescape(re.sub(r"<[^>]+>", "", text).replace("`", ""))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, text)`` of every ATX heading outside code fences, in order."""
    found: list[tuple[int, str]] = []
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            found.append((len(match[1]), match[2]))
    return found


def heading_anchors(markdown: str) -> set[str]:
    """Every anchor a page's headings get (repeats get ``_1``, ``_2`` as in ``toc``)."""
    seen: set[str] = set()
    for _, text in headings(markdown):
        slug = base = anchor(text)
        count = 0
        while slug in seen:
            count += 1
            slug = f"{base}_{count}"
        seen.add(slug)
    return seen


def code(text: str) -> str:
    """``text`` as inline code that is safe inside a table cell."""
    if "|" in text or "`" in text:
        return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"
    return f"`{text}`"


def cell(text: str) -> str:
    """Prose for a table cell: one line, pipes escaped, code spans holding one rewritten
    by :func:`code`."""
    text = " ".join(text.split())
    parts = re.split(r"(`[^`]+`|<code>.*?</code>)", text)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part.replace("|", r"\|"))
        elif part.startswith("`") and "|" in part:
            out.append(code(part[1:-1]))
        else:
            out.append(part)
    return "".join(out)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table as lines (cells are used as given: pass them through :func:`cell`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
