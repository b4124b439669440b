"""Warnings the loader gives through LoadOptions.on_warning, as Compose v2 gives them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from stack.spec.loader import LoadOptions, load_project

OBSOLETE = "the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"


def _layout(tmp_path: Path) -> list[str]:
    """A main file, an override, an included and an extended file, all with `version:`."""
    (tmp_path / "stack.yaml").write_text(
        'version: "3.9"\ninclude: [inc.yaml]\nservices:\n  web:\n    extends: {file: base.yaml, service: base}\n'
    )
    (tmp_path / "override.yaml").write_text("version: '3'\nservices:\n  web:\n    image: y\n")
    (tmp_path / "inc.yaml").write_text("version: '2'\nservices:\n  db:\n    image: db\n")
    (tmp_path / "base.yaml").write_text("version: '3'\nservices:\n  base:\n    image: x\n")
    return [str(tmp_path / "stack.yaml"), str(tmp_path / "override.yaml")]


def _warnings(tmp_path: Path, files: list[str]) -> list[str]:
    warnings: list[str] = []
    load_project(LoadOptions(files=files, cwd=str(tmp_path), environ={}, on_warning=warnings.append))
    return warnings


def test_a_top_level_version_warns_once_per_file_naming_it(tmp_path: Path) -> None:
    files = _layout(tmp_path)
    warnings = _warnings(tmp_path, [*files, files[0]])  # a file named twice still warns once
    assert sorted(warnings) == sorted(
        f"{tmp_path / name}: {OBSOLETE}" for name in ("stack.yaml", "override.yaml", "inc.yaml")
    )  # not base.yaml: Compose does not check files read for `extends`


def test_no_version_no_warning(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  web:\n    image: x\n    labels: {version: '3'}\n")
    assert _warnings(tmp_path, [str(tmp_path / "stack.yaml")]) == []


def test_the_version_warnings_are_compose_s(tmp_path: Path, compose_bin: Path) -> None:
    files = _layout(tmp_path)
    args = [str(compose_bin)] + [a for f in files for a in ("-f", f)] + ["config", "-q"]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env={}, check=True)
    theirs = re.findall(r'level=warning msg="(.*)"', result.stderr)
    assert sorted(_warnings(tmp_path, files)) == sorted(m.replace('\\"', '"') for m in theirs)
