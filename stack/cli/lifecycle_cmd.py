"""`stack start/stop/restart/kill/pause/unpause/rm/wait`: act on existing containers.

Containers are found by our labels, so these work without the stack file (name the project
with -p).  start/restart go dependencies first, stop goes dependents first.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import click

from stack.cli.common import check_services, global_options, load_or_name, run


def _project(ctx: click.Context, services: tuple[str, ...]) -> str:
    """The project name; named services are checked against the stack file when there is one."""
    project, name = load_or_name(ctx)
    if project is not None and services:
        check_services(project, list(services))
    return name


def _report(names: list[str], done: str) -> None:
    for name in names:  # in the order acted on: dependencies before dependents, or after for stop
        click.echo(f" Container {name}  {done}", err=True)


def _act(ctx: click.Context, services: tuple[str, ...], done: str, fn: Callable[[str], Awaitable[list[str]]]) -> None:
    name = _project(ctx, services)
    _report(run(lambda: fn(name)), done)


_services = click.argument("services", nargs=-1)
_timeout = click.option("-t", "--timeout", type=int, default=None, help="Seconds to wait for a stop before a kill.")


@click.command()
@_services
@click.pass_context
def start(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Start existing containers (dependencies first)."""
    from stack import api

    lock = global_options(ctx).lock_policy()
    _act(ctx, services, "Started", lambda p: api.start_async(p, list(services), lock=lock))


@click.command()
@_timeout
@_services
@click.pass_context
def stop(ctx: click.Context, timeout: int | None, services: tuple[str, ...]) -> None:
    """Stop running containers without removing them (dependents first)."""
    from stack import api

    lock = global_options(ctx).lock_policy()
    _act(ctx, services, "Stopped", lambda p: api.stop_async(p, list(services), timeout=timeout, lock=lock))


@click.command()
@_timeout
@click.option("--no-deps", is_flag=True, hidden=True, help="Accepted for Compose compatibility.")
@_services
@click.pass_context
def restart(ctx: click.Context, timeout: int | None, no_deps: bool, services: tuple[str, ...]) -> None:
    """Restart containers (dependencies first)."""
    from stack import api

    lock = global_options(ctx).lock_policy()
    _act(ctx, services, "Restarted", lambda p: api.restart_async(p, list(services), timeout=timeout, lock=lock))


@click.command()
@click.option("-s", "--signal", "sig", default="SIGKILL", show_default=True, help="Signal to send.")
@click.option("--remove-orphans", is_flag=True, hidden=True, help="Accepted for Compose compatibility.")
@_services
@click.pass_context
def kill(ctx: click.Context, sig: str, remove_orphans: bool, services: tuple[str, ...]) -> None:
    """Send a signal (SIGKILL by default) to running containers."""
    from stack import api

    _act(ctx, services, "Killed", lambda p: api.kill_async(p, list(services), signal=sig))


@click.command()
@_services
@click.pass_context
def pause(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Pause (freeze) running containers."""
    from stack import api

    _act(ctx, services, "Paused", lambda p: api.pause_async(p, list(services)))


@click.command()
@_services
@click.pass_context
def unpause(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Resume paused containers."""
    from stack import api

    _act(ctx, services, "Unpaused", lambda p: api.unpause_async(p, list(services)))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("-s", "--stop", "stop_first", is_flag=True, help="Stop the containers first.")
@click.option("-v", "--volumes", is_flag=True, help="Remove their anonymous volumes too.")
@_services
@click.pass_context
def rm(ctx: click.Context, force: bool, stop_first: bool, volumes: bool, services: tuple[str, ...]) -> None:
    """Remove stopped containers (one-off `run` containers too)."""
    from stack import api

    name = _project(ctx, services)
    candidates = run(lambda: api.removable_async(name, list(services), stopped_too=stop_first))
    if not candidates:
        click.echo("No stopped containers", err=True)
        return
    click.echo(f"Going to remove {', '.join(c.name for c in candidates)}", err=True)
    # Ask only someone who can answer: scripts and CI (no terminal) proceed, as with -f.
    if not force and sys.stdin.isatty() and not click.confirm("Are you sure?", default=False, err=True):
        return
    lock = global_options(ctx).lock_policy()
    removed = run(lambda: api.remove_async(name, list(services), stop_first=stop_first, volumes=volumes, lock=lock))
    _report(removed, "Removed")


@click.command()
@click.option("--down-project", is_flag=True, help="Take the whole project down once the first container exits.")
@click.argument("services", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, down_project: bool, services: tuple[str, ...]) -> None:
    """Block until the containers of SERVICES exit; print their exit codes (exit with the first)."""
    from stack import api

    name = _project(ctx, services)
    order: list[int] = []

    def on_exit(container: str, code: int) -> None:
        order.append(code)
        click.echo(str(code))

    run(lambda: api.wait_async(name, list(services), on_exit=on_exit, down_project=down_project))
    sys.exit(order[0] if order else 0)
