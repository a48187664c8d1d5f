"""What build a process is: ``almanac_build_info`` on every ``/metrics`` page.

One series per process with the version, the Python it runs on and which component it
is (operator, facade), value 1: the usual Prometheus way to join "which version runs
where" onto any other series, and to see a rollout finish.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Info

from almanac import __version__

__all__ = ["register_build_info"]


def register_build_info(registry: CollectorRegistry, component: str) -> None:
    """Add ``almanac_build_info{version, python, component} 1`` to ``registry``."""
    info = Info("almanac_build", "The running build of Almanac.", registry=registry)
    info.info({"version": __version__, "python": platform.python_version(), "component": component})
