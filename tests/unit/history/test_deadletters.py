"""Dead letters: a run's from its marked row, an event's bounded."""

from __future__ import annotations

from almanac.core.status import RunPhase
from almanac.history.deadletters import (
    MAX_EVENT_VALUE_BYTES,
    LetterKind,
    bounded_value,
    event_letter,
    run_letter,
)
from tests.unit.history.builders import SLOT, UID, finished


def test_only_a_run_marked_dead_lettered_has_a_letter() -> None:
    assert run_letter(finished(RunPhase.FAILED)) is None
    letter = run_letter(finished(RunPhase.FAILED, dead_lettered_at=SLOT, error="boom"))

    assert letter is not None
    assert (letter.kind, letter.subject, letter.reason, letter.at) == (
        LetterKind.RUN,
        "nightly-202603010200",
        "boom",
        SLOT,
    )
    assert letter.key == ("run", UID, "nightly-202603010200")


def test_an_events_value_is_kept_up_to_the_bound() -> None:
    big = b"x" * (MAX_EVENT_VALUE_BYTES + 10)

    assert len(bounded_value(big)) == MAX_EVENT_VALUE_BYTES
    assert bounded_value("é".encode() * MAX_EVENT_VALUE_BYTES).endswith("é")


def test_an_event_letter_names_its_event_topic_and_reason() -> None:
    letter = event_letter(
        namespace="org-1",
        scheduledjob="sync",
        scheduledjob_uid="u-1",
        event_id="ev-9",
        topic="orders",
        reason="params refused",
        value=b'{"a": 1}',
        at=SLOT,
    )

    assert (letter.kind, letter.subject, letter.topic, letter.value) == (
        LetterKind.EVENT,
        "ev-9",
        "orders",
        '{"a": 1}',
    )
