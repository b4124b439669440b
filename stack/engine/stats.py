"""Resource usage per container, computed from the Engine's stats as the docker CLI does.

One `stats(stream=False)` answer carries two samples (`precpu_stats`, `cpu_stats`, about a
second apart), which is all the CPU percentage needs; a live view reads the streamed samples.
`usage_from_stats` is pure, so the arithmetic is unit tested without a daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.errors import DockerNotFoundError


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
