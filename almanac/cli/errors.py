"""The CLI's errors and the one edge that turns them into exit statuses.

::

    AlmanacError                      (almanac.core.errors)
    ├── InvalidInputError → exit 2    bad flags or manifests: the field and the fix
    └── CliError          → exit 1    the world said no (not found, refused, unreachable)
        ├── SetupError    → exit 2    no kubeconfig, a missing extra, no history configured
        └── NotFoundError → exit 1

Every message is one line on stderr, naming the field or the setting to change, as
``kubectl`` does; no traceback reaches a user for a condition we can name.
"""

from __future__ import annotations

import sys
from typing import ClassVar, Final

from almanac.core.errors import AlmanacError, InvalidInputError, InvalidSpecError

__all__ = [
    "EXIT_FAILED",
    "EXIT_USAGE",
    "RUNTIME_EXTRA",
    "CliError",
    "NotFoundError",
    "SetupError",
    "exit_status",
    "missing_extra",
    "report",
]

EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
#: The optional dependencies the cluster-facing verbs need (pyproject's extra).
RUNTIME_EXTRA: Final = "runtime"


class CliError(AlmanacError):
    """The cluster, the facade or the history refused or failed (exit 1)."""

    code: ClassVar[str] = "cli_failed"
    exit_status: ClassVar[int] = EXIT_FAILED


class SetupError(CliError):
    """Something the user must configure first (exit 2, like bad input)."""

    code: ClassVar[str] = "cli_setup"
    exit_status: ClassVar[int] = EXIT_USAGE


class NotFoundError(CliError):
    """The object named does not exist."""

    code: ClassVar[str] = "not_found"


def missing_extra(exc: ImportError) -> SetupError:
    """A verb needs an optional dependency that is not installed: name the extra."""
    module = exc.name or "an optional dependency"
    return SetupError(
        f"{module} is not installed; install the CLI's dependencies with "
        f"pip install 'almanac[{RUNTIME_EXTRA}]'",
        "",
    )


def exit_status(error: AlmanacError) -> int:
    """2 for bad input and missing setup (the user must change something), 1 otherwise."""
    if isinstance(error, CliError):
        return error.exit_status
    return EXIT_USAGE if isinstance(error, InvalidInputError) else EXIT_FAILED


def report(error: AlmanacError, flags: dict[str, str] | None = None) -> int:
    """Print ``error: <field>: <message>`` lines (one per problem) and return the status.
    ``flags`` maps field paths to the flags that set them (``spec.schedule.cron`` →
    ``--cron``), so a problem names what the user typed."""
    problems = error.problems if isinstance(error, InvalidSpecError) else (error,)
    for problem in problems:
        where = problem.field
        for prefix, flag in (flags or {}).items():
            if where == prefix or where.startswith((prefix + "[", prefix + ".")):
                where = f"{flag} ({where})" if where != prefix else flag
                break
        label = f"{where}: " if where else ""
        print(f"error: {label}{problem.message}", file=sys.stderr)
    return exit_status(error)
