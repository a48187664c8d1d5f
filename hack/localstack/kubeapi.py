"""Read-only calls to the stack's API server with the admin certificate.

Plain HTTPS from this process, not ``kubectl``: a GET costs milliseconds instead of a
client start-up, which matters for the checks that run on every ``hack/stack up``.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from . import controlplane
from .pki import make_pki
from .processes import State
from .settings import Dirs

__all__ = ["api_get", "api_list"]


def api_get(dirs: Dirs, state: State, path: str, timeout: float = 5) -> dict[str, Any]:
    """GET ``path`` (e.g. ``/api/v1/nodes/localhost``) as JSON; HTTP errors raise."""
    context: ssl.SSLContext = controlplane.api_ssl_context(make_pki(dirs.pki))
    url = f"https://127.0.0.1:{state.ports['apiserver']}{path}"
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        data: dict[str, Any] = json.load(response)
        return data


def api_list(dirs: Dirs, state: State, path: str) -> list[dict[str, Any]]:
    """The items of a list ``path``; none when the resource type is not served (a custom
    resource whose CRD is not installed), any other failure raises."""
    try:
        items: list[dict[str, Any]] = api_get(dirs, state, path, timeout=30).get("items") or []
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise
    return items
