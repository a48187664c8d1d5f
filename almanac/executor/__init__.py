"""The run executor: the program in every run pod of a built-in template.

``python3 -m almanac.executor [--payload TYPE]`` runs one payload and exits 0 (succeeded)
or 1 (failed). It never hangs (every network operation has a timeout, the whole run has
a deadline) and never ends in a traceback: every problem becomes a failed result naming
the field and the fix.

Environment (set by the operator on every run pod; a custom image gets the same)
-------------------------------------------------------------------------------
``ALMANAC_RUN``            Job name of this run.
``ALMANAC_SCHEDULEDJOB``   ScheduledJob name.  ``ALMANAC_NAMESPACE``  its namespace.
``ALMANAC_TEMPLATE``       template name = payload type for built-ins (``http``,
                           ``message``, ``command``, ``export``, ``email``, ``sql``); a
                           template of another name running this image passes
                           ``--payload TYPE`` in its ``args``.
``ALMANAC_PARAMS``         params as a JSON object.
``ALMANAC_SLOT``           scheduled instant, RFC 3339 UTC.
``ALMANAC_ATTEMPT``        attempt number, from 1.   ``ALMANAC_TRIGGER``  why the run exists.
``ALMANAC_EVENT``          triggering event as a JSON object (event-triggered runs only).

Optional settings: ``ALMANAC_RESULT_PATH`` (default ``/dev/termination-log``),
``ALMANAC_SECRETS_DIR`` (default ``/var/run/almanac/secrets``), ``ALMANAC_TIMEOUT``
(overall deadline, a duration, default ``1h``), ``ALMANAC_HTTP_ALLOW_CIDRS``
(comma-separated CIDRs that runs may reach although they are internal: ``http``/``export``
URLs, the ``email`` host, a ``message`` bootstrap given in params),
``ALMANAC_KAFKA_BOOTSTRAP`` (default brokers of ``message``, trusted: not guarded).

Result
------
``{"status": "succeeded"|"failed", "summary": "<sentence>", "details": {...}}`` as UTF-8
JSON of at most 4096 bytes in the result path. Oversized results stay valid JSON: long
strings in ``details`` are cut (``…``), then ``details`` is dropped, and
``details.truncated`` is ``true``. Failures carry ``details.error`` (a stable code such as
``invalid_params``, ``refused_target``, ``payload_failed``) and ``details.field``
(``ALMANAC_PARAMS``, ``params.url`` ...). Logs are JSON lines on stdout with ``ts``,
``level``, ``msg``, ``run``, ``scheduledjob``, ``namespace``, ``template``, ``slot``,
``attempt``, ``trigger``.

Secrets
-------
Secret values never appear in a spec. A param that takes one is written
``{"secretKeyRef": {"name": "<secret>", "key": "<key>"}}``; the operator mounts every
Secret so referenced (in the run's namespace) read-only at
``/var/run/almanac/secrets/<secret>/<key>`` and the executor reads the file (verbatim).
A missing file fails the run naming the param, the Secret and the key. Values read are
never logged and are scrubbed (``***``) from logs and results. Params that accept a
reference: ``http`` header values, ``command`` env values, ``email`` password (reference
only), ``sql`` dsn (reference only).
"""

from almanac.executor.main import failure_result, main, run_payload

__all__ = ["failure_result", "main", "run_payload"]
