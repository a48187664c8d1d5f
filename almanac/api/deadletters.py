"""The facade's dead letters: an organisation's list, one letter, and a requeue.

Every read is scoped to the caller's namespace, as run reads are: another organisation's
letter id answers the same 404 as one that exists nowhere. A requeue of a dead run is a
retry of it (:meth:`~almanac.api.runasks.RunAsks.retry_run`): a RunRequest named from the
run, so the operator runs one more attempt of its slot with the job's current spec (fix
the job, then requeue), also once the run's Job was pruned; asking twice answers the same
run. An event's letter is not requeued here: the event was refused by the job's own
trigger (its filter, its params mapping, the template's schema, the API server), so the
same bytes would be refused again; publish it again (``POST /events``) once the job is
fixed — a 409 says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from almanac.api.errors import ConflictError, NotFoundError
from almanac.api.identity import Identity
from almanac.history.deadletters import DeadLetter, LetterKind
from almanac.history.store import LetterPage

if TYPE_CHECKING:
    from almanac.api.service import JobService

__all__ = ["DeadLetters", "Requeued"]

#: (the letter as marked, its job's id, the requeued run's id)
Requeued = tuple[DeadLetter, str, str]


class DeadLetters:
    """Dead letters on the service's clients and clock (``JobService.letters``)."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    async def list_letters(
        self,
        who: Identity,
        *,
        job_id: str | None,
        kind: LetterKind | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> LetterPage:
        """The organisation's letters, newest first (a deleted job's stay listed)."""
        namespace = await self.jobs.namespace(who)
        return await self.jobs.store.list_dead_letters(
            namespace,
            scheduledjob_uid=job_id,
            kind=kind,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )

    async def get_letter(self, who: Identity, letter_id: int) -> DeadLetter:
        """One letter of the organisation's, else 404."""
        namespace = await self.jobs.namespace(who)
        letter = await self.jobs.store.get_dead_letter(namespace, letter_id)
        if letter is None:
            raise NotFoundError(f"no dead letter {letter_id}", "id")
        return letter

    async def requeue(self, who: Identity, letter_id: int) -> Requeued:
        """Run a dead run once more (see the module docstring); 409 for an event's."""
        letter = await self.get_letter(who, letter_id)
        if letter.kind is LetterKind.EVENT:
            raise ConflictError(
                "events are requeued by publishing them again (POST /events with the value "
                "kept here) once the job's trigger accepts them",
                "id",
            )
        if letter.requeued_run is not None:
            return letter, letter.scheduledjob_uid, letter.requeued_run
        job_id, run = await self.jobs.asks.retry_run(who, letter.subject)
        marked = await self.jobs.store.mark_requeued(
            letter.namespace, letter_id, run, self.jobs.clock()
        )
        if marked is None or marked.requeued_run is None:  # deleted meanwhile (retention)
            raise NotFoundError(f"no dead letter {letter_id}", "id")
        return marked, job_id, marked.requeued_run
