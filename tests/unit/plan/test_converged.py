"""The pydantic-free converged check: True only for exactly what the planner leaves alone."""

from __future__ import annotations

import copy
from typing import Any

from stack.plan import labels as L
from stack.plan.converged import is_converged
from stack.spec.digest import spec_digest

RAW: dict[str, Any] = {
    "name": "demo",
    "services": {
        "web": {"image": "busybox", "networks": {"default": None}, "deploy": {"replicas": 2}},
        "db": {"image": "busybox", "networks": {"default": None}, "volumes": [{"type": "volume", "source": "data"}]},
    },
    "networks": {"default": {"name": "demo_default", "ipam": {}}},
    "volumes": {"data": {"name": "demo_data"}},
}
IMAGES = [{"Id": "sha256:img", "RepoTags": ["busybox:latest"]}]


def container(service: str, number: int, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Names": [f"/demo-{service}-{number}"],
        "State": "running",
        "Status": "Up 3 seconds",
        "ImageID": "sha256:img",
        "Labels": {
            L.CONTAINER_OF: "demo",
            L.PROJECT: "demo",
            L.SERVICE: service,
            L.NUMBER: str(number),
            L.ONEOFF: "False",
            L.SPEC_DIGEST: spec_digest(RAW["services"].get(service, {})),
        },
        "NetworkSettings": {"Networks": {"demo_default": {}}},
    }
    entry.update(changes)
    return entry


def state() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    containers = [container("web", 1), container("web", 2), container("db", 1)]
    networks = [{"Name": "demo_default", "Labels": {L.SPEC_DIGEST: spec_digest(RAW["networks"]["default"])}}]
    volumes = [{"Name": "demo_data"}]
    return containers, networks, volumes


def check(containers: Any, networks: Any, volumes: Any, raw: Any = RAW, **kw: Any) -> bool:
    return is_converged(raw, containers, networks, volumes, IMAGES, **kw)


def test_exact_state_is_converged() -> None:
    assert check(*state())


def test_every_difference_is_not_converged() -> None:
    containers, networks, volumes = state()
    assert not check(containers[:2], networks, volumes)  # a replica missing
    assert not check([*containers, container("web", 3)], networks, volumes)  # one too many
    assert not check([*containers, container("old", 1)], networks, volumes)  # an orphan
    assert not check([container("web", 1, State="exited"), *containers[1:]], networks, volumes)
    assert not check([container("web", 1, ImageID="sha256:new"), *containers[1:]], networks, volumes)
    assert not check([container("web", 1, Names=["/x_demo-web-1"]), *containers[1:]], networks, volumes)
    stale = container("web", 1)
    stale["Labels"][L.SPEC_DIGEST] = "old"
    assert not check([stale, *containers[1:]], networks, volumes)
    assert not check(containers, [], volumes)  # network missing
    assert not check(containers, networks, [])  # volume missing
    changed = copy.deepcopy(RAW)
    changed["services"]["db"]["environment"] = {"A": "1"}
    assert not check(containers, networks, volumes, raw=changed)
    detached = container("web", 1, NetworkSettings={"Networks": {}})
    assert not check([detached, *containers[1:]], networks, volumes)


def test_health_matters_only_when_asked() -> None:
    containers, networks, volumes = state()
    containers[0]["Status"] = "Up 1 second (health: starting)"
    assert check(containers, networks, volumes)
    assert not check(containers, networks, volumes, need_healthy=True)


def test_one_off_containers_are_ignored() -> None:
    containers, networks, volumes = state()
    run = container("web", 9)
    run["Labels"][L.ONEOFF] = "True"
    assert check([*containers, run], networks, volumes)
