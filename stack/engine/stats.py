"""Resource usage per container, computed from the Engine's stats as the docker CLI does.

One `stats(stream=False)` answer carries two samples (`precpu_stats`, `cpu_stats`, about a
second apart), which is all the CPU percentage needs; a live view reads the streamed samples.
`usage_from_stats` is pure, so the arithmetic is unit tested without a daemon.

`StatsStreams` follows many containers at once for a recording (`stack stats --record`): one
stats *stream* per container (the daemon pushes an answer about every second), each keeping its
newest answer; `take()` then reads every container at one instant, with the CPU percentage over
the whole time since the previous `take()` (cumulative counters of two answers), so a sample at
a 5 s interval is the average of those 5 s, not of the last second.  A one-shot call per sample
would cost each sample a second of waiting and skew the instants of different containers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc

from stack.engine.docker_api import DockerAPI
from stack.errors import DockerAPIError, DockerNotFoundError, DockerUnavailableError


@dataclass(frozen=True)
class Usage:
    container: str
    service: str
    id: str
    cpu_percent: float
    memory_usage: int  # bytes, page cache excluded (as `docker stats`)
    memory_limit: int
    memory_percent: float
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int

    def as_json(self) -> dict[str, Any]:
        return {
            "Name": self.container,
            "Service": self.service,
            "ID": self.id[:12],
            "CPUPerc": f"{self.cpu_percent:.2f}%",
            "MemUsage": f"{human_bytes(self.memory_usage)} / {human_bytes(self.memory_limit)}",
            "MemPerc": f"{self.memory_percent:.2f}%",
            "NetIO": f"{human_bytes(self.net_rx, si=True)} / {human_bytes(self.net_tx, si=True)}",
            "BlockIO": f"{human_bytes(self.block_read, si=True)} / {human_bytes(self.block_write, si=True)}",
            "PIDs": str(self.pids),
        }


def human_bytes(value: float, *, si: bool = False) -> str:
    """`docker stats` units: memory in binary (MiB), network and block I/O in decimal (MB)."""
    base = 1000.0 if si else 1024.0
    units = ("B", "kB", "MB", "GB", "TB") if si else ("B", "KiB", "MiB", "GiB", "TiB")
    size = float(value)
    for unit in units:
        if abs(size) < base or unit == units[-1]:
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.2f}{unit}" if size < 10 else f"{size:.1f}{unit}"
        size /= base
    return f"{size:.1f}{units[-1]}"


def cpu_percent(stats: dict[str, Any]) -> float:
    """CPU % between the two samples of one stats answer (docker CLI's calculateCPUPercentUnix)."""
    cpu = stats.get("cpu_stats") or {}
    pre = stats.get("precpu_stats") or {}
    cpu_delta = float((cpu.get("cpu_usage") or {}).get("total_usage", 0)) - float(
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    )
    system_delta = float(cpu.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    if cpu_delta > 0 and system_delta > 0:
        return cpu_delta / system_delta * float(online) * 100.0
    return 0.0


def memory_usage(stats: dict[str, Any]) -> int:
    """Memory in use minus the inactive page cache (cgroup v1 and v2, as the docker CLI)."""
    memory = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):  # v1 first, as the CLI does
        if key in detail and int(detail[key]) < usage:
            return usage - int(detail[key])
    return usage


def usage_from_stats(stats: dict[str, Any], *, container: str, service: str, container_id: str) -> Usage:
    memory = stats.get("memory_stats") or {}
    used = memory_usage(stats)
    limit = int(memory.get("limit") or 0)
    rx = tx = 0
    for net in (stats.get("networks") or {}).values():
        rx += int(net.get("rx_bytes") or 0)
        tx += int(net.get("tx_bytes") or 0)
    read = write = 0
    for entry in (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            read += int(entry.get("value") or 0)
        elif op == "write":
            write += int(entry.get("value") or 0)
    return Usage(
        container=container,
        service=service,
        id=container_id,
        cpu_percent=cpu_percent(stats),
        memory_usage=used,
        memory_limit=limit,
        memory_percent=used / limit * 100.0 if limit else 0.0,
        net_rx=rx,
        net_tx=tx,
        block_read=read,
        block_write=write,
        pids=int((stats.get("pids_stats") or {}).get("current") or 0),
    )


async def sample(api: DockerAPI, container_id: str, name: str, service: str) -> Usage | None:
    """One reading of one container (None when it went away meanwhile)."""
    try:
        stats = await api.call("container.stats", api.client.stats, container_id, stream=False)
    except DockerNotFoundError:
        return None
    return usage_from_stats(stats, container=name, service=service, container_id=container_id)


async def sample_all(api: DockerAPI, containers: list[tuple[str, str, str]]) -> list[Usage]:
    """One reading of each (id, name, service), in parallel (each takes about a second)."""
    found: dict[str, Usage] = {}

    async def one(cid: str, name: str, service: str) -> None:
        usage = await sample(api, cid, name, service)
        if usage is not None:
            found[cid] = usage

    async with anyio.create_task_group() as tg:
        for cid, name, service in containers:
            tg.start_soon(one, cid, name, service)
    return [found[cid] for cid, _, _ in containers if cid in found]


def usage_between(
    previous: dict[str, Any] | None, current: dict[str, Any], *, container: str, service: str, container_id: str
) -> Usage:
    """Usage at `current`, with the CPU percentage over the time since `previous` (an earlier
    answer of the same container's stream); without a usable `previous`, over `current`'s own
    two samples, as `usage_from_stats`."""
    if previous is not None:
        before = float((previous.get("cpu_stats") or {}).get("system_cpu_usage") or 0)
        now = float((current.get("cpu_stats") or {}).get("system_cpu_usage") or 0)
        if now > before > 0:
            current = {**current, "precpu_stats": previous.get("cpu_stats") or {}}
    return usage_from_stats(current, container=container, service=service, container_id=container_id)


def _is_empty(stats: dict[str, Any]) -> bool:
    """A stopped container's answer: no reading time, no CPU counters."""
    return str(stats.get("read") or "").startswith("0001-") or not (stats.get("cpu_stats") or {}).get("cpu_usage")


@dataclass
class _Followed:
    id: str
    name: str
    service: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    first: dict[str, Any] | None = None  # the stream's first answer (its precpu_stats are empty)
    newest: dict[str, Any] | None = None  # the stream's newest answer
    taken: dict[str, Any] | None = None  # the answer the previous take() used
    ended: bool = False
    # Set at the second answer (the first to carry a CPU measurement), or when the stream ends.
    measured: anyio.Event = field(default_factory=anyio.Event)


class StatsStreams:
    """One stats stream per followed container, each run in `task_group`, keeping its newest answer."""

    def __init__(self, api: DockerAPI, task_group: anyio.abc.TaskGroup) -> None:
        self.api = api
        self.task_group = task_group
        self.followed: dict[str, _Followed] = {}

    def follow(self, container_id: str, name: str, service: str) -> bool:
        """Start following a container (False when it is followed already)."""
        if container_id in self.followed:
            return False
        entry = _Followed(container_id, name, service)
        self.followed[container_id] = entry
        self.task_group.start_soon(self._read, entry, name=f"stats stream of {name}")
        return True

    def forget(self, container_id: str) -> None:
        """Stop following a container (it went away)."""
        entry = self.followed.pop(container_id, None)
        if entry is not None:
            entry.scope.cancel()

    def sync(self, running: list[tuple[str, str, str]]) -> tuple[list[str], list[str]]:
        """Follow exactly the (id, name, service) given; the names started and stopped."""
        wanted = {cid for cid, _, _ in running}
        gone = [e.name for cid, e in self.followed.items() if cid not in wanted]
        # Those gone, and those whose stream ended (a restart): a running one is followed anew.
        for cid in [cid for cid, e in self.followed.items() if cid not in wanted or e.ended]:
            self.forget(cid)
        new = [name for cid, name, service in running if self.follow(cid, name, service)]
        return new, gone

    def take(self) -> list[Usage]:
        """Every followed container's usage now (those that answered at least once), CPU over
        the time since the previous take()."""
        found: list[Usage] = []
        for entry in self.followed.values():
            if entry.newest is None or entry.ended:
                continue
            previous = entry.taken or (entry.first if entry.first is not entry.newest else None)
            own_precpu = (entry.newest.get("precpu_stats") or {}).get("system_cpu_usage")
            if previous is None and not own_precpu:
                continue  # one answer only, with nothing to measure CPU against: next tick
            found.append(
                usage_between(
                    previous, entry.newest, container=entry.name, service=entry.service, container_id=entry.id
                )
            )
            entry.taken = entry.newest
        return found

    async def _read(self, entry: _Followed) -> None:
        def open_stream() -> Any:
            return self.api.client.stats(entry.id, stream=True, decode=True)

        with entry.scope:
            try:
                async with self.api.stream("container.stats", open_stream) as answers:
                    async for answer in answers:
                        if isinstance(answer, dict) and not _is_empty(answer):
                            if entry.first is None:
                                entry.first = answer
                            else:
                                entry.measured.set()
                            entry.newest = answer
            except (DockerAPIError, DockerUnavailableError):
                pass  # it went away (or stopped) meanwhile: the next sync() forgets it
        entry.ended = True
        entry.measured.set()

    async def measured(self) -> None:
        """Until every followed container has a CPU measurement (two answers), or its stream ended."""
        for entry in list(self.followed.values()):
            await entry.measured.wait()
