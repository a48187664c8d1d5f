"""Event runs on the fast path: an event's run launched the moment it is accepted, without
waiting for the next reconcile pass (a burst of events would wait for the pass before).

Two ways: a RunRequest this process just created is launched at once when it is due
(:meth:`EventRuns.accepted`), and an event due now that can start now becomes its Job
directly, named as its RunRequest's Job would be (:meth:`EventRuns.launch_event_now`).
Both decide with the reconcile's own rules (:func:`~almanac.core.reconcile.request_actions`,
the template verdict) and launch through the one :class:`~.launcher.Launcher`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from almanac.core.actions import LaunchRequest
from almanac.core.naming import claimed_owner
from almanac.core.requestdecisions import request_actions, waits_for_events
from almanac.core.requestnames import legacy_request_name
from almanac.core.runrequests import RequestPhase, RunRequestSpec, RunRequestStatus
from almanac.core.snapshot import StoredRequest
from almanac.core.vocabulary import EventReason

from .launcher import fields_of
from .logs import log
from .tracked import Tracked

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["EventRuns"]


class EventRuns:
    def __init__(self, scheduler: Scheduler, *, clock: Callable[[], datetime]) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._direct: set[asyncio.Task[None]] = set()

    def accepted(self, body: dict[str, Any]) -> None:
        """A RunRequest this process just created: kept, and launched at once when due."""
        registry = self._scheduler.registry
        registry.request_event(body, deleted=False)
        claimed = claimed_owner(body["metadata"])
        owner = registry.owner(claimed) if claimed else None
        if owner is None or owner.spec is None or owner.error is not None:
            return
        stored = owner.requests.get(body["metadata"]["name"])
        snapshot = self._scheduler.snapshot(owner)
        if (
            stored is None
            or snapshot.template is None
            or snapshot.refusal is not None
            or stored.status.phase is not RequestPhase.PENDING
            or stored.spec.due_time > self._clock()
            or waits_for_events(stored, snapshot.events_read_to)
        ):
            return  # the reconcile pass decides, and says why in status
        actions = tuple(request_actions(snapshot, stored))
        task = asyncio.create_task(self._launch_direct(owner, actions))
        self._direct.add(task)
        task.add_done_callback(self._direct.discard)

    async def _launch_direct(self, t: Tracked, actions: tuple[Any, ...]) -> None:
        scheduler = self._scheduler
        template = scheduler.registry.template(t)
        if template is None:
            return
        try:
            with scheduler.launching():
                await scheduler.carry_out(t, template, actions, self._clock())
        except Exception:
            log.exception("event run not launched; retrying", extra=fields_of(t))
            scheduler.pass_failed(t)

    async def launch_event_now(
        self, t: Tracked, name: str, spec: RunRequestSpec, *, sent: datetime | None = None
    ) -> bool | None:
        """An event's run that is due now and can start now becomes its Job at once, named
        as its RunRequest's Job would be: that Job is the event's durable record (a
        redelivered event meets AlreadyExists), and the event costs one API write instead
        of three. True: created; False: the event has a record already. None: the run
        needs its RunRequest (delayed, a chain, suspended, retried, a template missing or
        refusing it, the create failed, or the watches have not listed yet, or it fell due
        after its event, ``sent``, and events sent before its due time are not handled yet:
        one may cancel it), which records why and launches it later."""
        scheduler, registry = self._scheduler, self._scheduler.registry
        now = self._clock()
        if not registry.synced.is_set():
            return None  # the RunRequest's name settles it
        if registry.already_accepted(t, name) or (
            spec.source is not None
            and registry.already_accepted(
                t,
                legacy_request_name(t.ref.name, t.ref.uid, spec.trigger, spec.source.id, spec.step),
            )
        ):
            return False  # accepted before, possibly under its pre-128-bit name
        if spec.kind != "event" or spec.due_time > now or t.spec is None or t.error is not None:
            return None
        if t.spec.suspend or t.spec.retry.max_attempts > 1:
            return None  # a skip is recorded, and a retry re-reads the request
        snapshot = scheduler.snapshot(t)
        template = snapshot.template
        if template is None or snapshot.refusal is not None:
            return None
        pending = StoredRequest(name, spec, RunRequestStatus())
        if (sent is None or spec.due_time > sent) and waits_for_events(
            pending, snapshot.events_read_to
        ):
            return None
        launch = request_actions(snapshot, pending)[0]
        if not isinstance(launch, LaunchRequest):
            return None  # params refused: the request is kept as Failed with the reason
        run = launch.run
        key = (t.ref.uid, name)
        registry.creating.add(key)
        launcher = scheduler.launcher
        try:
            async with launcher.request_limit:
                created = await launcher.launch(t, template, run, now, reason=EventReason.TRIGGERED)
        except Exception as exc:
            fields = fields_of(t) | {"event_id": spec.source.id, "request": name}
            log.warning("event run not created at once", extra=fields | {"error": str(exc)})
            return None
        finally:
            registry.creating.discard(key)
        registry.requested_jobs.setdefault(key, launch.job)
        if created:
            scheduler.count_trigger(t, spec.trigger, "launched")
        return created
