"""The public Python API of the everyday verbs: logs, exec, run, start/stop/..., top, port, ls, ...

Same shape as `stack.api`: each verb has an async form (`stop_async`) taking an optional
`DockerAPI`, and a synchronous one (`stop`).  Containers are found by our labels only, so
most verbs work from the project name alone (the stack file may be gone); `run` needs the
loaded project (it creates a container from the service's configuration).

    import stack.api_ops as ops
    ops.stop("demo", ["web"], timeout=5)
    code = ops.exec("demo", "web", ops.ExecRequest(["sh", "-c", "exit 3"]))   # -> 3
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
import docker.errors

from stack.api import _run, session  # one way to connect and to run, shared with api.py
from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.exec import ExecRequest, Terminal, attach_container, exec_in, run_session, wait_exit
from stack.engine.lock import LockPolicy
from stack.engine.logs import LineSink, LogLine, LogOptions, LogTarget, follow_logs
from stack.engine.observe import container_from_list
from stack.engine.progress import ProgressSink, null_sink
from stack.engine.stats import Usage, sample_all
from stack.errors import ServiceNotRunningError, UsageError
from stack.plan import labels as L
from stack.plan.observed import ObservedContainer
from stack.spec.models import Port, Project

T = TypeVar("T")

__all__ = [
    "ExecRequest",
    "ImageRow",
    "LogLine",
    "LogOptions",
    "ProjectRow",
    "RunOptions",
    "RunResult",
    "TopResult",
    "Usage",
    "events_async",
    "exec",
    "exec_async",
    "images",
    "images_async",
    "kill",
    "kill_async",
    "logs",
    "logs_async",
    "ls",
    "ls_async",
    "pause",
    "pause_async",
    "port",
    "port_async",
    "remove",
    "remove_async",
    "restart",
    "restart_async",
    "run",
    "run_async",
    "start",
    "start_async",
    "stats",
    "stats_async",
    "stop",
    "stop_async",
    "top",
    "top_async",
    "unpause",
    "unpause_async",
    "wait",
    "wait_async",
]


async def _with_api(
    api: DockerAPI | None,
    fn: Callable[[DockerAPI], Awaitable[T]],
    *,
    writes: str | None = None,
    command: str = "",
    lock: LockPolicy | None = None,
) -> T:
    async with session(api, writes=writes, command=command, lock=lock) as docker_api:
        return await fn(docker_api)


# ---- finding containers --------------------------------------------------------------------


async def find_containers(
    api: DockerAPI,
    project: str,
    services: Sequence[str] | None = None,
    *,
    running: bool = False,
    one_off: bool | None = False,
    index: int | None = None,
) -> list[ObservedContainer]:
    """The project's containers (of `services`; running ones; replica `index`), one list call."""
    filters: dict[str, Any] = L.container_filter(project, oneoff=one_off)
    if running:
        filters["status"] = ["running"]
    try:
        listed = await api.list_containers(filters)
    except docker.errors.APIError as exc:
        raise translate(exc, action=f"list the containers of project {project}") from exc
    found = [container_from_list(entry) for entry in listed]
    if services:
        found = [c for c in found if c.service in services]
    if index is not None:
        found = [c for c in found if c.number == index]
    return sorted(found, key=lambda c: (c.service, c.one_off, c.number, c.name))


async def running_container(api: DockerAPI, project: str, service: str, index: int = 1) -> ObservedContainer:
    """Replica `index` of `service`, running; otherwise a ServiceNotRunningError saying what to do."""
    found = await find_containers(api, project, [service], index=index)
    for container in found:
        if container.state == "running":
            return container
    if found and found[0].state == "paused":
        raise ServiceNotRunningError(f"service {service} is paused", hint=f"resume it with `stack unpause {service}`")
    replica = f" (replica {index})" if index != 1 else ""
    raise ServiceNotRunningError(
        f"service {service}{replica} is not running", hint=f"start it with `stack up -d {service}`"
    )


