"""``python -m almanac``: command-line tools around the core.

Subcommands:

* ``preview`` prints the next slots of a schedule (flags or a ScheduledJob manifest), one
  RFC 3339 instant per line in the schedule's zone offset, nothing else on stdout; bad input
  goes to stderr naming the flag/field and the fix, exit status 2.
* ``api`` runs the REST facade (uvicorn; settings from ``ALMANAC_API_*`` variables).
* ``crds`` regenerates ``crds/*.yaml`` from the models; ``--check`` exits 1 on drift.

This is an edge: it may read the clock (the default ``--from``) and files; the core never
does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from almanac.core.crd import check_crds, write_crds
from almanac.core.errors import AlmanacError, InvalidInputError, InvalidSpecError
from almanac.core.models import Schedule, ScheduledJobSpec
from almanac.core.preview import MAX_PREVIEW, format_instant, preview_slots
from almanac.core.resource import parse_schedule, parse_scheduled_job

__all__ = ["main"]

DEFAULT_CRD_DIR: Final = Path(__file__).resolve().parent.parent / "crds"
_FLAGS: Final = {
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m almanac", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
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
    sub.add_parser("operator", help="run the operator (settings from ALMANAC_* variables)")
    sub.add_parser("executor", help="run one payload in a run pod (ALMANAC_* variables)")
    sub.add_parser("api", help="run the REST facade (settings from ALMANAC_API_* variables)")
    crds = sub.add_parser("crds", help="regenerate the CRD YAML from the models")
    crds.add_argument("--check", action="store_true", help="exit 1 if the files differ")
    crds.add_argument("--dir", type=Path, default=DEFAULT_CRD_DIR, help="output directory")
    return parser


def _report(error: AlmanacError) -> None:
    problems = error.problems if isinstance(error, InvalidSpecError) else (error,)
    for problem in problems:
        where = problem.field
        for prefix, flag in _FLAGS.items():
            if where == prefix or where.startswith((prefix + "[", prefix + ".")):
                where = f"{flag} ({where})" if where != prefix else flag
                break
        label = f"{where}: " if where else ""
        print(f"error: {label}{problem.message}", file=sys.stderr)


def _parse_instant(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{text!r} is not an RFC 3339 instant; write e.g. 2026-10-24T12:00:00Z", field
        ) from None
    if value.tzinfo is None:
        raise InvalidInputError(f"{text!r} has no UTC offset; add Z or +hh:mm", field)
    return value


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


def _preview(args: argparse.Namespace) -> int:
    try:
        start = _parse_instant(args.start, "from") if args.start else datetime.now(UTC)
        slots = preview_slots(_source(args), start, args.count)
    except AlmanacError as error:
        _report(error)
        return 2
    sys.stdout.write("".join(format_instant(slot) + "\n" for slot in slots))
    return 0


def _crds(args: argparse.Namespace) -> int:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m almanac`` and the ``almanac`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "preview":
        return _preview(args)
    if args.command == "operator":
        # Imported here: the operator's I/O libraries are not needed by the other commands.
        from almanac.operator.main import main as operator_main  # noqa: PLC0415

        return operator_main()
    if args.command == "executor":
        from almanac.executor.main import main as executor_main  # noqa: PLC0415

        return executor_main([])
    if args.command == "api":
        from almanac.api.main import main as api_main  # noqa: PLC0415

        return api_main()
    return _crds(args)


if __name__ == "__main__":
    sys.exit(main())
