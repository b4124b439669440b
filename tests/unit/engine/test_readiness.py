"""`up --wait`'s verdict on one container, and what the stack file leads us to expect (no daemon)."""

from __future__ import annotations

from typing import Any

import pytest

from stack.engine.readiness import SETTLE_SECONDS, Verdict, judge
from stack.engine.waits import ContainerState
from stack.plan.expectations import healthcheck_state, restarts_after_exit, runs_once
from stack.spec.models import Project, Service


def stack(**services: dict[str, Any]) -> Project:
    return Project.model_validate({"name": "demo", "services": {k: {"image": "b", **v} for k, v in services.items()}})


def state(**fields: Any) -> ContainerState:
    return ContainerState(**{"id": "c1", "name": "demo-s-1", "service": "s", **fields})


def test_exits_fail_the_wait_unless_a_one_shot_job_exits_0() -> None:
    p = stack(s={})
    assert judge(p, "s", state(state="exited", exit_code=3, deaths=1), 0) is Verdict.EXITED
    assert judge(p, "s", state(state="exited", exit_code=0, deaths=1), 0) is Verdict.EXITED
    once = stack(s={"x-stack-run-once": True})
    assert judge(once, "s", state(state="exited", exit_code=0, deaths=1), 0) is Verdict.READY
    assert judge(once, "s", state(state="exited", exit_code=1, deaths=1), 0) is Verdict.EXITED
    waited = stack(s={}, t={"depends_on": {"s": {"condition": "service_completed_successfully"}}})
    assert judge(waited, "s", state(state="exited", exit_code=0, deaths=1), 0) is Verdict.READY


def test_a_restart_policy_earns_one_restart() -> None:
    p = stack(s={"restart": "on-failure"})
    assert judge(p, "s", state(state="exited", exit_code=3, deaths=1), 0) is Verdict.WAITING
    assert judge(p, "s", state(state="restarting", exit_code=3, deaths=1), 0) is Verdict.WAITING
    assert judge(p, "s", state(state="exited", exit_code=3, deaths=2), 0) is Verdict.EXITED
    assert judge(p, "s", state(state="exited", exit_code=0, deaths=1), 0) is Verdict.EXITED  # not restarted


def test_a_running_container_without_healthcheck_settles_first() -> None:
    p = stack(s={})
    fresh = state(state="running", running_since=100.0)
    assert judge(p, "s", fresh, 100.0 + SETTLE_SECONDS / 2) is Verdict.SETTLING
    assert judge(p, "s", fresh, 100.0 + SETTLE_SECONDS) is Verdict.READY
    assert judge(p, "s", state(state="running", settled=True), 0) is Verdict.READY


def test_health_decides_when_a_healthcheck_runs() -> None:
    checked = stack(s={"healthcheck": {"test": ["CMD", "true"]}})
    assert judge(checked, "s", state(state="running", health="starting"), 0) is Verdict.WAITING
    assert judge(checked, "s", state(state="running", health="unhealthy"), 0) is Verdict.UNHEALTHY
    assert judge(checked, "s", state(state="running", health="healthy"), 0) is Verdict.READY
    # The image's own healthcheck shows in the health field; a disabled one is not waited for.
    assert judge(stack(s={}), "s", state(state="running", health="starting"), 0) is Verdict.WAITING
    disabled = stack(s={"healthcheck": {"disable": True}})
    assert judge(disabled, "s", state(state="running", settled=True, health="starting"), 0) is Verdict.READY


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({}, None),
        ({"healthcheck": {"test": ["CMD", "true"]}}, True),
        ({"healthcheck": {"test": ["NONE"]}}, False),
        ({"healthcheck": {"disable": True}}, False),
    ],
)
def test_healthcheck_state(definition: dict[str, Any], expected: bool | None) -> None:
    assert healthcheck_state(Service.model_validate(definition)) is expected


@pytest.mark.parametrize(
    ("definition", "code", "expected"),
    [
        ({}, 1, False),
        ({"restart": "no"}, 1, False),
        ({"restart": "always"}, 0, True),
        ({"restart": "unless-stopped"}, 0, True),
        ({"restart": "on-failure:3"}, 1, True),
        ({"restart": "on-failure"}, 0, False),
        ({"deploy": {"restart_policy": {"condition": "any"}}}, 0, True),
        ({"deploy": {"restart_policy": {"condition": "on-failure"}}}, 2, True),
        ({"deploy": {"restart_policy": {"condition": "none"}}}, 2, False),
    ],
)
def test_restarts_after_exit(definition: dict[str, Any], code: int, expected: bool) -> None:
    assert restarts_after_exit(Service.model_validate(definition), code) is expected


def test_runs_once_only_for_marked_or_awaited_services() -> None:
    p = stack(a={}, b={"x-stack-run-once": True}, c={"depends_on": {"a": {"condition": "service_started"}}})
    assert [runs_once(p, n) for n in ("a", "b", "c")] == [False, True, False]


def test_run_once_marker_must_be_a_boolean(tmp_path: Any) -> None:
    from stack.errors import StackFileError
    from stack.spec.loader import LoadOptions, load_project

    path = tmp_path / "stack.yaml"
    path.write_text("services:\n  a:\n    image: b\n    x-stack-run-once: 'yes'\n")
    with pytest.raises(StackFileError, match="x-stack-run-once must be true or false") as error:
        load_project(LoadOptions(files=[str(path)]))
    assert error.value.render().startswith(f"{path}:4:5:")
