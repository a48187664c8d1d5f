"""The REST facade: the Insights scheduler API over ScheduledJobs, one namespace per org.

Callers identify with the ``x-rh-identity`` header; each organisation's jobs live in its
own namespace (``org-{org_id}`` by default) and are ScheduledJobs there, so kubectl and
REST see and manage the same objects. Run history and stats come from Postgres.
"""

from almanac.api.app import BASE_PATH, create_app
from almanac.api.identity import Identity, encode_identity, parse_identity
from almanac.api.settings import ApiSettings

__all__ = [
    "BASE_PATH",
    "ApiSettings",
    "Identity",
    "create_app",
    "encode_identity",
    "parse_identity",
]