def start_order(containers: Sequence[ObservedContainer]) -> list[list[ObservedContainer]]:
    """Containers grouped in levels: every service after the services it depends on.

    The order comes from our depends-on label, so it holds without the stack file.  Services
    of one level do not depend on each other and are acted on in parallel.
    """
    by_service: dict[str, list[ObservedContainer]] = {}
    needs: dict[str, set[str]] = {}
    for c in containers:
        by_service.setdefault(c.service, []).append(c)
        needs.setdefault(c.service, set()).update(d for d in c.labels.get(L.DEPENDS_ON, "").split(",") if d)
    present = set(by_service)
    pending = {s: {d for d in deps if d in present and d != s} for s, deps in needs.items()}
    levels: list[list[ObservedContainer]] = []
    while pending:
        ready = sorted(s for s, deps in pending.items() if not deps)
        if not ready:  # a cycle cannot come from a valid file; act on the rest together
            ready = sorted(pending)
        levels.append([c for s in ready for c in by_service[s]])
        for s in ready:
            del pending[s]
        for deps in pending.values():
            deps.difference_update(ready)
    return levels


async def _in_levels(
    api: DockerAPI,
    levels: list[list[ObservedContainer]],
    action: str,
    act: Callable[[ObservedContainer], Awaitable[None]],
) -> list[str]:
    done: list[str] = []

    async def one(container: ObservedContainer) -> None:
        try:
            await act(container)
        except docker.errors.NotFound:
            return  # removed meanwhile: nothing left to act on
        except docker.errors.APIError as exc:
            raise translate(
                exc, action=f"{action} container {container.name}", service=container.service, resource=container.name
            ) from exc
        done.append(container.name)

    for level in levels:
        async with anyio.create_task_group() as tg:
            for container in level:
                tg.start_soon(one, container)
    return done


# ---- logs ------------------------------------------------------------------------------------


async def logs_async(
    project_name: str,
    on_line: LineSink,
    services: Sequence[str] | None = None,
    options: LogOptions | None = None,
    *,
    index: int | None = None,
    on_start: Callable[[list[str]], None] | None = None,
    api: DockerAPI | None = None,
) -> int:
    """Deliver the project's log lines to `on_line`; the number of containers read.

    `on_start` hears the names of the containers about to be read (to size a prefix column).
    With `options.follow`, returns once every followed container has stopped.
    """
    options = options or LogOptions()

    async def go(docker_api: DockerAPI) -> int:
        listed = await find_containers(docker_api, project_name, services, index=index)
        targets = [LogTarget(c.id, c.name, c.service, c.number, one_off=c.one_off) for c in listed]
        if on_start is not None:
            on_start([t.name for t in targets])
        await follow_logs(
            docker_api, project_name, targets, options, on_line, services=list(services or []), index=index
        )
        return len(targets)

    return await _with_api(api, go)


def logs(
    project_name: str,
    on_line: LineSink,
    services: Sequence[str] | None = None,
    options: LogOptions | None = None,
    *,
    index: int | None = None,
) -> int:
    """Synchronous `logs_async`."""
    return _run(lambda: logs_async(project_name, on_line, services, options, index=index))


# ---- exec ------------------------------------------------------------------------------------


async def exec_async(
    project_name: str,
    service: str,
    request: ExecRequest,
    *,
    index: int = 1,
    terminal: Terminal | None = None,
    api: DockerAPI | None = None,
) -> int:
    """Run a command in replica `index` of a running service; the command's exit code."""
    term = terminal or Terminal.current(attach_stdin=not request.detach)

    async def go(docker_api: DockerAPI) -> int:
        container = await running_container(docker_api, project_name, service, index)
        try:
            return await exec_in(docker_api, container.id, request, term)
        except docker.errors.APIError as exc:
            raise translate(exc, action=f"exec in {container.name}", service=service, resource=container.name) from exc

    return await _with_api(api, go)


