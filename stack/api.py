"""The public Python API: every command is a short walk along load -> observe -> plan -> execute.

Each verb has an async form (`up_async`) for callers already inside an event loop, and a
synchronous one (`up`) that runs it with `anyio.run`.  The CLI is a thin face over these,
so scripts, tests and a pytest fixture drive stacks exactly as `stack up` does.

    import stack
    project = stack.load(["stack.yaml"])
    stack.up(project, stack.UpOptions(wait=True))
    print(stack.ps(project.name))
    stack.down(project.name, stack.DownOptions(remove_volumes=True), project=project)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

import anyio

from stack.engine.docker_api import START_INTERVAL_API_VERSION, DockerAPI, api_version_at_least
from stack.engine.executor import ExecContext, ExecOptions, ExecResult, execute
from stack.engine.listing import ContainerInfo, ps_rows
from stack.engine.lock import LockPolicy, project_lock
from stack.engine.observe import observe, observe_project
from stack.engine.progress import ProgressSink, null_sink
from stack.errors import StackFileError
from stack.plan import labels as L
from stack.plan.observed import ObservedState
from stack.plan.options import DownOptions, UpOptions
from stack.plan.plan import Plan
from stack.plan.reconcile import plan_down, plan_images, plan_up
from stack.spec.loader import LoadOptions, load_project
from stack.spec.models import Project

T = TypeVar("T")

__all__ = [
    "ContainerInfo",
    "DownOptions",
    "DownResult",
    "LockPolicy",
    "UpOptions",
    "UpResult",
    "build",
    "down",
    "down_async",
    "load",
    "observe_project",
    "plan_for_up",
    "ps",
    "ps_async",
    "scale",
    "up",
    "up_async",
]


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


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(fn)


@asynccontextmanager
async def session(
    api: DockerAPI | None, *, writes: str | None = None, command: str = "", lock: LockPolicy | None = None
) -> AsyncIterator[DockerAPI]:
    """The daemon facade for one verb: the caller's, or a new one closed at the end.

    A verb that changes project `writes` holds that project's lock (stack.engine.lock) for its
    whole length, so two commands never change one project at once; `lock` says whether to
    wait for another writer, and how long.
    """
    owned = api is None
    facade = DockerAPI.from_env() if api is None else api
    try:
        if writes is None:
            yield facade
        else:
            async with project_lock(facade, writes, command, lock):
                yield facade
    finally:
        if owned:
            facade.close()


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
    start and remove exactly what differs.  A second call with nothing changed does nothing."""
    options = options or UpOptions()
    result = UpResult()
    command = "create" if options.no_start else "up"
    async with session(api, writes=project.name, command=command, lock=lock) as docker:
        calls_before = docker.total_calls
        exec_options = ExecOptions(stop_timeout=options.timeout, wait_timeout=options.wait_timeout)
        ctx = ExecContext(api=docker, project=project, options=exec_options, progress=progress)
        try:
            with placed_in(project):
                await _up(docker, project, options, ctx, result)
        finally:
            result.api_calls = docker.total_calls - calls_before
    return result


async def _up(api: DockerAPI, project: Project, options: UpOptions, ctx: ExecContext, result: UpResult) -> None:
    from stack.engine.readiness import wait_ready
    from stack.engine.waits import ContainerWatcher
    from stack.plan.graph import ServiceGraph

    # The services this `up` starts: the named ones (all when none) and, unless --no-deps, theirs.
    selected = ServiceGraph(project.services).select(
        options.services or sorted(project.services), no_deps=options.no_deps
    )
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


@contextmanager
def placed_in(project: Project) -> Iterator[None]:
    """Stack-file errors found after loading (planner, engine) know their key path only: give
    them the file and line that key was written at."""
    try:
        yield
    except StackFileError as error:
        if project.source_map is not None:
            project.source_map.place(error)
        raise


