"""Which files are read, the project directory and the project name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stack.errors import StackFileError, UsageError
from stack.spec.discovery import (
    DEFAULT_FILENAMES,
    find_stack_files,
    normalize_project_name,
    project_directory,
    validate_project_name,
)
from stack.spec.loader import LoadOptions, load_project

SERVICE = "services:\n  web:\n    image: busybox\n"


def touch(path: Path, text: str = SERVICE) -> Path:
    path.write_text(text)
    return path


def test_default_names_in_order(tmp_path: Path) -> None:
    for name in reversed(DEFAULT_FILENAMES):
        touch(tmp_path / name)
        assert find_stack_files([], str(tmp_path)) == [str(tmp_path / name)]


def test_override_sibling(tmp_path: Path) -> None:
    touch(tmp_path / "compose.yaml")
    touch(tmp_path / "compose.override.yml")
    touch(tmp_path / "stack.override.yaml")  # not the found file's sibling
    assert find_stack_files([], str(tmp_path)) == [
        str(tmp_path / "compose.yaml"),
        str(tmp_path / "compose.override.yml"),
    ]


def test_explicit_files_then_the_file_variables(tmp_path: Path) -> None:
    for name in ("stack.yaml", "a.yaml", "b.yaml", "c.yaml"):
        touch(tmp_path / name, f"services:\n  {name[0]}:\n    image: busybox\n")
    assert find_stack_files(["x.yaml", "-"], str(tmp_path)) == [str(tmp_path / "x.yaml"), "-"]

    def services(environ: dict[str, str], files: list[str] | None = None) -> list[str]:
        return sorted(load_project(LoadOptions(files=files or [], cwd=str(tmp_path), environ=environ)).services)

    assert services({"STACK_FILE": os.pathsep.join(["a.yaml", "b.yaml"])}) == ["a", "b"]
    assert services({"COMPOSE_FILE": "a.yaml;c.yaml", "COMPOSE_PATH_SEPARATOR": ";"}) == ["a", "c"]
    assert services({"STACK_FILE": "a.yaml", "COMPOSE_FILE": "b.yaml"}) == ["a"]  # our name first
    assert services({"COMPOSE_FILE": "b.yaml"}, files=["c.yaml"]) == ["c"]  # the flag first


def test_found_in_the_nearest_parent_directory_as_compose_does(tmp_path: Path) -> None:
    deep = tmp_path / "app" / "src" / "pkg"
    deep.mkdir(parents=True)
    (tmp_path / "other").mkdir()
    touch(tmp_path / "compose.yaml")
    touch(tmp_path / "compose.override.yaml")
    touch(tmp_path / "app" / "stack.yaml")
    assert find_stack_files([], str(deep)) == [str(tmp_path / "app" / "stack.yaml")]
    assert find_stack_files([], str(tmp_path / "other")) == [
        str(tmp_path / "compose.yaml"),
        str(tmp_path / "compose.override.yaml"),
    ]
    # ... and the project (directory, name, .env) is the found file's, not the working directory's.
    (tmp_path / "app" / ".env").write_text("TAG=from-app-env\n")
    touch(tmp_path / "app" / "stack.yaml", "services:\n  web:\n    image: busybox:${TAG}\n")
    project = load_project(LoadOptions(cwd=str(deep), environ={}))
    assert (project.name, project.working_dir) == ("app", str(tmp_path / "app"))
    assert project.services["web"].image == "busybox:from-app-env"


def test_several_default_names_in_one_directory_warn_and_the_first_wins(tmp_path: Path) -> None:
    touch(tmp_path / "compose.yaml")
    touch(tmp_path / "docker-compose.yml")
    warnings: list[str] = []
    assert find_stack_files([], str(tmp_path), warn=warnings.append) == [str(tmp_path / "compose.yaml")]
    assert len(warnings) == 1
    assert "compose.yaml" in warnings[0] and "docker-compose.yml" in warnings[0]


def test_nothing_found_names_directory_and_names(tmp_path: Path) -> None:
    with pytest.raises(StackFileError) as info:
        find_stack_files([], str(tmp_path))
    text = info.value.render()
    assert str(tmp_path) in text
    assert all(name in text for name in DEFAULT_FILENAMES)


def test_project_directory(tmp_path: Path) -> None:
    assert project_directory(None, [str(tmp_path / "d" / "stack.yaml")], "/") == str(tmp_path / "d")
    assert project_directory("other", [str(tmp_path / "d" / "stack.yaml")], str(tmp_path)) == str(tmp_path / "other")
    assert project_directory(None, ["-"], str(tmp_path)) == str(tmp_path)


@pytest.mark.parametrize(
    ("raw", "name"),
    [("My_App", "my_app"), ("Weird.Dir Name", "weirddirname"), ("_-lead", "lead"), ("ok-1_x", "ok-1_x")],
)
def test_normalize(raw: str, name: str) -> None:
    assert normalize_project_name(raw) == name


def test_explicit_name_must_be_valid() -> None:
    assert validate_project_name("good-1") == "good-1"
    for bad in ("My_App", "-x", "a b", ""):
        with pytest.raises(UsageError):
            validate_project_name(bad)


def test_project_name_sources(tmp_path: Path) -> None:
    project_dir = tmp_path / "My.Project"
    project_dir.mkdir()
    touch(project_dir / "stack.yaml")
    opts = {"cwd": str(project_dir), "environ": {}}
    assert load_project(LoadOptions(**opts)).name == "myproject"  # type: ignore[arg-type]
    touch(project_dir / "stack.yaml", "name: ${PN:-From_File}\n" + SERVICE)
    assert load_project(LoadOptions(**opts)).name == "from_file"  # type: ignore[arg-type]
    assert (
        load_project(LoadOptions(cwd=str(project_dir), environ={"STACK_PROJECT_NAME": "env-name"})).name == "env-name"
    )
    assert load_project(LoadOptions(project_name="flag", **opts)).name == "flag"  # type: ignore[arg-type]


def test_project_fields_filled(tmp_path: Path) -> None:
    touch(tmp_path / "stack.yaml")
    touch(tmp_path / "stack.override.yaml", "services:\n  web:\n    environment: {A: '1'}\n")
    (tmp_path / ".env").write_text("FROM_DOTENV=1\n")
    project = load_project(LoadOptions(cwd=str(tmp_path), environ={"P": "2"}, profiles=["x"]))
    assert project.working_dir == str(tmp_path)
    assert project.config_files == [str(tmp_path / "stack.yaml"), str(tmp_path / "stack.override.yaml")]
    assert project.environment == {"FROM_DOTENV": "1", "P": "2", "COMPOSE_PROJECT_NAME": project.name}
    assert project.active_profiles == ["x"]
    assert project.services["web"].name == "web"
    assert project.services["web"].environment == {"A": "1"}


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SERVICE))
    project = load_project(LoadOptions(files=["-"], cwd=str(tmp_path), project_name="p", environ={}))
    assert list(project.services) == ["web"]
    assert project.working_dir == str(tmp_path)
