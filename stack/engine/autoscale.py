"""What the autoscaler reads of a service on the daemon: its replicas, their CPU over the last
interval, their request rate from their logs.

CPU: each reading is one `stats(stream=False)` answer per replica; the percentage is taken
between this reading and the previous one of the same container (the whole interval, not only
the one second one answer spans), with the docker CLI's formula (`stack.engine.stats.cpu_percent`,
% of one core).  A replica read for the first time gets its answer's own one-second figure.

Request rate: the replica's log lines between the previous reading and this one (`since`/
`until`, so no line is counted twice) that match the service's `requests.log` pattern, divided
by the seconds between the readings.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from stack.engine.containers import find_containers
from stack.engine.docker_api import DockerAPI
from stack.engine.stats import cpu_percent
from stack.errors import DockerAPIError
from stack.plan.observed import ObservedContainer


def is_ready(container: ObservedContainer) -> bool:
    """Counted by the autoscaler: running, and healthy when it has a healthcheck."""
    return container.state == "running" and container.health in (None, "healthy")


async def service_replicas(api: DockerAPI, project: str, service: str) -> list[ObservedContainer]:
    """The service's containers (no one-offs) that run or are about to, oldest first."""
    found = await find_containers(api, project, [service])
    live = [c for c in found if c.state in ("running", "restarting", "created", "paused")]
    return sorted(live, key=lambda c: (c.created, c.number))


def newest_first(replicas: list[ObservedContainer], count: int) -> list[ObservedContainer]:
    """The `count` replicas a scale-down removes: the newest (then the highest numbers)."""
    return sorted(replicas, key=lambda c: (c.created, c.number), reverse=True)[:count]


@dataclass
class CpuMeter:
    """CPU % per replica over the interval since the previous reading of the same container."""

    _previous: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def read(self, api: DockerAPI, replicas: list[ObservedContainer]) -> tuple[float, ...]:
        answers: dict[str, dict[str, Any]] = {}

        async def one(container: ObservedContainer) -> None:
            try:
                answers[container.id] = await api.call("container.stats", api.client.stats, container.id, stream=False)
            except DockerAPIError:
                return  # gone meanwhile: not counted

        async with anyio.create_task_group() as tg:
            for container in replicas:
                tg.start_soon(one, container)
        values: list[float] = []
        for container in replicas:
            answer = answers.get(container.id)
            if answer is None:
                continue
            previous = self._previous.get(container.id)
            stats = answer if previous is None else {"cpu_stats": answer.get("cpu_stats"), "precpu_stats": previous}
            values.append(cpu_percent(stats))
            self._previous[container.id] = answer.get("cpu_stats") or {}
        self._previous = {k: v for k, v in self._previous.items() if k in answers}
        return tuple(values)


@dataclass
class LogRate:
    """Requests per second of a service, counted from its replicas' log lines."""

    pattern: re.Pattern[str]
    _since: dict[str, float] = field(default_factory=dict)

    async def read(self, api: DockerAPI, replicas: list[ObservedContainer]) -> float | None:
        """The rate since the previous reading (None on the first: nothing to divide by yet)."""
        until = time.time()
        counts: dict[str, int] = {}
        spans: list[float] = []

        async def one(container: ObservedContainer) -> None:
            since = self._since.get(container.id)
            if since is None:
                return
            try:
                raw = await api.call(
                    "container.logs",
                    api.client.logs,
                    container.id,
                    stdout=True,
                    stderr=True,
                    since=since,
                    until=until,
                )
            except DockerAPIError:
                return
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            counts[container.id] = sum(1 for line in text.splitlines() if self.pattern.search(line))
            spans.append(until - since)

        async with anyio.create_task_group() as tg:
            for container in replicas:
                tg.start_soon(one, container)
        self._since = {c.id: until for c in replicas}
        if not spans:
            return None
        return sum(counts.values()) / max(max(spans), 1e-3)
