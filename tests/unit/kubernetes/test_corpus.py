"""Every awesome-compose file of the shared corpus converts, or names what it cannot convert
with its file and line; the output of those without a build-only service is strictly valid.

Needs ../shared (tests/conftest.py): skipped with the reason when missing, failed in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.convert.kubernetes import translate
from stack.spec.loader import LoadOptions, load_project
from tests.conftest import require_shared, shared_dir
from tests.unit.kubernetes.validation import validation_errors

CORPUS_PARTS = ("corpus", "awesome-compose")
CORPUS_DIR = shared_dir().joinpath(*CORPUS_PARTS)
FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _cases() -> list[Path | None]:
    if not CORPUS_DIR.is_dir():
        return [None]  # one case standing for the missing corpus: skipped (failed in CI)
    return sorted(d for d in CORPUS_DIR.iterdir() if d.is_dir() and any((d / n).exists() for n in FILE_NAMES))


@pytest.mark.parametrize("directory", _cases(), ids=lambda d: d.name if d is not None else "corpus")
def test_corpus_file_converts_or_names_what_it_cannot(directory: Path | None, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = directory or require_shared(*CORPUS_PARTS)
    stack_file = next(directory / n for n in FILE_NAMES if (directory / n).exists())
    monkeypatch.chdir(directory)
    project = load_project(LoadOptions(files=[str(stack_file)]))
    converted = translate(project)
    lines = stack_file.read_text().splitlines()
    for problem in [*converted.unsupported, *converted.notes]:
        assert problem.location is not None and problem.location.file == str(stack_file), problem.render()
        assert problem.location.line is not None and 1 <= problem.location.line <= len(lines), problem.render()
    warned = {p.path for p in converted.unsupported}
    for key, service in project.services.items():
        for index, mount in enumerate(service.volumes):
            if mount.type == "bind":  # never dropped silently: listed, at the line that wrote it
                problem = next(p for p in converted.unsupported if p.path == f"services.{key}.volumes[{index}]")
                assert problem.location is not None and problem.location.line is not None
                assert mount.target in lines[problem.location.line - 1] or "target:" in "".join(
                    lines[problem.location.line - 1 : problem.location.line + 3]
                ), problem.render()
    build_only = [k for k, s in project.services.items() if s.build is not None and not s.image]
    for key in build_only:
        assert f"services.{key}.build" in warned
    if build_only:
        return  # their images exist only where they were built: validated elsewhere
    kinds = {m.kind for m in converted.manifests}
    assert kinds & {"Deployment", "StatefulSet", "Job"}
    assert validation_errors(converted.documents()) == []


def test_the_corpus_has_files_without_build_only_services() -> None:
    corpus = require_shared(*CORPUS_PARTS)
    plain = 0
    for directory in sorted(d for d in corpus.iterdir() if d.is_dir()):
        files = [directory / n for n in FILE_NAMES if (directory / n).exists()]
        if files and "build:" not in files[0].read_text():
            plain += 1
    assert plain >= 10, "the corpus lost the files whose output is validated"
