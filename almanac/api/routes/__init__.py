"""One router per resource: jobs, job control, runs, templates, and the probes."""

from almanac.api.routes import control, health, jobs, runs, templates

__all__ = ["control", "health", "jobs", "runs", "templates"]
