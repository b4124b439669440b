"""Render the engine's progress events: a live table on a terminal, plain lines otherwise.

One line per resource (`Container demo-web-1  Started  0.4s`), as Compose users expect.
On a terminal the lines update in place (rich.live); in a pipe or CI log each state change
is printed once, so logs stay readable and greppable.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from stack.engine.progress import ProgressEvent, Status
from stack.plan.naming import network_name, service_container_name, volume_name
from stack.spec.models import Project

if TYPE_CHECKING:
    from rich.table import Table

# op -> (kind shown, word while running, word when done)
_WORDS: dict[str, tuple[str, str, str]] = {
    "CreateNetwork": ("Network", "Creating", "Created"),
    "RemoveNetwork": ("Network", "Removing", "Removed"),
    "CreateVolume": ("Volume", "Creating", "Created"),
    "RemoveVolume": ("Volume", "Removing", "Removed"),
    "BuildImage": ("Image", "Building", "Built"),
    "PullImage": ("Image", "Pulling", "Pulled"),
    "RemoveImage": ("Image", "Removing", "Removed"),
    "CreateContainer": ("Container", "Creating", "Created"),
    "StartContainer": ("Container", "Starting", "Started"),
    "StopContainer": ("Container", "Stopping", "Stopped"),
    "RemoveContainer": ("Container", "Removing", "Removed"),
    "RenameContainer": ("Container", "Recreating", "Recreated"),
    "RestartContainer": ("Container", "Restarting", "Restarted"),
    "ConnectNetwork": ("Container", "Connecting", "Connected"),
    "DisconnectNetwork": ("Container", "Disconnecting", "Disconnected"),
    "WaitCondition": ("Service", "Waiting", "Ready"),
}


@dataclass
class _Row:
    kind: str
    name: str
    state: str
    started: float
    ended: float | None = None
    failed: bool = False

    def elapsed(self, now: float) -> float:
        return (self.ended or now) - self.started


class ProgressPrinter:
    """A ProgressSink for the CLI.  Use as a context manager around the engine call."""

    def __init__(self, project: Project | None, project_name: str, *, stream: TextIO | None = None) -> None:
        self.project = project
        self.project_name = project_name
        self.stream = stream or sys.stderr
        self.live_mode = self.stream.isatty()
        self.rows: dict[tuple[str, str], _Row] = {}
        self._lock = threading.Lock()
        self._live: object | None = None

    # -- naming ---------------------------------------------------------------------------

    def _name(self, resource: str) -> str:
        kind, _, rest = resource.partition(":")
        if kind == "service":
            service, _, number = rest.rpartition(":")
            svc = self.project.services.get(service) if self.project else None
            if number.isdigit():
                if svc is not None:
                    return service_container_name(self.project_name, service, svc, int(number))
                return f"{self.project_name}-{service}-{number}"
            return rest
        if kind == "network":
            return network_name(self.project_name, rest, self.project.networks.get(rest) if self.project else None)
        if kind == "volume":
            return volume_name(self.project_name, rest, self.project.volumes.get(rest) if self.project else None)
        return rest or resource

    # -- sink -----------------------------------------------------------------------------

    def __call__(self, event: ProgressEvent) -> None:
        if event.status is Status.LOG:
            return
        kind, running, done = _WORDS.get(event.op, ("", event.op, event.op))
        if event.op == "WaitCondition":
            name = event.resource.partition(":")[2] or event.resource
        else:
            name = self._name(event.resource)
        key = (kind, name)
        with self._lock:
            row = self.rows.get(key)
            now = event.at
            if event.status is Status.STARTED:
                if row is None:
                    row = self.rows[key] = _Row(kind, name, running, now)
                else:
                    row.state, row.ended = running, None
            elif row is not None:
                row.ended = now
                if event.status is Status.DONE:
                    row.state = done
                elif event.status is Status.FAILED:
                    row.state, row.failed = "Error", True
                else:
                    row.state = "Skipped"
            else:
                return
            if not self.live_mode and event.status is not Status.STARTED:
                self._print_line(row)
        if self.live_mode:
            self._refresh()

    def _print_line(self, row: _Row) -> None:
        mark = "x" if row.failed else ("-" if row.state == "Skipped" else "✔")
        print(
            f" {mark} {row.kind} {row.name}  {row.state}  {row.elapsed(time.monotonic()):.1f}s",
            file=self.stream,
            flush=True,
        )

    # -- live mode ------------------------------------------------------------------------

    def _render(self) -> Table:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        with self._lock:
            rows = list(self.rows.values())
        for row in rows:
            if row.failed:
                mark, style = "[red]✘[/red]", "red"
            elif row.ended is None:
                mark, style = "[yellow]⠿[/yellow]", "yellow"
            else:
                mark, style = "[green]✔[/green]", "green"
            table.add_row(
                f" {mark} {row.kind} {row.name}", f"[{style}]{row.state}[/{style}]", f"{row.elapsed(now):.1f}s"
            )
        return table

    def _refresh(self) -> None:
        live = self._live
        if live is not None:
            live.update(self._render())  # type: ignore[attr-defined]

    def __enter__(self) -> ProgressPrinter:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            live = Live(self._render(), console=console, refresh_per_second=10, transient=False)
            live.__enter__()
            self._live = live
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        live = self._live
        if live is not None:
            live.update(self._render())  # type: ignore[attr-defined]
            live.__exit__(exc_type, exc, tb)  # type: ignore[attr-defined]
            self._live = None
