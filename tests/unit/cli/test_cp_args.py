"""`stack cp`'s SERVICE:PATH arguments, Compose-style boolean flags, --format templates,
`stack version`: pure parsing, no daemon."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from stack import __version__
from stack.cli.common import GoBoolCommand
from stack.cli.cp_cmd import CopyArgs, parse_cp_args, split_cp_arg
from stack.cli.gotemplate import render, tabulate
from stack.cli.quick import version_text
from stack.errors import UsageError


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("web:/etc/nginx", ("web", "/etc/nginx")),
        ("web:relative/path", ("web", "relative/path")),
        ("web:/a:b", ("web", "/a:b")),  # only the first colon splits
        ("web:", ("web", "")),
        ("/abs/path:with-colon", (None, "/abs/path:with-colon")),  # absolute: always local
        ("./local:name", (None, "./local:name")),  # explicit relative: local
        ("../up:name", (None, "../up:name")),
        ("plain", (None, "plain")),
        ("-", (None, "-")),
        (":oops", (None, ":oops")),
    ],
)
def test_split_cp_arg(arg: str, expected: tuple[str | None, str]) -> None:
    assert split_cp_arg(arg) == expected


def test_parse_cp_args_both_directions() -> None:
    assert parse_cp_args("web:/data", "./out") == CopyArgs("web", False, "/data", "./out")
    assert parse_cp_args("./site", "web:/srv/") == CopyArgs("web", True, "/srv/", "./site")
    assert parse_cp_args("-", "web:/srv") == CopyArgs("web", True, "/srv", "-")
    assert parse_cp_args("web:/srv/.", "-") == CopyArgs("web", False, "/srv/.", "-")


@pytest.mark.parametrize(
    ("source", "destination", "words"),
    [
        ("web:/a", "db:/b", "between services"),
        ("a", "b", "names a service"),
        ("/a", "./b", "names a service"),
        ("web:", "out", "no path in the container"),
        ("", "web:/x", "local path is empty"),
    ],
)
def test_parse_cp_args_refuses(source: str, destination: str, words: str) -> None:
    with pytest.raises(UsageError, match=words) as caught:
        parse_cp_args(source, destination)
    assert caught.value.exit_code == 2


@click.command(cls=GoBoolCommand)
@click.option("-p", "--pause/--no-pause", default=True)
@click.argument("rest", nargs=-1)
def _pausing(pause: bool, rest: tuple[str, ...]) -> None:
    click.echo(f"{pause} {' '.join(rest)}")


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ([], "True "),
        (["--pause=false"], "False "),
        (["--pause=0"], "False "),
        (["--pause=true", "x"], "True x"),
        (["--no-pause"], "False "),
        (["-p", "web"], "True web"),
        (["--", "--pause=false"], "True --pause=false"),  # after --, an argument
    ],
)
def test_go_style_boolean_flags(args: list[str], shown: str) -> None:
    result = CliRunner().invoke(_pausing, args)
    assert result.exit_code == 0, result.output
    assert result.output == shown + "\n"


def test_go_style_boolean_flag_with_a_bad_value_is_refused() -> None:
    assert CliRunner().invoke(_pausing, ["--pause=maybe"]).exit_code == 2


VOLUME = {"Driver": "local", "Name": "demo_data", "Scope": "local", "Labels": "a=<b>&c"}
FIELDS = ["Driver", "Labels", "Name", "Scope"]


def test_templates_as_the_docker_cli_renders_them() -> None:
    table = render("table", [VOLUME], fields=FIELDS, default="{{.Driver}}\\t{{.Name}}", headers={"Name": "VOLUME NAME"})
    assert table == "DRIVER    VOLUME NAME\nlocal     demo_data"
    custom = render(
        "table {{.Name}}\\t{{.Scope}}", [VOLUME], fields=FIELDS, default="", headers={"Name": "VOLUME NAME"}
    )
    assert custom == "VOLUME NAME   SCOPE\ndemo_data     local"
    assert render("{{.Name}} on {{ .Driver }}", [VOLUME], fields=FIELDS, default="", headers={}) == "demo_data on local"
    assert render("json", [VOLUME], fields=FIELDS, default="", headers={}) == (
        '{"Driver":"local","Labels":"a=\\u003cb\\u003e\\u0026c","Name":"demo_data","Scope":"local"}'
    )
    assert render("{{json .Name}}", [VOLUME], fields=FIELDS, default="", headers={}) == '"demo_data"'


@pytest.mark.parametrize("template", ["{{.Nope}}", "{{upper .Name}}", "{{if .Name}}x{{end}}"])
def test_unsupported_templates_are_usage_errors(template: str) -> None:
    with pytest.raises(UsageError):
        render(template, [VOLUME], fields=FIELDS, default="", headers={})


def test_tabulate_pads_as_go_tabwriter() -> None:
    assert (
        tabulate(["A\tBB\tC", "long-cell-here\tx\ty"]) == "A                BB        C\nlong-cell-here   x         y"
    )


def test_version_text() -> None:
    assert version_text() == f"stack version {__version__}\n"
    assert version_text("json") == f'{{"version":"{__version__}"}}\n'
    assert version_text("json", short=True) == f"{__version__}\n"
