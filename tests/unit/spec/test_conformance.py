"""`stack config --format json` prints what `docker compose config --format json` prints.

For every compose file of the awesome-compose corpus and every case under cases/, both
programs run on the same directory with the same (controlled) environment; the parsed JSON
(and YAML) must be equal, except for the differences listed, each with its reason, in
KNOWN_DIFFERENCES; where none is listed the text must be identical too (key order, quoting).
Both JSON outputs must also validate against the Compose Specification's JSON schema, and the
typed Project the engine uses must hold exactly what `config` prints.

A case directory holds compose.yaml (plus any files it uses) and optionally:
  args      extra global arguments, one per line (`-f`, `--profile`, `--env-file` ...)
  env.json  environment variables for both programs (on top of PATH and HOME)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from stack.cli.main import cli
from stack.spec.loader import LoadOptions, load_project, load_raw
from stack.spec.serialize import ordered, to_config_dict
from tests.conftest import require_shared, shared_dir

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
# In ../shared (tests/conftest.py: missing, its tests skip, or fail in CI).
CORPUS_PARTS = ("corpus", "awesome-compose")
CORPUS_DIR = shared_dir().joinpath(*CORPUS_PARTS)
SCHEMA_FILE = Path(__file__).parents[3] / "stack" / "spec" / "compose-spec.json"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/conformance"}

# (case, JSON path) -> why our output differs there on purpose. The path is removed from
# both outputs before comparing. Keep this the ONE place where differences are accepted.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}

# (case, JSON path) -> why Compose's own output (which ours equals) breaks compose-spec.json there.
SCHEMA_GAPS: dict[tuple[str, str], str] = {
    ("case/models", "services.chat.models"): "Compose prints the list form of a service's models "
    "as {name: null}, which the schema's map form (a mapping per model) does not allow",
}


def test_the_corpus_is_there() -> None:
    corpus = require_shared(*CORPUS_PARTS)
    assert len([d for d in corpus.iterdir() if d.is_dir()]) >= 30, f"awesome-compose corpus incomplete at {corpus}"


def _case_dirs() -> list[tuple[str, Path | None]]:
    """(id, directory) of every case; without the corpus, one ("corpus", None) stands for it."""
    dirs: list[tuple[str, Path | None]] = []
    if CORPUS_DIR.is_dir():
        dirs += [(f"corpus/{d.name}", d) for d in sorted(CORPUS_DIR.iterdir()) if d.is_dir()]
    else:
        dirs.append(("corpus", None))
    dirs += [(f"case/{d.name}", d) for d in sorted(CASES_DIR.iterdir()) if d.is_dir()]
    return dirs


def _present(directory: Path | None) -> Path:
    """The case's directory; for the missing corpus, a skip saying so (a failure in CI)."""
    return directory if directory is not None else require_shared(*CORPUS_PARTS)


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