def _preflight(project: Project, services: list[str]) -> None:
    """What would fail at a container's create and can be known now, before anything changes:
    secrets and configs whose value comes from an unset variable."""
    from stack.engine.container_spec import secrets_and_configs

    for name in services:
        service = project.services.get(name)
        if service is not None:
            secrets_and_configs(project, service)


def _unsupported_by_daemon(api: DockerAPI, project: Project, services: list[str]) -> list[str]:
    """What the stack asks for that the daemon (at the API version agreed with it) ignores."""
    if api_version_at_least(api.api_version, START_INTERVAL_API_VERSION):
        return []
    checks = {name: project.services[name].healthcheck for name in services if name in project.services}
    return [
        f"service {name}: healthcheck start_interval is ignored by this daemon (Engine API {api.api_version};"
        f" it needs {START_INTERVAL_API_VERSION}, Docker 25 or later): the first probe comes after `interval`"
        for name, check in sorted(checks.items())
        if check is not None and check.start_interval and not check.disable
    ]


def up(
    project: Project,
    options: UpOptions | None = None,
    *,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> UpResult:
    """Synchronous `up_async`."""
    return _run(lambda: up_async(project, options, progress=progress, api=api, lock=lock))


def scale(
    project: Project,
    counts: dict[str, int],
    *,
    no_deps: bool = False,
    progress: ProgressSink = null_sink,
    lock: LockPolicy | None = None,
) -> UpResult:
    """Set the replica counts of services; the replicas that stay are never recreated."""
    options = UpOptions(services=sorted(counts), scale=dict(counts), no_deps=no_deps)
    return up(project, options, progress=progress, lock=lock)


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
        plan = plan_images(project, observed, UpOptions(services=list(services or []), build="always"))
        ctx = ExecContext(api=docker, project=project, progress=progress)
        return await execute(plan, ctx)


def build(project: Project, services: list[str] | None = None, *, progress: ProgressSink = null_sink) -> ExecResult:
    """Synchronous `build_async`."""
    return _run(lambda: build_async(project, services, progress=progress))


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
    """Stop and remove everything labelled with `project_name`.

    Works from labels alone (`project=None`): the stack file may be gone or changed.
    With the project it also knows the networks and volumes the file declares.
    """
    options = options or DownOptions()
    async with session(api, writes=None if dry_run else project_name, command="down", lock=lock) as docker:
        calls_before = docker.total_calls
        if project is not None:
            observed = await observe_project(docker, project)
        else:
            observed = await observe(docker, project_name)
        plan = plan_down(observed, options, project)
        if dry_run:
            return DownResult(plan, ExecResult(), docker.total_calls - calls_before)
        stand_in = project or Project(name=project_name)
        ctx = ExecContext(
            api=docker, project=stand_in, options=ExecOptions(stop_timeout=options.timeout), progress=progress
        )
        result = await execute(plan, ctx)
        return DownResult(plan, result, docker.total_calls - calls_before)


def down(
    project_name: str,
    options: DownOptions | None = None,
    *,
    project: Project | None = None,
    progress: ProgressSink = null_sink,
    lock: LockPolicy | None = None,
) -> DownResult:
    """Synchronous `down_async`."""
    return _run(lambda: down_async(project_name, options, project=project, progress=progress, lock=lock))


async def ps_async(
    project_name: str,
    *,
    all: bool = False,
    services: list[str] | None = None,
    api: DockerAPI | None = None,
) -> list[ContainerInfo]:
    """The project's containers (running ones unless `all`), by service and replica number.

    One list call with a label filter: `ps` on 200 containers stays one round trip."""
    async with session(api) as docker:
        listed = await docker.list_containers(L.container_filter(project_name))
    return ps_rows(listed, all=all, services=services)


def ps(project_name: str, *, all: bool = False, services: list[str] | None = None) -> list[ContainerInfo]:
    """Synchronous `ps_async`."""
    return _run(lambda: ps_async(project_name, all=all, services=services))
