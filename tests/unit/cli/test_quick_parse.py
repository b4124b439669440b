"""Which command lines the pre-click no-op check may answer, and with which options.

Anything it does not recognise exactly must go to click (None), which parses it properly.
"""

from __future__ import annotations

import pytest

from stack.cli.quick import parse_noop_up


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["up", "-d"], ([], None, None, [], [], False)),
        (["up", "--wait"], ([], None, None, [], [], True)),
        (["up", "--detach", "--wait"], ([], None, None, [], [], True)),
        (
            ["-f", "a.yaml", "--file=b.yaml", "-p", "one", "--project-name", "two", "up", "-d"],
            (["a.yaml", "b.yaml"], "two", None, [], [], False),
        ),
        (
            ["--project-directory", "app", "--env-file", "x.env", "--env-file=y.env", "--profile", "dev", "up", "-d"],
            ([], None, "app", ["x.env", "y.env"], ["dev"], False),
        ),
    ],
)
def test_plain_forms_are_parsed_like_the_click_group(argv, expected) -> None:
    parsed = parse_noop_up(argv)
    assert parsed is not None
    options, wait = parsed
    got = (options.files, options.project_name, options.project_directory, options.env_files, options.profiles, wait)
    assert got == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["up"],  # attached: streams logs
        ["up", "-d", "web"],  # services named: profiles and selection
        ["up", "-d", "--build"],
        ["up", "-d", "--scale", "web=2"],
        ["up", "-d", "--remove-orphans"],
        ["up", "-d", "--wait-timeout", "5"],
        ["up", "-d", "--dry-run"],
        ["up", "-dV"],
        ["--ansi", "never", "up", "-d"],
        ["-fstack.yaml", "up", "-d"],  # attached short-option value: left to click
        ["-p"],
        ["-p", "x"],
        ["down", "-v"],
        ["ps"],
        ["--help", "up", "-d"],
    ],
)
def test_anything_else_is_left_to_click(argv) -> None:
    assert parse_noop_up(argv) is None


def test_environment_defaults_apply_as_in_the_click_group(monkeypatch) -> None:
    monkeypatch.setenv("STACK_PROJECT_NAME", "fromenv")
    monkeypatch.setenv("STACK_PROFILES", "a,b")
    parsed = parse_noop_up(["up", "-d"])
    assert parsed is not None
    assert (parsed[0].project_name, parsed[0].profiles) == ("fromenv", ["a", "b"])
    parsed = parse_noop_up(["-p", "flag", "--profile", "c", "up", "-d"])
    assert parsed is not None
    assert (parsed[0].project_name, parsed[0].profiles) == ("flag", ["c"])
