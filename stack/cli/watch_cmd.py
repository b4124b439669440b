"""`stack watch`: build and start the services, then keep their containers in step with their
files (`develop.watch`), showing their logs, until Ctrl-C (exit 130; the containers keep running,
as with Compose)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from stack.cli.common import check_services, global_options, load, run_until_signalled, warn

if TYPE_CHECKING:
    from stack.api.watch import WatchOutput
    from stack.cli.logs_cmd import PrefixPrinter
    from stack.engine.logs import LineSink
    from stack.engine.progress import ProgressEvent
    from stack.spec.models import Project

INTERRUPTED = 130


def notice(text: str) -> None:
    click.echo(text, err=True)


def watch_output(project: Project, *, quiet: bool, on_line: LineSink | None) -> WatchOutput:
    """Where `watch` reports on the CLI: its messages on stderr, the converges it runs as plain
    progress lines (a live table would fight with the logs), build output unless `quiet`."""
    from stack.api.watch import WatchOutput
    from stack.cli.progress import ProgressPrinter
    from stack.engine.progress import Status

    printer = ProgressPrinter(project, project.name, live=False)

    def progress(event: ProgressEvent) -> None:
        if event.status is Status.LOG:
            if event.op == "BuildImage" and not quiet:
                click.echo(event.text, err=True)
            return
        printer(event)

    return WatchOutput(notice=notice, warn=warn, on_line=on_line, progress=progress)


def log_printer(
    ctx: click.Context, project: Project, services: list[str], *, no_color: bool, no_log_prefix: bool
) -> PrefixPrinter:
    """The `api-1  | ...` printer of attached `up`, its column sized for the services' replicas."""
    from stack.cli.logs_cmd import PrefixPrinter, log_label, use_colour
    from stack.plan.naming import service_container_name

    printer = PrefixPrinter(project.name, prefix=not no_log_prefix, colour=use_colour(ctx, no_color))
    printer.reserve(
        log_label(project.name, service_container_name(project.name, s, project.services[s], n), s, n)
        for s in services
        for n in range(1, project.services[s].replicas + 1)
    )
    return printer


@click.command()
@click.option("--no-up", is_flag=True, help="Do not build and start the services before watching.")
@click.option(
    "--prune/--no-prune", default=True, show_default=True, help="Remove a service's previous image after a rebuild."
)
@click.option("--quiet", is_flag=True, help="Hide build output.")
@click.option("--no-color", is_flag=True, help="Monochrome log output.")
@click.option("--no-log-prefix", is_flag=True, help="Do not prefix log lines with the container name.")
@click.argument("services", nargs=-1)
@click.pass_context
def watch(
    ctx: click.Context,
    no_up: bool,
    prune: bool,
    quiet: bool,
    no_color: bool,
    no_log_prefix: bool,
    services: tuple[str, ...],
) -> None:
    """Watch the services' files (`develop.watch`) and sync, restart or rebuild on each change.

    Builds and starts the services first (unless --no-up), then shows their logs; a change to
    the stack file or an env file converges the services whose definition changed.
    """
    from stack import api
    from stack.api.watch import WatchOptions, check_watchable
    from stack.engine.docker_api import DockerAPI

    project = load(ctx, list(services))
    check_services(project, list(services))
    check_watchable(project, list(services))
    shown = list(services) or sorted(project.services)
    printer = log_printer(ctx, project, shown, no_color=no_color, no_log_prefix=no_log_prefix)
    output = watch_output(project, quiet=quiet, on_line=printer)
    options = WatchOptions(services=list(services), up=not no_up, prune=prune)
    opts = global_options(ctx)

    async def watching() -> None:
        docker = DockerAPI.from_env()
        try:
            await api.watch_async(
                opts.load_options(list(services)), options, output=output, api=docker, lock=opts.lock_policy()
            )
        finally:
            docker.close()

    interrupted = run_until_signalled(watching)
    if interrupted:
        notice("Watch disabled")
        sys.exit(INTERRUPTED)
