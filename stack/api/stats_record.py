"""Recorded monitoring (`stack stats --record`): samples of each container's usage over time,
written as CSV or JSON lines, and read back (`stack stats --plot ... --from FILE`).

A recording follows the project's running containers through the daemon's stats streams
(stack.engine.stats.StatsStreams) and takes one sample of every container per tick of
`interval` seconds, all stamped with the same instant; containers that start later (a `scale`)
join the recording, those that stop leave it.  Every tick is written and flushed at once, so a
recording cut short (Ctrl-C, a crash) keeps every sample taken until then.

One row per container per tick, with these columns (net and block I/O are cumulative counters,
as `docker stats` shows them; memory excludes the page cache, as `docker stats`):

    time               wall-clock instant of the tick, UTC, ISO 8601
    elapsed_s          seconds since the recording started
    service            the container's service
    container          the container's name
    id                 the container's id (12 hex digits)
    cpu_percent        CPU over the interval, 100 = one core busy
    mem_bytes          memory in use
    mem_limit_bytes    memory limit (the machine's memory when none is set)
    mem_percent        mem_bytes / mem_limit_bytes * 100
    net_rx_bytes       received over all networks
    net_tx_bytes       sent over all networks
    block_read_bytes   read from block devices
    block_write_bytes  written to block devices
    pids               processes and threads
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import anyio

from stack.api.session import session
from stack.engine.containers import find_containers
from stack.engine.docker_api import DockerAPI
from stack.engine.stats import StatsStreams, Usage
from stack.errors import StackError, UsageError

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
# The daemon's stats stream answers about once a second: a shorter interval repeats answers.
MIN_INTERVAL = 1.0
# Longest wait for the first CPU measurement of every container before the clock starts.
WARM_UP_TIMEOUT = 5.0
# How often the project's containers are listed again, to follow new ones and drop gone ones.
DISCOVERY_PERIOD = 2.0
# Bound of one listing call; a daemon that does not answer in this time ends the recording.
DISCOVERY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Sample:
    """One container's usage at one tick of a recording (one row of the record file)."""

    time: str
    elapsed_s: float
    service: str
    container: str
    id: str
    cpu_percent: float
    mem_bytes: int
    mem_limit_bytes: int
    mem_percent: float
    net_rx_bytes: int
    net_tx_bytes: int
    block_read_bytes: int
    block_write_bytes: int
    pids: int

    @classmethod
    def of(cls, usage: Usage, *, at: str, elapsed: float) -> Sample:
        return cls(
            time=at,
            elapsed_s=round(elapsed, 3),
            service=usage.service,
            container=usage.container,
            id=usage.id[:12],
            cpu_percent=round(usage.cpu_percent, 3),
            mem_bytes=usage.memory_usage,
            mem_limit_bytes=usage.memory_limit,
            mem_percent=round(usage.memory_percent, 3),
            net_rx_bytes=usage.net_rx,
            net_tx_bytes=usage.net_tx,
            block_read_bytes=usage.block_read,
            block_write_bytes=usage.block_write,
            pids=usage.pids,
        )

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(Sample.__dataclass_fields__)
_INTS = {
    "mem_bytes",
    "mem_limit_bytes",
    "net_rx_bytes",
    "net_tx_bytes",
    "block_read_bytes",
    "block_write_bytes",
    "pids",
}
_FLOATS = {"elapsed_s", "cpu_percent", "mem_percent"}


def record_format_for(path: str | Path, explicit: str | None = None) -> str:
    """The record format: `explicit`, else by the file's extension (.csv; .jsonl, .ndjson, .json)."""
    if explicit:
        if explicit not in FORMATS:
            raise UsageError(f"unknown record format {explicit!r}", hint=f"use one of: {', '.join(FORMATS)}")
        return explicit
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise UsageError(
            f"cannot tell the record format of {str(path)!r} from its extension",
            hint="name the file .csv or .jsonl, or say --record-format csv|jsonl",
        )
    return found


