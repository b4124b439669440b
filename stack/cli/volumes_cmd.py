"""`stack volumes`: the project's volumes, as `docker compose volumes` lists them."""

from __future__ import annotations

import click

from stack.cli.common import project_for, run

_FIELDS = ["Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size", "Status"]
_HEADERS = {"Name": "VOLUME NAME"}
_DEFAULT = "{{.Driver}}\\t{{.Name}}"


@click.command("volumes")
@click.option(
    "--format",
    "fmt",
    default="table",
    show_default=True,
    help="table, json, 'table TEMPLATE' or 'TEMPLATE' (Go template fields: {{.Name}}, {{.Driver}}, "
    "{{.Scope}}, {{.Mountpoint}}, {{.Labels}}, ...; {{json .}}).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.argument("services", nargs=-1)
@click.pass_context
def volumes(ctx: click.Context, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """List the project's volumes (with SERVICES: those their containers mount)."""
    from stack import api
    from stack.cli.gotemplate import render

    name = project_for(ctx, list(services))
    rows = run(lambda: api.volumes_async(name, list(services)))
    if quiet:
        for row in rows:
            click.echo(row.name)
        return
    text = render(fmt, [r.fields() for r in rows], fields=_FIELDS, default=_DEFAULT, headers=_HEADERS)
    if text:
        click.echo(text)
