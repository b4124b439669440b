"""depends_on conditions driven by the daemon's event stream."""

from __future__ import annotations

import anyio
import pytest

from stack.engine.progress import RecordingSink, Status
from stack.errors import HealthcheckFailedError, ServiceFailedError
from stack.plan import labels as L
from stack.plan.plan import Op
from tests.integration.engine_helpers import up, up_async

pytestmark = pytest.mark.docker

# Healthy once /tmp/ok exists; the workload creates it after a moment of "warming up".
DB = {
    "command": ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 600"],
    "healthcheck": {"test": ["CMD-SHELL", "test -f /tmp/ok"], "interval": "200ms", "retries": 50},
}
WEB = {"command": ["sleep", "600"], "depends_on": {"db": {"condition": "service_healthy"}}}


def _event_times(docker_client, project: str, since: int) -> list[tuple[int, str, str]]:
    """(timeNano, service, action) of the project's container events so far."""
    import time

    stream = docker_client.events(
        since=since, until=int(time.time()) + 1, filters=L.container_filter(project), decode=True
    )
    out = []
    for ev in stream:
        attrs = ev.get("Actor", {}).get("Attributes", {})
        out.append((int(ev["timeNano"]), attrs.get("dev.stack.service", ""), ev.get("Action", "")))
    return out


def test_service_healthy_wait_is_released_by_the_health_event(api, make_project, docker_client):
    import time

    since = int(time.time()) - 1
    project = make_project({"db": DB, "web": WEB})
    sink = RecordingSink()
    plan, result = up(api, project, progress=sink, wait_timeout=60)
    assert result.ok
    assert any(n.op is Op.WAIT_CONDITION for n in plan.nodes)
    events = _event_times(docker_client, project.name, since)
    healthy = next(t for t, svc, action in events if svc == "db" and action == "health_status: healthy")
    web_start = next(t for t, svc, action in events if svc == "web" and action == "start")
    # web starts only after db reported healthy (the reaction delay is measured in bench/).
    assert web_start > healthy
    print(f"health_status healthy -> dependent start: {(web_start - healthy) / 1e6:.1f} ms")
    # The wait reported the dependency's states as they changed, ending with healthy.
    reported = [e.text for e in sink.of(Status.LOG) if e.op == "WaitCondition"]
    assert reported[-1] == f"{project.name}-db-1: healthy"
    assert any(text.endswith(": starting") for text in reported)
    # The wait saw no polling: no inspect was needed to decide.
    assert api.calls["container.inspect"] == 0


def test_wait_timeout_names_the_service_condition_and_last_healthcheck_output(api, make_project, docker_client):
    never = {
        "command": ["sleep", "600"],
        "healthcheck": {"test": ["CMD-SHELL", "echo not-ready-yet; exit 1"], "interval": "200ms", "retries": 1000},
    }
    project = make_project({"db": never, "web": WEB})
    sink = RecordingSink()
    with pytest.raises(HealthcheckFailedError) as caught:
        up(api, project, progress=sink, wait_timeout=2)
    message = caught.value.message
    assert "service web" in message
    assert "db (service_healthy)" in message
    assert "not-ready-yet" in message
    # The dependent was never started.
    assert not docker_client.inspect_container(f"{project.name}-web-1")["State"]["Running"]
    assert [e.resource for e in sink.of(Status.SKIPPED)] == ["service:web:1"]


def test_unhealthy_dependency_may_recover_before_the_timeout(api, make_project):
    # Fails its first checks (unhealthy after 2 retries), then passes.
    flaky = {
        "command": ["sh", "-c", "sleep 1.5; touch /tmp/ok; exec sleep 600"],
        "healthcheck": {"test": ["CMD-SHELL", "test -f /tmp/ok"], "interval": "200ms", "retries": 2},
    }
    project = make_project({"db": flaky, "web": WEB})
    _, result = up(api, project, wait_timeout=60)
    assert result.ok


def test_service_completed_successfully_and_its_failure(api, make_project):
    project = make_project(
        {
            "migrate": {"command": ["sh", "-c", "exit 0"]},
            "app": {
                "command": ["sleep", "600"],
                "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
            },
        }
    )
    _, result = up(api, project, wait_timeout=60)
    assert result.ok

    failing = make_project(
        {
            "migrate2": {"command": ["sh", "-c", "exit 3"]},
            "app2": {
                "command": ["sleep", "600"],
                "depends_on": {"migrate2": {"condition": "service_completed_successfully"}},
            },
        }
    )
    with pytest.raises(ServiceFailedError) as caught:
        up(api, failing, wait_timeout=60)
    assert "migrate2" in caught.value.message and "exited with code 3" in caught.value.message


def test_service_healthy_on_a_service_without_healthcheck_fails_at_once(api, make_project):
    project = make_project({"db": {"command": ["sleep", "600"]}, "web": WEB})
    with pytest.raises(HealthcheckFailedError) as caught:
        up(api, project, wait_timeout=60)
    assert "has no healthcheck" in caught.value.message
    assert "db" in caught.value.message


def test_parallel_starts_are_pipelined(api, make_project):
    # Two independent chains: the slow one does not hold the fast one back.
    project = make_project(
        {
            "db": DB,
            "web": WEB,
            "cache": {"command": ["sleep", "600"]},
            "worker": {"command": ["sleep", "600"], "depends_on": {"cache": {"condition": "service_started"}}},
        }
    )
    sink = RecordingSink()

    async def run() -> None:
        await up_async(api, project, progress=sink, wait_timeout=60)

    anyio.run(run)
    done = [e.resource for e in sink.of(Status.DONE) if e.op == "StartContainer"]
    assert done.index("service:worker:1") < done.index("service:web:1")


def test_cancelling_a_run_mid_wait_leaves_only_labelled_resources(api, make_project, docker_client):
    never = {
        "command": ["sleep", "600"],
        "healthcheck": {"test": ["CMD-SHELL", "exit 1"], "interval": "200ms", "retries": 1000},
    }
    project = make_project({"db": never, "web": WEB})

    async def run() -> None:
        with anyio.CancelScope() as scope:

            def sink(event) -> None:
                # Ctrl-C stand-in: cancel as soon as the wait begins.
                if event.op == "WaitCondition" and event.status is Status.STARTED:
                    scope.cancel()

            await up_async(api, project, progress=sink, wait_timeout=600)
        assert scope.cancelled_caught

    anyio.run(run)
    # Everything the run created carries the project label (so `down` finds it); web never started.
    listed = docker_client.containers(all=True, filters=L.container_filter(project.name))
    assert sorted(c["Names"][0].lstrip("/") for c in listed) == [f"{project.name}-db-1", f"{project.name}-web-1"]
    assert {c["Names"][0].lstrip("/"): c["State"] for c in listed}[f"{project.name}-web-1"] == "created"


def test_recreated_dependency_is_waited_for_not_its_removed_predecessor(api, make_project):
    from stack.plan.options import UpOptions

    db = {**DB, "init": True}
    project = make_project({"db": db, "web": {**WEB, "init": True}})
    up(api, project, wait_timeout=60)
    # Both recreated: web's wait must judge the NEW db only (the old one died and was removed).
    plan, result = up(api, project, UpOptions(force_recreate=True), wait_timeout=60)
    assert result.ok
    assert any(n.op is Op.WAIT_CONDITION for n in plan.nodes)
