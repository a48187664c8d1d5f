"""The evaluator process: trigger expressions evaluated outside the operator's event loop.

Started by :mod:`almanac.operator.evaluation` as ``python -m almanac.operator.celworker``;
it exists so the operator can stop an evaluation by killing the process (the CEL library
holds the GIL while it evaluates and cannot be interrupted; see
:mod:`almanac.core.celbounds`).

Protocol (one JSON document per line, UTF-8): the process writes ``{"ready": true}`` once
imported, then for each request line ``{"event": {...}, "checks": [<RouteCheck wire>...]}``
it writes one :class:`~almanac.core.routecheck.Verdict` line per check, in order, flushed
one by one so that the operator sees which check is still running. It exits when its stdin
closes (the operator stopped or died). Its address space is capped (``--memory`` bytes), so
an expression that builds a huge value ends this process, not the machine's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
from typing import Any, BinaryIO

from almanac.core.routecheck import RouteCheck, Verdict, evaluate_check

__all__ = ["main", "serve"]


def _verdict(wire: Any, event: dict[str, Any]) -> Verdict:
    try:
        check = RouteCheck.from_wire(wire)
    except (KeyError, TypeError, ValueError) as exc:
        return Verdict.failed(f"malformed check ({exc})", "")
    try:
        return evaluate_check(check, event)
    except MemoryError:
        field = check.matcher.field if check.matcher is not None else check.params_field
        return Verdict.failed("evaluation ran out of memory; simplify the expression", field)


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer request lines until ``requests`` ends (the loop of :func:`main`)."""
    replies.write(b'{"ready": true}\n')
    replies.flush()
    for line in requests:
        request = json.loads(line)
        event = request["event"]
        for wire in request["checks"]:
            verdict = _verdict(wire, event)
            replies.write(json.dumps(verdict.to_wire(), ensure_ascii=False).encode() + b"\n")
            replies.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="almanac.operator.celworker")
    parser.add_argument("--memory", type=int, default=0, help="address-space cap in bytes")
    args = parser.parse_args(argv)
    # Its lifetime is the operator's: it ends with its stdin (or is killed), not on the
    # Ctrl-C that reaches the whole process group in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    # The protocol owns the real stdout; anything else printed goes to stderr instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
