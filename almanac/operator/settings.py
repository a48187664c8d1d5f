"""Every setting of one operator process, read from the environment once, at start.

The operator's settings come in sections owned by the parts that use them (the process
and its webhook, event triggers, run history, notifications, notifications to people);
:class:`OperatorSettings` reads them all in one place, before anything starts, and a
mistake in any of them stops the process with every bad variable named at once (exit 2),
not one per restart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from almanac.core.errors import AlmanacError, InvalidInputError
from almanac.notify import NotifySettings
from almanac.notify.noticesettings import NoticeSettings

from .config import OperatorConfig
from .history import HistorySettings
from .limitsettings import LimitSettings
from .triggersettings import TriggerSettings

__all__ = ["OperatorSettings"]

Section = TypeVar("Section")


@dataclass(frozen=True)
class OperatorSettings:
    process: OperatorConfig
    triggers: TriggerSettings
    history: HistorySettings
    notify: NotifySettings
    notices: NoticeSettings
    limits: LimitSettings = field(default_factory=LimitSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        """All sections; raises :class:`InvalidInputError` naming every bad variable."""
        env = os.environ if env is None else env
        problems: list[AlmanacError] = []

        def read(section: Callable[[Mapping[str, str]], Section]) -> Section | None:
            try:
                return section(env)
            except AlmanacError as exc:
                problems.append(exc)
                return None

        process = read(OperatorConfig.from_env)
        triggers = read(TriggerSettings.from_env)
        history = read(HistorySettings.from_env)
        notify = read(NotifySettings.from_env)
        notices = read(NoticeSettings.from_env)
        limits = read(LimitSettings.from_env)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise InvalidInputError("; ".join(str(p) for p in problems))
        assert process is not None
        assert triggers is not None
        assert history is not None
        assert notify is not None
        assert notices is not None
        assert limits is not None
        return cls(process, triggers, history, notify, notices, limits)
