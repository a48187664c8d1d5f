"""The payload types this image implements, one module each, loaded on demand.

Only the chosen payload's module is imported, so an ``http`` run does not pay for
importing the Kafka and PostgreSQL clients.
"""

from __future__ import annotations

import importlib
from typing import Final, cast

from almanac.executor.context import Payload
from almanac.executor.errors import UnknownPayloadError

__all__ = ["PAYLOAD_TYPES", "load_payload"]

#: Payload type -> module; the built-in ClusterJobTemplates carry the same names.
PAYLOAD_TYPES: Final = {
    "http": "almanac.executor.payloads.http",
    "message": "almanac.executor.payloads.message",
    "command": "almanac.executor.payloads.command",
    "export": "almanac.executor.payloads.export",
    "email": "almanac.executor.payloads.email",
    "sql": "almanac.executor.payloads.sql",
}


def load_payload(name: str, field: str = "ALMANAC_TEMPLATE") -> Payload:
    """The ``execute`` function of payload type ``name``.

    Raises
    ------
    UnknownPayloadError
        ``name`` is not a built-in type.
    """
    module = PAYLOAD_TYPES.get(name)
    if module is None:
        raise UnknownPayloadError(
            f"unknown payload type {name!r}; this image implements "
            f"{', '.join(sorted(PAYLOAD_TYPES))}. A template of another name that runs this "
            "image must pass --payload <type> in its args; otherwise give the template its "
            "own image",
            field,
        )
    return cast(Payload, importlib.import_module(module).execute)
