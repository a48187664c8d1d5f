"""``python -m almanac.executor``: run one payload, write its result, exit 0 or 1.

The numbered script of a run:

1. read the arguments (the template's ``args``: ``--payload``, the template's egress policy
   ``--allow-cidrs``) and the process settings (result path, secrets root, deadline);
2. read the run's identity and params (``ALMANAC_*``); stamp them on every log line;
3. pick the payload module (``ALMANAC_TEMPLATE``, or ``--payload`` for custom templates);
4. run it under the overall deadline, SIGTERM turning into a clean cancellation;
5. turn any error into a failed result naming the field and the fix;
6. write the result (≤ 4 KiB JSON, secrets scrubbed) and exit 0 on success, 1 otherwise.

Nothing escapes as a traceback: the termination message is what users read.

Why the egress policy is an argument: ``args`` come only from the template (a ScheduledJob's
``podTemplate`` can add environment variables, never arguments), so the networks a
template lets its runs reach are set by whoever owns the template - for a
ClusterJobTemplate, the cluster admin - and not by the author of a ScheduledJob.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from almanac.core.durations import format_duration
from almanac.core.errors import AlmanacError
from almanac.executor.context import Payload, PayloadContext
from almanac.executor.environment import (
    DEFAULT_RESULT_PATH,
    IPNetwork,
    parse_cidrs,
    parse_run,
    parse_settings,
)
from almanac.executor.errors import ExecutorError, InvalidArgumentsError
from almanac.executor.logs import configure_logging, log
from almanac.executor.netguard import Resolver
from almanac.executor.payloads import PAYLOAD_TYPES, load_payload
from almanac.executor.result import Result, write_result
from almanac.executor.secrets import SecretStore

__all__ = ["failure_result", "main", "run_payload"]


def failure_result(error: AlmanacError) -> Result:
    """The failed result of an expected error: its sentence, code, field and details."""
    details: dict[str, Any] = {"error": error.code, "field": error.field}
    if isinstance(error, ExecutorError):
        details |= error.details
    text = str(error) if not error.message.startswith(error.field) else error.message
    return Result.failed(text, **details)


async def run_payload(
    payload: Payload, params: Mapping[str, Any], ctx: PayloadContext, deadline: timedelta
) -> Result:
    """Run ``payload`` within ``deadline``; SIGTERM (Job deadline, deletion) cancels it."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    terminated = False

    def _terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, _terminate)
    try:
        async with asyncio.timeout(deadline.total_seconds()):
            return await payload(params, ctx)
    except TimeoutError:
        return Result.failed(
            f"the run did not finish within its deadline of {format_duration(deadline)} "
            "(ALMANAC_TIMEOUT); raise it or the payload's own timeout",
            error="deadline_exceeded",
        )
    except asyncio.CancelledError:
        if not terminated:
            raise
        return Result.failed(
            "terminated by SIGTERM before finishing (run deadline or cancellation)",
            error="terminated",
        )
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGTERM)


class _ArgumentParser(argparse.ArgumentParser):
    """Raises instead of printing usage and exiting 2: a bad ``args`` is a failed result."""

    def error(self, message: str) -> NoReturn:
        raise InvalidArgumentsError(
            f"the template's args are invalid: {message}; accepted: --payload TYPE "
            f"({', '.join(sorted(PAYLOAD_TYPES))}) and --allow-cidrs CIDR[,CIDR]",
            "args",
        )


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="python -m almanac.executor",
        description="Run one Almanac payload.",
        allow_abbrev=False,  # a misspelt option in a template must fail, not half-match
    )
    parser.add_argument(
        "--payload", help="payload type, for templates not named after one (default: template)"
    )
    parser.add_argument(
        "--allow-cidrs",
        action="append",
        default=[],
        metavar="CIDR[,CIDR]",
        help="internal networks runs of this template may reach (http/export URLs, email "
        "host, message bootstrap; repeatable)",
    )
    return parser


def _template_allow(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    return parse_cidrs(",".join(values), "--allow-cidrs", InvalidArgumentsError)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
) -> int:
    """Entry point of the run pod; returns the process exit status."""
    env = os.environ if env is None else env
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        return _main(sys.argv[1:] if argv is None else argv, env, resolver)
    finally:  # main may be called in-process (tests): leave logging as it was
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _main(argv: Sequence[str], env: Mapping[str, str], resolver: Resolver | None) -> int:
    secrets = SecretStore(Path("/nonexistent"))
    formatter = configure_logging(sys.stdout, {}, lambda: secrets.values)
    result_path = Path(env.get("ALMANAC_RESULT_PATH") or DEFAULT_RESULT_PATH)
    try:
        args = _parser().parse_args(argv)  # 1
        settings = parse_settings(env, _template_allow(args.allow_cidrs))
        result_path = settings.result_path
        run = parse_run(env)  # 2
        formatter.fields.update(run.log_fields())
        ctx = PayloadContext.create(run, settings, resolver)
        secrets = ctx.secrets
        payload_type = args.payload or run.template  # 3
        payload = load_payload(payload_type, "--payload" if args.payload else "ALMANAC_TEMPLATE")
        log.info(
            "run started",
            extra={
                "payload": payload_type,
                "paramNames": sorted(run.params),
                "allowCidrs": [str(net) for net in settings.allow_cidrs],
            },
        )
        result = asyncio.run(run_payload(payload, run.params, ctx, settings.deadline))  # 4
    except AlmanacError as error:  # 5
        result = failure_result(error)
    except Exception as exc:  # the one top-level catch: a bug, reported without a traceback
        log.exception("executor crashed")
        result = Result.failed(
            f"internal error in the executor: {type(exc).__name__}: {exc}", error="internal"
        )
    level = logging.INFO if result.ok else logging.WARNING
    log.log(level, "run finished", extra={"status": result.status, "summary": result.summary})
    try:  # 6
        write_result(result, result_path, secrets.values)
    except OSError as exc:
        log.error("result not written", extra={"path": str(result_path), "reason": str(exc)})
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