class RecordWriter:
    """Writes samples to a CSV or JSON-lines file, flushed after every tick."""

    def __init__(self, path: str | Path, fmt: str) -> None:
        self.path = Path(path)
        self.format = fmt
        self.rows = 0
        try:
            self._file: IO[str] = self.path.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"cannot write the record file {str(path)!r}: {exc.strerror or exc}") from exc
        self._csv = csv.DictWriter(self._file, fieldnames=COLUMNS) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writeheader()
            self._file.flush()

    def write(self, samples: Sequence[Sample]) -> None:
        try:
            for s in samples:
                if self._csv is not None:
                    self._csv.writerow(s.as_row())
                else:
                    self._file.write(json.dumps(s.as_row(), separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as exc:
            raise StackError(f"cannot write the record file {str(self.path)!r}: {exc.strerror or exc}") from exc
        self.rows += len(samples)

    def close(self) -> None:
        self._file.close()


def _typed(row: dict[str, Any], where: str) -> Sample:
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise UsageError(f"{where}: not a stats record (missing {', '.join(missing)})")
    try:
        values: dict[str, Any] = {
            c: int(float(row[c])) if c in _INTS else float(row[c]) if c in _FLOATS else str(row[c]) for c in COLUMNS
        }
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: not a stats record ({exc})") from exc
    return Sample(**values)


def read_record(path: str | Path) -> list[Sample]:
    """The samples of a record file (CSV or JSON lines, told by its first character)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the record file {str(path)!r}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a stats record (not UTF-8 text)") from exc
    if text.lstrip().startswith("{"):
        samples = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}:{number}: not a JSON line ({exc})") from exc
            if not isinstance(row, dict):
                raise UsageError(f"{path}:{number}: not a stats record (a JSON object per line)")
            samples.append(_typed(row, f"{path}:{number}"))
        return samples
    reader = csv.DictReader(text.splitlines())
    return [_typed(dict(row), f"{path}:{number}") for number, row in enumerate(reader, 2)]


@dataclass
class RecordSummary:
    """What a recording took."""

    ticks: int = 0
    samples: int = 0
    containers: set[str] = field(default_factory=set)
    seconds: float = 0.0


async def record_stats_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    on_samples: Callable[[list[Sample]], None],
    interval: float = 1.0,
    duration: float | None = None,
    on_change: Callable[[list[str], list[str]], None] | None = None,
    api: DockerAPI | None = None,
) -> RecordSummary:
    """Sample every running container of the project (of `services`) each `interval` seconds,
    for `duration` seconds (None: until cancelled), handing each tick's samples to `on_samples`.

    `on_change(started, stopped)` is told the containers that join or leave the recording.
    """
    if interval < MIN_INTERVAL:
        raise UsageError(f"the interval must be at least {MIN_INTERVAL:g} s (the daemon's stats come once a second)")
    if duration is not None and duration < interval:
        raise UsageError(f"the duration ({duration:g} s) must be at least one interval ({interval:g} s)")
    summary = RecordSummary()
    async with session(api) as docker, anyio.create_task_group() as tg:
        streams = StatsStreams(docker, tg)

        async def discover() -> None:
            with anyio.fail_after(DISCOVERY_TIMEOUT):
                found = await find_containers(docker, project_name, services, running=True)
            started, stopped = streams.sync([(c.id, c.name, c.service) for c in found])
            if on_change is not None and (started or stopped):
                on_change(started, stopped)

        async def keep_discovering() -> None:
            while True:
                await anyio.sleep(DISCOVERY_PERIOD)
                await discover()

        await discover()
        # The clock starts when every container can be measured (its stream's second answer,
        # about a second after the first), so that the first tick has a sample of each.
        with anyio.move_on_after(WARM_UP_TIMEOUT):
            await streams.measured()
        start = anyio.current_time()
        tg.start_soon(keep_discovering)
        tick = 1
        while duration is None or tick * interval <= duration + 1e-6:
            await anyio.sleep_until(start + tick * interval)
            at = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
            elapsed = anyio.current_time() - start
            samples = [Sample.of(u, at=at, elapsed=elapsed) for u in streams.take()]
            on_samples(samples)
            summary.ticks += 1
            summary.samples += len(samples)
            summary.containers.update(s.container for s in samples)
            summary.seconds = elapsed
            tick += 1
        tg.cancel_scope.cancel()
    return summary
