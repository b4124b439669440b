"""The watcher's state folding and the condition verdicts (pure: events are plain dicts)."""

from __future__ import annotations

from typing import Any

import pytest

from stack.engine.waits import ContainerWatcher, WaitSpec, _check
from stack.errors import HealthcheckFailedError, ServiceFailedError


def _event(action: str, cid: str = "c1", service: str = "db", **attrs: str) -> dict[str, Any]:
    return {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": cid, "Attributes": {"name": f"demo-{service}-1", "dev.stack.service": service, **attrs}},
    }


def _listed(cid: str, state: str, status: str, service: str = "db") -> dict[str, Any]:
    return {
        "Id": cid,
        "Names": [f"/demo-{service}-1"],
        "State": state,
        "Status": status,
        "Labels": {"dev.stack.service": service, "dev.stack.number": "1"},
    }


def _watcher() -> ContainerWatcher:
    return ContainerWatcher(api=None, project="demo")  # type: ignore[arg-type]


# The watcher's wake-up events need a running loop.
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


HEALTHY = WaitSpec("db", "service_healthy", dependent="web")


async def test_events_fold_into_states_and_health_holds_only_when_healthy():
    w = _watcher()
    w.apply(_event("create"))
    w.apply(_event("start"))
    w.merge_listed([_listed("c1", "running", "Up 1 second (health: starting)")])
    assert _check(HEALTHY, w.of_service("db")) is False
    w.apply(_event("health_status: unhealthy"))
    assert _check(HEALTHY, w.of_service("db")) is False  # may still recover
    w.apply(_event("health_status: healthy"))
    assert _check(HEALTHY, w.of_service("db")) is True


async def test_list_never_overrides_newer_event_facts():
    w = _watcher()
    w.apply(_event("health_status: healthy"))
    w.merge_listed([_listed("c1", "running", "Up 2 seconds (health: starting)")])
    assert w.of_service("db")[0].health == "healthy"


async def test_already_healthy_container_is_known_from_the_list_alone():
    w = _watcher()
    w.merge_listed([_listed("c1", "running", "Up 5 minutes (healthy)")])
    assert _check(HEALTHY, w.of_service("db")) is True


async def test_running_without_healthcheck_and_exit_are_final_verdicts():
    w = _watcher()
    w.merge_listed([_listed("c1", "running", "Up 5 minutes")])
    assert isinstance(_check(HEALTHY, w.of_service("db")), HealthcheckFailedError)
    w.apply(_event("die", exitCode="137"))
    verdict = _check(HEALTHY, w.of_service("db"))
    assert isinstance(verdict, ServiceFailedError) and "exited with code 137" in verdict.message


async def test_completed_successfully_needs_every_replica_to_exit_zero():
    spec = WaitSpec("job", "service_completed_successfully", dependent="app")
    w = _watcher()
    w.apply(_event("start", cid="a", service="job"))
    w.apply(_event("start", cid="b", service="job"))
    w.apply(_event("die", cid="a", service="job", exitCode="0"))
    assert _check(spec, w.of_service("job")) is False
    w.apply(_event("die", cid="b", service="job", exitCode="2"))
    verdict = _check(spec, w.of_service("job"))
    assert isinstance(verdict, ServiceFailedError) and "code 2" in verdict.message


async def test_destroyed_containers_are_forgotten_and_not_revived_by_a_stale_list():
    w = _watcher()
    w.apply(_event("start"))
    w.apply(_event("destroy"))
    w.merge_listed([_listed("c1", "running", "Up 1 second")])
    assert w.of_service("db") == []
