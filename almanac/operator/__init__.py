"""The Almanac operator: a Lease-elected Kopf process with one scheduler loop.

Modules: ``config`` (settings from the environment), ``logs`` (JSON logs), ``leader``
(the Lease), ``kube`` (API calls Kopf does not make), ``scheduler`` (the heap loop and the
per-ScheduledJob reconcile), ``handlers`` (Kopf ``on.event`` feeds), ``observability``
(metrics and probes), ``main`` (composition root).
"""

__all__: list[str] = []
