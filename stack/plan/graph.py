"""The service dependency graph: `depends_on`, `network_mode: service:x`, `volumes_from: x`.

Orders are deterministic (ties broken by name) so plans and their golden files are stable.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from stack.errors import DependencyCycleError, StackError, unknown_service
from stack.plan import labels as L
from stack.plan.observed import ObservedContainer
from stack.spec.graph import service_reference
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
        provider = service_reference(mode)
        if provider is not None:
            found.append(provider)
    for entry in volumes_from(service):
        if entry.startswith("container:"):
            continue  # a container outside the stack: nothing to order
        found.append(entry.split(":", 1)[0])
    return found


class ServiceGraph:
    """Who depends on whom among a project's (enabled) services: the one dependency order.

    The planner, `down` and the lifecycle verbs all walk it (Compose's InDependencyOrder).  Built
    from the stack file's services, or from plain "service -> what it needs" (`from_needs`: the
    depends-on labels of containers, when the stack file is gone).
    """

    def __init__(self, services: Mapping[str, Service]) -> None:
        self.services = dict(services)
        needs = {name: set(s.depends_on) | set(implicit_dependencies(s)) for name, s in self.services.items()}
        self._build(needs)

    @classmethod
    def from_needs(cls, needs: Mapping[str, Iterable[str]]) -> ServiceGraph:
        """The graph of services that need the ones listed (names not among the keys are dropped)."""
        graph = cls({})
        graph._build({name: set(deps) for name, deps in needs.items()})
        return graph

    def _build(self, needs: Mapping[str, set[str]]) -> None:
        # service -> the services it needs (only those present: optional, absent deps are dropped)
        self._deps: dict[str, set[str]] = {n: {d for d in deps if d in needs and d != n} for n, deps in needs.items()}
        self._dependents: dict[str, set[str]] = {name: set() for name in needs}
        for name, deps in self._deps.items():
            for dep in deps:
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

    def levels(self) -> list[list[str]]:
        """The services in waves: each needs only services of earlier waves, so the services of
        one wave can be acted on together (start in this order, stop in reverse)."""
        depth: dict[str, int] = {}
        for name in self._order:
            depth[name] = 1 + max((depth[d] for d in self._deps[name]), default=-1)
        waves: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for name in self._order:
            waves[depth[name]].append(name)
        return waves

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
        if service not in self._deps:
            raise unknown_service(service, self._deps)


def observed_graph(
    containers: Iterable[ObservedContainer], services: Mapping[str, Service] | None = None
) -> ServiceGraph:
    """The dependency order of existing containers: the stack file's services where it defines
    them, else what each container's depends-on label says, so the order holds without the file
    (and for orphans).  A cycle through labels cannot come from a valid file: those services
    then have no order among themselves."""
    known = dict(services or {})
    needs: dict[str, set[str]] = {name: set(s.depends_on) | set(implicit_dependencies(s)) for name, s in known.items()}
    labelled: dict[str, set[str]] = {}
    for c in containers:
        if c.service not in known:
            labelled.setdefault(c.service, set()).update(d for d in c.labels.get(L.DEPENDS_ON, "").split(",") if d)
    try:
        return ServiceGraph.from_needs({**labelled, **needs})
    except StackError:
        return ServiceGraph.from_needs({**{name: set() for name in labelled}, **needs})


def in_dependency_order(
    containers: Iterable[ObservedContainer], services: Mapping[str, Service] | None = None, *, reverse: bool = False
) -> list[list[ObservedContainer]]:
    """Containers in waves, each service after the services it needs (`reverse`: before them,
    the order to stop in); the containers of one wave can be acted on together."""
    found = list(containers)
    waves = observed_graph(found, services).levels()
    if reverse:
        waves.reverse()
    grouped = [
        sorted((c for c in found if c.service in wave), key=lambda c: (c.service, c.number, c.name)) for wave in waves
    ]
    return [wave for wave in grouped if wave]
