"""`stack down`: stop and remove what belongs to the project, found by its labels."""

from __future__ import annotations

import click

from stack.cli.common import global_options, load_or_name, run


@click.command()
@click.option(
    "-v", "--volumes", is_flag=True, help="Also remove named volumes declared in the file and anonymous ones."
)
@click.option("--rmi", type=click.Choice(["local", "all"]), default=None, help="Also remove images.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services not in the file.")
@click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait for a stop before a kill.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.pass_context
def down(
    ctx: click.Context, volumes: bool, rmi: str | None, remove_orphans: bool, timeout: int | None, dry_run: bool
) -> None:
    """Stop and remove containers and networks of the project (volumes with -v).

    Works from labels alone: when the stack file is gone, name the project with -p.
    """
    from stack import api
    from stack.cli.progress import ProgressPrinter
    from stack.plan.options import DownOptions

    project, name = load_or_name(ctx)
    options = DownOptions(
        remove_volumes=volumes,
        rmi=rmi,  # type: ignore[arg-type]
        remove_orphans=remove_orphans or project is None,
        timeout=timeout,
    )
    if dry_run:
        result = run(lambda: api.down_async(name, options, project=project, dry_run=True))
        click.echo(result.plan.render() if not result.plan.is_empty() else "nothing to do")
        return
    with ProgressPrinter(project, name) as printer:
        lock = global_options(ctx).lock_policy()
        result = run(lambda: api.down_async(name, options, project=project, progress=printer, lock=lock))
    for warning in [*result.plan.warnings, *result.result.warnings]:
        click.echo(f"WARN: {warning}", err=True)
