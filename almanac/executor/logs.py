"""Structured logs of a run: one JSON object per line on stdout.

Every line carries the run's identity (``run``, ``scheduledjob``, ``namespace``,
``template``, ``slot``, ``attempt``, ``trigger``) so ``kubectl logs`` output can be shipped
and searched as is. Messages are constant; variable data goes into fields. Secret values
read for the run are scrubbed from every line (params are never logged, but a library's
error message might echo one).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from almanac.executor.result import redact
from almanac.jsonlogs import JsonFormatter

__all__ = ["RunLogFormatter", "configure_logging", "log"]

log = logging.getLogger("almanac.executor")


class RunLogFormatter(JsonFormatter):
    """JSON line formatter adding the run's fields and scrubbing secret values.

    Parameters
    ----------
    fields
        Fields stamped on every line (from :meth:`RunInfo.log_fields`); may be updated.
    secrets
        Returns the secret values to scrub, read at format time (they appear mid-run).
    """

    def __init__(
        self, fields: Mapping[str, Any], secrets: Callable[[], Iterable[str]] = tuple
    ) -> None:
        super().__init__()
        self.fields = dict(fields)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        entry = self.fields | self.entry(record)
        return json.dumps(redact(entry, list(self._secrets())), default=str)


def configure_logging(
    stream: IO[str], fields: Mapping[str, Any], secrets: Callable[[], Iterable[str]] = tuple
) -> RunLogFormatter:
    """Send every logger's records to ``stream`` as JSON lines; return the formatter."""
    formatter = RunLogFormatter(fields, secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    return formatter
