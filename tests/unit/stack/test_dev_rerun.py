"""A rerun of ``make dev`` with nothing changed applies nothing and writes nothing: the
manifests' fingerprint covers their content and the identity of the objects made from
them, and the state file is only rewritten when it would say something else."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hack.localstack.manifests import fingerprint, manifest_files
from hack.localstack.processes import State

REPO = Path(__file__).resolve().parents[3]


def _object(kind: str, name: str, uid: str, generation: int | None = 1) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid}
    if generation is not None:
        meta["generation"] = generation
    return {"kind": kind, "metadata": meta}


def _live(*items: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "List", "items": list(items)}


def test_the_fingerprint_changes_with_a_manifest_or_an_object(tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text("kind: CustomResourceDefinition\n")
    objects = [_object("CustomResourceDefinition", "x", "u1"), _object("Namespace", "n", "u2")]
    before = fingerprint([crd], _live(*objects))
    assert fingerprint([crd], _live(*reversed(objects))) == before  # order does not count
    edited = _live(_object("CustomResourceDefinition", "x", "u1", 2), objects[1])
    assert fingerprint([crd], edited) != before  # spec edited by hand
    recreated = _live(_object("CustomResourceDefinition", "x", "u9"), objects[1])
    assert fingerprint([crd], recreated) != before  # deleted and created again
    assert fingerprint([crd], _live(objects[0])) != before  # one object fewer
    crd.write_text("kind: CustomResourceDefinition\nspec: {}\n")
    assert fingerprint([crd], _live(*objects)) != before  # the manifest changed


def test_a_single_object_answer_is_read_like_a_list(tmp_path: Path) -> None:
    only = _object("Namespace", "n", "u2", None)
    assert fingerprint([], only) == fingerprint([], _live(only))


def test_make_dev_applies_the_crds_templates_and_sample() -> None:
    names = [path.relative_to(REPO).as_posix() for path in manifest_files(REPO)]
    assert "crds/almanac.dev_scheduledjobs.yaml" in names
    assert "config/templates/command.yaml" in names
    assert names[-1] == "hack/examples/hello.yaml"


def test_saving_an_unchanged_state_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = State(ports={"apiserver": 6443}, applied={"dev-manifests": "abc"})
    state.save(path)
    assert State.load(path) == state
    stamp = 1_000_000_000
    os.utime(path, (stamp, stamp))
    State.load(path).save(path)
    assert path.stat().st_mtime == stamp
    state.secrets["image"] = "localhost/almanac:0123456789ab"
    state.save(path)
    assert path.stat().st_mtime != stamp
    assert State.load(path).secrets["image"] == "localhost/almanac:0123456789ab"
