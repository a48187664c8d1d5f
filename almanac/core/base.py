"""Shared pydantic base classes and field types of the Almanac resources.

Specs forbid unknown fields (a typo must fail, not be silently ignored) and are frozen
values; YAML keys are camelCase as everywhere in Kubernetes, Python names snake_case.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from almanac.core.durations import DURATION_MAX_LENGTH, DURATION_PATTERN, parse_duration

__all__ = [
    "DNS_SUBDOMAIN_PATTERN",
    "Duration",
    "NonNegativeDuration",
    "ObjectName",
    "SpecModel",
    "StatusModel",
    "Tag",
]

DNS_SUBDOMAIN_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class SpecModel(BaseModel):
    """Base of every user-written object: camelCase keys, unknown keys refused, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class StatusModel(BaseModel):
    """Base of operator-written status: unknown keys ignored so older readers cope."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


def _positive(text: str) -> str:
    parse_duration(text)
    return text


def _non_negative(text: str) -> str:
    parse_duration(text, allow_zero=True)
    return text


_DURATION_SCHEMA: Final[dict[str, Any]] = {
    "pattern": DURATION_PATTERN,
    "minLength": 2,
    "maxLength": DURATION_MAX_LENGTH,
}

#: A positive duration in the Almanac grammar (``90s``, ``1h30m``); zero refused.
Duration = Annotated[
    str,
    AfterValidator(_positive),
    Field(
        json_schema_extra={
            **_DURATION_SCHEMA,
            "x-kubernetes-validations": [
                {
                    "rule": "self.matches('[1-9]')",
                    "message": "must be a positive duration such as 30s, 1h30m or 2d, not zero",
                }
            ],
        }
    ),
]
#: A duration that may be zero (``phase``, trigger ``delay``).
NonNegativeDuration = Annotated[
    str, AfterValidator(_non_negative), Field(json_schema_extra=dict(_DURATION_SCHEMA))
]
#: A Kubernetes object name (DNS-1123 subdomain).
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
#: A job tag: what a label value may be (letters, digits, '-', '_', '.'; ≤ 63), so a tag
#: can become a label selector later without renaming anyone's tags.
Tag = Annotated[
    str,
    Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"),
]
