"""Almanac: a Kubernetes operator that runs scheduled jobs as custom resources."""

__all__ = ["__version__"]

__version__ = "0.1.0"
