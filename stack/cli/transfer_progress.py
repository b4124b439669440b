"""Render `pull` and `push` progress in the style of the other commands (stack.cli.progress):
a `[+] Pulling N/M` header over one row per image, each with its layers beneath it.

On a terminal the table updates in place (rich.live), with a bar and the bytes moved for each
layer that is downloading, extracting or pushing.  In a pipe or CI log each change of a row's
word is printed once (` Image 127.0.0.1:5000/app:1  Pulling`, `   Layer 4f4fb700ef54  Pull
complete`), and the header's counter closes the output, as the other commands do.  Services
with nothing to transfer get a `Service NAME  Skipped - ...` row, with Compose's words.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from stack.cli.progress import RowStatus

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

    from stack.engine.registry import TransferEvent

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # as stack.cli.progress's
_STATES: dict[str, RowStatus] = {
    "working": RowStatus.WORKING,
    "done": RowStatus.DONE,
    "skipped": RowStatus.DONE,  # Compose shows a skip as done: nothing was to be done
    "error": RowStatus.ERROR,
}


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1000
    return f"{value:.1f}GB"


@dataclass
class TransferRow:
    kind: str  # Image, Layer, Service
    name: str
    state: str  # the daemon's or Compose's word: Pulling, Downloading, Pull complete, Pushed, ...
    status: RowStatus
    started: float
    ended: float | None = None
    current: int = 0
    total: int = 0
    layers: list[str] = field(default_factory=list)  # keys of the layer rows of an image

    @property
    def id(self) -> str:
        return f"{self.kind} {self.name}"

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started


class TransferPrinter:
    """A TransferSink for the CLI (`verb`: Pulling or Pushing).  Use as a context manager."""

    def __init__(self, verb: str, *, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.verb = verb
        self.stream = stream or sys.stderr
        self.live_mode = self.stream.isatty() if live is None else live
        self.rows: dict[str, TransferRow] = {}  # top-level rows (images, skipped services)
        self.layers: dict[str, TransferRow] = {}  # "image|layer" -> its row
        self._lock = threading.Lock()
        self._live: Live | None = None

    @property
    def counter(self) -> str:
        with self._lock:
            done = sum(1 for r in self.rows.values() if r.status is RowStatus.DONE)
            return f"[+] {self.verb} {done}/{len(self.rows)}"

    def _update(self, event: TransferEvent) -> tuple[TransferRow, bool]:
        """The event on its row; the row and whether its word changed.  Lock held."""
        status = _STATES[event.state]
        if event.layer is None:
            kind, name = (
                ("Service", event.service or event.image) if event.state == "skipped" else ("Image", event.image)
            )
            key, table = f"{kind} {name}", self.rows
        else:
            kind, name = "Layer", event.layer
            key, table = f"{event.image}|{event.layer}", self.layers
            parent = self.rows.get(f"Image {event.image}")
            if parent is not None and key not in parent.layers:
                parent.layers.append(key)
        row = table.get(key)
        if row is None:
            row = table[key] = TransferRow(kind, name, event.word, status, time.monotonic())
            changed = True
        else:
            changed = row.state != event.word or row.status is not status
            row.state, row.status = event.word, status
        row.current, row.total = event.current, event.total
        row.ended = None if status is RowStatus.WORKING else time.monotonic()
        if event.layer is None and status is not RowStatus.WORKING:
            # The image is done (or failed): none of its layers works on.
            for layer in (self.layers[k] for k in row.layers):
                if layer.status is RowStatus.WORKING:
                    layer.status, layer.ended = status, row.ended
        return row, changed

    def __call__(self, event: TransferEvent) -> None:
        with self._lock:
            row, changed = self._update(event)
        if self.live_mode:
            self._refresh(force=changed)
        elif changed:
            indent = "   " if row.kind == "Layer" else " "
            print(f"{indent}{row.id}  {row.state}", file=self.stream, flush=True)

    # -- live mode ------------------------------------------------------------------------

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        counter = self.counter
        with self._lock:
            ordered: list[tuple[TransferRow, bool]] = []
            for row in self.rows.values():
                ordered.append((row, False))
                ordered.extend((self.layers[k], True) for k in row.layers)
        done = bool(self.rows) and all(r.status is RowStatus.DONE for r, _ in ordered if r.kind != "Layer")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True, ratio=1)
        for row, nested in ordered:
            if row.status is RowStatus.ERROR:
                mark, style = "[red]✘[/red]", "red"
            elif row.status is RowStatus.WORKING:
                mark, style = f"[yellow]{_SPINNER[int(now * 10) % len(_SPINNER)]}[/yellow]", ""
            else:
                mark, style = "[green]✔[/green]", "green"
            state = f"[{style}]{row.state}[/{style}]" if style else row.state
            indent = "   " if nested else " "
            detail: RenderableType = Text("")
            if nested and row.status is RowStatus.WORKING and row.total:
                detail = Table.grid(padding=(0, 1))
                detail.add_row(
                    ProgressBar(total=row.total, completed=min(row.current, row.total), width=24),
                    Text(f"{_size(row.current)}/{_size(row.total)}"),
                )
            elapsed = "" if nested else f"[blue]{row.elapsed(now):.1f}s[/blue]"
            table.add_row(f"{indent}{mark} {row.id} ", state, detail, elapsed)
        return Group(Text(counter, style="blue" if done else ""), table)

    def _refresh(self, *, force: bool) -> None:
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            live = Live(console=console, refresh_per_second=10, transient=False, get_renderable=self.render)
            live.start()
            self._live = live
        if force:
            self._live.refresh()

    def __enter__(self) -> TransferPrinter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        live = self._live
        if live is not None:
            live.stop()
            self._live = None
        elif self.rows and not self.live_mode:
            print(self.counter, file=self.stream, flush=True)
