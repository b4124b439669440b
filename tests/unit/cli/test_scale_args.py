"""A malformed SERVICE=N says so in the form the user typed: `stack scale ...` or `up --scale ...`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stack.cli.main import cli
from stack.errors import StackError

STACK = """
services:
  api:
    image: stack-test/busybox:latest
"""


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output as `stack` prints them (main() renders a StackError as one message)."""
    result = CliRunner().invoke(cli, list(args))
    if isinstance(result.exception, StackError):
        return result.exception.exit_code, result.exception.render()
    return result.exit_code, result.output


def test_scale_command_hint_shows_the_scale_command(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    code, out = invoke("-f", str(tmp_path / "stack.yaml"), "scale", "api")
    assert code == 2
    assert "invalid scale argument 'api'" in out
    assert "stack scale api=3" in out
    assert "--scale" not in out


def test_up_scale_hint_shows_the_flag(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    code, out = invoke("-f", str(tmp_path / "stack.yaml"), "up", "-d", "--scale", "api=x")
    assert code == 2
    assert "invalid --scale 'api=x'" in out
    assert "--scale api=3" in out
    assert "stack scale" not in out
