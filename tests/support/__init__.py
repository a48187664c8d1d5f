"""Helpers shared by the test suites (mostly integration and e2e: kubectl, waiting)."""

from .kube import Kubectl, KubectlError
from .waiting import consistently, eventually

__all__ = ["Kubectl", "KubectlError", "consistently", "eventually"]
