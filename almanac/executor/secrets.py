"""Secret values of params: read from files the operator mounts, never from the spec.

A param holding a secret is written ``{"secretKeyRef": {"name": "<secret>", "key": "<key>"}}``
in the ScheduledJob; the operator mounts each referenced Secret read-only at
``<root>/<secret>/<key>`` (root ``/var/run/almanac/secrets``, ``ALMANAC_SECRETS_DIR`` in
tests). :class:`SecretStore` reads those files and remembers every value it handed out, so
the result writer and the log formatter can scrub them (defence in depth).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from pydantic import Field

from almanac.core.base import DNS_SUBDOMAIN_PATTERN, SpecModel
from almanac.executor.errors import SecretNotFoundError

__all__ = ["SecretKeyRef", "SecretRef", "SecretStore"]

_KEY_PATTERN: Final = r"^[-._a-zA-Z0-9]+$"
_MAX_SECRET_BYTES: Final = 1 << 20


class SecretKeyRef(SpecModel):
    """One key of a Secret in the run's namespace."""

    name: str = Field(
        min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN, description="Secret name."
    )
    key: str = Field(
        min_length=1, max_length=253, pattern=_KEY_PATTERN, description="Key inside the Secret."
    )


class SecretRef(SpecModel):
    """A param value taken from a Secret: ``{"secretKeyRef": {"name": ..., "key": ...}}``."""

    secret_key_ref: SecretKeyRef = Field(description="The Secret key holding the value.")


class SecretStore:
    """Reads mounted Secret keys; remembers the values read so they can be redacted.

    Parameters
    ----------
    root
        Directory holding one sub-directory per mounted Secret.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._read: set[str] = set()

    @property
    def values(self) -> frozenset[str]:
        """Every secret value handed out so far (for redaction; never log it)."""
        return frozenset(self._read)

    def read(self, ref: SecretRef, field: str) -> str:
        """Return the value of ``ref`` used verbatim (a trailing newline is kept).

        Raises
        ------
        SecretNotFoundError
            The file is absent, unreadable, too large or not UTF-8; the message names the
            param, the Secret and the key (never the value).
        """
        selector = ref.secret_key_ref
        if selector.key in {".", ".."}:  # the pattern allows dots; no path walking
            raise SecretNotFoundError(f"key {selector.key!r} is not a Secret key", field)
        path = self.root / selector.name / selector.key
        where = f"Secret {selector.name!r} key {selector.key!r}"
        fix = (
            f"create the Secret in the ScheduledJob's namespace with that key "
            f"(kubectl create secret generic {selector.name} --from-literal={selector.key}=...)"
        )
        try:
            if path.stat().st_size > _MAX_SECRET_BYTES:
                raise SecretNotFoundError(f"{where} is larger than 1 MiB", field)
            value = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise SecretNotFoundError(f"{where} is not mounted at {path}; {fix}", field) from None
        except UnicodeDecodeError:
            raise SecretNotFoundError(f"{where} is not UTF-8 text", field) from None
        except PermissionError:
            raise SecretNotFoundError(
                f"{where} is mounted at {path} but this run's user (uid {os.getuid()}) may "
                "not read it; the run pod's securityContext needs fsGroup (or the Secret "
                "volume a readable defaultMode)",
                field,
            ) from None
        except OSError as exc:
            raise SecretNotFoundError(
                f"{where} cannot be read at {path} ({exc.strerror}); {fix}", field
            ) from None
        self._read.add(value)
        stripped = value.strip()
        if stripped:
            self._read.add(stripped)
        return value

    def read_optional(self, value: str | SecretRef | None, field: str) -> str | None:
        """A plain string as is, a reference resolved, ``None`` as ``None``."""
        if value is None or isinstance(value, str):
            return value
        return self.read(value, field)
