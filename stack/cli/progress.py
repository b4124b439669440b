"""Render the engine's progress events as Compose does: a live table on a terminal, plain lines otherwise.

One row per resource (`Container demo-web-1`), whatever the number of plan nodes acting on it,
with Compose's state words, under a `[+] Running N/M` header (M rows, N of them done):

- a recreate (create, stop, remove, rename) is one row, `Recreate` then `Recreated`;
- the dependency waits show on the dependency's container rows, `Waiting` then `Healthy` (or
  `Exited` for service_completed_successfully), once however many dependents wait on it (the plan
  has one WaitCondition node per dependent); a service_started wait shows nothing, as in Compose;
- a rolling update's steps on a replica are one row, `Updating` (`Waiting`/`Healthy` at its
  gate) until the new container takes the replica's name: `Updated`; a rollback's, `Rolled back`;
- containers the plan leaves alone are added at the end as `Running` (`show_running`).

On a terminal the table updates in place (rich.live).  In a pipe or CI log each change of a row's
word is printed once, ` Container demo-web-1  Started`, as `docker compose --progress plain`
does, and the header's counter closes the output.
"""

from __future__ import annotations

import enum
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from stack.engine.progress import ProgressEvent, Status
from stack.plan.naming import network_name, service_container_name, volume_name
from stack.plan.rollout import FINISHED_CAUSE, TAKES_NAME, UNDO_CAUSES, UPDATE_CAUSE
from stack.spec.models import Project

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

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
    "RenameContainer": ("Container", "Recreate", "Recreated"),
    "RestartContainer": ("Container", "Restarting", "Restarted"),
}
# Steps of a container's create or start: no word of their own, only their failure shows.
_SILENT = {"ConnectNetwork", "DisconnectNetwork"}
# The steps of a recreate (the reconciler's cause says "recreate: ..."): one `Recreate` until the
# rename that completes it.
_RECREATE_STEPS = {"CreateContainer", "StopContainer", "RemoveContainer"}
# Words of a step that leaves its row working: more steps on the same container follow.
_UNFINISHED = {"Recreate", "Updating", "Healthy"}
# A WaitCondition's cause ends with its condition: "web depends on db (service_healthy)" (the
# event carries no other trace of it).
_CONDITION = re.compile(r"\((service_[a-z_]+)\)\s*$")
# condition -> the word the dependency's containers show once it holds (service_started: none)
_CONDITION_WORDS = {"service_healthy": "Healthy", "service_completed_successfully": "Exited"}
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class RowStatus(enum.Enum):
    WORKING = "working"
    DONE = "done"
    WARNING = "warning"  # skipped
    ERROR = "error"


@dataclass
class Row:
    kind: str  # Container, Network, Volume, Image
    name: str
    state: str  # Compose's word: Creating, Created, Started, Waiting, Healthy, Running, ...
    status: RowStatus
    started: float
    ended: float | None = None
    service: str | None = None  # a container's service: the rows a wait on that service updates
    reached: set[str] = field(default_factory=set)  # wait conditions already shown as holding

    @property
    def id(self) -> str:
        return f"{self.kind} {self.name}"

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started


