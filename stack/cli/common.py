"""What the engine-backed commands share: loading the project, running async work, Ctrl-C."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from stack.errors import NoStackFileError

if TYPE_CHECKING:
    from stack.cli.global_options import GlobalOptions
    from stack.spec.models import Project

T = TypeVar("T")


def global_options(ctx: click.Context) -> GlobalOptions:
    from stack.cli.global_options import GlobalOptions

    obj = ctx.find_root().obj
    assert isinstance(obj, GlobalOptions)
    return obj


def load(ctx: click.Context, services: list[str] | None = None) -> Project:
    """The project the flags name (services named on the command line enable their profiles)."""
    from stack.spec.loader import load_project

    return load_project(global_options(ctx).load_options(services))


def _name_without_file(ctx: click.Context, error: NoStackFileError) -> str:
    """-p (or STACK_PROJECT_NAME): how commands that act by labels find the project when no
    stack file exists.  Never the directory's name, as Compose: a `down` typed in the wrong
    directory must not act on a project that merely shares the directory's name."""
    from stack.spec.discovery import validate_project_name

    opts = global_options(ctx)
    if opts.project_name:
        return validate_project_name(opts.project_name)
    raise error


def load_or_name(ctx: click.Context) -> tuple[Project | None, str]:
    """The project, or only its name (-p) when no stack file exists (`down`, `ps` work by labels)."""
    try:
        project = load(ctx)
        return project, project.name
    except NoStackFileError as error:
        return None, _name_without_file(ctx, error)


def name_only(ctx: click.Context, services: list[str] | None = None) -> str:
    """Just the project's name, without the typed models: for commands that act by labels.

    Reads the stack file when there is one (its `name:`, its services for checking `services`),
    else falls back to -p, as `load_or_name` does.
    """
    from stack.spec.loader import load_raw

    try:
        return str(load_raw(global_options(ctx).load_options(services))["name"])
    except NoStackFileError as error:
        return _name_without_file(ctx, error)


def check_services(project: Project, services: list[str]) -> None:
    """An unknown service name is a usage error naming the services that exist."""
    from stack.errors import unknown_service

    known = {**project.services, **project.disabled_services}
    for name in services:
        if name not in known:
            raise unknown_service(name, known)


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run async engine work; the first Ctrl-C cancels it cleanly (structured concurrency)."""
    import anyio

    try:
        return anyio.run(fn)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


def run_until_signalled(fn: Callable[[], Awaitable[object]], on_signal: Callable[[], None] | None = None) -> bool:
    """Run a long-running command (`watch`, `autoscale`, `stats --record`) until it ends or
    SIGINT/SIGTERM arrives, which cancels it cleanly (`on_signal` is told first); whether a
    signal stopped it.  A StackError raised inside reaches the user as itself."""
    import signal

    import anyio

    from stack.engine.taskgroups import unwrapped

    signalled = False

    async def main() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals, unwrapped():
            async with anyio.create_task_group() as tg:

                async def stop() -> None:
                    nonlocal signalled
                    async for _ in signals:
                        signalled = True
                        if on_signal is not None:
                            on_signal()
                        tg.cancel_scope.cancel()
                        return

                tg.start_soon(stop)
                await fn()
                tg.cancel_scope.cancel()

    run(main)
    return signalled


def warn(message: str) -> None:
    click.echo(f"WARN: {message}", err=True)


def project_for(ctx: click.Context, services: list[str]) -> str:
    """The project's name for a command acting by labels, the named services checked against
    the stack file when there is one."""
    project, name = load_or_name(ctx)
    if project is not None and services:
        check_services(project, services)
    return name


# Go's strconv.ParseBool, which Compose's `--flag=VALUE` spelling of a boolean flag goes through.
_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class GoBoolCommand(click.Command):
    """A command whose `--x/--no-x` flags also take Compose's spelling `--x=false`, `--x=true`
    (e.g. `commit --pause=false`, `attach --sig-proxy=false`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags: dict[str, tuple[str, str]] = {}
        for param in self.params:
            if isinstance(param, click.Option) and param.is_bool_flag and param.secondary_opts:
                on = next((o for o in param.opts if o.startswith("--")), None)
                off = next((o for o in param.secondary_opts if o.startswith("--")), None)
                if on and off:
                    flags[on] = (on, off)
        rewritten: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                rewritten += args[i:]
                break
            name, eq, value = arg.partition("=")
            if eq and name in flags and value in _GO_TRUE | _GO_FALSE:
                arg = flags[name][0] if value in _GO_TRUE else flags[name][1]
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)
