"""`stack config` answered before click is imported prints exactly what the click command prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stack.cli.main import cli
from stack.cli.quick import answer_config, parse_config
from tests.unit.spec.test_conformance import CASES, _case_args, _use_case_environment

FORMS = [[], ["--format", "json"], ["--format=yaml"], ["-q"]]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["config"], ("yaml", False, [])),
        (["-f", "a.yaml", "config", "--format", "json", "web", "db"], ("json", False, ["web", "db"])),
        (["--project-directory", "app", "config", "-q"], ("yaml", True, [])),
        (["-p", "x", "--profile", "debug", "config", "--format=json"], ("json", False, [])),
    ],
)
def test_plain_forms_are_recognised(argv: list[str], expected: tuple[str, bool, list[str]]) -> None:
    parsed = parse_config(argv)
    assert parsed is not None
    request = parsed[1]
    assert (request.output_format, request.quiet, request.services) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["config", "--services"],
        ["config", "--no-interpolate"],
        ["config", "-o", "out.yaml"],
        ["config", "--format", "xml"],
        ["config", "--format"],
        ["config", "--hash", "*"],
        ["--ansi", "never", "config"],
        ["ps"],
        ["config", "--", "web"],
    ],
)
def test_anything_else_is_left_to_click(argv: list[str]) -> None:
    assert parse_config(argv) is None


@pytest.mark.parametrize(("case", "directory"), [c for c in CASES if c[1] is not None], ids=[c for c, d in CASES if d])
def test_the_quick_answer_is_the_click_answer(
    case: str, directory: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use_case_environment(directory, monkeypatch)
    for form in FORMS:
        argv = [*_case_args(directory), "config", *form]
        assert answer_config(argv) is True
        quick = capsys.readouterr().out
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 0, result.output
        assert quick == result.stdout, f"{case} {form}"


def test_errors_are_left_to_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n    ports: ['80:abc']\n")
    monkeypatch.chdir(tmp_path)
    assert answer_config(["config"]) is False
    assert capsys.readouterr() == ("", "")  # nothing printed: click loads again and reports it
