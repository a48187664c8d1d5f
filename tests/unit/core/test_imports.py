"""almanac.core is pure: it imports no I/O library and never reads the clock."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[3] / "almanac" / "core"
IO_LIBRARIES = {
    "kopf",
    "kubernetes_asyncio",
    "kubernetes",
    "psycopg",
    "psycopg_pool",
    "aiokafka",
    "httpx",
    "fastapi",
    "uvicorn",
    "prometheus_client",
    "requests",
    "socket",
    "asyncio",
}


def test_core_modules_import_no_io_library() -> None:
    for path in sorted(CORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in IO_LIBRARIES, f"{path.name} imports {name}"


def test_importing_core_loads_no_io_library() -> None:
    code = "import json, sys, almanac.core; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = {name.split(".")[0] for name in json.loads(out)}
    assert not (loaded & (IO_LIBRARIES - {"socket", "asyncio"})), loaded & IO_LIBRARIES


def test_core_never_reads_the_clock() -> None:
    for path in sorted(CORE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", ".utcnow(", "time.time(", "date.today("):
            assert call not in text, f"{path.name} calls {call}"
