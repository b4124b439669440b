"""Container logs: demultiplexed stdout/stderr lines, one container or a merged project stream.

The daemon sends a non-TTY container's log as frames (8-byte header: stream id, length); the
SDK's `logs()` drops the stream id, so we read the frames ourselves and keep it.  A TTY
container's log is one raw stream (stdout).  Chunks are split into lines per stream, so a line
printed in two writes is delivered once, whole.

`follow_logs` merges several containers into one stream of `LogLine`s; with `follow` it also
picks up project containers that start later (from the event stream) and re-follows a
container that restarts.  It returns when every followed container has stopped.
"""

from __future__ import annotations

import contextlib
import re
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import anyio.abc
from docker.types.daemon import CancellableStream

from stack.engine.docker_api import DockerAPI
from stack.errors import DockerNotFoundError, UsageError
from stack.plan import labels as L
from stack.spec.units import parse_duration_ns

STDOUT = "stdout"
STDERR = "stderr"
_STREAM_NAMES = {0: STDOUT, 1: STDOUT, 2: STDERR}


@dataclass(frozen=True)
class LogTarget:
    """A container whose log is read."""

    id: str
    name: str
    service: str
    number: int
    tty: bool = False
    one_off: bool = False


@dataclass(frozen=True)
class LogLine:
    container: str  # container name
    service: str
    number: int
    stream: str  # "stdout" | "stderr"
    text: str  # without the trailing newline; with the daemon's timestamp when asked for


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail: int | None = None  # None: every line
    since: str | None = None  # as the Engine takes it: unix seconds (see `parse_time`)
    until: str | None = None
    timestamps: bool = False


_UNIX = re.compile(r"^\d+(\.\d+)?$")


def parse_time(text: str, *, now: float | None = None, flag: str = "--since") -> str:
    """`--since`/`--until` as the docker CLI reads them -> unix seconds for the Engine API.

    Accepts a relative duration (`10m`, `1h30m`, `42s`: that long ago), a unix timestamp, an
    RFC 3339 timestamp (`2024-05-01T10:00:00Z`) or a date (`2024-05-01`).
    """
    value = text.strip()
    if _UNIX.match(value):
        return value
    try:
        ago = parse_duration_ns(value)
    except ValueError:
        pass
    else:
        base = time.time() if now is None else now
        return f"{base - ago / 1e9:.9f}"
    iso = value[:-1] + "+00:00" if value.endswith("Z") else value
    # Python 3.11 parses at most microseconds: trim nanosecond fractions.
    iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise UsageError(
            f"invalid {flag} value {text!r}",
            hint="use a duration (10m, 1h30m), a unix timestamp, or an RFC 3339 time (2024-05-01T10:00:00Z)",
        ) from None
    return f"{moment.timestamp():.9f}"


class LineSplitter:
    """Bytes in, whole lines out; one buffer per stream so stdout and stderr never mix."""

    def __init__(self) -> None:
        self._pending: dict[str, bytes] = {}

    def feed(self, stream: str, data: bytes) -> list[str]:
        buffer = self._pending.get(stream, b"") + data
        *lines, rest = buffer.split(b"\n")
        self._pending[stream] = rest
        return [line.rstrip(b"\r").decode("utf-8", errors="replace") for line in lines]

    def flush(self) -> list[tuple[str, str]]:
        """What is left without a final newline, once the stream ended."""
        out = [(s, b.decode("utf-8", errors="replace")) for s, b in self._pending.items() if b]
        self._pending.clear()
        return out


def _frames(response: Any, tty: bool) -> Iterator[tuple[str, bytes]]:
    """(stream name, chunk) from a logs/attach HTTP response."""
    raw = response.raw
    if tty:
        while True:
            chunk = raw.read1(4096)  # whatever has arrived: a TTY stream has no frames to wait for
            if not chunk:
                return
            yield STDOUT, chunk
    while True:
        header = raw.read(8)
        if not header or len(header) < 8:
            return
        stream_id, length = struct.unpack(">BxxxL", header)
        if not length:
            continue
        data = raw.read(length)
        if not data:
            return
        yield _STREAM_NAMES.get(stream_id, STDOUT), data


def open_log_frames(client: Any, target: LogTarget, options: LogOptions) -> CancellableStream:
    """Open a container's log (blocking, SDK thread): an iterator of (stream, chunk), closable."""
    params: dict[str, Any] = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1 if options.timestamps else 0,
        "follow": 1 if options.follow else 0,
        "tail": "all" if options.tail is None or options.tail < 0 else options.tail,
    }
    if options.since:
        params["since"] = options.since
    if options.until:
        params["until"] = options.until
    # The SDK's logs() loses the stream id of each frame; its private request helpers keep the
    # same connection handling (unix socket, TLS) as every other call.
    response = client._get(client._url("/containers/{0}/logs", target.id), params=params, stream=True)
    client._raise_for_status(response)
    with contextlib.suppress(Exception):
        client._disable_socket_timeout(client._get_raw_response_socket(response))
    return CancellableStream(_frames(response, target.tty), response)


LineSink = Callable[[LogLine], None]


