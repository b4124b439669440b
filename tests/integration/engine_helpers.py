"""Small drivers shared by the engine integration tests: observe -> plan -> execute."""

from __future__ import annotations

from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.executor import ExecContext, ExecOptions, ExecResult, execute
from stack.engine.observe import observe_project
from stack.engine.progress import ProgressSink, null_sink
from stack.plan.observed import ObservedState
from stack.plan.options import DownOptions, UpOptions
from stack.plan.plan import Plan
from stack.plan.reconcile import plan_down, plan_up
from stack.spec.models import Project


async def up_async(
    api: DockerAPI,
    project: Project,
    options: UpOptions | None = None,
    progress: ProgressSink = null_sink,
    **exec_options: Any,
) -> tuple[Plan, ExecResult]:
    observed = await observe_project(api, project)
    plan = plan_up(project, observed, options or UpOptions())
    result = await execute(plan, ExecContext(api, project, ExecOptions(**exec_options), progress))
    return plan, result


def up(api: DockerAPI, project: Project, options: UpOptions | None = None, **kw: Any) -> tuple[Plan, ExecResult]:
    return anyio.run(lambda: up_async(api, project, options, **kw))


def down(api: DockerAPI, project: Project, options: DownOptions | None = None) -> ExecResult:
    async def run() -> ExecResult:
        observed = await observe_project(api, project)
        plan = plan_down(observed, options or DownOptions(timeout=0), project)
        return await execute(plan, ExecContext(api, project))

    return anyio.run(run)


def run_plan(api: DockerAPI, project: Project, plan: Plan, **exec_options: Any) -> ExecResult:
    return anyio.run(lambda: execute(plan, ExecContext(api, project, ExecOptions(**exec_options))))


def snapshot(api: DockerAPI, project: Project) -> ObservedState:
    return anyio.run(lambda: observe_project(api, project))
