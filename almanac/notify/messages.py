"""What a notification to people says, per channel: pure formatting of a :class:`Notice`.

One notice (a run's outcome, a pause, a test) becomes an e-mail (subject and plain text),
a Slack-compatible JSON body (``text`` for every receiver that reads only that, ``blocks``
for Slack and its look-alikes) or a Kafka record (JSON with the same facts as fields).
Every message names the job (``namespace/name``), the run, its outcome, the error or the
result's summary, and a link to the run over REST when the operator knows the facade's
address; a message after a quiet spell of the rate limit says how many were left out.

A notice is stored as JSON in the deliveries table (:meth:`Notice.to_json`) and rendered
when it is sent, so a retried delivery says exactly what the first attempt said.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Final

__all__ = [
    "MAX_ERROR_CHARS",
    "TEST",
    "Notice",
    "email_message",
    "kafka_record",
    "slack_body",
    "subject",
    "text",
]

#: What a test message is called (``POST /jobs/{id}/notifications/test``).
TEST: Final = "Test"
#: Characters of the error or summary a message carries (the run's history keeps 4096).
MAX_ERROR_CHARS: Final = 1000
_HEADLINES: Final = {
    "Failed": "run {run} failed",
    "DeadLettered": "run {run} failed with every retry spent (dead-lettered)",
    "Succeeded": "run {run} succeeded",
    "Recovered": "run {run} succeeded: the job recovered",
    "Paused": "paused after repeated failures",
    TEST: "test notification",
}
_EMOJI: Final = {
    "Failed": ":x:",
    "DeadLettered": ":x:",
    "Succeeded": ":white_check_mark:",
    "Recovered": ":white_check_mark:",
    "Paused": ":double_vertical_bar:",
    TEST: ":information_source:",
}


@dataclass(frozen=True)
class Notice:
    """The facts one notification states, whatever the channel."""

    namespace: str
    scheduledjob: str
    scheduledjob_uid: str
    outcome: str
    at: datetime
    run: str | None = None
    attempt: int | None = None
    error: str | None = None
    summary: str | None = None
    link: str | None = None
    suppressed: int = 0
    #: A pause's reason (``spec.pauseAfterFailures``), with how to resume.
    paused: str | None = None

    @property
    def job(self) -> str:
        return f"{self.namespace}/{self.scheduledjob}"

    def to_json(self) -> dict[str, Any]:
        """The notice as stored with its deliveries (times as RFC 3339)."""
        return asdict(self) | {"at": _instant(self.at)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        return cls(**(data | {"at": datetime.fromisoformat(data["at"].replace("Z", "+00:00"))}))


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _cut(value: str | None) -> str | None:
    if not value:
        return None
    return value if len(value) <= MAX_ERROR_CHARS else value[: MAX_ERROR_CHARS - 1] + "…"


def headline(n: Notice) -> str:
    """``run nightly-x failed`` and the like (without the job)."""
    return _HEADLINES.get(n.outcome, n.outcome).format(run=n.run or "-")


def subject(n: Notice) -> str:
    """``[Almanac] team-a/nightly: run nightly-x failed`` (an e-mail subject line)."""
    return f"[Almanac] {n.job}: {headline(n)}"


def _resume(n: Notice) -> str:
    return (
        f"Resume it once the cause is fixed: almanac resume {n.scheduledjob} -n {n.namespace}, "
        f"kubectl patch scheduledjob {n.scheduledjob} -n {n.namespace} --type merge "
        '-p \'{"spec":{"suspend":false}}\', or POST '
        f"/api/scheduler/v1/jobs/{n.scheduledjob_uid}/resume."
    )


def lines(n: Notice) -> list[str]:
    """The message's facts, one per line (the e-mail body, the webhook's ``text``)."""
    out = [f"Job {n.job}: {headline(n)}."]
    if n.outcome == TEST:
        out.append("This is a test message sent on request; the job's runs are not affected.")
    if n.run:
        out.append(f"Run: {n.run}" + (f" (attempt {n.attempt})" if n.attempt else ""))
    out.append(f"Status: {n.outcome}")
    out.append(f"At: {_instant(n.at)}")
    if error := _cut(n.error):
        out.append(f"Error: {error}")
    elif summary := _cut(n.summary):
        out.append(f"Result: {summary}")
    if n.paused:
        out += [f"Why: {n.paused}.", _resume(n)]
    if n.link:
        out.append(f"Details: {n.link}")
    if n.suppressed:
        out.append(
            f"{n.suppressed} earlier notification(s) of this job were not sent: the per-job "
            "rate limit was reached."
        )
    return out


def text(n: Notice) -> str:
    return "\n".join(lines(n)) + "\n"


def slack_body(n: Notice) -> dict[str, Any]:
    """Slack-compatible JSON: ``text`` (the whole message, for receivers reading only it)
    and ``blocks`` (a header line and the facts)."""
    first, *rest = lines(n)
    return {
        "text": text(n),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{_EMOJI.get(n.outcome, '')} *{first}*".strip(),
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(rest)}},
        ],
    }


def kafka_record(n: Notice, delivery_id: str) -> dict[str, Any]:
    """The JSON record for a Kafka target: the facts as fields, plus the text."""
    return {
        "type": "almanac.notification",
        "id": delivery_id,
        "namespace": n.namespace,
        "job_name": n.scheduledjob,
        "job_id": n.scheduledjob_uid,
        "run_id": n.run,
        "attempt": n.attempt,
        "status": n.outcome,
        "time": _instant(n.at),
        "error": _cut(n.error),
        "summary": _cut(n.summary),
        "link": n.link,
        "paused_reason": n.paused,
        "suppressed": n.suppressed,
        "text": text(n),
    }


def email_message(n: Notice, sender: str, to: list[str], delivery_id: str) -> EmailMessage:
    """The e-mail: the subject, the facts as plain text, and the delivery id as its
    ``Message-ID`` (a resent delivery is the same message to a mail client)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject(n)
    domain = sender.rpartition("@")[2] or "almanac.invalid"
    message["Message-ID"] = f"<{delivery_id}@{domain}>"
    message["X-Almanac-Job"] = n.job
    if n.run:
        message["X-Almanac-Run"] = n.run
    message.set_content(text(n))
    return message
