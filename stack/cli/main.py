"""The `stack` command group: global options, lazy sub-commands, one error handler.

Sub-commands are imported only when invoked, so `stack --version`, `stack --help` and
`stack config` never import docker, anyio or rich (start-up time is a feature).
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

from stack import __version__
from stack.cli.global_options import GlobalOptions
from stack.errors import StackError

# verb -> "module:attribute"; one module per verb or close family.
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("stack.cli.config_cmd:config", "Parse, resolve and render the stack file"),
    "up": ("stack.cli.up_cmd:up", "Create and start containers"),
    "scale": ("stack.cli.up_cmd:scale", "Set the number of replicas of services"),
    "create": ("stack.cli.up_cmd:create", "Create containers without starting them"),
    "down": ("stack.cli.down_cmd:down", "Stop and remove containers, networks (and volumes)"),
    "ps": ("stack.cli.ps_cmd:ps", "List the project's containers"),
    "build": ("stack.cli.build_cmd:build", "Build or rebuild service images"),
    "pull": ("stack.cli.pull_cmd:pull", "Pull service images"),
    "push": ("stack.cli.push_cmd:push", "Push service images"),
    "init": ("stack.cli.init_cmd:init", "Write a new project from a template"),
    "logs": ("stack.cli.logs_cmd:logs", "Show the output of the project's containers"),
    "exec": ("stack.cli.exec_cmd:exec_", "Run a command in a running service container"),
    "run": ("stack.cli.exec_cmd:run_", "Run a one-off command in a new container of a service"),
    "start": ("stack.cli.lifecycle_cmd:start", "Start existing containers"),
    "stop": ("stack.cli.lifecycle_cmd:stop", "Stop running containers without removing them"),
    "restart": ("stack.cli.lifecycle_cmd:restart", "Restart containers"),
    "kill": ("stack.cli.lifecycle_cmd:kill", "Send a signal to running containers"),
    "pause": ("stack.cli.lifecycle_cmd:pause", "Pause running containers"),
    "unpause": ("stack.cli.lifecycle_cmd:unpause", "Resume paused containers"),
    "rm": ("stack.cli.lifecycle_cmd:rm", "Remove stopped containers"),
    "wait": ("stack.cli.lifecycle_cmd:wait", "Block until containers exit; print their exit codes"),
    "top": ("stack.cli.inspect_cmd:top", "Show the processes running in each container"),
    "port": ("stack.cli.inspect_cmd:port", "Print the host address a container port is published on"),
    "images": ("stack.cli.inspect_cmd:images", "List the images the project's containers use"),
    "ls": ("stack.cli.inspect_cmd:ls", "List the stacks running on this daemon"),
    "events": ("stack.cli.inspect_cmd:events", "Stream the project's container events"),
    "stats": ("stack.cli.inspect_cmd:stats", "Live CPU, memory, network and block I/O per container"),
    "attach": ("stack.cli.attach_cmd:attach", "Attach this terminal to a service's running container"),
    "cp": ("stack.cli.cp_cmd:cp", "Copy files/folders between a service container and the local filesystem"),
    "volumes": ("stack.cli.volumes_cmd:volumes", "List the project's volumes"),
    "version": ("stack.cli.version_cmd:version", "Show stack's version"),
    "commit": ("stack.cli.commit_cmd:commit", "Create a new image from a service container's changes"),
    "export": ("stack.cli.export_cmd:export", "Export a service container's filesystem as a tar archive"),
    "watch": ("stack.cli.watch_cmd:watch", "Sync, restart or rebuild services as their files change"),
    "autoscale": ("stack.cli.autoscale_cmd:autoscale", "Scale services on CPU or request rate (x-autoscale)"),
    "swarm": ("stack.cli.swarm_cmd:swarm", "Deploy the stack to Docker Swarm: deploy, ps, services, rm, rollback"),
    "convert": ("stack.cli.convert_cmd:convert", "Translate the stack for another orchestrator: kubernetes"),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists commands from the registry without importing any of them.
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f",
    "--file",
    "files",
    multiple=True,
    metavar="FILE",
    help="Stack file(s); repeatable. Default: STACK_FILE or COMPOSE_FILE, else stack.yaml, compose.yaml, ...",
)
@click.option(
    "-p",
    "--project-name",
    default=None,
    help="Project name (default: STACK_PROJECT_NAME or COMPOSE_PROJECT_NAME, else name:, else the directory).",
)
@click.option("--project-directory", default=None, help="Working directory of the project.")
@click.option("--env-file", "env_files", multiple=True, metavar="PATH", help="Variables file(s); repeatable.")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile; repeatable.")
@click.option("--ansi", type=click.Choice(["never", "always", "auto"]), default="auto", help="Colour control.")
@click.option(
    "--no-wait-lock",
    is_flag=True,
    help="Fail at once when another stack command is changing the project (default: wait for it).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="How long to wait for another stack command changing the project (default 300, STACK_LOCK_TIMEOUT).",
)
@click.option(
    "--parallel",
    type=int,
    default=None,
    metavar="N",
    help="Max daemon calls at once: N >= 1, -1 for no limit (default 16; STACK_/COMPOSE_PARALLEL_LIMIT).",
)
@click.version_option(__version__, "--version", prog_name="stack", message="stack version %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    files: tuple[str, ...],
    project_name: str | None,
    project_directory: str | None,
    env_files: tuple[str, ...],
    profiles: tuple[str, ...],
    ansi: str,
    no_wait_lock: bool,
    lock_timeout: float | None,
    parallel: int | None,
) -> None:
    """stack: run multi-container stacks described by a Compose-style stack file."""
    before = ctx.obj  # what main() was told (by the entry point's quick path), if anything
    ctx.obj = GlobalOptions.from_flags(
        files=list(files),
        project_name=project_name,
        project_directory=project_directory,
        env_files=list(env_files),
        profiles=list(profiles),
        no_ansi=ansi == "never",
        lock_wait=not no_wait_lock,
        lock_timeout=lock_timeout,
        parallel=parallel,
    )
    # Every daemon facade this command opens reads the bound from the environment.
    ctx.call_on_close(ctx.obj.export_parallel())
    ctx.obj.noop_checked = isinstance(before, dict) and bool(before.get("noop_checked"))


def fail(error: StackError) -> NoReturn:
    """Print one readable message for a StackError and exit with its code."""
    click.echo(f"error: {error.render()}", err=True)
    sys.exit(error.exit_code)


def _unwrap(error: BaseException) -> BaseException:
    """The error to report from an exception group (concurrent tasks failing together).

    A StackError wins over anything else, and the first one over the others; an interrupt
    (KeyboardInterrupt, cancellation) is reported as such.
    """
    if isinstance(error, BaseExceptionGroup):
        leaves = [_unwrap(e) for e in error.exceptions]
        for leaf in leaves:
            if isinstance(leaf, StackError):
                return leaf
        for leaf in leaves:
            if isinstance(leaf, KeyboardInterrupt):
                return leaf
        return leaves[0] if leaves else error
    return error


def main(argv: list[str] | None = None, *, noop_checked: bool = False) -> None:
    """Run the CLI, turning our errors into messages and codes.

    `noop_checked`: the entry point already asked whether this `up -d` has nothing to do, and
    it has something to do (see stack.cli.quick); `up` then does not ask again.
    """
    try:
        cli.main(args=argv, prog_name="stack", standalone_mode=False, obj={"noop_checked": noop_checked})
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if e.exit_code in (1, 2) else e.exit_code)
    except StackError as e:
        fail(e)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BaseExceptionGroup as group:
        error = _unwrap(group)
        if isinstance(error, StackError):
            fail(error)
        if isinstance(error, KeyboardInterrupt):
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        raise
    sys.exit(0)


if __name__ == "__main__":
    main()
