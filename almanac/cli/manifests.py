"""Reading manifests from files for ``lint`` and ``render``: YAML documents with where they
came from, and the templates among them (or in ``--templates DIR``) by name.

Pure but for reading the files; the template lookup order is the operator's
(:func:`~almanac.core.templateuse.choose_template`: the namespace's JobTemplate, then the
ClusterJobTemplate, then the built-in type).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from almanac.core.admission import TemplateRules, rules_of
from almanac.core.errors import InvalidInputError
from almanac.core.runs import BUILTIN_TEMPLATES
from almanac.core.templateuse import choose_template
from almanac.core.vocabulary import GROUP
from almanac.templates import builtin_params_schema

__all__ = ["Manifest", "TemplateSet", "builtin_rules", "read_manifests"]


@dataclass(frozen=True)
class Manifest:
    """One YAML document and where it is (``file#index`` in messages)."""

    source: str
    body: Mapping[str, Any]

    @property
    def group(self) -> str:
        return str(self.body.get("apiVersion") or "").split("/")[0]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name") or "")

    def namespace(self, default: str) -> str:
        return str((self.body.get("metadata") or {}).get("namespace") or default)

    @property
    def label(self) -> str:
        return f"{self.source}: {self.kind}/{self.name or '<no name>'}"


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            out.append(path)
    return out


def read_manifests(paths: Sequence[Path], flag: str = "-f") -> list[Manifest]:
    """Every mapping document of the files (directories: their ``*.yaml``, ``-``: stdin
    is not read here); a file that is not YAML is bad input naming it."""
    found: list[Manifest] = []
    for path in _files(paths):
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInputError(f"cannot read {path} as YAML: {exc}", flag) from None
        found += [
            Manifest(f"{path}#{i}" if len(documents) > 1 else str(path), d)
            for i, d in enumerate(documents)
            if isinstance(d, Mapping)
        ]
    return found


@dataclass(frozen=True)
class TemplateSet:
    """Templates known without a cluster: those in the files, and the built-in types."""

    namespaced: Mapping[tuple[str, str], Mapping[str, Any]]
    cluster: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(cls, manifests: Iterable[Manifest], default_namespace: str) -> TemplateSet:
        namespaced: dict[tuple[str, str], Mapping[str, Any]] = {}
        cluster: dict[str, Mapping[str, Any]] = {}
        for m in manifests:
            spec = m.body.get("spec")
            if m.group != GROUP or not isinstance(spec, Mapping):
                continue
            if m.kind == "JobTemplate":
                namespaced[(m.namespace(default_namespace), m.name)] = spec
            elif m.kind == "ClusterJobTemplate":
                cluster[m.name] = spec
        return cls(namespaced, cluster)

    def spec(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The spec of the template ``name`` resolves to, ``None`` for a built-in type or
        none at all (:meth:`rules` tells them apart)."""
        return choose_template(self.namespaced.get((namespace, name)), self.cluster.get(name), None)

    def rules(self, namespace: str, name: str, *, builtin: bool = True) -> TemplateRules | None:
        """What the template asks (``builtin``: fall back to the built-in type's)."""
        found = rules_of(self.namespaced.get((namespace, name)), self.cluster.get(name))
        if found is None and builtin:
            return builtin_rules(name)
        return found


def builtin_rules(name: str) -> TemplateRules | None:
    """The built-in payload type's rules (``None``: no such type)."""
    return TemplateRules(None, builtin_params_schema(name)) if name in BUILTIN_TEMPLATES else None
