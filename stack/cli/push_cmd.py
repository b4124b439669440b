"""`stack push`: push the images the stack builds, as `docker compose push` does; print their
digests."""

from __future__ import annotations

import contextlib

import click

from stack.cli.common import check_services, load, run, warn


@click.command()
@click.argument("services", nargs=-1)
@click.option("--ignore-push-failures", is_flag=True, help="Push what it can and ignore images with push failures.")
@click.option("--include-deps", is_flag=True, help="Also push the images of the services the named ones depend on.")
@click.option("-q", "--quiet", is_flag=True, help="Push without printing progress information.")
@click.pass_context
def push(
    ctx: click.Context, services: tuple[str, ...], ignore_push_failures: bool, include_deps: bool, quiet: bool
) -> None:
    """Push service images (those with build: and image:); print `IMAGE@DIGEST` for each."""
    from stack import api
    from stack.cli.transfer_progress import TransferPrinter
    from stack.engine.registry import null_transfer

    project = load(ctx, list(services))
    check_services(project, list(services))
    options = api.PushOptions(services=list(services), include_deps=include_deps, ignore_failures=ignore_push_failures)
    printer = None if quiet else TransferPrinter("Pushing")
    with printer or contextlib.nullcontext():
        sink = printer or null_transfer
        result = run(lambda: api.push_async(project, options, progress=sink))
    for message in result.warnings:
        warn(message)
    for outcome in result.pushed:
        click.echo(f"{outcome.image}@{outcome.digest}")
