"""`stack attach`: this terminal on a running service container's console, until the detach
keys (ctrl-p,ctrl-q) or the container's end."""

from __future__ import annotations

import sys

import click

from stack.cli.common import GoBoolCommand, project_for, run


@click.command("attach", cls=GoBoolCommand)
@click.option(
    "--detach-keys",
    default=None,
    metavar="KEYS",
    help="Key sequence that detaches (default: detachKeys of the Docker config, else ctrl-p,ctrl-q).",
)
@click.option("--index", type=click.IntRange(min=1), default=None, help="Replica of the service (default: the first).")
@click.option("--no-stdin", is_flag=True, help="Do not attach stdin.")
@click.option(
    "--sig-proxy/--no-sig-proxy",
    default=True,
    show_default=True,
    help="Send the signals stack receives to the container (without a TTY; also --sig-proxy=false).",
)
@click.argument("service")
@click.pass_context
def attach(
    ctx: click.Context, detach_keys: str | None, index: int | None, no_stdin: bool, sig_proxy: bool, service: str
) -> None:
    """Attach this terminal's input and output to SERVICE's running container.

    New output only (`stack logs` has the old).  The detach keys leave the container running;
    when the container stops, stack exits with its exit code.
    """
    from stack import api
    from stack.engine.console import configured_detach_keys

    keys = detach_keys if detach_keys is not None else configured_detach_keys()
    request = api.AttachRequest(detach_keys=keys, stdin=not no_stdin, sig_proxy=sig_proxy)
    name = project_for(ctx, [service])
    result = run(lambda: api.attach_async(name, service, request, index=index))
    sys.exit(0 if result.detached else result.exit_code)
