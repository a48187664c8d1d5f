"""Almanac's command line: ``almanac`` and ``kubectl almanac`` (the same entry point).

Modules: ``parsers`` (the grammar), ``main`` (the entry point and error edge), one module
per verb group (``jobs``: get, describe; ``control``: run, suspend, resume, retry,
backfill; ``runs``: runs, logs; ``offline``: lint, render; ``local``: preview, crds and
the processes), ``views`` and ``tables`` (pure formatting), ``kube`` and ``sources`` (the
cluster, the facade and the history database), ``manifests`` (files for lint and render).
"""

from almanac.cli.main import main

__all__ = ["main"]
