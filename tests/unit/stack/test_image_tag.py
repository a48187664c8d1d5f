"""The project image's tag is a digest of its inputs: the same checkout always gives the
same tag (so ``make stack`` twice builds once), and any change to what the Dockerfile
copies, or to how it is built, gives another."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hack.localstack.imagetag import (
    DockerIgnore,
    dockerfile_sources,
    image_inputs,
    input_digest,
)

REPO = Path(__file__).resolve().parents[3]
ARGS = {"BASE_IMAGE": "localhost/almanac-base:1", "PIP_INSTALL_ARGS": "--no-index"}
BASE_ID = "sha256:" + "1" * 64


def _write(root: Path, rel: str, text: str = "x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A checkout in miniature with the project's real Dockerfile and .dockerignore."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(REPO / "Dockerfile", root / "Dockerfile")
    shutil.copy(REPO / ".dockerignore", root / ".dockerignore")
    for rel, text in {
        "pyproject.toml": "[project]\nname = 'almanac'\n",
        "README.md": "# Almanac\n",
        "almanac/__init__.py": "",
        "almanac/core/models.py": "X = 1\n",
        "almanac/templates/command.yaml": "kind: ClusterJobTemplate\n",
        "wheelhouse/.gitkeep": "",
        "wheelhouse/attrs-26.1.0-py3-none-any.whl": "zip bytes",
    }.items():
        _write(root, rel, text)
    return root


def _tag(context: Path, args: dict[str, str] = ARGS, base: str = BASE_ID) -> str:
    return input_digest(context, args, base)


def test_the_same_inputs_give_the_same_tag_wherever_the_checkout_is(
    context: Path, tmp_path: Path
) -> None:
    first = _tag(context)
    assert _tag(context) == first
    assert len(first) == 12
    assert all(c in "0123456789abcdef" for c in first)
    clone = tmp_path / "clone"
    shutil.copytree(context, clone)
    assert _tag(clone) == first


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: _write(r, "almanac/core/models.py", "X = 2\n"), id="source"),
        pytest.param(lambda r: _write(r, "almanac/core/new.py", ""), id="new-source-file"),
        pytest.param(lambda r: (r / "almanac/core/models.py").unlink(), id="removed-file"),
        pytest.param(lambda r: _write(r, "almanac/templates/command.yaml", "k: 2"), id="data"),
        pytest.param(lambda r: _write(r, "pyproject.toml", "[project]\n"), id="pyproject"),
        pytest.param(lambda r: _write(r, "README.md", "# changed\n"), id="readme"),
        pytest.param(
            lambda r: _write(r, "Dockerfile", (r / "Dockerfile").read_text() + "LABEL a=b\n"),
            id="dockerfile",
        ),
        pytest.param(
            lambda r: (r / "wheelhouse/attrs-26.1.0-py3-none-any.whl").rename(
                r / "wheelhouse/attrs-26.2.0-py3-none-any.whl"
            ),
            id="wheel-version",
        ),
        pytest.param(
            lambda r: _write(r, "wheelhouse/idna-3.11-py3-none-any.whl"), id="extra-wheel"
        ),
        pytest.param(lambda r: (r / "almanac/core/models.py").chmod(0o755), id="file-mode"),
    ],
)
def test_any_changed_input_gives_another_tag(
    context: Path, change: Callable[[Path], object]
) -> None:
    before = _tag(context)
    change(context)
    assert _tag(context) != before


def test_build_arguments_and_the_base_image_are_inputs(context: Path) -> None:
    before = _tag(context)
    assert _tag(context, {**ARGS, "PIP_INSTALL_ARGS": ""}) != before
    assert _tag(context, base="sha256:" + "2" * 64) != before


@pytest.mark.parametrize(
    "rel",
    [
        "tests/unit/test_x.py",
        "hack/localstack/cli.py",
        "docs/index.md",
        "Makefile",
        "almanac/__pycache__/models.cpython-311.pyc",
        "almanac/core/__pycache__/models.cpython-311.pyc",
        ".venv/lib/site.py",
    ],
)
def test_files_outside_the_inputs_do_not_count(context: Path, rel: str) -> None:
    before = _tag(context)
    _write(context, rel, "anything")
    assert _tag(context) == before


def test_a_wheel_counts_by_its_name_and_file_times_not_at_all(context: Path) -> None:
    before = _tag(context)
    _write(context, "wheelhouse/attrs-26.1.0-py3-none-any.whl", "rebuilt, same version")
    models = context / "almanac/core/models.py"
    models.touch()
    models.write_text(models.read_text())
    assert _tag(context) == before


def test_the_inputs_are_what_the_real_dockerfile_copies() -> None:
    assert dockerfile_sources((REPO / "Dockerfile").read_text()) == [
        "wheelhouse",
        "pyproject.toml",
        "README.md",
        "almanac",
    ]
    inputs = image_inputs(REPO)
    assert {"pyproject.toml", "README.md", "almanac/__init__.py"} <= set(inputs)
    assert "Dockerfile" not in inputs  # hashed on its own, as the recipe
    outside = {rel for rel in inputs if rel.split("/")[0] not in {"almanac", "wheelhouse"}}
    assert outside == {"pyproject.toml", "README.md"}
    assert not [rel for rel in inputs if "__pycache__" in rel]


def test_dockerfile_sources_follow_continuations_flags_and_json_form() -> None:
    text = (
        "FROM base AS build\n"
        "# COPY commented/ /nowhere/\n"
        "COPY --chown=1:1 a.txt \\\n"
        "     b/ /dst/\n"
        "COPY --from=build /opt /opt\n"
        'ADD ["c d.txt", "/dst/"]\n'
        "ADD https://example.invalid/x.tgz /x\n"
        "RUN echo COPY nothing\n"
    )
    assert dockerfile_sources(text) == ["a.txt", "b", "c d.txt"]


def test_dockerignore_last_matching_rule_wins_and_parents_count() -> None:
    ignore = DockerIgnore("*\n!almanac/\n**/__pycache__\n!almanac/keep/__pycache__\n# note\n")
    assert ignore.excluded("tests/test_x.py")
    assert ignore.excluded("Makefile")
    assert not ignore.excluded("almanac/core/models.py")
    assert ignore.excluded("almanac/core/__pycache__/models.pyc")
    assert not ignore.excluded("almanac/keep/__pycache__/x.pyc")
    assert DockerIgnore("/build\n").excluded("build/lib/x.py")
    assert not DockerIgnore("*.md\n").excluded("docs/index.md")  # `*` stays in one folder
    assert DockerIgnore("**/*.md\n").excluded("docs/deep/index.md")
