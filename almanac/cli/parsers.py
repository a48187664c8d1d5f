"""The CLI's grammar: every verb, its arguments and the handler that runs it, as argparse
parsers and nothing else.

Why apart from the verbs: the handlers import the Kubernetes client (an extra), the
grammar imports nothing, so ``--help``, ``--version``, ``preview`` and ``lint`` work on a
bare install, and a verb whose extra is missing fails with one line naming it
(:func:`almanac.cli.main.main` resolves ``handler`` only when the verb runs).
Flags that kubectl has keep kubectl's spelling (``-n/--namespace``, ``--kubeconfig``,
``--context``, ``-l/--selector``, ``-A``, ``-o``, ``-f``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Final

from almanac.cli import local
from almanac.cli.tables import OUTPUTS
from almanac.core.runs import DEFAULT_IMAGE, IMAGE_VARIABLE

__all__ = ["VERBS", "build_parser"]

#: The user verbs (contracts.md, Turn 2), beside the processes ``operator``, ``executor``,
#: ``api`` and the maintainers' ``crds``.
VERBS: Final = (
    "get", "describe", "run", "suspend", "resume", "backfill",
    "runs", "logs", "retry", "lint", "render", "preview",
)  # fmt: skip


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    common.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    common.add_argument("--context", help="kubeconfig context (default: the current one)")
    return common


def _history() -> argparse.ArgumentParser:
    history = argparse.ArgumentParser(add_help=False)
    history.add_argument("--api", help="REST facade base URL (default: $ALMANAC_API_URL)")
    history.add_argument("--identity", help="x-rh-identity value (default: $ALMANAC_API_IDENTITY)")
    return history


def _verb(
    sub: Any, name: str, handler: str, parents: list[argparse.ArgumentParser], helped: str
) -> Any:
    parser = sub.add_parser(name, parents=parents, help=helped, description=helped)
    parser.set_defaults(handler=handler)
    return parser


def _jobs(sub: Any, common: argparse.ArgumentParser, history: argparse.ArgumentParser) -> None:
    get = _verb(sub, "get", "jobs:get", [common], "list ScheduledJobs (as kubectl get sj)")
    get.add_argument("names", nargs="*", metavar="JOB", help="only these (default: all)")
    get.add_argument("-l", "--selector", help="label selector, as kubectl takes it")
    get.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    get.add_argument("-o", "--output", choices=(*OUTPUTS, "wide"), help="json, yaml or wide")
    describe = _verb(
        sub, "describe", "jobs:describe", [common, history],
        "a ScheduledJob's status, next 5 slots, last 10 runs and Events",
    )  # fmt: skip
    describe.add_argument("name", metavar="JOB")


def _control(sub: Any, common: argparse.ArgumentParser, history: argparse.ArgumentParser) -> None:
    run = _verb(sub, "run", "control:run_now", [common, history], "run a ScheduledJob now")
    run.add_argument("name", metavar="JOB")
    run.add_argument("--key", help="idempotency key: asking twice with it runs once")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter over the job's for this run (V read as JSON when it parses, else "
        "text); repeatable; needs --api (the facade checks them as a job's own)",
    )
    for verb, helped in (("suspend", "pause: slots are skipped, counted"), ("resume", "unpause")):
        parser = _verb(sub, verb, f"control:{verb}", [common], helped)
        parser.add_argument("names", nargs="*", metavar="JOB")
        parser.add_argument("-l", "--selector", help="every ScheduledJob with these labels")
        if verb == "suspend":
            parser.add_argument("--reason", help="why (shown in the Ready condition)")
    retry = _verb(sub, "retry", "control:retry_run", [common, history], "retry a finished run")
    retry.add_argument("run", metavar="RUN", help="the run's name (its Job's name)")
    backfill = _verb(
        sub, "backfill", "control:backfill_range", [common, history],
        "run the slots of a past range (through the facade)",
    )  # fmt: skip
    backfill.add_argument("name", metavar="JOB")
    backfill.add_argument("--start", required=True, help="first instant, RFC 3339 (inclusive)")
    backfill.add_argument("--end", required=True, help="last instant, RFC 3339 (inclusive)")
    backfill.add_argument(
        "--sequential", action="store_true", help="one slot at a time, each after the last ends"
    )


def _runs(sub: Any, common: argparse.ArgumentParser, history: argparse.ArgumentParser) -> None:
    runs = _verb(sub, "runs", "runs:runs", [common, history], "a ScheduledJob's runs, newest first")
    runs.add_argument("name", metavar="JOB")
    runs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    runs.add_argument("-o", "--output", choices=OUTPUTS, help="json or yaml")
    logs = _verb(sub, "logs", "runs:logs", [common], "a run's pod log (default: the newest run)")
    logs.add_argument("name", metavar="JOB")
    logs.add_argument("--run", help="this run (a Job name) instead of the newest")
    logs.add_argument("-f", "--follow", action="store_true", help="stream until the run ends")


def _offline(sub: Any, common: argparse.ArgumentParser) -> None:
    lint = _verb(
        sub, "lint", "offline:lint_files", [common],
        "the admission webhook's checks, offline (for GitOps CI)",
    )  # fmt: skip
    lint.add_argument(
        "-f", "--filename", dest="files", action="extend", nargs="+", type=Path, required=True,
        help="manifests (files, or directories of *.yaml)",
    )  # fmt: skip
    lint.add_argument("--templates", action="append", type=Path, default=[], help="template DIR")
    lint.add_argument(
        "--cluster", action="store_true", help="read templates missing locally from the cluster"
    )
    render = _verb(sub, "render", "offline:render_job", [common], "the Job a run would create")
    render.add_argument("name", nargs="?", metavar="JOB", help="in the cluster (or give -f)")
    render.add_argument("-f", "--filename", dest="files", action="extend", nargs="+", type=Path)
    render.add_argument("--templates", action="append", type=Path, default=[], help="template DIR")
    render.add_argument("--slot", help="the run's slot, RFC 3339 (default: the next one)")
    render.add_argument(
        "--image",
        default=os.environ.get(IMAGE_VARIABLE, DEFAULT_IMAGE),
        help=f"built-in templates' image (default ${IMAGE_VARIABLE} or {DEFAULT_IMAGE})",
    )
    render.add_argument("-o", "--output", choices=OUTPUTS, default="yaml", help="yaml or json")


def build_parser(prog: str) -> argparse.ArgumentParser:
    """The whole grammar; ``prog`` is how the user called us (``kubectl almanac`` too)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Almanac's scheduled jobs, from the command line."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="VERB")
    common, history = _common(), _history()
    _jobs(sub, common, history)
    _control(sub, common, history)
    _runs(sub, common, history)
    _offline(sub, common)
    local.add_parsers(sub)
    return parser
