"""`stack run`: a one-off container of a service, running a command of the caller's.

The planner makes the container (stack.plan.reconcile.plan_run: the service's definition with
the run's overrides, its networks and volumes, its image); this module brings the dependencies
up, runs that plan, and attaches the caller's terminal.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass

import anyio

from stack.api.converge import up_async
from stack.api.session import blocking, placed_in, session
from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.exec import Terminal, attach_container, run_session, wait_exit
from stack.engine.executor import ExecContext, execute
from stack.engine.lock import LockPolicy
from stack.engine.observe import observe_project
from stack.engine.progress import ProgressSink, null_sink
from stack.errors import DockerAPIError, DockerNotFoundError
from stack.plan.graph import ServiceGraph
from stack.plan.naming import oneoff_container_name
from stack.plan.options import RunOptions, UpOptions
from stack.plan.reconcile import parse_publish, plan_run
from stack.spec.models import Project

__all__ = ["RunOptions", "RunResult", "parse_publish", "run", "run_async"]


@dataclass(frozen=True)
class RunResult:
    """The one-off container (its name) and its exit code (0 when detached)."""

    container: str
    exit_code: int


async def _start(docker: DockerAPI, cid: str, service: str, name: str) -> None:
    try:
        await docker.start_container(cid)
    except DockerAPIError as exc:
        raise translate(exc, action=f"start container {name}", service=service, resource=name) from exc


async def _create(
    docker: DockerAPI, project: Project, service: str, options: RunOptions, progress: ProgressSink
) -> tuple[str, str]:
    """The dependencies up (unless `no_deps`), then the one-off container created: id, name."""
    name = options.name or oneoff_container_name(project.name, service, secrets.token_hex(6))
    # Planned once before the dependencies start, so that what cannot work (an image that
    # `pull_policy: never` may not pull, a missing external network) fails before anything
    # is created; planned again on what their `up` left.
    plan = plan_run(project, await observe_project(docker, project), service, options, name)
    if not options.no_deps and service in project.services:
        deps = ServiceGraph(project.services).dependencies(service, transitive=True)
        if deps:
            await up_async(project, UpOptions(services=deps), progress=progress, api=docker)
            plan = plan_run(project, await observe_project(docker, project), service, options, name)
    result = await execute(plan, ExecContext(api=docker, project=project, progress=progress))
    return result.created[name], name


async def check_run_async(
    project: Project, service: str, options: RunOptions | None = None, *, api: DockerAPI | None = None
) -> None:
    """Plan `run` on the daemon's state without changing anything: raises what would make it
    fail before anything is created (an image that `pull_policy: never` may not pull, a missing
    external network), for callers that bring the dependencies up themselves first."""
    options = options or RunOptions()
    with placed_in(project):
        async with session(api) as docker:
            name = options.name or oneoff_container_name(project.name, service, "check")
            plan_run(project, await observe_project(docker, project), service, options, name)


async def run_async(
    project: Project,
    service: str,
    options: RunOptions | None = None,
    *,
    terminal: Terminal | None = None,
    progress: ProgressSink = null_sink,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> RunResult:
    """A one-off container of `service` running `options.command`; its exit code.

    Dependencies are brought up first (unless `no_deps`); the service's ports are published
    only with `service_ports` or `publish`; `remove` deletes the container (and its anonymous
    volumes) once it exited, also when interrupted.
    """
    options = options or RunOptions()
    for spec in options.publish:
        parse_publish(spec)  # a bad -p is a usage error before anything starts
    term = terminal or Terminal.current(attach_stdin=not options.detach)
    with placed_in(project):
        async with session(api) as docker:
            # The project's lock covers what changes the project (dependencies, networks, volumes,
            # the container), not the session, which may last as long as the user likes.
            async with session(docker, writes=project.name, command="run", lock=lock):
                cid, name = await _create(docker, project, service, options, progress)
            if options.detach:
                await _start(docker, cid, service, name)
                return RunResult(name, 0)
            try:
                return RunResult(name, await _attached(docker, cid, service, name, options, term))
            finally:
                with anyio.CancelScope(shield=True):
                    await _finish(docker, cid, options.remove)


async def _attached(docker: DockerAPI, cid: str, service: str, name: str, options: RunOptions, term: Terminal) -> int:
    """Start the container with the caller's terminal attached; its exit code."""
    sock = await attach_container(docker, cid, stdin=term.stdin_fd is not None)
    await _start(docker, cid, service, name)

    async def resize(rows: int, columns: int) -> None:
        with contextlib.suppress(DockerAPIError):  # exited already
            await docker.resize_container(cid, rows, columns)

    await run_session(docker, sock, tty=options.tty, terminal=term, resize=resize)
    return await wait_exit(docker, cid)


async def _finish(docker: DockerAPI, cid: str, remove: bool) -> None:
    """After the session (or on Ctrl-C): stop what still runs; with --rm, remove it."""
    with contextlib.suppress(DockerNotFoundError):
        info = await docker.inspect_container(cid)
        if (info.get("State") or {}).get("Running"):
            await docker.stop_container(cid, timeout=10)
        if remove:
            await docker.remove_container(cid, volumes=True, force=True)


run = blocking(run_async)