class ProgressPrinter:
    """A ProgressSink for the CLI.  Use as a context manager around the engine call.

    `scales` is the replica count the command asked for per service (`--scale`): the rows a wait
    shows for a dependency that no plan node touched are its replicas 1..N.
    """

    def __init__(
        self,
        project: Project | None,
        project_name: str,
        *,
        stream: TextIO | None = None,
        live: bool | None = None,
        scales: Mapping[str, int] | None = None,
    ) -> None:
        self.project = project
        self.project_name = project_name
        self.stream = stream or sys.stderr
        self.live_mode = self.stream.isatty() if live is None else live
        self.scales = dict(scales or {})
        self.rows: dict[str, Row] = {}  # by Compose's id "Kind name", in order of appearance
        self._lock = threading.Lock()
        self._live: Live | None = None

    # -- naming ---------------------------------------------------------------------------

    def _container_name(self, service: str, number: int) -> str:
        svc = self.project.services.get(service) if self.project else None
        if svc is not None:
            return service_container_name(self.project_name, service, svc, number)
        return f"{self.project_name}-{service}-{number}"

    def _name(self, resource: str) -> tuple[str, str | None]:
        """The shown name of a plan resource, and the service of a container."""
        kind, _, rest = resource.partition(":")
        if kind == "service":
            service, _, number = rest.rpartition(":")
            if number.isdigit():
                return self._container_name(service, int(number)), service
            return rest, None
        if kind == "network":
            return network_name(
                self.project_name, rest, self.project.networks.get(rest) if self.project else None
            ), None
        if kind == "volume":
            return volume_name(self.project_name, rest, self.project.volumes.get(rest) if self.project else None), None
        return rest or resource, None

    # -- rows -----------------------------------------------------------------------------

    @property
    def counter(self) -> str:
        """Compose's header: `[+] Running N/M`, M rows, N of them done."""
        with self._lock:
            done = sum(1 for row in self.rows.values() if row.status is RowStatus.DONE)
            return f"[+] Running {done}/{len(self.rows)}"

    def _set(
        self, kind: str, name: str, state: str, status: RowStatus, at: float, service: str | None = None
    ) -> Row | None:
        """Give the row `state`; the row when its word changed (to print), else None.  Lock held."""
        key = f"{kind} {name}"
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Row(kind, name, state, status, at, service=service)
        elif row.state == state and row.status is status:
            return None
        else:
            if row.status is not RowStatus.WORKING and status is RowStatus.WORKING:
                row.started = at  # a new step on a finished row: its clock starts again
            row.state, row.status = state, status
        row.ended = None if status is RowStatus.WORKING else at
        return row

    def _service_rows(self, service: str, at: float) -> list[Row]:
        """The container rows of `service` that a wait on it updates (created when no plan node
        touched its containers).  Lock held."""
        rows = [
            r for r in self.rows.values() if r.kind == "Container" and r.service == service and r.state != "Removed"
        ]
        if rows:
            return rows
        svc = self.project.services.get(service) if self.project else None
        count = self.scales.get(service, svc.replicas if svc is not None else 1)
        return [self._running_row(service, self._container_name(service, n), at) for n in range(1, count + 1)]

    def _running_row(self, service: str, name: str, at: float) -> Row:
        """The row of a container no plan node touched: `Running`.  Lock held."""
        key = f"Container {name}"
        if key not in self.rows:
            self.rows[key] = Row("Container", name, "Running", RowStatus.DONE, at, at, service)
        return self.rows[key]

    def _wait(self, event: ProgressEvent) -> list[Row]:
        """A WaitCondition event on the dependency's container rows; the rows that changed."""
        service = event.resource.partition(":")[2]
        match = _CONDITION.search(event.text)
        condition = match.group(1) if match else "service_started"
        word = _CONDITION_WORDS.get(condition)
        if event.status is Status.FAILED:
            return [
                r
                for r in self._service_rows(service, event.at)
                if self._set(r.kind, r.name, "Error", RowStatus.ERROR, event.at)
            ]
        if word is None or event.status not in (Status.STARTED, Status.DONE):
            return []  # service_started, or an optional dependency that is absent
        changed = []
        for row in self._service_rows(service, event.at):
            if condition in row.reached:
                continue  # another dependent's wait for the same condition: shown already
            if event.status is Status.DONE:
                row.reached.add(condition)
                state, status = word, RowStatus.DONE
            else:
                state, status = "Waiting", RowStatus.WORKING
            if self._set(row.kind, row.name, state, status, event.at, service):
                changed.append(row)
        return changed

    def _apply(self, event: ProgressEvent) -> list[Row]:
        """The event on its row(s); the rows whose word changed.  Lock held."""
        if event.op == "WaitCondition":
            return self._wait(event)
        name, service = (event.name, None) if event.name else self._name(event.resource)
        kind, running, done = _WORDS.get(event.op, ("Container" if service else "", event.op, event.op))
        if event.status is Status.FAILED:
            row = self._set(kind, name, "Error", RowStatus.ERROR, event.at, service)
            return [row] if row else []
        key = f"{kind} {name}"
        if event.status is Status.SKIPPED:
            existing = self.rows.get(key)
            if existing is None or existing.status is RowStatus.ERROR:
                return []  # never started, or already shown as failed
            row = self._set(kind, name, "Skipped", RowStatus.WARNING, event.at, service)
            return [row] if row else []
        if event.op in _SILENT:
            return []
        if event.op in _RECREATE_STEPS and event.text.startswith("recreate"):
            running = done = "Recreate"  # done only when the rename completes it
        if event.op == "Delay" or event.text.startswith(FINISHED_CAUSE):
            return []  # a pause between batches; the old replicas' removal once all passed
        if event.text.startswith(UPDATE_CAUSE):
            # One row per replica: `Updating` until the new container takes the replica's name.
            running, done = ("Waiting", "Healthy") if event.op == "MonitorReplicas" else ("Updating", "Updating")
            done = "Updated" if event.text.endswith(TAKES_NAME) else done
        elif event.text.startswith(UNDO_CAUSES):
            running, done = "Rolling back", "Rolled back"
        if event.status is Status.STARTED:
            row = self._set(kind, name, running, RowStatus.WORKING, event.at, service)
        elif event.status is Status.DONE:
            status = RowStatus.WORKING if done in _UNFINISHED else RowStatus.DONE
            row = self._set(kind, name, done, status, event.at, service)
        else:
            return []
        return [row] if row else []

    def show_running(self, containers: Iterable[tuple[str, str]]) -> None:
        """(service, container name) the command left as they were, running: `Running` rows."""
        now = time.monotonic()
        with self._lock:
            fresh = [(s, n) for s, n in containers if f"Container {n}" not in self.rows]
            changed = [self._running_row(service, name, now) for service, name in fresh]
        self._changed(changed)

    # -- sink -----------------------------------------------------------------------------

    def __call__(self, event: ProgressEvent) -> None:
        if event.status is Status.LOG:
            return
        with self._lock:
            changed = self._apply(event)
        self._changed(changed)

    def _changed(self, rows: list[Row]) -> None:
        if self.live_mode:
            if rows:
                self._refresh()
            return
        for row in rows:
            print(f" {row.id}  {row.state}", file=self.stream, flush=True)

    # -- live mode ------------------------------------------------------------------------

    def render(self) -> RenderableType:
        """The table as a terminal shows it: the header, then one line per row."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        counter = self.counter
        with self._lock:
            rows = list(self.rows.values())
        done = bool(rows) and all(r.status is RowStatus.DONE for r in rows)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True, ratio=1)
        for row in rows:
            if row.status is RowStatus.ERROR:
                mark, style = "[red]✘[/red]", "red"
            elif row.status is RowStatus.WORKING:
                mark, style = f"[yellow]{_SPINNER[int(now * 10) % len(_SPINNER)]}[/yellow]", ""
            elif row.status is RowStatus.WARNING:
                mark, style = "[yellow]![/yellow]", "yellow"
            else:
                mark, style = "[green]✔[/green]", "green"
            state = f"[{style}]{row.state}[/{style}]" if style else row.state
            table.add_row(f" {mark} {row.id} ", state, f"[blue]{row.elapsed(now):.1f}s[/blue]")
        return Group(Text(counter, style="blue" if done else ""), table)

    def _refresh(self) -> None:
        """Draw the table now; the first row starts the live display (nothing to show, nothing
        drawn, as Compose)."""
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            live = Live(console=console, refresh_per_second=10, transient=False, get_renderable=self.render)
            live.start()
            self._live = live
        self._live.refresh()

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        live = self._live
        if live is not None:
            live.stop()  # draws the final table
            self._live = None
        elif self.rows and not self.live_mode:
            print(self.counter, file=self.stream, flush=True)