def exec(
    project_name: str, service: str, request: ExecRequest, *, index: int = 1, terminal: Terminal | None = None
) -> int:
    """Synchronous `exec_async`."""
    return _run(lambda: exec_async(project_name, service, request, index=index, terminal=terminal))


# ---- run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """What `stack run` was asked: the command and its overrides of the service."""

    command: list[str] | None = None  # None: the service's command
    entrypoint: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    name: str | None = None
    remove: bool = False  # --rm
    no_deps: bool = False
    publish: list[str] = field(default_factory=list)  # -p
    service_ports: bool = False
    tty: bool = False
    detach: bool = False
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    container: str  # its name
    exit_code: int  # 0 when detached


def parse_publish(spec: str) -> Port:
    """`-p [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL]` (one port) as a Port."""
    body, _, protocol = spec.partition("/")
    parts = body.rsplit(":", 2)
    host_ip = parts[0].strip("[]") if len(parts) == 3 else None
    published = parts[-2] if len(parts) >= 2 else None
    target = parts[-1]
    if not target.isdigit() or (published and not published.isdigit()):
        raise UsageError(
            f"invalid --publish {spec!r}", hint="use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80"
        )
    return Port(target=int(target), published=published or None, host_ip=host_ip or None, protocol=protocol or "tcp")


async def _prepare_service(api: DockerAPI, project: Project, service: str, progress: ProgressSink) -> None:
    """Images, networks and volumes the service needs, and nothing else (no service container)."""
    from stack.api import observe_project
    from stack.engine.executor import ExecContext, execute
    from stack.plan.options import UpOptions
    from stack.plan.plan import Op, Plan
    from stack.plan.reconcile import plan_images, plan_up

    ctx = ExecContext(api=api, project=project, progress=progress)
    scope = UpOptions(services=[service], no_deps=True)
    observed = await observe_project(api, project)
    images = plan_images(project, observed, scope)
    if not images.is_empty():
        await execute(images, ctx)
        observed = await observe_project(api, project)
    full = plan_up(project, observed, dataclasses.replace(scope, images_ready=True))
    needed = Plan()
    for node in full.nodes:
        if node.op in (Op.CREATE_NETWORK, Op.CREATE_VOLUME):
            needed.add(node.op, node.resource, node.cause, **node.args)
    if not needed.is_empty():
        await execute(needed, ctx)


