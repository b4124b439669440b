"""What the executor tells the outside world while it works; the CLI renders it.

The engine never prints.  It calls a `ProgressSink` with `ProgressEvent`s: one `started` and
one `done`/`failed`/`skipped` per plan node, plus `log` lines for long steps (build output,
a wait's current state).  A sink must be cheap and must not raise.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Protocol


class Status(enum.Enum):
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    LOG = "log"


@dataclass(frozen=True)
class ProgressEvent:
    node_id: int | None  # the plan node, None for engine-wide messages
    resource: str  # "service:web:1", "network:default", "image:web"
    op: str  # the plan Op value: "CreateContainer", "WaitCondition", ...
    status: Status
    text: str = ""  # detail: the cause, a build line, an error message
    at: float = field(default_factory=time.monotonic)
    name: str = ""  # the daemon name of a network or volume, when the plan knows it


class ProgressSink(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...


def null_sink(event: ProgressEvent) -> None:
    """Discard progress (library use, tests that do not look)."""


@dataclass
class RecordingSink:
    """Keep every event, in order (tests, `--dry-run` style summaries)."""

    events: list[ProgressEvent] = field(default_factory=list)

    def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def of(self, status: Status) -> list[ProgressEvent]:
        return [e for e in self.events if e.status is status]
