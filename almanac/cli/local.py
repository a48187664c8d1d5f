"""The verbs that need no cluster and were ``python -m almanac``'s first ones: ``preview``
(the next slots of a schedule, from flags or a manifest) and ``crds`` (regenerate the CRD
YAML), plus the process entry points ``operator``, ``executor`` and ``api``.

``preview`` prints one RFC 3339 instant per line in the schedule's zone offset, nothing
else on stdout; bad input goes to stderr naming the flag and the fix, exit status 2. It
may read the clock (the default ``--from``); the core never does.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from almanac.cli.errors import report
from almanac.cli.inputs import parse_instant
from almanac.core.crd import check_crds, write_crds
from almanac.core.errors import AlmanacError, InvalidInputError
from almanac.core.models import Schedule, ScheduledJobSpec
from almanac.core.preview import MAX_PREVIEW, format_instant, preview_slots
from almanac.core.resource import parse_schedule, parse_scheduled_job

__all__ = ["DEFAULT_CRD_DIR", "add_parsers", "crds", "preview", "process"]

DEFAULT_CRD_DIR: Final = Path(__file__).resolve().parents[2] / "crds"
#: Field paths of a schedule and the preview flags that set them (errors name the flag).
FLAGS: Final = {
    "spec.schedule.cron": "--cron",
    "spec.schedule.every": "--every",
    "spec.schedule.phase": "--phase",
    "spec.schedule.at": "--at",
    "spec.schedule.timeZone": "--tz",
    "spec.schedule.startTime": "--start-time",
    "spec.schedule.endTime": "--end-time",
    "from": "--from",
    "count": "--count",
}


def add_parsers(sub: Any) -> None:
    preview = sub.add_parser("preview", help="print the next slots of a schedule")
    preview.add_argument("--cron", action="append", help="cron line (repeat for several)")
    preview.add_argument("--every", help="interval, e.g. 90s or 1h30m")
    preview.add_argument("--phase", help="offset of the every grid from the epoch")
    preview.add_argument("--at", help="one-time RFC 3339 instant")
    preview.add_argument("--tz", help="IANA time zone (default UTC)")
    preview.add_argument("--start-time", help="no slot before this RFC 3339 instant")
    preview.add_argument("--end-time", help="no slot after this RFC 3339 instant")
    preview.add_argument("--file", type=Path, help="ScheduledJob manifest (YAML) to preview")
    preview.add_argument("--from", dest="start", help="list slots after this instant (default now)")
    preview.add_argument("--count", type=int, default=10, help=f"how many (1-{MAX_PREVIEW})")
    preview.set_defaults(handler="local:preview")
    for name, helped in (
        ("operator", "run the operator (settings from ALMANAC_* variables)"),
        ("executor", "run one payload in a run pod (ALMANAC_* variables)"),
        ("api", "run the REST facade (settings from ALMANAC_API_* variables)"),
    ):
        sub.add_parser(name, help=helped).set_defaults(handler="local:process")
    crds = sub.add_parser("crds", help="regenerate the CRD YAML from the models")
    crds.add_argument("--check", action="store_true", help="exit 1 if the files differ")
    crds.add_argument("--dir", type=Path, default=DEFAULT_CRD_DIR, help="output directory")
    crds.set_defaults(handler="local:crds")


def _source(args: argparse.Namespace) -> ScheduledJobSpec | Schedule:
    flags = [args.cron, args.every, args.at, args.phase, args.start_time, args.end_time]
    if args.file is not None:
        if any(f is not None for f in [*flags, args.tz]):
            raise InvalidInputError(
                "--file takes the schedule from the manifest; drop the schedule flags", "--file"
            )
        try:
            documents = list(yaml.safe_load_all(args.file.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInputError(f"cannot read a YAML manifest: {exc}", "--file") from None
        manifest = next((d for d in documents if isinstance(d, dict)), None)
        return parse_scheduled_job(manifest or {}).spec
    data: dict[str, Any] = {}
    if args.cron is not None:
        data["cron"] = args.cron[0] if len(args.cron) == 1 else args.cron
    optional = {
        "every": args.every,
        "phase": args.phase,
        "at": args.at,
        "timeZone": args.tz,
        "startTime": args.start_time,
        "endTime": args.end_time,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if not any(key in data for key in ("cron", "every", "at")):
        raise InvalidInputError("give one of --cron, --every, --at or --file", "")
    return parse_schedule(data)


def preview(args: argparse.Namespace) -> int:
    try:
        start = parse_instant(args.start, "from") if args.start else datetime.now(UTC)
        slots = preview_slots(_source(args), start, args.count)
    except AlmanacError as error:
        return report(error, FLAGS)
    sys.stdout.write("".join(format_instant(slot) + "\n" for slot in slots))
    return 0


def crds(args: argparse.Namespace) -> int:
    if args.check:
        drifted = check_crds(args.dir)
        for name in drifted:
            print(
                f"error: {args.dir / name} differs from the models; run python -m almanac crds",
                file=sys.stderr,
            )
        return 1 if drifted else 0
    for path in write_crds(args.dir):
        print(path)
    return 0


def process(args: argparse.Namespace) -> int:
    """The long-running processes; imported here, as each needs its own I/O libraries."""
    if args.command == "operator":
        from almanac.operator.main import main as operator_main  # noqa: PLC0415

        return operator_main()
    if args.command == "executor":
        from almanac.executor.main import main as executor_main  # noqa: PLC0415

        return executor_main([])
    from almanac.api.main import main as api_main  # noqa: PLC0415

    return api_main()
