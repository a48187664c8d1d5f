"""The web console: server-rendered pages over the REST facade's service (``/console``)."""

from almanac.console.app import CONSOLE_PATH, create_console, missing_assets

__all__ = ["CONSOLE_PATH", "create_console", "missing_assets"]
