"""The service dependency graph: `depends_on`, `network_mode: service:x`, `volumes_from: x`.

Orders are deterministic (ties broken by name) so plans and their golden files are stable.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from stack.errors import DependencyCycleError, UsageError
from stack.spec.models import Service


def volumes_from(service: Service) -> list[str]:
    """The `volumes_from` entries of a service (a model field, or an extra on older models)."""
    value = getattr(service, "volumes_from", None) or (service.model_extra or {}).get("volumes_from") or []
    return [str(v) for v in value]


def implicit_dependencies(service: Service) -> list[str]:
    """Services a service needs besides `depends_on`: `network_mode`/`ipc`/`pid: service:x`,
    `volumes_from: x`."""
    found: list[str] = []
    for mode in (service.network_mode, service.ipc, service.pid):
        if mode and mode.startswith("service:"):
            found.append(mode.removeprefix("service:"))
    for entry in volumes_from(service):
        if entry.startswith("container:"):
            continue  # a container outside the stack: nothing to order
        found.append(entry.split(":", 1)[0])
    return found


class ServiceGraph:
    """Who depends on whom among a project's (enabled) services."""

    def __init__(self, services: Mapping[str, Service]) -> None:
        self.services = dict(services)
        # service -> the services it needs (only those present: optional, absent deps are dropped)
        self._deps: dict[str, set[str]] = {}
        self._dependents: dict[str, set[str]] = {name: set() for name in self.services}
        for name, service in self.services.items():
            needed = set(service.depends_on) | set(implicit_dependencies(service))
            self._deps[name] = {d for d in needed if d in self.services and d != name}
            for dep in self._deps[name]:
                self._dependents[dep].add(name)
        self._order = self._topological_order()

    def _topological_order(self) -> list[str]:
        pending = {name: len(deps) for name, deps in self._deps.items()}
        ready = [name for name, count in pending.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            for dependent in self._dependents[name]:
                pending[dependent] -= 1
                if pending[dependent] == 0:
                    heapq.heappush(ready, dependent)
        if len(order) != len(self._deps):
            raise DependencyCycleError(
                f"dependency cycle between services: {' -> '.join(self._find_cycle(set(order)))}",
                path="services",
                hint="remove one of the depends_on (or network_mode/volumes_from) links of the cycle",
            )
        return order

    def _find_cycle(self, done: set[str]) -> list[str]:
        # Walk from any service left over: every one of them has a dependency also left over.
        start = min(n for n in self._deps if n not in done)
        path = [start]
        seen = {start: 0}
        current = start
        while True:
            current = min(d for d in self._deps[current] if d not in done)
            if current in seen:
                return [*path[seen[current] :], current]
            seen[current] = len(path)
            path.append(current)

    def topological_order(self) -> list[str]:
        """Every service, each after all the services it needs."""
        return list(self._order)

    def _closure(self, start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
        found: set[str] = set()
        stack = list(start)
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in found:
                    found.add(nxt)
                    stack.append(nxt)
        return found

    def _sorted(self, names: set[str]) -> list[str]:
        return [n for n in self._order if n in names]

    def dependencies(self, service: str, *, transitive: bool = False) -> list[str]:
        """What `service` needs, in start order."""
        self._check(service)
        if transitive:
            return self._sorted(self._closure([service], self._deps))
        return self._sorted(self._deps[service])

    def dependents(self, service: str, *, transitive: bool = False) -> list[str]:
        """What needs `service`, in start order."""
        self._check(service)
        if transitive:
            return self._sorted(self._closure([service], self._dependents))
        return self._sorted(self._dependents[service])

    def restart_dependents(self, service: str) -> list[str]:
        """Services whose `depends_on: {service: {restart: true}}` asks to restart with it."""
        self._check(service)
        return [
            name
            for name in self._sorted(self._dependents[service])
            if (edge := self.services[name].depends_on.get(service)) is not None and edge.restart
        ]

    def select(self, services: Iterable[str], *, no_deps: bool = False) -> list[str]:
        """The services a command acts on, in start order: those named (all when none) plus,
        unless `no_deps`, everything they need."""
        named = list(services)
        if not named:
            return list(self._order)
        for name in named:
            self._check(name)
        chosen = set(named)
        if not no_deps:
            chosen |= self._closure(named, self._deps)
        return self._sorted(chosen)

    def _check(self, service: str) -> None:
        if service not in self.services:
            known = ", ".join(sorted(self.services)) or "none"
            raise UsageError(f"no such service: {service}", hint=f"the stack's services are: {known}")
