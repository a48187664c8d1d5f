"""Helpers shared by the integration and e2e suites."""

from .kube import Kubectl, KubectlError
from .waiting import consistently, eventually

__all__ = ["Kubectl", "KubectlError", "consistently", "eventually"]
