"""The built-in ClusterJobTemplates are accepted by the real API server's CRD schema."""

from __future__ import annotations

from pathlib import Path

from tests.support import Kubectl

TEMPLATES = Path(__file__).resolve().parents[3] / "config" / "templates"


def test_builtin_templates_pass_server_side_validation(crds: Kubectl) -> None:
    out = crds.run("apply", "--dry-run=server", "-f", str(TEMPLATES))
    names = sorted(line.split()[0] for line in out.splitlines())
    assert names == [
        f"clusterjobtemplate.almanac.dev/{name}"
        for name in ("command", "email", "export", "http", "message", "sql")
    ]
