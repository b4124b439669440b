"""`stack logs`: the project's container logs, prefixed `api-1  | ` as Compose does, coloured per service."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from stack.cli.common import check_services, global_options, load_or_name, run
from stack.errors import UsageError
from stack.plan.naming import container_name, service_container_name

if TYPE_CHECKING:
    from stack.engine.logs import LogLine

# Compose's palette order: one colour per service, in the order the services are met.
_COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")
_REPLICA = re.compile(r".+-[0-9]+")


def use_colour(ctx: click.Context, no_color: bool) -> bool:
    """Colour only on a terminal, and never with --no-color, --ansi never or NO_COLOR."""
    if no_color or global_options(ctx).no_ansi or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def log_label(project: str, container: str, service: str, number: int) -> str:
    """A log line's prefix, as Compose prints it: `api-1` (the container name without the
    project), or the whole name of a container the service names itself (`container_name`)."""
    if container == container_name(project, service, number):
        return f"{service}-{number}"
    return container


def label_from_name(project: str, container: str) -> str:
    """`log_label` from a container name alone (for sizing the prefix column before the lines
    come): `{project}-{service}-{n}` loses its project."""
    rest = container.removeprefix(f"{project}-")
    return rest if rest != container and _REPLICA.fullmatch(rest) else container


class PrefixPrinter:
    """Prints log lines as `api-1  | text`, the labels padded to one width.

    Reserve the labels of every container that can appear before the first line (`reserve`),
    so the column never moves mid-stream; a container nobody foresaw widens it.
    """

    def __init__(self, project: str, *, prefix: bool, colour: bool, width: int = 0) -> None:
        self.project = project
        self.prefix = prefix
        self.colour = colour
        self.width = width
        self._colours: dict[str, str] = {}

    def reserve(self, labels: Iterable[str]) -> None:
        self.width = max([self.width, *(len(label) for label in labels)])

    def _colour_of(self, service: str) -> str:
        if service not in self._colours:
            self._colours[service] = _COLOURS[len(self._colours) % len(_COLOURS)]
        return self._colours[service]

    def format(self, line: LogLine) -> str:
        if not self.prefix:
            return line.text
        label = log_label(self.project, line.container, line.service, line.number)
        self.width = max(self.width, len(label))
        # Compose's `%-{width+1}s | `: the longest label, then two spaces before the bar.
        head = f"{label.ljust(self.width)}  | "
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
    from stack import api
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
    printer = PrefixPrinter(name, prefix=not no_log_prefix, colour=use_colour(ctx, no_color))
    if project is not None:
        # Size the column for the replicas the file declares, so a container that starts while
        # following (-f) does not move it.
        shown = [s for s in (services or sorted(project.services)) if s in project.services]
        printer.reserve(
            log_label(name, service_container_name(name, s, project.services[s], n), s, n)
            for s in shown
            for n in range(1, project.services[s].replicas + 1)
            if index is None or n == index
        )

    def size(names: list[str]) -> None:
        printer.reserve(label_from_name(name, n) for n in names)

    run(lambda: api.logs_async(name, printer, list(services), options, index=index, on_start=size))
