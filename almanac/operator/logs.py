"""Structured JSON logs: a constant message plus fields (scheduledjob, uid, slot, job ...)."""

from __future__ import annotations

import logging
import sys

from almanac.jsonlogs import JsonFormatter

__all__ = ["configure_logging", "log"]


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kopf.objects", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


log = logging.getLogger("almanac.operator")
