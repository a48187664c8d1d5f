"""The entry point of ``almanac``, ``kubectl-almanac`` (so ``kubectl almanac ...`` works)
and ``python -m almanac``: parse, run one verb, map what went wrong to an exit status.

This is the CLI's one error edge (:mod:`.errors`): bad input exits 2 naming the flag or
field, missing setup (kubeconfig, an extra, an identity) exits 2 naming what to set, a
refusal or failure of the cluster, the facade or the history exits 1. Handlers are named
``"module:function"`` in the grammar (:mod:`.parsers`) and imported only when their verb
runs, so a missing extra breaks only the verbs that need it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from almanac.cli.errors import EXIT_USAGE, missing_extra, report
from almanac.cli.parsers import build_parser
from almanac.core.errors import AlmanacError

__all__ = ["main", "package_version", "program_name"]

#: Modules of the ``runtime`` extra a verb may need; their absence is a setup problem.
EXTRA_MODULES: Final = frozenset(
    {"kubernetes_asyncio", "aiohttp", "httpx", "psycopg", "psycopg_pool"}
)
PACKAGE: Final = "almanac"
_EXIT_INTERRUPTED: Final = 130


def program_name(argv0: str) -> str:
    """``kubectl almanac`` when kubectl started us as its plugin, else ``almanac``."""
    return "kubectl almanac" if Path(argv0).name.startswith("kubectl-") else "almanac"


def package_version() -> str:
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _handler(name: str) -> Callable[[Any], Any]:
    module, function = name.split(":")
    found: Callable[[Any], Any] = getattr(
        importlib.import_module(f"almanac.cli.{module}"), function
    )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit status."""
    prog = program_name(sys.argv[0])
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.version:
        print(f"{prog} {package_version()}")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{prog}: error: name a verb (see {prog} --help)", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = _handler(args.handler)(args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        return report(missing_extra(exc))
    except AlmanacError as exc:
        return report(exc)
    except KeyboardInterrupt:
        return _EXIT_INTERRUPTED
    return int(result)
