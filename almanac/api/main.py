"""``python -m almanac api``: settings from the environment, then the servers of
:mod:`almanac.api.serving`."""

from __future__ import annotations

import logging
import os
import sys

from almanac.api.app import create_app
from almanac.api.serving import check_tls_files, run
from almanac.api.settings import ApiSettings
from almanac.core.errors import AlmanacError
from almanac.jsonlogs import JsonFormatter
from almanac.kafkasecurity import KafkaSecurity
from almanac.tracing import open_tracing
from almanac.tracing.facade import instrument_facade

__all__ = ["main"]


def main() -> int:
    """Run the facade until SIGTERM/SIGINT; exit 2 naming a malformed variable or a TLS
    file that cannot be used."""
    try:
        settings = ApiSettings.from_env()
        check_tls_files(settings)
        if settings.kafka_bootstrap:
            KafkaSecurity.from_env()  # refused here, naming the variable, not at first use
        tracing = open_tracing(os.environ, "almanac-api")
    except AlmanacError as error:
        print(f"error: {error.field}: {error.message}", file=sys.stderr)
        return 2
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    app = create_app(settings)
    instrument_facade(app, tracing)
    try:
        run(app, settings)
    finally:
        tracing.shutdown()  # the last request spans leave before the process does
    return 0
