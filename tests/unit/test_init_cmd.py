"""`stack init`: the shipped templates are listed and written into a new directory, never over files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stack.cli.main import cli
from stack.errors import StackError


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