def _oneoff_spec(project: Project, service: str, options: RunOptions, name: str) -> Any:
    """The create body of the one-off container: the service's config with the run's overrides."""
    from stack.engine import container_spec as cs
    from stack.plan import naming
    from stack.plan.hash import service_config_hash

    svc = project.services.get(service) or project.disabled_services[service]
    ports: list[Port] = list(svc.ports) if options.service_ports else []
    ports += [parse_publish(p) for p in options.publish]
    update: dict[str, Any] = {"ports": ports, "restart": None, "deploy": None, "container_name": None}
    if options.command is not None:
        update["command"] = options.command
    if options.entrypoint is not None:
        update["entrypoint"] = options.entrypoint
    if options.env:
        update["environment"] = {**svc.environment, **options.env}
    if options.user:
        update["user"] = options.user
    if options.workdir:
        update["working_dir"] = options.workdir
    update["tty"] = options.tty
    update["stdin_open"] = not options.detach
    one_off = svc.model_copy(update=update)
    one_off.name = service
    labels = L.container_labels(project, service, 1, service_config_hash(svc), oneoff=True)
    labels.update(options.labels)
    networks = {key: naming.project_network_name(project, key) for key in {*project.networks, "default"}}
    volumes = {key: naming.project_volume_name(project, key) for key in project.volumes}
    network_mode = None
    if svc.network_mode and svc.network_mode.startswith("service:"):
        other = svc.network_mode.split(":", 1)[1]
        network_mode = "container:" + naming.service_container_name(project.name, other, project.services[other], 1)
    spec = cs.container_spec(
        project,
        one_off,
        name=name,
        labels=labels,
        network_names=networks,
        volume_names=volumes,
        image=naming.service_image(project.name, service, svc),
        network_mode=network_mode,
    )
    body = dict(spec.body)
    body.update({"AttachStdin": not options.detach, "AttachStdout": True, "AttachStderr": True})
    if not options.detach:
        body["StdinOnce"] = True
    # A one-off container answers to its own name only: the service name keeps pointing at
    # the service's replicas.
    for endpoint in (body.get("NetworkingConfig") or {}).get("EndpointsConfig", {}).values():
        endpoint["Aliases"] = [name]
    later = tuple(dataclasses.replace(e, aliases=(name,)) for e in spec.connect_later)
    return dataclasses.replace(spec, body=body, connect_later=later)


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
    import secrets

    from stack.api import up_async
    from stack.engine import container_spec as cs
    from stack.engine.executor import inject_files
    from stack.plan import naming
    from stack.plan.graph import ServiceGraph
    from stack.plan.options import UpOptions

    options = options or RunOptions()
    if service not in project.services and service not in project.disabled_services:
        known = ", ".join(sorted(project.services)) or "none"
        raise UsageError(f"no such service: {service}", hint=f"services in this stack: {known}")
    for spec in options.publish:
        parse_publish(spec)  # a bad -p is a usage error before anything starts
    term = terminal or Terminal.current(attach_stdin=not options.detach)

    async def go(docker_api: DockerAPI) -> RunResult:
        # The project's lock covers what changes the project (its dependencies, networks and
        # volumes), not the one-off session, which may last as long as the user likes.
        async with session(docker_api, writes=project.name, command="run", lock=lock):
            if not options.no_deps and service in project.services:
                deps = ServiceGraph(project.services).dependencies(service, transitive=True)
                if deps:
                    await up_async(project, UpOptions(services=deps), progress=progress, api=docker_api)
            await _prepare_service(docker_api, project, service, progress)
        name = options.name or naming.oneoff_container_name(project.name, service, secrets.token_hex(6))
        spec = _oneoff_spec(project, service, options, name)
        await anyio.to_thread.run_sync(cs.create_host_paths, spec)
        try:
            cid = await docker_api.create_container(name, spec.body)
            if spec.files:
                await inject_files(docker_api, cid, spec.files)
            for endpoint in spec.connect_later:
                await docker_api.connect_network(cid, endpoint.network, **endpoint.connect_kwargs())
        except docker.errors.APIError as exc:
            raise translate(exc, action=f"create container {name}", service=service, resource=name) from exc
        if options.detach:
            try:
                await docker_api.start_container(cid)
            except docker.errors.APIError as exc:
                raise translate(exc, action=f"start container {name}", service=service, resource=name) from exc
            return RunResult(name, 0)
        try:
            sock = await attach_container(docker_api, cid, stdin=term.stdin_fd is not None)
            try:
                await docker_api.start_container(cid)
            except docker.errors.APIError as exc:
                raise translate(exc, action=f"start container {name}", service=service, resource=name) from exc

            async def resize(rows: int, columns: int) -> None:
                with contextlib.suppress(docker.errors.APIError):  # exited already
                    await docker_api.call("container.resize", docker_api.client.resize, cid, rows, columns)

            await run_session(docker_api, sock, tty=options.tty, terminal=term, resize=resize)
            code = await wait_exit(docker_api, cid)
        finally:
            with anyio.CancelScope(shield=True):
                await _finish_oneoff(docker_api, cid, options.remove)
        return RunResult(name, code)

    from stack.api import placed_in

    with placed_in(project):
        return await _with_api(api, go)