def compose_config(binary: Path, directory: Path, output_format: str = "json") -> str:
    """What `docker compose config` prints for the case."""
    result = subprocess.run(
        [str(binary), *_case_args(directory), "config", "--format", output_format],
        cwd=directory,
        env=_case_env(directory),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"docker compose config failed: {result.stderr}"
    return result.stdout


def _parse(text: str, output_format: str) -> Any:
    return json.loads(text) if output_format == "json" else yaml.safe_load(text)


def _use_case_environment(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in _case_env(directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(directory)


def stack_config(directory: Path, monkeypatch: pytest.MonkeyPatch, output_format: str = "json") -> str:
    _use_case_environment(directory, monkeypatch)
    result = CliRunner().invoke(cli, [*_case_args(directory), "config", "--format", output_format])
    assert result.exit_code == 0, f"stack config failed: {result.output}\n{result.exception!r}"
    return result.stdout


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
        return [
            d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in _differences(a, b, f"{path}[{i}]")
        ]
    if ours != theirs:
        return [f"{path}: ours {json.dumps(ours)[:200]} != Compose's {json.dumps(theirs)[:200]}"]
    return []


def _inputs_digest(binary: Path, directory: Path, output_format: str) -> str:
    """Everything Compose's output depends on: binary, case files (with their path), format."""
    digest = hashlib.sha256(f"{binary}:{binary.stat().st_mtime_ns}:{directory}:{output_format}:{BASE_ENV}".encode())
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(directory)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _cached_compose_config(cache: pytest.Cache | None, binary: Path, directory: Path, output_format: str) -> str:
    """compose_config, remembered in pytest's cache until the case's files or the binary change."""
    if cache is None:  # pytest -p no:cacheprovider
        return compose_config(binary, directory, output_format)
    key = f"stack/compose-config/{_inputs_digest(binary, directory, output_format)}"
    hit = cache.get(key, None)
    if not isinstance(hit, str):
        hit = compose_config(binary, directory, output_format)
        cache.set(key, hit)
    return hit


@pytest.fixture(scope="session")
def compose_outputs(compose_bin: Path, pytestconfig: pytest.Config) -> dict[tuple[Path, str], Future[str]]:
    """Compose's output for every case and format, computed up front in parallel (it is the
    slow part of this module: one process per case and format), cached between runs."""
    cache = getattr(pytestconfig, "cache", None)
    pool = ThreadPoolExecutor(max_workers=4)
    futures = {
        (directory, fmt): pool.submit(_cached_compose_config, cache, compose_bin, directory, fmt)
        for _case, directory in CASES
        if directory is not None
        for fmt in ("json", "yaml")
    }
    pool.shutdown(wait=False)
    return futures


@pytest.fixture(scope="module")
def schema_validator() -> Any:
    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft7Validator(schema)


CASES = _case_dirs()


@pytest.mark.parametrize(("case", "directory"), CASES, ids=[c for c, _ in CASES])
def test_config_json_matches_compose(
    case: str,
    directory: Path | None,
    compose_outputs: dict[tuple[Path, str], Future[str]],
    monkeypatch: pytest.MonkeyPatch,
    schema_validator: Any,
) -> None:
    directory = _present(directory)
    theirs = compose_outputs[directory, "json"].result(timeout=120)
    ours = stack_config(directory, monkeypatch)
    _compare(case, theirs, ours, "json")
    for name, text in (("ours", ours), ("Compose's", theirs)):
        data = json.loads(text)
        gaps = {path for (gap_case, path) in SCHEMA_GAPS if gap_case == case}
        errors = [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in schema_validator.iter_errors(data)
            if ".".join(map(str, e.absolute_path)) not in gaps
        ]
        assert errors == [], f"{name} output does not validate against compose-spec.json"


@pytest.mark.parametrize(("case", "directory"), CASES, ids=[c for c, _ in CASES])
def test_config_yaml_matches_compose(
    case: str,
    directory: Path | None,
    compose_outputs: dict[tuple[Path, str], Future[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = _present(directory)
    theirs = compose_outputs[directory, "yaml"].result(timeout=120)
    _compare(case, theirs, stack_config(directory, monkeypatch, "yaml"), "yaml")


def _compare(case: str, theirs_text: str, ours_text: str, output_format: str) -> None:
    """Parsed outputs must be equal (minus the known differences); without known differences,
    the text too (we print Compose's key order and quoting; only a final newline may differ)."""
    theirs, ours = _parse(theirs_text, output_format), _parse(ours_text, output_format)
    known = [path for (known_case, path) in KNOWN_DIFFERENCES if known_case == case]
    for path in known:
        _drop(ours, path)
        _drop(theirs, path)
    assert _differences(ours, theirs) == []
    if not known:
        assert ours_text.rstrip("\n") == theirs_text.rstrip("\n")


def _load_options(directory: Path) -> LoadOptions:
    args = _case_args(directory)
    values: dict[str, list[str]] = {"-f": [], "--env-file": [], "--profile": [], "--project-directory": [], "-p": []}
    for flag, value in itertools.pairwise(args):
        if flag in values:
            values[flag].append(value)
    return LoadOptions(
        files=values["-f"],
        env_files=values["--env-file"],
        profiles=values["--profile"],
        project_directory=(values["--project-directory"] or [None])[-1],
        project_name=(values["-p"] or [None])[-1],
        environ=_case_env(directory),
        cwd=str(directory),
    )


@pytest.mark.parametrize(("case", "directory"), CASES, ids=[c for c, _ in CASES])
def test_project_model_holds_everything_config_prints(case: str, directory: Path | None) -> None:
    """The typed Project the engine uses loses nothing of the canonical data, and reads it right."""
    directory = _present(directory)
    raw = json.loads(json.dumps(ordered(load_raw(_load_options(directory)))))
    project = load_project(_load_options(directory))
    assert _differences(to_config_dict(project), raw) == []


def test_there_are_enough_cases() -> None:
    assert len([d for d in CASES_DIR.iterdir() if d.is_dir()]) >= 30
    if CORPUS_DIR.is_dir():  # 39 sample directories (+ LICENSE and SOURCE.md)
        assert len([c for c, _ in CASES if c.startswith("corpus/")]) >= 39


def test_known_differences_name_real_cases() -> None:
    names = {c for c, _ in CASES}
    for (case, _path), reason in {**KNOWN_DIFFERENCES, **SCHEMA_GAPS}.items():
        assert case in names, case
        assert reason.strip(), f"{case}: a known difference needs its reason"
