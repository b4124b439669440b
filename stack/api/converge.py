"""Converge the daemon to a stack file: load, up, create, scale, build, down.

Each verb is one walk along load -> observe -> plan -> execute, holding the project's lock
while it changes the project (`session`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace

from stack.api.session import blocking, placed_in, session
from stack.engine.container_spec import secrets_and_configs
from stack.engine.docker_api import START_INTERVAL_API_VERSION, DockerAPI, api_version_at_least
from stack.engine.executor import ExecContext, ExecOptions, ExecResult, execute
from stack.engine.lock import LockPolicy
from stack.engine.observe import observe, observe_project
from stack.engine.progress import ProgressSink, null_sink
from stack.engine.readiness import wait_ready
from stack.engine.waits import ContainerWatcher
from stack.plan.expectations import healthcheck_state
from stack.plan.graph import ServiceGraph
from stack.plan.observed import ObservedState
from stack.plan.options import DownOptions, UpOptions
from stack.plan.plan import Plan
from stack.plan.reconcile import plan_down, plan_images, plan_up
from stack.spec.loader import LoadOptions, load_project
from stack.spec.models import Project


def load(
    files: list[str] | None = None,
    *,
    project_name: str | None = None,
    project_directory: str | None = None,
    env_files: list[str] | None = None,
    profiles: list[str] | None = None,
    services: list[str] | None = None,
) -> Project:
    """Load a stack the way the CLI does (`-f`, `-p`, `--project-directory`, ...)."""
    return load_project(
        LoadOptions(
            files=list(files or []),
            project_name=project_name,
            project_directory=project_directory,
            env_files=list(env_files or []),
            profiles=list(profiles or []),
            services=list(services or []),
        )
    )


@dataclass
class UpResult:
    """What an `up` did: the plans it executed (images first, then containers), and its cost."""

    plans: list[Plan] = field(default_factory=list)
    results: list[ExecResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    api_calls: int = 0
    # The daemon's state the container plan was made from: its running containers that no plan
    # node touches are the up-to-date ones (the CLI shows them `Running`, as Compose does).
    observed: ObservedState | None = None

    @property
    def changed(self) -> bool:
        return any(not p.is_empty() for p in self.plans)


async def plan_for_up(api: DockerAPI, project: Project, options: UpOptions) -> Plan:
    """The whole plan `up` would run, in one pass (what `up --dry-run` prints)."""
    return plan_up(project, await observe_project(api, project), options)


async def up_async(
    project: Project,
    options: UpOptions | None = None,
    *,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> UpResult:
    """Converge the daemon to `project`: build/pull what is missing, then create, recreate,
    start and remove exactly what differs; with `options.wait`, until every service is ready.
    A second call with nothing changed does nothing."""
    options = options or UpOptions()
    result = UpResult()
    command = "create" if options.no_start else "up"
    async with session(api, writes=project.name, command=command, lock=lock) as docker:
        calls_before = docker.total_calls
        exec_options = ExecOptions(stop_timeout=options.timeout, wait_timeout=options.wait_timeout)
        ctx = ExecContext(api=docker, project=project, options=exec_options, progress=progress)
        try:
            with placed_in(project):
                await _converge(ctx, options, result)
        finally:
            result.api_calls = docker.total_calls - calls_before
    return result


async def _converge(ctx: ExecContext, options: UpOptions, result: UpResult) -> None:
    api, project = ctx.api, ctx.project
    # The services this `up` starts: the named ones (all when none) and, unless --no-deps, theirs.
    selected = ServiceGraph(project.services).select(options.services, no_deps=options.no_deps)
    _preflight(project, selected)
    result.warnings.extend(_unsupported_by_daemon(api, project, selected))
    async with contextlib.AsyncExitStack() as scope:
        watcher = None
        if options.wait and not options.no_start:
            # `--wait` watches from before the first start: an exit right after a start must not
            # slip between the start and the wait (the daemon's list may still say "running").
            watcher = await scope.enter_async_context(ContainerWatcher.watching(api, project.name))
        observed = await observe_project(api, project)
        images = plan_images(project, observed, options)
        if not images.is_empty():
            # Phase one: build and pull.  The new image ids decide which containers are recreated.
            result.plans.append(images)
            result.results.append(await execute(images, ctx))
            observed = await observe_project(api, project)
        plan = plan_up(project, observed, replace(options, images_ready=True))
        result.observed = observed
        result.warnings.extend(plan.warnings)
        result.plans.append(plan)
        result.results.append(await execute(plan, ctx, watcher=watcher))
        result.warnings.extend(w for r in result.results for w in r.warnings)
        if watcher is not None:
            await wait_ready(watcher, project, selected, options.wait_timeout)


def _preflight(project: Project, services: list[str]) -> None:
    """What would fail at a container's create and can be known now, before anything changes:
    secrets and configs whose value comes from an unset variable."""
    for name in services:
        service = project.services.get(name)
        if service is not None:
            secrets_and_configs(project, service)


def _unsupported_by_daemon(api: DockerAPI, project: Project, services: list[str]) -> list[str]:
    """What the stack asks for that the daemon (at the API version agreed with it) ignores."""
    if api_version_at_least(api.api_version, START_INTERVAL_API_VERSION):
        return []
    checked = {name: project.services[name] for name in services if name in project.services}
    return [
        f"service {name}: healthcheck start_interval is ignored by this daemon (Engine API {api.api_version};"
        f" it needs {START_INTERVAL_API_VERSION}, Docker 25 or later): the first probe comes after `interval`"
        for name, service in sorted(checked.items())
        if healthcheck_state(service) and service.healthcheck is not None and service.healthcheck.start_interval
    ]


async def create_async(
    project: Project,
    services: list[str] | None = None,
    *,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> UpResult:
    """Create what `up` would, without starting anything (`stack create`)."""
    options = UpOptions(services=list(services or []), no_start=True)
    return await up_async(project, options, progress=progress, api=api, lock=lock)


async def scale_async(
    project: Project,
    counts: dict[str, int],
    *,
    no_deps: bool = False,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> UpResult:
    """Set the replica counts of services; the replicas that stay are never recreated."""
    options = UpOptions(services=sorted(counts), scale=dict(counts), no_deps=no_deps)
    return await up_async(project, options, progress=progress, api=api, lock=lock)


async def build_async(
    project: Project,
    services: list[str] | None = None,
    *,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
) -> ExecResult:
    """Build the images of `services` (default: every service with a `build:` section)."""
    async with session(api) as docker:
        observed = await observe_project(docker, project)
        plan = plan_images(project, observed, UpOptions(services=list(services or []), build="always"), for_up=False)
        return await execute(plan, ExecContext(api=docker, project=project, progress=progress))


@dataclass
class DownResult:
    plan: Plan
    result: ExecResult
    api_calls: int = 0


async def down_async(
    project_name: str,
    options: DownOptions | None = None,
    *,
    project: Project | None = None,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
    dry_run: bool = False,
    lock: LockPolicy | None = None,
) -> DownResult:
    """Stop and remove everything stack created for `project_name`.

    Works from labels alone (`project=None`): the stack file may be gone or changed.  With the
    project it also knows the networks and volumes the file declares, and leaves orphans alone.
    """
    options = options or DownOptions()
    async with session(api, writes=None if dry_run else project_name, command="down", lock=lock) as docker:
        calls_before = docker.total_calls
        observed = await (observe_project(docker, project) if project else observe(docker, project_name))
        plan = plan_down(observed, options, project)
        if dry_run:
            return DownResult(plan, ExecResult(), docker.total_calls - calls_before)
        stand_in = project or Project(name=project_name)
        exec_options = ExecOptions(stop_timeout=options.timeout)
        result = await execute(plan, ExecContext(api=docker, project=stand_in, options=exec_options, progress=progress))
        return DownResult(plan, result, docker.total_calls - calls_before)


up = blocking(up_async)
create = blocking(create_async)
scale = blocking(scale_async)
build = blocking(build_async)
down = blocking(down_async)
