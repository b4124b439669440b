"""`stack export`: a service container's filesystem as a tar archive."""

from __future__ import annotations

import sys

import click

from stack.cli.common import project_for, run
from stack.errors import UsageError


@click.command("export")
@click.option("-o", "--output", default=None, metavar="FILE", help="Write to a file, instead of stdout.")
@click.option("--index", type=click.IntRange(min=1), default=None, help="Replica of the service (default: the first).")
@click.argument("service")
@click.pass_context
def export(ctx: click.Context, output: str | None, index: int | None, service: str) -> None:
    """Export a container of SERVICE's filesystem as a tar archive."""
    from stack import api

    if output is None and sys.stdout.isatty():
        raise UsageError("refusing to write a tar archive to a terminal", hint="use -o FILE, or redirect stdout")
    name = project_for(ctx, [service])
    target = sys.stdout.buffer if output is None else output
    run(lambda: api.export_async(name, service, target, index=index))
    if output is None:
        sys.stdout.flush()
