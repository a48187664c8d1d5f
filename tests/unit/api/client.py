"""An HTTP client that calls a FastAPI app in this process, without a socket."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

__all__ = ["in_process"]


def in_process(app: FastAPI) -> httpx.AsyncClient:
    """Requests go straight to ``app`` (its lifespan is not run); app errors are raised."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