async def _finish_oneoff(api: DockerAPI, cid: str, remove: bool) -> None:
    """After the session (or on Ctrl-C): stop what still runs; with --rm, remove it."""
    try:
        info = await api.inspect_container(cid)
        if (info.get("State") or {}).get("Running"):
            await api.stop_container(cid, timeout=10)
        if remove:
            await api.remove_container(cid, volumes=True, force=True)
    except docker.errors.NotFound:
        pass


def run(
    project: Project,
    service: str,
    options: RunOptions | None = None,
    *,
    terminal: Terminal | None = None,
    progress: ProgressSink = null_sink,
    lock: LockPolicy | None = None,
) -> RunResult:
    """Synchronous `run_async`."""
    return _run(lambda: run_async(project, service, options, terminal=terminal, progress=progress, lock=lock))


# ---- lifecycle -------------------------------------------------------------------------------


async def start_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Start the stopped containers of `services` (all when none), dependencies first."""

    async def go(docker_api: DockerAPI) -> list[str]:
        found = await find_containers(docker_api, project_name, services)
        for name in services or []:
            if not any(c.service == name for c in found):
                raise ServiceNotRunningError(
                    f"service {name} has no container to start", hint=f"create it with `stack up -d {name}`"
                )
        stopped = [c for c in found if c.state in ("created", "exited", "dead")]
        return await _in_levels(docker_api, start_order(stopped), "start", lambda c: docker_api.start_container(c.id))

    return await _with_api(api, go, writes=project_name, command="start", lock=lock)


async def stop_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    timeout: int | None = None,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Stop the running containers of `services` (all when none), dependents first."""

    async def go(docker_api: DockerAPI) -> list[str]:
        found = await find_containers(docker_api, project_name, services, running=True, one_off=None)
        levels = list(reversed(start_order(found)))
        return await _in_levels(docker_api, levels, "stop", lambda c: docker_api.stop_container(c.id, timeout=timeout))

    return await _with_api(api, go, writes=project_name, command="stop", lock=lock)


async def restart_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    timeout: int | None = None,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Restart the containers of `services` (all when none), dependencies first."""

    async def go(docker_api: DockerAPI) -> list[str]:
        found = await find_containers(docker_api, project_name, services)
        return await _in_levels(
            docker_api, start_order(found), "restart", lambda c: docker_api.restart_container(c.id, timeout=timeout)
        )

    return await _with_api(api, go, writes=project_name, command="restart", lock=lock)


async def kill_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    signal: str = "SIGKILL",
    api: DockerAPI | None = None,
) -> list[str]:
    """Send `signal` to the running containers of `services` (all when none)."""

    async def go(docker_api: DockerAPI) -> list[str]:
        found = await find_containers(docker_api, project_name, services, running=True, one_off=None)
        return await _in_levels(docker_api, [found], "kill", lambda c: docker_api.kill_container(c.id, signal=signal))

    return await _with_api(api, go)


async def pause_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[str]:
    """Pause (freeze) the running containers of `services`."""

    async def go(docker_api: DockerAPI) -> list[str]:
        found = await find_containers(docker_api, project_name, services, running=True)
        return await _in_levels(
            docker_api, [found], "pause", lambda c: docker_api.call("container.pause", docker_api.client.pause, c.id)
        )

    return await _with_api(api, go)


async def unpause_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[str]:
    """Resume the paused containers of `services`."""

    async def go(docker_api: DockerAPI) -> list[str]:
        found = [c for c in await find_containers(docker_api, project_name, services) if c.state == "paused"]
        return await _in_levels(
            docker_api,
            [found],
            "unpause",
            lambda c: docker_api.call("container.unpause", docker_api.client.unpause, c.id),
        )

    return await _with_api(api, go)


async def removable_async(
    project_name: str, services: Sequence[str] | None = None, *, stopped_too: bool = False, api: DockerAPI | None = None
) -> list[ObservedContainer]:
    """What `rm` would remove: stopped containers (one-off ones too); running ones with `stopped_too`."""

    async def go(docker_api: DockerAPI) -> list[ObservedContainer]:
        found = await find_containers(docker_api, project_name, services, one_off=None)
        return [c for c in found if stopped_too or not c.running]

    return await _with_api(api, go)


async def remove_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    stop_first: bool = False,
    volumes: bool = False,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Remove the stopped containers of `services` (with `stop_first`, stop running ones first);
    `volumes` also removes their anonymous volumes."""

    async def go(docker_api: DockerAPI) -> list[str]:
        if stop_first:
            await stop_async(project_name, services, api=docker_api)
        found = [c for c in await find_containers(docker_api, project_name, services, one_off=None) if not c.running]
        removed = await _in_levels(
            docker_api, [found], "remove", lambda c: docker_api.remove_container(c.id, volumes=volumes)
        )
        if volumes:
            # Anonymous volumes taken over in a recreate are mounted by name: the daemon keeps
            # them with the container; remove them too, unless another container still uses one.
            for name in sorted({v for c in found for v in c.labels.get(L.INHERITED_VOLUMES, "").split(",") if v}):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    await docker_api.remove_volume(name)
        return removed

    return await _with_api(api, go, writes=project_name, command="rm", lock=lock)


