"""The engine's whole verdict on a ScheduledJob spec, shared by every writer's check.

The admission webhook (``kubectl apply``, GitOps) and the REST facade call this one
function before a spec is stored, so a spec one of them accepts the other accepts too. The
facade's own writes can therefore skip the webhook's round trip (see the webhook
configuration's ``trusted_users``) without letting anything the webhook would refuse in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from almanac.core.models import ScheduledJobSpec
from almanac.core.plan import compile_spec
from almanac.core.resource import parse_spec
from almanac.core.triggers import compile_triggers

__all__ = ["check_spec"]


def check_spec(data: Mapping[str, Any]) -> ScheduledJobSpec:
    """Parse ``data`` and compile its schedule and triggers, as the operator will.

    Raises
    ------
    AlmanacError
        The first layer that refuses it: field problems (``InvalidSpecError``, one per
        field), a schedule that cannot fire, a trigger whose CEL does not compile.
    """
    spec = parse_spec(data)
    compile_spec(spec)
    compile_triggers(spec.triggers)
    return spec
