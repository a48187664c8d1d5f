"""Almanac's pure core: spec models, schedule maths, run naming and decisions.

Nothing here performs I/O or reads the clock: callers pass ``now``. Datetimes are aware UTC
inside; time zones only matter while evaluating cron lines. The operator, the REST facade
and the CLI all call the names listed in ``__all__``.
"""

from almanac.core.catchup import CatchUpPlan, plan_catch_up
from almanac.core.cron import CronLine, parse_cron
from almanac.core.decisions import Buffer, GiveUp, Launch, RetryAfter, Skip, SkipReason, Wait
from almanac.core.durations import DURATION_PATTERN, format_duration, parse_duration
from almanac.core.errors import (
    AlmanacError,
    InvalidCronError,
    InvalidDurationError,
    InvalidInputError,
    InvalidNameError,
    InvalidScheduleError,
    InvalidSpecError,
    NaiveDatetimeError,
    ScheduleNeverFiresError,
    UnknownTimeZoneError,
)
from almanac.core.jitter import jitter_offset, launch_time
from almanac.core.models import (
    API_GROUP,
    API_VERSION,
    CatchUp,
    OverlapPolicy,
    Retry,
    Schedule,
    ScheduledJobSpec,
    Trigger,
)
from almanac.core.naming import run_annotations, run_labels, run_name, validate_object_name
from almanac.core.overlap import backfill_releases, decide_overlap, release_buffered
from almanac.core.plan import (
    TickPlan,
    compile_spec,
    is_complete,
    next_run_time,
    plan_tick,
    schedule_anchor,
    slots_due,
)
from almanac.core.preview import format_instant, preview_slots
from almanac.core.resource import (
    ScheduledJob,
    parse_schedule,
    parse_scheduled_job,
    parse_spec,
)
from almanac.core.retry import backoff_delay, decide_retry
from almanac.core.schedule import CompiledSchedule, SlotCount, compile_schedule, summarize_schedule
from almanac.core.status import (
    ActiveRun,
    Condition,
    ConditionType,
    LastRun,
    RunCounts,
    RunPhase,
    ScheduledJobStatus,
    TriggerKind,
)
from almanac.core.templates import JobTemplateSpec
from almanac.core.zones import load_zone, require_aware

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "DURATION_PATTERN",
    "ActiveRun",
    "AlmanacError",
    "Buffer",
    "CatchUp",
    "CatchUpPlan",
    "CompiledSchedule",
    "Condition",
    "ConditionType",
    "CronLine",
    "GiveUp",
    "InvalidCronError",
    "InvalidDurationError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidScheduleError",
    "InvalidSpecError",
    "JobTemplateSpec",
    "LastRun",
    "Launch",
    "NaiveDatetimeError",
    "OverlapPolicy",
    "Retry",
    "RetryAfter",
    "RunCounts",
    "RunPhase",
    "Schedule",
    "ScheduleNeverFiresError",
    "ScheduledJob",
    "ScheduledJobSpec",
    "ScheduledJobStatus",
    "Skip",
    "SkipReason",
    "SlotCount",
    "TickPlan",
    "Trigger",
    "TriggerKind",
    "UnknownTimeZoneError",
    "Wait",
    "backfill_releases",
    "backoff_delay",
    "compile_schedule",
    "compile_spec",
    "decide_overlap",
    "decide_retry",
    "format_duration",
    "format_instant",
    "is_complete",
    "jitter_offset",
    "launch_time",
    "load_zone",
    "next_run_time",
    "parse_cron",
    "parse_duration",
    "parse_schedule",
    "parse_scheduled_job",
    "parse_spec",
    "plan_catch_up",
    "plan_tick",
    "preview_slots",
    "release_buffered",
    "require_aware",
    "run_annotations",
    "run_labels",
    "run_name",
    "schedule_anchor",
    "slots_due",
    "summarize_schedule",
    "validate_object_name",
]
