"""`stack ps`: the project's containers, as a table, JSON or ids."""

from __future__ import annotations

import json
import time

import click

from stack.cli.common import name_only, run

STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def _since(created: int) -> str:
    seconds = max(0, int(time.time()) - created)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return f"{seconds} seconds ago"


@click.command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Show stopped containers too.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container ids.")
@click.option("--services", "only_services", is_flag=True, help="Display the services (running ones).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Filter by status.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.argument("services", nargs=-1)
@click.pass_context
def ps(
    ctx: click.Context,
    show_all: bool,
    quiet: bool,
    only_services: bool,
    statuses: tuple[str, ...],
    fmt: str,
    services: tuple[str, ...],
) -> None:
    """List the project's containers (running ones unless -a)."""
    from stack.cli.fastpath import list_containers
    from stack.engine.listing import ps_rows

    # Naming a service checks it exists (the loader raises a usage error otherwise).
    name = name_only(ctx, list(services))
    listed = list_containers(name)
    every = show_all or bool(statuses)
    if listed is not None:
        rows = ps_rows(listed, all=every, services=list(services))
    else:  # not a local unix socket: the SDK path
        from stack import api

        rows = run(lambda: api.ps_async(name, all=every, services=list(services)))
    rows = [r for r in rows if not r.one_off]  # one-off `run` containers are not listed
    if statuses:
        rows = [r for r in rows if r.state in statuses]
    if only_services:
        for service in sorted({r.service for r in rows}):
            click.echo(service)
        return
    if quiet:
        for row in rows:
            click.echo(row.id)
        return
    if fmt == "json":
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    header = ("NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS")
    table: list[tuple[str, ...]] = [header]
    for r in rows:
        command = r.command if len(r.command) <= 22 else r.command[:19] + "..."
        table.append((r.name, r.image, f'"{command}"', r.service, _since(r.created), r.status, ", ".join(r.ports)))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        click.echo("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
