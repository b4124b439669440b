"""`stack exec` (a command in a running service container) and `stack run` (a one-off container).

Both exit with the command's own exit code, so they compose in scripts and CI:
`stack exec db pg_isready || ...`, `stack run --rm test pytest`.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys

import click

from stack.cli.common import check_services, global_options, load, load_or_name, run
from stack.errors import UsageError

# Everything after SERVICE belongs to the command: `stack exec web ls -la` must not read -la.
_PASSTHROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}


def parse_env(values: tuple[str, ...]) -> dict[str, str]:
    """`-e KEY=VALUE` pairs; a bare `-e KEY` takes the value from our environment, as Docker."""
    import os

    env: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not key:
            raise UsageError(f"invalid --env {value!r}", hint="use -e KEY=VALUE")
        if sep:
            env[key] = val
        elif key in os.environ:
            env[key] = os.environ[key]
    return env


def _wants_tty(no_tty: bool) -> bool:
    """A TTY when we are interactive (stdin and stdout are terminals) and -T was not given."""
    return not no_tty and sys.stdin.isatty() and sys.stdout.isatty()


@click.command("exec", context_settings=_PASSTHROUGH)
@click.option("-d", "--detach", is_flag=True, help="Run the command in the background.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Do not allocate a TTY (default: when interactive).")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE", help="Set an environment variable.")
@click.option("-u", "--user", default=None, help="Run as this user.")
@click.option("-w", "--workdir", default=None, help="Working directory of the command.")
@click.option("--index", type=int, default=1, show_default=True, help="Replica of the service.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(
    ctx: click.Context,
    detach: bool,
    no_tty: bool,
    env: tuple[str, ...],
    user: str | None,
    workdir: str | None,
    index: int,
    privileged: bool,
    service: str,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND in a running container of SERVICE; exit with its exit code."""
    from stack import api

    project, name = load_or_name(ctx)
    if project is not None:
        check_services(project, [service])
    request = api.ExecRequest(
        command=list(command),
        env=parse_env(env),
        user=user,
        workdir=workdir,
        privileged=privileged,
        tty=_wants_tty(no_tty) and not detach,
        detach=detach,
    )
    code = run(lambda: api.exec_async(name, service, request, index=index))
    sys.exit(code)


@click.command("run", context_settings=_PASSTHROUGH)
@click.option("-d", "--detach", is_flag=True, help="Run in the background; print the container name.")
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE", help="Set an environment variable.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Add a label.")
@click.option("--no-deps", is_flag=True, help="Do not start the service's dependencies.")
@click.option("--entrypoint", default=None, help="Override the image's entrypoint.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Do not allocate a TTY (default: when interactive).")
@click.option("--name", default=None, help="Name of the container (default {project}-{service}-run-{id}).")
@click.option("-p", "--publish", multiple=True, metavar="[HOST:]CONTAINER", help="Publish a port; repeatable.")
@click.option("-P", "--service-ports", is_flag=True, help="Publish the service's ports (not by default).")
@click.option("-u", "--user", default=None, help="Run as this user.")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run_(
    ctx: click.Context,
    detach: bool,
    remove: bool,
    env: tuple[str, ...],
    labels: tuple[str, ...],
    no_deps: bool,
    entrypoint: str | None,
    no_tty: bool,
    name: str | None,
    publish: tuple[str, ...],
    service_ports: bool,
    user: str | None,
    workdir: str | None,
    service: str,
    command: tuple[str, ...],
) -> None:
    """Run a one-off container of SERVICE (its command, or COMMAND); exit with its exit code."""
    from stack import api

    project = load(ctx, [service])
    check_services(project, [service])
    label_map: dict[str, str] = {}
    for label in labels:
        key, sep, value = label.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid --label {label!r}", hint="use -l KEY=VALUE")
        label_map[key] = value
    options = api.RunOptions(
        command=list(command) if command else None,
        entrypoint=shlex.split(entrypoint) if entrypoint is not None else None,
        env=parse_env(env),
        user=user,
        workdir=workdir,
        name=name,
        remove=remove,
        no_deps=no_deps,
        publish=list(publish),
        service_ports=service_ports,
        tty=_wants_tty(no_tty) and not detach,
        detach=detach,
        labels=label_map,
    )
    lock = global_options(ctx).lock_policy()
    if not no_deps and service in project.services:
        # Dependencies first, with the same progress lines as `up` (on stderr).
        from stack import api
        from stack.cli.progress import ProgressPrinter
        from stack.plan.graph import ServiceGraph
        from stack.plan.options import UpOptions

        deps = ServiceGraph(project.services).dependencies(service, transitive=True)
        if deps:
            from stack.api.oneoff import check_run_async

            # What would fail the run's own container fails before its dependencies start.
            run(lambda: check_run_async(project, service, options))
            with ProgressPrinter(project, project.name) as printer:
                run(lambda: api.up_async(project, UpOptions(services=deps), progress=printer, lock=lock))
        options = dataclasses.replace(options, no_deps=True)
    result = run(lambda: api.run_async(project, service, options, lock=lock))
    if detach:
        click.echo(result.container)
    sys.exit(result.exit_code)
