"""`stack commit`: a new image from a service container's changes.

The image carries none of stack's container labels' values (stack.plan.labels.commit_changes),
so containers run from it are nobody's: `ps`, `down`, `rm`, `ls` never take them for the
project's.
"""

from __future__ import annotations

import click

from stack.cli.common import GoBoolCommand, project_for, run


@click.command("commit", cls=GoBoolCommand)
@click.option("-a", "--author", default=None, help='Author (e.g. "John Hannibal Smith <hannibal@a-team.com>").')
@click.option("-c", "--change", "changes", multiple=True, metavar="LINE", help="Apply a Dockerfile instruction.")
@click.option("-m", "--message", default=None, help="Commit message.")
@click.option(
    "-p",
    "--pause/--no-pause",
    default=True,
    show_default=True,
    help="Pause the container during the commit (also --pause=false).",
)
@click.option("--index", type=click.IntRange(min=1), default=None, help="Replica of the service (default: the first).")
@click.argument("service")
@click.argument("reference", metavar="[REPOSITORY[:TAG]]", required=False)
@click.pass_context
def commit(
    ctx: click.Context,
    author: str | None,
    changes: tuple[str, ...],
    message: str | None,
    pause: bool,
    index: int | None,
    service: str,
    reference: str | None,
) -> None:
    """Create a new image from a container of SERVICE; print its id."""
    from stack import api

    name = project_for(ctx, [service])
    result = run(
        lambda: api.commit_async(
            name,
            service,
            reference,
            index=index,
            author=author,
            message=message,
            changes=list(changes),
            pause=pause,
        )
    )
    click.echo(result.image_id)
