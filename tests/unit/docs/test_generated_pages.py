"""The reference pages are what the generator writes from the code now, and the generator
leaves nothing out: every operation of the OpenAPI document and every field of every CRD
appears on its page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from almanac.api import ApiSettings, create_app
from almanac.core.crd import render_crds
from hack.docs.generate import COMMAND, DOCS, PAGES, drift
from hack.docs.markdown import cell, code, heading_anchors, headings


def test_every_generated_page_is_committed_as_the_generator_writes_it() -> None:
    assert drift() == [], f"regenerate the pages: {COMMAND}"


def test_every_generated_page_is_in_the_site_navigation() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        assert f": {page}\n" in nav, f"mkdocs.yml does not list {page}"


def test_the_rest_reference_has_every_operation_with_its_route_and_statuses() -> None:
    page = (DOCS / "rest-reference.md").read_text(encoding="utf-8")
    anchors = heading_anchors(page)
    document = create_app(ApiSettings()).openapi()
    operations = [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) >= 19
    for method, path, operation in operations:
        operation_id = operation["operationId"]
        assert operation_id.lower() in anchors, operation_id
        section = _section(page, operation_id)
        assert f"`{method} {path.removeprefix('/api/scheduler/v1')}`" in section, operation_id
        for status in operation["responses"]:
            assert f"| `{status}` |" in section, (operation_id, status)
        for parameter in operation.get("parameters", []):
            assert f"| `{parameter['name']}` |" in section, (operation_id, parameter["name"])
    for schema in document["components"]["schemas"]:
        assert schema.lower() in anchors, schema


def _section(page: str, heading: str) -> str:
    """The text under ``### heading`` up to the next heading."""
    start = page.index(f"\n### {heading}\n")
    end = page.find("\n#", start + 1)
    return page[start : end if end != -1 else None]


def _paths(schema: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for name, sub in schema.get("properties", {}).items():
        yield f"{prefix}.{name}"
        yield from _paths(sub, f"{prefix}.{name}")
        if isinstance(sub.get("items"), Mapping):
            yield from _paths(sub["items"], f"{prefix}.{name}[]")


def test_the_crd_reference_has_every_field_of_every_resource() -> None:
    page = (DOCS / "crd-reference.md").read_text(encoding="utf-8")
    kinds = [level_text for level, level_text in headings(page) if level == 2]
    for text in render_crds().values():
        crd = yaml.safe_load(text)
        kind = crd["spec"]["names"]["kind"]
        assert any(kind in heading for heading in kinds), kind
        root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
        for part in ("spec", "status"):
            for path in _paths(root.get(part, {}), part):
                assert f"| `{path}` |" in page, f"{kind}: {path}"


def test_table_cells_keep_pipes_from_splitting_columns() -> None:
    assert code("a|b") == "<code>a&#124;b</code>"
    assert code("plain") == "`plain`"
    assert cell("x | y `a|b`\n z `c`") == r"x \| y <code>a&#124;b</code> z `c`"
