"""One router per resource: jobs, job control, runs, templates, events, and the probes."""

from almanac.api.routes import control, events, health, jobs, runs, templates

__all__ = ["control", "events", "health", "jobs", "runs", "templates"]
