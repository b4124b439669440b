"""`stack config --format json` prints what `docker compose config --format json` prints.

For every compose file of the awesome-compose corpus and every case under cases/, both
programs run on the same directory with the same (controlled) environment; the parsed JSON
must be equal, except for the differences listed, each with its reason, in KNOWN_DIFFERENCES.
Both outputs must also validate against the Compose Specification's JSON schema.

A case directory holds compose.yaml (plus any files it uses) and optionally:
  args      extra global arguments, one per line (`-f`, `--profile`, `--env-file` ...)
  env.json  environment variables for both programs (on top of PATH and HOME)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from stack.cli.main import cli

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
CORPUS_DIR = Path("/work/shared/corpus/awesome-compose")
SCHEMA_FILE = Path(__file__).parents[3] / "stack" / "spec" / "compose-spec.json"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/conformance"}

# (case, JSON path) -> why our output differs there on purpose. The path is removed from
# both outputs before comparing. Keep this the ONE place where differences are accepted.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


def _case_dirs() -> list[tuple[str, Path]]:
    dirs = []
    if CORPUS_DIR.is_dir():
        dirs += [(f"corpus/{d.name}", d) for d in sorted(CORPUS_DIR.iterdir()) if d.is_dir()]
    dirs += [(f"case/{d.name}", d) for d in sorted(CASES_DIR.iterdir()) if d.is_dir()]
    return dirs


def _case_env(directory: Path) -> dict[str, str]:
    env = dict(BASE_ENV)
    env_json = directory / "env.json"
    if env_json.exists():
        env.update(json.loads(env_json.read_text()))
    return env


def _case_args(directory: Path) -> list[str]:
    args_file = directory / "args"
    if not args_file.exists():
        return []
    return [line for line in args_file.read_text().splitlines() if line]


def compose_config(binary: Path, directory: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(binary), *_case_args(directory), "config", "--format", "json"],
        cwd=directory,
        env=_case_env(directory),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"docker compose config failed: {result.stderr}"
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def stack_config(directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in _case_env(directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(directory)
    result = CliRunner().invoke(cli, [*_case_args(directory), "config", "--format", "json"])
    assert result.exit_code == 0, f"stack config failed: {result.output}\n{result.exception!r}"
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for dotted in path.split("."):
        name, _, rest = dotted.partition("[")
        if name:
            parts.append(name)
        for index in filter(None, rest.replace("]", "").split("[")):
            parts.append(int(index))
    return parts


def _drop(data: Any, path: str) -> None:
    *parents, last = _split_path(path)
    for part in parents:
        data = data[part]
    del data[last]


def _differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out: list[str] = []
        for key in sorted(set(ours) | set(theirs), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in theirs:
                out.append(f"{sub}: only in ours: {json.dumps(ours[key])[:200]}")
            elif key not in ours:
                out.append(f"{sub}: only in Compose's: {json.dumps(theirs[key])[:200]}")
            else:
                out += _differences(ours[key], theirs[key], sub)
        return out
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in _differences(a, b, f"{path}[{i}]")]
    if ours != theirs:
        return [f"{path}: ours {json.dumps(ours)[:200]} != Compose's {json.dumps(theirs)[:200]}"]
    return []


@pytest.fixture(scope="module")
def schema_validator() -> Any:
    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft7Validator(schema)


CASES = _case_dirs()


@pytest.mark.parametrize(("case", "directory"), CASES, ids=[c for c, _ in CASES])
def test_config_json_matches_compose(
    case: str, directory: Path, compose_bin: Path, monkeypatch: pytest.MonkeyPatch, schema_validator: Any
) -> None:
    theirs = compose_config(compose_bin, directory)
    ours = stack_config(directory, monkeypatch)
    for (known_case, path), _reason in KNOWN_DIFFERENCES.items():
        if known_case == case:
            _drop(ours, path)
            _drop(theirs, path)
    assert _differences(ours, theirs) == []
    for name, data in (("ours", ours), ("Compose's", theirs)):
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in schema_validator.iter_errors(data)]
        assert errors == [], f"{name} output does not validate against compose-spec.json"


def test_there_are_enough_cases() -> None:
    assert len([d for d in CASES_DIR.iterdir() if d.is_dir()]) >= 30
    if CORPUS_DIR.is_dir():  # 39 sample directories (+ LICENSE and SOURCE.md)
        assert len([c for c, _ in CASES if c.startswith("corpus/")]) >= 39


def test_known_differences_name_real_cases() -> None:
    names = {c for c, _ in CASES}
    for (case, _path), reason in KNOWN_DIFFERENCES.items():
        assert case in names, case
        assert reason.strip(), f"{case}: a known difference needs its reason"
