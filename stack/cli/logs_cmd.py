"""`stack logs`: the project's container logs, prefixed `name  | ` and coloured per service."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from stack.cli.common import check_services, global_options, load_or_name, run
from stack.errors import UsageError

if TYPE_CHECKING:
    from stack.engine.logs import LogLine

# Compose's palette order: one colour per service, in the order the services are met.
_COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")


def use_colour(ctx: click.Context, no_color: bool) -> bool:
    """Colour only on a terminal, and never with --no-color, --ansi never or NO_COLOR."""
    if no_color or global_options(ctx).no_ansi or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


class PrefixPrinter:
    """Prints log lines as `name-1  | text`, the names padded to one width."""

    def __init__(self, *, prefix: bool, colour: bool, width: int = 0) -> None:
        self.prefix = prefix
        self.colour = colour
        self.width = width
        self._colours: dict[str, str] = {}

    def _colour_of(self, service: str) -> str:
        if service not in self._colours:
            self._colours[service] = _COLOURS[len(self._colours) % len(_COLOURS)]
        return self._colours[service]

    def format(self, line: LogLine) -> str:
        if not self.prefix:
            return line.text
        self.width = max(self.width, len(line.container))
        head = f"{line.container.ljust(self.width)}  | "
        if self.colour:
            head = f"\x1b[{self._colour_of(line.service)}m{head}\x1b[0m"
        return head + line.text

    def __call__(self, line: LogLine) -> None:
        sys.stdout.write(self.format(line) + "\n")
        sys.stdout.flush()


def _tail(value: str) -> int | None:
    if value == "all":
        return None
    try:
        count = int(value)
    except ValueError:
        raise UsageError(f"invalid --tail {value!r}", hint="give a number of lines, or `all`") from None
    return None if count < 0 else count


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output (and containers that start later).")
@click.option("-n", "--tail", default="all", help="Number of lines from the end of each log (or `all`).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--since", default=None, help="Logs since a time (2024-05-01T10:00:00Z) or duration ago (42m).")
@click.option("--until", default=None, help="Logs before a time or duration ago.")
@click.option("--no-color", is_flag=True, help="Monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Do not prefix lines with the container name.")
@click.option("--index", type=int, default=None, help="Only this replica of the services.")
@click.argument("services", nargs=-1)
@click.pass_context
def logs(
    ctx: click.Context,
    follow: bool,
    tail: str,
    timestamps: bool,
    since: str | None,
    until: str | None,
    no_color: bool,
    no_log_prefix: bool,
    index: int | None,
    services: tuple[str, ...],
) -> None:
    """Show the output of the project's containers (all services when none are named)."""
    from stack import api_ops
    from stack.engine.logs import LogOptions, parse_time

    project, name = load_or_name(ctx)
    if project is not None and services:
        check_services(project, list(services))
    options = LogOptions(
        follow=follow,
        tail=_tail(tail),
        since=parse_time(since, flag="--since") if since else None,
        until=parse_time(until, flag="--until") if until else None,
        timestamps=timestamps,
    )
    printer = PrefixPrinter(prefix=not no_log_prefix, colour=use_colour(ctx, no_color))

    def size(names: list[str]) -> None:
        printer.width = max([printer.width, *(len(n) for n in names)])

    run(lambda: api_ops.logs_async(name, printer, list(services), options, index=index, on_start=size))
