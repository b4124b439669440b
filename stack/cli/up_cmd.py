"""`stack up` and `stack create`: converge the daemon to the stack file."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from stack.cli.common import check_services, global_options, load, run, warn
from stack.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from stack.api import UpResult
    from stack.cli.logs_cmd import PrefixPrinter
    from stack.engine.attach import AttachOptions
    from stack.engine.docker_api import DockerAPI
    from stack.engine.logs import LogTarget
    from stack.plan.options import UpOptions
    from stack.spec.models import Project


def _scale_pairs(values: tuple[str, ...], *, command: str = "up") -> dict[str, int]:
    """SERVICE=N pairs of `up --scale` or of `scale` (`command`): an error shows the form typed."""
    out: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not name or not count.isdigit():
            example = f"{name.strip() or 'api'}=3"
            if command == "scale":
                raise UsageError(f"invalid scale argument {value!r}", hint=f"use SERVICE=N, e.g. stack scale {example}")
            raise UsageError(f"invalid --scale {value!r}", hint=f"use --scale SERVICE=N, e.g. --scale {example}")
        out[name] = int(count)
    return out


def _left_running(project: Project, options: UpOptions, result: UpResult) -> list[tuple[str, str]]:
    """(service, container name) of the running containers of the services `up` selected that
    no plan node touched: up to date, shown as `Running` as Compose shows them."""
    from stack.plan.graph import ServiceGraph

    if result.observed is None:
        return []
    selected = set(
        ServiceGraph(project.services).select(options.services or sorted(project.services), no_deps=options.no_deps)
    )
    touched = {node.resource for plan in result.plans for node in plan.nodes}
    seen = sorted(result.observed.containers, key=lambda c: (c.service, c.number))
    return [
        (c.service, c.name)
        for c in seen
        if not c.one_off and c.running and c.service in selected and f"service:{c.service}:{c.number}" not in touched
    ]


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
    attached: AttachFlags | None = None,
) -> int:
    from stack.plan.options import UpOptions

    if build and no_build:
        raise UsageError("--build and --no-build cannot be combined")
    if force_recreate and no_recreate:
        raise UsageError("--force-recreate and --no-recreate cannot be combined")
    plain = not (services or build or force_recreate or no_recreate or no_deps or remove_orphans or renew_anon_volumes)
    if plain and not (scale or dry_run or no_start) and attached is None:
        from stack.cli.fastpath import converged, report_running

        # A no-op `up -d` answers without the models or the Docker SDK (see cli.fastpath),
        # unless the entry point already asked, before click, and was told no (cli.quick).
        opts = global_options(ctx)
        running = None if opts.noop_checked else converged(opts.load_options(), need_healthy=wait)
        if running is not None:
            report_running(running, opts.echo)
            return 0
    project = load(ctx, list(services))
    check_services(project, list(services))
    if attached is not None and attached.watch:
        from stack.api.watch import check_watchable

        check_watchable(project, list(services))  # before anything starts, as Compose
    if attached is not None and attached.autoscale:
        from stack.api.autoscale import check_autoscalable

        check_autoscalable(project, list(services))  # a missing x-autoscale: before anything starts
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
        return 0

    from stack.cli.progress import ProgressPrinter

    began = time.time()
    docker = DockerAPI.from_env()
    try:
        with ProgressPrinter(project, project.name, scales=scales) as printer:
            lock = global_options(ctx).lock_policy()
            result = run(lambda: api.up_async(project, options, progress=printer, api=docker, lock=lock))
            printer.show_running(_left_running(project, options, result))
        for warning in result.warnings:
            warn(warning)
        if attached is None:
            return 0
        return _attach(ctx, project, docker, attached, began, timeout, scales, list(services))
    finally:
        docker.close()


@dataclass(frozen=True)
class AttachFlags:
    attach: tuple[str, ...]
    no_attach: tuple[str, ...]
    abort_on_exit: bool
    abort_on_failure: bool
    exit_code_from: str | None
    no_color: bool
    no_log_prefix: bool
    watch: bool = False  # --watch: also act on the services' file changes (develop.watch)
    autoscale: bool = False  # --autoscale: also scale the services with x-autoscale


def _attach(
    ctx: click.Context,
    project: Project,
    docker: DockerAPI,
    flags: AttachFlags,
    began: float,
    timeout: int | None,
    scales: dict[str, int],
    selected: list[str],
) -> int:
    """Attached `up`: the services' logs until they stop, an abort rule fires or Ctrl-C (130);
    with --watch, the file changes of the `selected` services acted on meanwhile."""
    from stack.cli.logs_cmd import PrefixPrinter, log_label, use_colour
    from stack.engine.attach import AttachOptions, attach
    from stack.plan.naming import service_container_name

    check_services(project, [*flags.attach, *flags.no_attach])
    if flags.exit_code_from:
        check_services(project, [flags.exit_code_from])
    services = list(flags.attach) or sorted(project.services)
    services = [s for s in services if s not in flags.no_attach]
    if flags.exit_code_from and flags.exit_code_from not in services:
        services.append(flags.exit_code_from)
    printer = PrefixPrinter(project.name, prefix=not flags.no_log_prefix, colour=use_colour(ctx, flags.no_color))
    # The prefix column is sized once, before the first line, from every container that can
    # appear: the replicas the file and --scale ask for, and those found when attaching.
    printer.reserve(
        log_label(project.name, service_container_name(project.name, s, project.services[s], n), s, n)
        for s in services
        for n in range(1, scales.get(s, project.services[s].replicas) + 1)
    )

    def attaching(targets: list[LogTarget]) -> None:
        labels = [log_label(project.name, t.name, t.service, t.number) for t in targets]
        printer.reserve(labels)
        ordered = sorted(zip(targets, labels, strict=True), key=lambda tl: (tl[0].service, tl[0].number, tl[1]))
        click.echo(f"Attaching to {', '.join(label for _, label in ordered)}")

    options = AttachOptions(
        services=services,
        since=began,
        abort_on_exit=flags.abort_on_exit,
        abort_on_failure=flags.abort_on_failure,
        exit_code_from=flags.exit_code_from,
        stop_timeout=timeout,
        keep_following=flags.watch or flags.autoscale,
    )

    def notice(text: str) -> None:
        click.echo(text, err=True)

    if flags.autoscale:
        return _attach_autoscaling(ctx, project, docker, flags, options, printer, attaching, selected)
    if not flags.watch:
        return run(lambda: attach(docker, project, options, printer, notice, on_start=attaching))

    import anyio

    from stack.api.watch import WatchOptions, watch_async
    from stack.cli.watch_cmd import watch_output

    opts = global_options(ctx)
    watching = WatchOptions(services=selected, up=False, follow_logs=False)
    output = watch_output(project, quiet=False, on_line=printer)

    async def attached_watch() -> int:
        load_options, lock = opts.load_options(selected), opts.lock_policy()
        # Ended when attach begins to stop the services: watch must not bring them back.
        watch_scope = anyio.CancelScope()

        async def watch_files() -> None:
            with watch_scope:
                await watch_async(load_options, watching, output=output, api=docker, lock=lock)

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_files)
            stop_watching = watch_scope.cancel
            code = await attach(docker, project, options, printer, notice, on_start=attaching, on_stop=stop_watching)
            tg.cancel_scope.cancel()
        return code

    return run(attached_watch)


def _attach_autoscaling(
    ctx: click.Context,
    project: Project,
    docker: DockerAPI,
    flags: AttachFlags,
    options: AttachOptions,
    printer: PrefixPrinter,
    attaching: Callable[[list[LogTarget]], None],
    selected: list[str],
) -> int:
    """Attached `up --autoscale` (and --watch): the logs, with the autoscaler's decisions as plain
    lines on stderr, until the services stop (the autoscaler ends first: it must not scale them)."""
    import anyio

    from stack.api.autoscale import AutoscaleOptions, autoscale_async
    from stack.cli.autoscale_cmd import DecisionPrinter
    from stack.engine.attach import attach
    from stack.engine.taskgroups import unwrapped

    opts = global_options(ctx)
    decisions = DecisionPrinter(live=False)

    def notice(text: str) -> None:
        click.echo(text, err=True)

    async def attached_autoscale() -> int:
        lock = opts.lock_policy()
        background = anyio.CancelScope()  # ended when attach begins to stop the services

        async def scale() -> None:
            with background:
                await autoscale_async(
                    project, AutoscaleOptions(services=selected), output=decisions.output(), api=docker, lock=lock
                )

        async def watch_files() -> None:
            from stack.api.watch import WatchOptions, watch_async
            from stack.cli.watch_cmd import watch_output

            watching = WatchOptions(services=selected, up=False, follow_logs=False)
            output = watch_output(project, quiet=False, on_line=printer)
            with background:
                await watch_async(opts.load_options(selected), watching, output=output, api=docker, lock=lock)

        with unwrapped():  # an error of the autoscaler's set-up reaches the user as itself
            async with anyio.create_task_group() as tg:
                tg.start_soon(scale)
                if flags.watch:
                    tg.start_soon(watch_files)
                code = await attach(
                    docker, project, options, printer, notice, on_start=attaching, on_stop=background.cancel
                )
                tg.cancel_scope.cancel()
        return code

    return run(attached_autoscale)


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
@click.option("--attach", multiple=True, metavar="SERVICE", help="Show the logs of these services only.")
@click.option("--no-attach", multiple=True, metavar="SERVICE", help="Do not show the logs of these services.")
@click.option("--abort-on-container-exit", is_flag=True, help="Stop everything when any container stops.")
@click.option("--abort-on-container-failure", is_flag=True, help="Stop everything when a container fails.")
@click.option("--exit-code-from", default=None, metavar="SERVICE", help="Return this service's exit code.")
@click.option("--no-color", is_flag=True, help="Monochrome log output.")
@click.option("--no-log-prefix", is_flag=True, help="Do not prefix log lines with the container name.")
@click.option("-w", "--watch", is_flag=True, help="Watch the services' files (develop.watch) while attached.")
@click.option("--autoscale", is_flag=True, help="Autoscale the services with x-autoscale while attached.")
@_with_common
@click.pass_context
def up(
    ctx: click.Context,
    /,
    detach: bool,
    no_start: bool,
    wait: bool,
    wait_timeout: float | None,
    attach: tuple[str, ...],
    no_attach: tuple[str, ...],
    abort_on_container_exit: bool,
    abort_on_container_failure: bool,
    exit_code_from: str | None,
    no_color: bool,
    no_log_prefix: bool,
    watch: bool,
    autoscale: bool,
    services: tuple[str, ...],
    **flags: bool | int | tuple[str, ...] | None,
) -> None:
    """Create and start the stack's containers (only what differs from the file).

    Without -d (or --wait) stay attached: stream every service's logs until they stop;
    Ctrl-C stops them gracefully, a second Ctrl-C kills them.  With --watch, also sync,
    restart or rebuild services as their files change (see `stack watch`).
    """
    aborting = abort_on_container_exit or abort_on_container_failure or exit_code_from is not None
    if detach and aborting:
        raise UsageError("-d cannot be combined with --abort-on-container-exit/--exit-code-from")
    if watch and (detach or wait or no_start or flags.get("dry_run")):
        raise UsageError("--watch needs an attached `up`: not with -d, --wait, --no-start or --dry-run")
    if autoscale and (detach or wait or no_start or flags.get("dry_run") or aborting):
        raise UsageError(
            "--autoscale needs an attached `up`: not with -d, --wait, --no-start, --dry-run or --abort-on-*",
            hint="run `stack autoscale` after `up -d` (--abort-on-* would take a scaled-down replica for an exit)",
        )
    attached = None
    if not (detach or wait or no_start or flags.get("dry_run")):
        attached = AttachFlags(
            attach,
            no_attach,
            abort_on_container_exit,
            abort_on_container_failure,
            exit_code_from,
            no_color,
            no_log_prefix,
            watch,
            autoscale,
        )
    code = _converge(
        ctx,
        services,
        no_start=no_start,
        wait=wait,
        wait_timeout=wait_timeout,
        attached=attached,
        **flags,  # type: ignore[arg-type]
    )
    if code:
        sys.exit(code)


@click.command()
@_with_common
@click.pass_context
def create(ctx: click.Context, /, services: tuple[str, ...], **flags: bool | int | tuple[str, ...] | None) -> None:
    """Create the stack's containers, networks and volumes without starting them."""
    _converge(ctx, services, no_start=True, **flags)  # type: ignore[arg-type]


@click.command()
@click.option("--no-deps", is_flag=True, help="Do not start the services' dependencies.")
@click.option("--wait", is_flag=True, help="Wait for the new replicas to be running (healthy if they check).")
@click.option("--wait-timeout", type=float, default=None, help="Seconds to wait with --wait.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.argument("pairs", nargs=-1, required=True, metavar="SERVICE=N...")
@click.pass_context
def scale(
    ctx: click.Context, /, no_deps: bool, wait: bool, wait_timeout: float | None, dry_run: bool, pairs: tuple[str, ...]
) -> None:
    """Set the number of replicas of services (never recreates the replicas that stay)."""
    counts = _scale_pairs(pairs, command="scale")
    _converge(
        ctx,
        tuple(counts),
        no_start=False,
        build=False,
        no_build=False,
        force_recreate=False,
        no_recreate=False,
        no_deps=no_deps,
        remove_orphans=False,
        renew_anon_volumes=False,
        timeout=None,
        scale=pairs,
        dry_run=dry_run,
        wait=wait,
        wait_timeout=wait_timeout,
    )
