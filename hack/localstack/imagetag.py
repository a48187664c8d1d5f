"""The project image's tag: a digest of what goes into the image, not of the image itself.

A tag taken from the built image's id changes on every build (the id covers layer creation
times), so ``hack/stack up`` rebuilt the image on an unchanged checkout, got a new tag and
pruned the one that running operators still launched runs with. A digest of the inputs is
the same on an unchanged checkout, so an existing image with that tag proves there is
nothing to build.

The inputs are read from the build recipe itself rather than listed here, so that a new
``COPY`` in the Dockerfile or a new ``.dockerignore`` rule is followed without editing
this module: the Dockerfile's text, the context files its ``COPY``/``ADD`` instructions
take (minus what ``.dockerignore`` keeps out of the context), the build arguments and the
base image's id. A wheel counts by its file name (distribution, version and build tags):
the wheelhouse is a cache that is never rewritten in place, and hashing 45 MB of wheels on
every ``up`` would cost time for nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DockerIgnore", "dockerfile_sources", "image_inputs", "input_digest"]

#: Bumped when the digest's recipe changes, so old and new schemes never share a tag.
SCHEME = "almanac-image-inputs/1"
TAG_LENGTH = 12
_WILDCARDS = frozenset("*?[\\")


def _instructions(text: str) -> Iterator[str]:
    """Dockerfile instructions with line continuations joined and comment lines dropped."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # also inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def dockerfile_sources(text: str) -> list[str]:
    """The context paths (or globs) that ``COPY`` and ``ADD`` take from the build context.

    ``--from`` copies come from another stage and URLs or heredocs from elsewhere, so
    neither is a context input.
    """
    sources: list[str] = []
    for instruction in _instructions(text):
        keyword, _, rest = instruction.partition(" ")
        if keyword.upper() not in {"COPY", "ADD"}:
            continue
        words = rest.split()
        flags = [w for w in words if w.startswith("--")]
        if any(flag.startswith("--from") for flag in flags):
            continue
        args = [w for w in words if not w.startswith("--")]
        if args and args[0].startswith("["):
            args = [str(a) for a in json.loads(" ".join(args))]
        for source in args[:-1]:
            if "://" in source or source.startswith("<<"):
                continue
            sources.append(posixpath.normpath(source.lstrip("/")))
    return sources


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A ``.dockerignore`` pattern as Docker reads it: ``*`` and ``?`` stay within one path
    segment, ``**`` spans any number of them, ``[...]`` is a character class."""
    out = ["^"]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
            out.append(".*" if index >= len(pattern) else "(.*/)?")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append(pattern[index : end + 1])
                index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    out.append("$")
    return re.compile("".join(out))


@dataclass(frozen=True)
class _Rule:
    text: str
    negated: bool
    regex: re.Pattern[str]


class DockerIgnore:
    """Which context paths ``.dockerignore`` leaves out: the last rule matching the path,
    or one of its parent folders, decides (``!`` rules put paths back)."""

    def __init__(self, text: str) -> None:
        self.rules: list[_Rule] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = posixpath.normpath(line.removeprefix("!").strip())
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
            self.rules.append(_Rule(line, negated, _pattern_regex(line)))

    @classmethod
    def of(cls, context: Path) -> DockerIgnore:
        path = context / ".dockerignore"
        return cls(path.read_text() if path.exists() else "")

    def excluded(self, rel: str) -> bool:
        parts = rel.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        excluded = False
        for rule in self.rules:
            if any(rule.regex.match(candidate) for candidate in candidates):
                excluded = not rule.negated
        return excluded

    def may_reinclude_below(self, folder: str) -> bool:
        """Whether a ``!`` rule could put back something under an excluded folder (so the
        walk must still enter it); true whenever a rule's literal start cannot rule it out."""
        for rule in self.rules:
            if not rule.negated:
                continue
            literal = rule.text
            for index, char in enumerate(rule.text):
                if char in _WILDCARDS:
                    literal = rule.text[:index]
                    break
            if literal.startswith(folder + "/") or (folder + "/").startswith(literal):
                return True
        return False


def _walk(context: Path, rel: str, ignore: DockerIgnore) -> Iterator[str]:
    """Files and symlinks at or below ``rel`` that the build context holds."""
    path = context / rel
    if path.is_symlink() or path.is_file():
        if not ignore.excluded(rel):
            yield rel
        return
    for folder, dirnames, filenames in os.walk(path):
        base = Path(folder).relative_to(context).as_posix()
        kept = []
        for name in sorted(dirnames):
            child = name if base == "." else f"{base}/{name}"
            if (Path(folder) / name).is_symlink():
                filenames.append(name)
            elif not ignore.excluded(child) or ignore.may_reinclude_below(child):
                kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            child = name if base == "." else f"{base}/{name}"
            if not ignore.excluded(child):
                yield child


def image_inputs(context: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """Context-relative paths of every file the Dockerfile copies into the image, sorted."""
    ignore = DockerIgnore.of(context)
    found: set[str] = set()
    for source in dockerfile_sources((context / dockerfile).read_text()):
        if any(char in source for char in "*?["):
            matches = [p.relative_to(context).as_posix() for p in context.glob(source)]
        else:
            matches = [source] if (context / source).exists() else []
        for match in matches:
            found.update(_walk(context, match, ignore))
    return sorted(found)


def _file_mark(path: Path) -> str:
    """What a copied file contributes: its permissions and content (a symlink its target,
    a wheel its name, which already is in the record)."""
    if path.is_symlink():
        return "link:" + os.readlink(path)
    mode = f"{path.stat().st_mode & 0o7777:o}"
    if path.suffix == ".whl":
        return f"{mode}:wheel"
    return f"{mode}:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def input_digest(
    context: Path,
    build_args: Mapping[str, str],
    base_id: str,
    dockerfile: str = "Dockerfile",
) -> str:
    """The tag for an image built from ``context``: equal inputs give equal tags, and any
    changed input (a copied file, the Dockerfile, a build argument, the base image, a wheel
    name) gives another. Paths outside the inputs, and file times, do not count."""
    digest = hashlib.sha256()

    def record(*fields: str) -> None:
        digest.update(json.dumps(fields).encode() + b"\n")

    record(SCHEME)
    record("dockerfile", hashlib.sha256((context / dockerfile).read_bytes()).hexdigest())
    for key in sorted(build_args):
        record("arg", key, build_args[key])
    record("base", base_id)
    for rel in image_inputs(context, dockerfile):
        record("file", rel, _file_mark(context / rel))
    return digest.hexdigest()[:TAG_LENGTH]
