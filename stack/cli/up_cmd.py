"""`stack up` and `stack create`: converge the daemon to the stack file."""

from __future__ import annotations

import click

from stack.cli.common import check_services, load, run, warn
from stack.errors import UsageError


def _scale_pairs(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not name or not count.isdigit():
            raise UsageError(f"invalid --scale {value!r}", hint="use --scale SERVICE=N, e.g. --scale api=3")
        out[name] = int(count)
    return out


def _converge(
    ctx: click.Context,
    services: tuple[str, ...],
    *,
    no_start: bool,
    build: bool,
    no_build: bool,
    force_recreate: bool,
    no_recreate: bool,
    no_deps: bool,
    remove_orphans: bool,
    renew_anon_volumes: bool,
    timeout: int | None,
    scale: tuple[str, ...],
    dry_run: bool,
    wait: bool = False,
    wait_timeout: float | None = None,
) -> None:
    from stack.plan.options import UpOptions

    if build and no_build:
        raise UsageError("--build and --no-build cannot be combined")
    if force_recreate and no_recreate:
        raise UsageError("--force-recreate and --no-recreate cannot be combined")
    project = load(ctx, list(services))
    check_services(project, list(services))
    scales = _scale_pairs(scale)
    check_services(project, list(scales))
    options = UpOptions(
        services=list(services),
        no_deps=no_deps,
        build="always" if build else "never" if no_build else "auto",
        force_recreate=force_recreate,
        no_recreate=no_recreate,
        remove_orphans=remove_orphans,
        no_start=no_start,
        renew_anon_volumes=renew_anon_volumes,
        timeout=timeout,
        scale=scales,
        wait=wait,
        wait_timeout=wait_timeout,
    )

    from stack import api
    from stack.engine.docker_api import DockerAPI

    if dry_run:

        async def plan_only() -> str:
            docker = DockerAPI.from_env()
            try:
                plan = await api.plan_for_up(docker, project, options)
            finally:
                docker.close()
            for warning in plan.warnings:
                warn(warning)
            return plan.render() if not plan.is_empty() else "nothing to do: the stack is up to date"

        click.echo(run(plan_only))
        return

    from stack.cli.progress import ProgressPrinter

    with ProgressPrinter(project, project.name) as printer:
        result = run(lambda: api.up_async(project, options, progress=printer))
    for warning in result.warnings:
        warn(warning)


_common_options = [
    click.option("--build", is_flag=True, help="Build images before starting containers."),
    click.option("--no-build", is_flag=True, help="Do not build images, even when missing."),
    click.option("--force-recreate", is_flag=True, help="Recreate containers even if nothing changed."),
    click.option("--no-recreate", is_flag=True, help="Never recreate existing containers."),
    click.option("--no-deps", is_flag=True, help="Do not start the named services' dependencies."),
    click.option("--remove-orphans", is_flag=True, help="Remove containers of services not in the file."),
    click.option("-V", "--renew-anon-volumes", is_flag=True, help="New anonymous volumes instead of the old ones."),
    click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait for a stop before a kill."),
    click.option("--scale", multiple=True, metavar="SERVICE=N", help="Number of replicas of a service."),
    click.option("--dry-run", is_flag=True, help="Print the plan and change nothing."),
    click.argument("services", nargs=-1),
]


def _with_common(fn: click.decorators.FC) -> click.decorators.FC:
    for decorator in reversed(_common_options):
        fn = decorator(fn)
    return fn


@click.command()
@click.option("-d", "--detach", is_flag=True, help="Run in the background (return when started).")
@click.option("--no-start", is_flag=True, help="Create containers without starting them.")
@click.option("--wait", is_flag=True, help="Wait for services to be running (healthy if they check).")
@click.option("--wait-timeout", type=float, default=None, help="Seconds to wait for dependencies/--wait.")
@_with_common
@click.pass_context
def up(
    ctx: click.Context,
    /,
    detach: bool,
    no_start: bool,
    wait: bool,
    wait_timeout: float | None,
    services: tuple[str, ...],
    **flags: bool | int | tuple[str, ...] | None,
) -> None:
    """Create and start the stack's containers (only what differs from the file)."""
    _converge(
        ctx,
        services,
        no_start=no_start,
        wait=wait,
        wait_timeout=wait_timeout,
        **flags,  # type: ignore[arg-type]
    )


@click.command()
@_with_common
@click.pass_context
def create(ctx: click.Context, /, services: tuple[str, ...], **flags: bool | int | tuple[str, ...] | None) -> None:
    """Create the stack's containers, networks and volumes without starting them."""
    _converge(ctx, services, no_start=True, **flags)  # type: ignore[arg-type]