def start(project_name: str, services: Sequence[str] | None = None, *, lock: LockPolicy | None = None) -> list[str]:
    """Synchronous `start_async`."""
    return _run(lambda: start_async(project_name, services, lock=lock))


def stop(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    timeout: int | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Synchronous `stop_async`."""
    return _run(lambda: stop_async(project_name, services, timeout=timeout, lock=lock))


def restart(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    timeout: int | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Synchronous `restart_async`."""
    return _run(lambda: restart_async(project_name, services, timeout=timeout, lock=lock))


def kill(project_name: str, services: Sequence[str] | None = None, *, signal: str = "SIGKILL") -> list[str]:
    """Synchronous `kill_async`."""
    return _run(lambda: kill_async(project_name, services, signal=signal))


def pause(project_name: str, services: Sequence[str] | None = None) -> list[str]:
    """Synchronous `pause_async`."""
    return _run(lambda: pause_async(project_name, services))


def unpause(project_name: str, services: Sequence[str] | None = None) -> list[str]:
    """Synchronous `unpause_async`."""
    return _run(lambda: unpause_async(project_name, services))


def remove(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    stop_first: bool = False,
    volumes: bool = False,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Synchronous `remove_async`."""
    return _run(lambda: remove_async(project_name, services, stop_first=stop_first, volumes=volumes, lock=lock))


# ---- wait ------------------------------------------------------------------------------------


async def wait_async(
    project_name: str,
    services: Sequence[str],
    *,
    on_exit: Callable[[str, int], None] | None = None,
    down_project: bool = False,
    api: DockerAPI | None = None,
) -> dict[str, int]:
    """Block until the containers of `services` exit; container name -> exit code.

    `on_exit(name, code)` hears each exit as it happens.  With `down_project`, the first exit
    takes the whole project down (`stack down`) and the call returns with that one code.
    """
    from stack.api import down_async

    async def go(docker_api: DockerAPI) -> dict[str, int]:
        found = await find_containers(docker_api, project_name, services)
        for name in services:
            if not any(c.service == name for c in found):
                raise ServiceNotRunningError(
                    f"service {name} has no container to wait for", hint=f"start it with `stack up -d {name}`"
                )
        codes: dict[str, int] = {}

        async def one(container: ObservedContainer, tg: anyio.abc.TaskGroup) -> None:
            try:
                code = await wait_exit(docker_api, container.id)
            except docker.errors.NotFound:
                return
            codes[container.name] = code
            if on_exit is not None:
                on_exit(container.name, code)
            if down_project:
                tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            for container in found:
                tg.start_soon(one, container, tg)
        if down_project and codes:
            await down_async(project_name, api=docker_api)
        return codes

    return await _with_api(api, go)


def wait(project_name: str, services: Sequence[str], *, down_project: bool = False) -> dict[str, int]:
    """Synchronous `wait_async`."""
    return _run(lambda: wait_async(project_name, services, down_project=down_project))


# ---- top, port, images, ls -------------------------------------------------------------------


@dataclass(frozen=True)
class TopResult:
    container: str
    service: str
    titles: list[str]
    processes: list[list[str]]


async def top_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[TopResult]:
    """The processes of each running container of `services`."""

    async def go(docker_api: DockerAPI) -> list[TopResult]:
        found = await find_containers(docker_api, project_name, services, running=True)
        results: dict[str, TopResult] = {}

        async def one(c: ObservedContainer) -> None:
            try:
                top = await docker_api.call("container.top", docker_api.client.top, c.id)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                raise translate(exc, action=f"list the processes of {c.name}", service=c.service) from exc
            titles = [str(t) for t in top.get("Titles") or []]
            procs = [[str(x) for x in p] for p in top.get("Processes") or []]
            results[c.id] = TopResult(c.name, c.service, titles, procs)

        async with anyio.create_task_group() as tg:
            for c in found:
                tg.start_soon(one, c)
        return [results[c.id] for c in found if c.id in results]

    return await _with_api(api, go)


def top(project_name: str, services: Sequence[str] | None = None) -> list[TopResult]:
    """Synchronous `top_async`."""
    return _run(lambda: top_async(project_name, services))


async def port_async(
    project_name: str,
    service: str,
    private_port: int,
    *,
    protocol: str = "tcp",
    index: int = 1,
    api: DockerAPI | None = None,
) -> str:
    """`HOST_IP:HOST_PORT` that `private_port/protocol` of the service's replica is published on."""

    async def go(docker_api: DockerAPI) -> str:
        container = await running_container(docker_api, project_name, service, index)
        info = await docker_api.inspect_container(container.id)
        ports = ((info.get("NetworkSettings") or {}).get("Ports")) or {}
        bindings = ports.get(f"{private_port}/{protocol}") or []
        if not bindings:
            raise UsageError(
                f"port {private_port}/{protocol} of service {service} is not published",
                hint="publish it with `ports:` in the stack file",
            )
        first = bindings[0]
        return f"{first.get('HostIp') or '0.0.0.0'}:{first.get('HostPort')}"

    return await _with_api(api, go)


def port(project_name: str, service: str, private_port: int, *, protocol: str = "tcp", index: int = 1) -> str:
    """Synchronous `port_async`."""
    return _run(lambda: port_async(project_name, service, private_port, protocol=protocol, index=index))


@dataclass(frozen=True)
class ImageRow:
    container: str
    service: str
    repository: str
    tag: str
    image_id: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {
            "ContainerName": self.container,
            "Service": self.service,
            "Repository": self.repository,
            "Tag": self.tag,
            "ID": self.image_id,
            "Size": self.size,
        }


async def images_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[ImageRow]:
    """The image of each container of the project (two list calls)."""

    async def go(docker_api: DockerAPI) -> list[ImageRow]:
        found = await find_containers(docker_api, project_name, services)
        listed = await docker_api.list_images()
        by_id = {str(i.get("Id")): i for i in listed}
        rows = []
        for c in found:
            image = by_id.get(c.image_id) or {}
            wanted = c.labels.get(L.IMAGE, "")
            tags = [str(t) for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
            ref = wanted if wanted and (wanted in tags or f"{wanted}:latest" in tags) else (tags[0] if tags else "")
            repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
            rows.append(
                ImageRow(
                    c.name,
                    c.service,
                    repo or "<none>",
                    tag or "<none>",
                    c.image_id,
                    int(image.get("Size") or 0),
                )
            )
        return rows

    return await _with_api(api, go)


def images(project_name: str, services: Sequence[str] | None = None) -> list[ImageRow]:
    """Synchronous `images_async`."""
    return _run(lambda: images_async(project_name, services))


@dataclass(frozen=True)
class ProjectRow:
    name: str
    states: dict[str, int]  # container state -> count
    config_files: str

    @property
    def status(self) -> str:
        """`running(2), exited(1)`, as `docker compose ls`."""
        return ", ".join(f"{state}({n})" for state, n in sorted(self.states.items()))

    @property
    def running(self) -> bool:
        return self.states.get("running", 0) > 0

    def as_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Status": self.status, "ConfigFiles": self.config_files}


async def ls_async(*, all: bool = False, api: DockerAPI | None = None) -> list[ProjectRow]:
    """Every stack on this daemon (from our project label); only running ones unless `all`."""

    async def go(docker_api: DockerAPI) -> list[ProjectRow]:
        listed = await docker_api.list_containers(L.container_filter(None))
        projects: dict[str, dict[str, int]] = {}
        files: dict[str, str] = {}
        for entry in listed:
            labels = entry.get("Labels") or {}
            name = str(labels.get(L.CONTAINER_OF, ""))
            if not name or labels.get(L.ONEOFF) == "True":
                continue
            states = projects.setdefault(name, {})
            state = str(entry.get("State") or "unknown")
            states[state] = states.get(state, 0) + 1
            files.setdefault(name, str(labels.get(L.CONFIG_FILES, "")))
        rows = [ProjectRow(n, s, files.get(n, "")) for n, s in sorted(projects.items())]
        return [r for r in rows if all or r.running]

    return await _with_api(api, go)


def ls(*, all: bool = False) -> list[ProjectRow]:
    """Synchronous `ls_async`."""
    return _run(lambda: ls_async(all=all))


# ---- events, stats ---------------------------------------------------------------------------


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    """A daemon event in the shape `docker compose events --json` prints."""
    actor = event.get("Actor") or {}
    attributes = dict(actor.get("Attributes") or {})
    nano = int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)
    moment = datetime.fromtimestamp(nano // 1_000_000_000, tz=UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nano % 1_000_000_000:09d}Z"
    return {
        "time": stamp,
        "type": str(event.get("Type") or event.get("type") or ""),
        "action": str(event.get("Action") or event.get("status") or ""),
        "id": str(actor.get("ID") or event.get("id") or ""),
        "service": attributes.get(L.SERVICE, ""),
        "attributes": attributes,
    }


async def events_async(
    project_name: str,
    on_event: Callable[[dict[str, Any]], None],
    services: Sequence[str] | None = None,
    *,
    ready: anyio.Event | None = None,
    api: DockerAPI | None = None,
) -> None:
    """Deliver the project's container events to `on_event` (shaped by `event_json`) until cancelled.

    `ready` is set once the subscription is open (nothing after it is missed).
    """

    async def go(docker_api: DockerAPI) -> None:
        filters = {"type": ["container"], **L.container_filter(project_name)}
        async with docker_api.events(filters) as stream:
            if ready is not None:
                ready.set()
            async for event in stream:
                shaped = event_json(event)
                if services and shaped["service"] not in services:
                    continue
                on_event(shaped)

    await _with_api(api, go)


async def stats_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[Usage]:
    """One reading of CPU, memory, network and block I/O per running container (about 1 s)."""

    async def go(docker_api: DockerAPI) -> list[Usage]:
        found = await find_containers(docker_api, project_name, services, running=True)
        return await sample_all(docker_api, [(c.id, c.name, c.service) for c in found])

    return await _with_api(api, go)


def stats(project_name: str, services: Sequence[str] | None = None) -> list[Usage]:
    """Synchronous `stats_async`."""
    return _run(lambda: stats_async(project_name, services))


def dumps(value: Any) -> str:
    """One compact JSON line (events, ls --format json)."""
    return json.dumps(value, separators=(",", ":"))
