"""Run the Argo CD health check (hack/gitops) the way Argo CD does: Lua with ``obj`` set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import LuaRuntime  # type: ignore[import-untyped]

__all__ = ["HEALTH_CHECK", "health"]

HEALTH_CHECK = (
    Path(__file__).resolve().parents[3] / "hack" / "gitops" / "argocd-health-scheduledjob.lua"
)


def _to_lua(lua: LuaRuntime, value: Any) -> Any:
    """Nested dicts and lists as Lua tables (lists 1-based, as Argo CD converts JSON)."""
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the health check reports for the ScheduledJob ``obj``."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = _to_lua(lua, obj)
    result = lua.execute(HEALTH_CHECK.read_text())
    return str(result["status"]), str(result["message"])