async def stream_container_logs(api: DockerAPI, target: LogTarget, options: LogOptions, on_line: LineSink) -> None:
    """Deliver every line of one container's log to `on_line` (until the log ends)."""
    splitter = LineSplitter()

    def emit(stream: str, text: str) -> None:
        on_line(LogLine(target.name, target.service, target.number, stream, text))

    try:
        async with api.stream("container.logs", lambda: open_log_frames(api.client, target, options)) as frames:
            async for stream, chunk in frames:
                for text in splitter.feed(stream, chunk):
                    emit(stream, text)
    except DockerNotFoundError:
        return  # removed while we read: its log is gone with it
    for stream, text in splitter.flush():
        emit(stream, text)


def target_from_list(entry: dict[str, Any]) -> LogTarget:
    """A LogTarget from a container-list entry (TTY unknown: see `resolve_tty`)."""
    from stack.engine.observe import container_from_list

    seen = container_from_list(entry)
    return LogTarget(seen.id, seen.name, seen.service, seen.number, one_off=seen.one_off)


async def resolve_tty(api: DockerAPI, target: LogTarget) -> LogTarget:
    """The same target, knowing whether the container has a TTY (its log is then unframed)."""
    try:
        info = await api.inspect_container(target.id)
    except DockerNotFoundError:
        return target
    tty = bool((info.get("Config") or {}).get("Tty"))
    return LogTarget(target.id, target.name, target.service, target.number, tty, target.one_off)


async def follow_logs(
    api: DockerAPI,
    project: str,
    targets: list[LogTarget],
    options: LogOptions,
    on_line: LineSink,
    *,
    services: list[str] | None = None,
    index: int | None = None,
    keep_following: Callable[[], bool] | None = None,
) -> None:
    """Every line of `targets`' logs to `on_line`, interleaved as they arrive.

    With `options.follow`: containers of `project` (of `services`, replica `index` when given)
    that start later are followed from their start, and the call returns once no followed
    container is left running, unless `keep_following()` says to go on (`watch`: a recreated
    container starts after its predecessor stopped).
    """
    resolved = [await resolve_tty(api, t) for t in targets]
    if not options.follow:
        async with anyio.create_task_group() as tg:
            for target in resolved:
                tg.start_soon(stream_container_logs, api, target, options, on_line)
        return

    active: set[str] = set()
    idle = anyio.Event()

    # container id -> when its log stream ended (it stopped): a restart is followed from there,
    # so no line is shown twice and none is lost.
    ended: dict[str, float] = {}
    # container id -> set once its current log stream has ended
    stream_over: dict[str, anyio.Event] = {}

    async def follow(target: LogTarget, opts: LogOptions) -> None:
        active.add(target.id)
        over = stream_over[target.id] = anyio.Event()
        try:
            await stream_container_logs(api, target, opts, on_line)
        finally:
            ended[target.id] = time.time()
            active.discard(target.id)
            over.set()
            if not active and not (keep_following and keep_following()):
                idle.set()

    def wanted(attributes: dict[str, str]) -> bool:
        if attributes.get(L.ONEOFF) == "True":
            return False
        if services and attributes.get(L.SERVICE) not in services:
            return False
        return index is None or attributes.get(L.NUMBER) == str(index)

    async def started(tg: anyio.abc.TaskGroup, cid: str, attributes: dict[str, str]) -> None:
        try:
            number = int(attributes.get(L.NUMBER, "0"))
        except ValueError:
            number = 0
        since = f"{ended[cid]:.9f}" if cid in ended else options.since
        fresh = LogTarget(cid, attributes.get("name", cid[:12]), attributes.get(L.SERVICE, ""), number)
        fresh = await resolve_tty(api, fresh)
        # A new container from its first line; a restarted one from where we left it.
        opts = LogOptions(True, None, since, options.until, options.timestamps)
        active.add(cid)
        tg.start_soon(follow, fresh, opts)

    async def restarted(tg: anyio.abc.TaskGroup, cid: str, attributes: dict[str, str]) -> None:
        """Started again before its previous log stream was seen to end (a quick restart): follow
        it once that stream is over; a stream still going after a while was its current one."""
        with anyio.move_on_after(5):
            await stream_over[cid].wait()
        if cid not in active:
            await started(tg, cid, attributes)

    async def watch_starts(tg: anyio.abc.TaskGroup) -> None:
        filters = {"type": ["container"], "event": ["start"], **L.container_filter(project)}
        async with api.events(filters) as events:
            watching.set()
            async for event in events:
                actor = event.get("Actor") or {}
                attributes = dict(actor.get("Attributes") or {})
                cid = str(actor.get("ID") or event.get("id") or "")
                if not cid or not wanted(attributes):
                    continue
                if cid in active:
                    if cid in stream_over:
                        tg.start_soon(restarted, tg, cid, attributes)
                    continue
                await started(tg, cid, attributes)

    watching = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_starts, tg)
        with anyio.fail_after(30):  # the daemon answers an event subscription at once
            await watching.wait()
        for target in resolved:
            active.add(target.id)
            tg.start_soon(follow, target, options)
        if not resolved and not (keep_following and keep_following()):
            idle.set()
        await idle.wait()
        tg.cancel_scope.cancel()
