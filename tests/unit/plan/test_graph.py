from __future__ import annotations

from typing import Any

import pytest

from stack.errors import DependencyCycleError, UsageError
from stack.plan.graph import ServiceGraph
from stack.spec.models import Service


def graph(**services: dict[str, Any]) -> ServiceGraph:
    return ServiceGraph({k: Service.model_validate({"image": "x", **v}) for k, v in services.items()})


def dep(*names: str, restart: bool = False) -> dict[str, Any]:
    return {"depends_on": {n: {"condition": "service_started", "restart": restart} for n in names}}


G = dict(
    db={},
    cache={},
    api=dep("db", "cache"),
    web=dep("api", restart=True),
    worker=dep("db"),
    proxy={"network_mode": "service:web"},
    backup={"volumes_from": ["db:ro", "container:elsewhere"]},
)


def test_topological_order_is_deterministic_and_respects_edges() -> None:
    g = graph(**G)
    order = g.topological_order()
    assert order == ["cache", "db", "api", "backup", "web", "proxy", "worker"]
    for name in order:
        for needed in g.dependencies(name):
            assert order.index(needed) < order.index(name)


def test_dependencies_and_dependents() -> None:
    g = graph(**G)
    assert g.dependencies("web") == ["api"]
    assert g.dependencies("web", transitive=True) == ["cache", "db", "api"]
    assert g.dependents("db") == ["api", "backup", "worker"]
    assert g.dependents("db", transitive=True) == ["api", "backup", "web", "proxy", "worker"]
    assert g.dependencies("proxy") == ["web"]
    assert g.dependencies("backup") == ["db"]


def test_select_with_and_without_dependencies() -> None:
    g = graph(**G)
    assert g.select([]) == g.topological_order()
    assert g.select(["web"]) == ["cache", "db", "api", "web"]
    assert g.select(["web", "worker"], no_deps=True) == ["web", "worker"]
    with pytest.raises(UsageError, match="no such service: nope"):
        g.select(["nope"])


def test_restart_dependents() -> None:
    g = graph(**G)
    assert g.restart_dependents("api") == ["web"]
    assert g.restart_dependents("db") == []


def test_cycle_is_named() -> None:
    with pytest.raises(DependencyCycleError) as err:
        graph(a=dep("b"), b=dep("c"), c=dep("a"), d={})
    assert "a -> b -> c -> a" in err.value.message


def test_optional_absent_dependency_is_ignored() -> None:
    g = graph(web={"depends_on": {"debug": {"condition": "service_started", "required": False}}})
    assert g.dependencies("web") == []


def test_levels_group_services_that_can_act_together() -> None:
    graph = ServiceGraph.from_needs({"web": {"api"}, "api": {"db", "cache"}, "db": set(), "cache": set(), "x": set()})
    assert graph.levels() == [["cache", "db", "x"], ["api"], ["web"]]
    assert ServiceGraph.from_needs({}).levels() == []


def test_from_needs_drops_absent_services_and_finds_cycles() -> None:
    import pytest

    from stack.errors import DependencyCycleError

    assert ServiceGraph.from_needs({"a": {"gone"}}).levels() == [["a"]]
    with pytest.raises(DependencyCycleError):
        ServiceGraph.from_needs({"a": {"b"}, "b": {"a"}})


def test_containers_in_dependency_order_from_labels_alone() -> None:
    from stack.plan import labels as L
    from stack.plan.graph import in_dependency_order
    from stack.plan.observed import ObservedContainer

    def c(service: str, needs: str = "", number: int = 1) -> ObservedContainer:
        return ObservedContainer(
            id=f"{service}{number}",
            name=f"p-{service}-{number}",
            service=service,
            number=number,
            state="running",
            image_id="",
            config_hash="",
            labels={L.DEPENDS_ON: needs} if needs else {},
        )

    found = [c("web", "api"), c("api", "db"), c("api", "db", 2), c("db"), c("solo")]
    names = [[x.name for x in wave] for wave in in_dependency_order(found)]
    assert names == [["p-db-1", "p-solo-1"], ["p-api-1", "p-api-2"], ["p-web-1"]]
    stop = [[x.name for x in wave] for wave in in_dependency_order(found, reverse=True)]
    assert stop == [["p-web-1"], ["p-api-1", "p-api-2"], ["p-db-1", "p-solo-1"]]
    # A cycle through labels (no valid file makes one): those services keep no order.
    looped = in_dependency_order([c("a", "b"), c("b", "a")])
    assert [[x.service for x in wave] for wave in looped] == [["a", "b"]]
