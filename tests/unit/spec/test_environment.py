"""Compose's variables (COMPOSE_*) and our aliases (STACK_*): where each setting comes from.

The cases/ directory compares these with Compose itself (dotenv-*, env-*); here: the order
between our aliases and Compose's names, which Compose has no opinion on, and the errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.cli.global_options import GlobalOptions
from stack.errors import StackFileError, UsageError
from stack.spec.environment import dotenv_disabled, from_process, split_files, split_profiles
from stack.spec.loader import LoadOptions, load_project, load_raw

STACK = "services:\n  web:\n    image: busybox\n  dbg:\n    image: busybox\n    profiles: [debug]\n"


def write(tmp_path: Path, dotenv: str = "", stack: str = STACK) -> Path:
    (tmp_path / "compose.yaml").write_text(stack)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    return tmp_path


def name(tmp_path: Path, environ: dict[str, str], **options: object) -> str:
    return str(load_raw(LoadOptions(cwd=str(tmp_path), environ=environ, **options))["name"])  # type: ignore[arg-type]


def test_project_name_precedence(tmp_path: Path) -> None:
    """Flag, then STACK_ then COMPOSE_ in the process environment, then the same in .env."""
    write(tmp_path, "STACK_PROJECT_NAME=dot-stack\nCOMPOSE_PROJECT_NAME=dot-compose\n")
    assert name(tmp_path, {}) == "dot-stack"
    assert name(tmp_path, {"COMPOSE_PROJECT_NAME": "proc-compose"}) == "proc-compose"
    assert name(tmp_path, {"COMPOSE_PROJECT_NAME": "proc-compose", "STACK_PROJECT_NAME": "proc-stack"}) == "proc-stack"
    assert name(tmp_path, {"STACK_PROJECT_NAME": "proc-stack"}, project_name="flag") == "flag"
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME=dot-compose\nSTACK_PROJECT_NAME=\n")  # empty: unset
    assert name(tmp_path, {}) == "dot-compose"


def test_the_project_name_from_dotenv_beats_name_in_the_file(tmp_path: Path) -> None:
    write(tmp_path, "COMPOSE_PROJECT_NAME=from-dotenv\n", "name: from-file\n" + STACK)
    assert name(tmp_path, {}) == "from-dotenv"


def test_profiles_precedence(tmp_path: Path) -> None:
    write(tmp_path, "COMPOSE_PROFILES=debug\n")

    def services(environ: dict[str, str], profiles: list[str] | None = None) -> list[str]:
        return sorted(load_project(LoadOptions(cwd=str(tmp_path), environ=environ, profiles=profiles or [])).services)

    assert services({}) == ["dbg", "web"]
    assert services({"STACK_PROFILES": "other"}) == ["web"]
    assert services({}, profiles=["other"]) == ["web"]
    assert services({"COMPOSE_DISABLE_ENV_FILE": "1"}) == ["web"]


def test_an_invalid_name_from_dotenv_points_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, "# first\nCOMPOSE_PROJECT_NAME=My App\n")
    with pytest.raises(StackFileError) as info:
        name(tmp_path, {})
    assert info.value.exit_code == 2
    assert info.value.render().startswith(f"{tmp_path / '.env'}:2: COMPOSE_PROJECT_NAME: invalid project name")
    assert "COMPOSE_PROJECT_NAME=myapp" in (info.value.hint or "")
    with pytest.raises(UsageError, match="STACK_PROJECT_NAME: invalid project name"):
        name(tmp_path, {"STACK_PROJECT_NAME": "Bad"})


def test_env_files_variable_and_disabling(tmp_path: Path) -> None:
    write(tmp_path, "COMPOSE_PROJECT_NAME=from-dotenv\n")
    (tmp_path / "other.env").write_text("COMPOSE_PROJECT_NAME=from-other\n")
    assert name(tmp_path, {"COMPOSE_ENV_FILES": "other.env"}) == "from-other"
    assert name(tmp_path, {"COMPOSE_ENV_FILES": "other.env"}, env_files=[".env"]) == "from-dotenv"  # flag first
    assert name(tmp_path, {"COMPOSE_DISABLE_ENV_FILE": "true"}) == tmp_path.name.lower()
    with pytest.raises(UsageError, match="COMPOSE_DISABLE_ENV_FILE"):
        name(tmp_path, {"COMPOSE_DISABLE_ENV_FILE": "maybe"})


def test_stack_file_names_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("services:\n  a:\n    image: busybox\n")
    (tmp_path / "b.yml").write_text("services:\n  b:\n    image: busybox\n")
    (tmp_path / ".env").write_text("COMPOSE_FILE=a.yml,b.yml\nCOMPOSE_PATH_SEPARATOR=,\n")
    assert sorted(load_raw(LoadOptions(cwd=str(tmp_path), environ={}))["services"]) == ["a", "b"]


def test_helpers() -> None:
    assert from_process("PROFILES", {"COMPOSE_PROFILES": "a", "STACK_PROFILES": ""}) is not None
    assert from_process("FILE", {"STACK_FILE": ""}) is None
    assert split_profiles(" a, b ,,") == ["a", "b"]
    assert split_files("x.yml::-", ":", "/w") == ["/w/x.yml", "-"]
    assert dotenv_disabled({"COMPOSE_DISABLE_ENV_FILE": "F"}) is False
    assert dotenv_disabled({}) is False


def test_commands_acting_by_labels_see_the_name_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ps`, `down`, `logs` and the quick no-op `up` load the name as `config` does."""
    write(tmp_path, "COMPOSE_PROJECT_NAME=from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    for key in ("STACK_PROJECT_NAME", "COMPOSE_PROJECT_NAME", "STACK_PROFILES", "COMPOSE_PROFILES"):
        monkeypatch.delenv(key, raising=False)
    options = GlobalOptions.from_flags(files=[], project_name=None, project_directory=None, env_files=[], profiles=[])
    assert load_raw(options.load_options())["name"] == "from-dotenv"
    # Without a stack file, only the process environment (or -p) names the project, as in Compose.
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "from-environment")
    options = GlobalOptions.from_flags(files=[], project_name=None, project_directory=None, env_files=[], profiles=[])
    assert options.project_name == "from-environment"
    assert load_raw(options.load_options())["name"] == "from-environment"
