"""`stack init`: the shipped templates are written into a new directory, never over files, as a
project of its own (name, images, README) that runs on a machine without a registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import stack
from stack.cli import init_cmd
from stack.cli.init_cmd import TEMPLATES_DIR, image_namespace, local_base_images, rename_project, write_template
from stack.cli.main import cli
from stack.errors import StackError
from stack.spec.models import Project


@pytest.fixture(autouse=True)
def no_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests do not ask the daemon which base images it holds (init does, to order its hint)."""
    monkeypatch.setattr(init_cmd, "images_present", lambda refs: None)


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output as `stack` prints them (main() renders a StackError as one message)."""
    result = CliRunner().invoke(cli, list(args))
    if isinstance(result.exception, StackError):
        return result.exception.exit_code, result.exception.render()
    return result.exit_code, result.output


def test_list_names_the_example_template_with_its_description() -> None:
    code, out = invoke("init", "--list")
    assert code == 0
    assert out.startswith("flask-api-db\t")
    assert "PostgreSQL" in out


def test_init_writes_a_ready_to_run_project(tmp_path: Path) -> None:
    target = tmp_path / "my-app"
    code, out = invoke("init", "--template", "flask-api-db", str(target))
    assert code == 0, out
    for name in (
        "stack.yaml",
        "local.env",
        "api/Dockerfile",
        "api/app/web.py",
        "db/password.txt",
        "frontend/html/index.html",
        "frontend/conf.d/default.conf",
        "local-images/build.sh",
    ):
        assert (target / name).is_file(), name
    assert not (target / "DESCRIPTION").exists()


def test_init_refuses_a_non_empty_directory_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, out = invoke("init", str(tmp_path))
    assert code == 2
    assert "not empty" in out
    assert not (tmp_path / "stack.yaml").exists()

    code, out = invoke("init", "--force", str(tmp_path))
    assert code == 0, out
    assert (tmp_path / "stack.yaml").is_file()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unknown_template_is_a_usage_error(tmp_path: Path) -> None:
    code, out = invoke("init", "--template", "nope", str(tmp_path / "x"))
    assert code == 2
    assert "no such template" in out


def load_copy(target: Path, *env_files: str) -> Project:
    return stack.load([str(target / "stack.yaml")], env_files=[str(target / f) for f in env_files])


def test_a_copy_is_a_project_of_its_own_named_after_its_directory(tmp_path: Path) -> None:
    for directory in ("My App", "other-copy"):
        code, out = invoke("init", str(tmp_path / directory))
        assert code == 0, out
    mine, other = tmp_path / "My App", tmp_path / "other-copy"

    project = load_copy(mine)
    assert project.name == "myapp"
    assert {project.services[s].image for s in ("api", "migrate")} == {"myapp/api:latest"}
    local = load_copy(mine, "local.env")
    assert local.name == "myapp"
    assert {local.services[s].image for s in ("api", "migrate")} == {"myapp/api:local"}
    assert local.services["db"].image == "stack-local/postgres:bookworm"  # shared base images

    assert load_copy(other).name == "other-copy"
    assert load_copy(other, "local.env").services["api"].image == "other-copy/api:local"
    for copy in (mine, other):  # nothing of the example's own project is left
        for name in ("stack.yaml", "local.env", "README.md"):
            assert "flask-api-db/" not in (copy / name).read_text(), (copy, name)
    example = stack.load([str(TEMPLATES_DIR / "flask-api-db" / "stack.yaml")])
    assert example.name == "flask-api-db"  # the template itself is untouched


def test_name_option_and_a_directory_without_a_usable_name(tmp_path: Path) -> None:
    code, out = invoke("init", "--name", "shop_2", str(tmp_path / "x"))
    assert code == 0, out
    assert load_copy(tmp_path / "x").name == "shop_2"
    assert load_copy(tmp_path / "x", "local.env").services["api"].image == "shop_2/api:local"

    code, out = invoke("init", str(tmp_path / "___"))
    assert code == 2
    assert "cannot make a project name" in out and "--name" in out
    assert not (tmp_path / "___").exists()


def test_image_namespace_is_a_valid_image_path() -> None:
    assert image_namespace("my-app") == "my-app"
    assert image_namespace("a__b") == "a__b"
    assert image_namespace("a___b") == "a-b"
    assert image_namespace("app-") == "app"


def test_rename_touches_the_project_name_and_image_prefixes_only() -> None:
    text = (
        "# flask-api-db: a comment stays\n"
        "name: 'flask-api-db'  # the project\n"
        "services:\n"
        "  api:\n"
        "    image: ${API_IMAGE:-flask-api-db/api:latest}\n"
        "  other:\n"
        "    image: flask-api-db/worker\n"
        "    command: echo my-flask-api-db/x\n"
        "API_IMAGE=flask-api-db/api:local\n"
    )
    assert rename_project(text, "flask-api-db", "shop", "shop") == (
        "# flask-api-db: a comment stays\n"
        "name: shop  # the project\n"
        "services:\n"
        "  api:\n"
        "    image: ${API_IMAGE:-shop/api:latest}\n"
        "  other:\n"
        "    image: shop/worker\n"
        "    command: echo my-flask-api-db/x\n"
        "API_IMAGE=shop/api:local\n"
    )


def test_the_copys_readme_runs_inside_the_copy(tmp_path: Path) -> None:
    target = tmp_path / "shop"
    assert invoke("init", str(target))[0] == 0
    readme = (target / "README.md").read_text()
    assert readme.startswith("# shop:")
    assert "{{" not in readme
    assert "run-example" not in readme and "../" not in readme and "examples/" not in readme
    assert "tests/e2e" not in readme
    # The commands it gives name files that exist in the copy.
    assert "bash local-images/build.sh" in readme and (target / "local-images/build.sh").is_file()
    assert "stack --env-file local.env up --build --wait" in readme and (target / "local.env").is_file()
    assert "docker image rm shop/api:local" in readme


def test_next_steps_name_the_local_images_path_first_when_they_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(init_cmd, "stack_program", lambda: "stack")
    monkeypatch.setattr(init_cmd, "images_present", lambda refs: True)
    code, out = invoke("init", str(tmp_path / "shop"))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"wrote the flask-api-db template into {tmp_path / 'shop'} (project shop)"
    assert lines[2] == f"  cd {tmp_path / 'shop'}"
    assert lines[3].startswith("  bash local-images/build.sh")
    assert lines[4] == "  stack --env-file local.env up --build --wait"
    assert lines[6] == "  stack up --build --wait"
    assert lines[7] == f"more in {tmp_path / 'shop' / 'README.md'}"


def test_next_steps_without_local_images_offer_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(init_cmd, "stack_program", lambda: "/opt/venv/bin/stack")
    monkeypatch.chdir(tmp_path)
    code, out = invoke("init", "shop")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[2] == "  cd shop"
    assert lines[3].startswith("  /opt/venv/bin/stack up --build --wait")
    assert "  bash local-images/build.sh" in "\n".join(lines[4:])
    assert "  /opt/venv/bin/stack --env-file local.env up --build --wait" in lines


def test_local_base_images_are_the_ones_local_env_selects(tmp_path: Path) -> None:
    written = write_template("flask-api-db", tmp_path / "shop")
    assert local_base_images(written) == [
        "stack-local/python:bookworm",
        "stack-local/postgres:bookworm",
        "stack-local/nginx:bookworm",
    ]
