"""`stack build`: build the images of services with a `build:` section."""

from __future__ import annotations

import click

from stack.cli.common import check_services, load, run


@click.command()
@click.argument("services", nargs=-1)
@click.pass_context
def build(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Build (or rebuild) service images."""
    from stack import api
    from stack.cli.progress import ProgressPrinter

    project = load(ctx, list(services))
    check_services(project, list(services))
    with ProgressPrinter(project, project.name) as printer:
        run(lambda: api.build_async(project, list(services), progress=printer))
