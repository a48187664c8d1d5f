"""``python -m almanac api``: settings from the environment, then uvicorn."""

from __future__ import annotations

import logging
import sys

import uvicorn

from almanac.api.app import create_app
from almanac.api.settings import ApiSettings
from almanac.core.errors import AlmanacError
from almanac.jsonlogs import JsonFormatter

__all__ = ["main"]


def main() -> int:
    """Run the facade until SIGTERM/SIGINT; exit 2 naming a malformed variable."""
    try:
        settings = ApiSettings.from_env()
    except AlmanacError as error:
        print(f"error: {error.field}: {error.message}", file=sys.stderr)
        return 2
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    return 0
