"""`stack pull`: pull the services' images, as `docker compose pull` does."""

from __future__ import annotations

import contextlib

import click

from stack.cli.common import check_services, global_options, load, run, warn


@click.command()
@click.argument("services", nargs=-1)
@click.option("--ignore-pull-failures", is_flag=True, help="Pull what it can and ignore images with pull failures.")
@click.option("--include-deps", is_flag=True, help="Also pull the services the named ones depend on.")
@click.option("--ignore-buildable", is_flag=True, help="Ignore images that can be built.")
@click.option(
    "--policy",
    type=click.Choice(["missing", "always"]),
    default=None,
    help="Apply this pull policy instead of the services' own (missing: only images not on the daemon).",
)
@click.option("-q", "--quiet", is_flag=True, help="Pull without printing progress information.")
@click.pass_context
def pull(
    ctx: click.Context,
    services: tuple[str, ...],
    ignore_pull_failures: bool,
    include_deps: bool,
    ignore_buildable: bool,
    policy: str | None,
    quiet: bool,
) -> None:
    """Pull service images (with the Docker config's credentials)."""
    from stack import api
    from stack.cli.transfer_progress import TransferPrinter
    from stack.engine.registry import null_transfer

    project = load(ctx, list(services))
    check_services(project, list(services))
    options = api.PullOptions(
        services=list(services),
        include_deps=include_deps,
        policy="always" if policy == "always" else "missing" if policy == "missing" else None,
        ignore_failures=ignore_pull_failures,
        ignore_buildable=ignore_buildable,
    )
    lock = global_options(ctx).lock_policy()
    printer = None if quiet else TransferPrinter("Pulling")
    with printer or contextlib.nullcontext():
        sink = printer or null_transfer
        result = run(lambda: api.pull_async(project, options, progress=sink, lock=lock))
    for message in result.warnings:
        warn(message)
