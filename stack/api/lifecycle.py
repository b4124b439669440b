"""Act on the containers a project has: start, stop, restart, kill, pause, unpause, rm, wait.

Containers are found by our labels, so these work from the project name alone (the stack file
may be gone).  Starts go dependencies first and stops dependents first, in the one dependency
order (stack.plan.graph), which the containers' depends-on labels give without the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import anyio
import anyio.abc

from stack.api.converge import down_async
from stack.api.session import blocking, session
from stack.engine.containers import act_in_waves, find_containers
from stack.engine.docker_api import DockerAPI
from stack.engine.exec import wait_exit
from stack.engine.lock import LockPolicy
from stack.engine.taskgroups import unwrapped
from stack.errors import DockerAPIError, DockerNotFoundError, ServiceNotRunningError
from stack.plan import labels as L
from stack.plan.graph import in_dependency_order
from stack.plan.observed import ObservedContainer


def _absent(services: Sequence[str] | None, found: list[ObservedContainer], what: str, hint: str) -> None:
    for name in services or []:
        if not any(c.service == name for c in found):
            raise ServiceNotRunningError(f"service {name} has no container to {what}", hint=hint.format(name))


async def start_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Start the stopped containers of `services` (all when none), dependencies first."""
    async with session(api, writes=project_name, command="start", lock=lock) as docker:
        found = await find_containers(docker, project_name, services)
        _absent(services, found, "start", "create it with `stack up -d {}`")
        stopped = [c for c in found if c.state in ("created", "exited", "dead")]
        return await act_in_waves(in_dependency_order(stopped), "start", lambda c: docker.start_container(c.id))


async def stop_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    timeout: int | None = None,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Stop the running containers of `services` (all when none), dependents first."""
    async with session(api, writes=project_name, command="stop", lock=lock) as docker:
        found = await find_containers(docker, project_name, services, running=True, one_off=None)
        waves = in_dependency_order(found, reverse=True)
        return await act_in_waves(waves, "stop", lambda c: docker.stop_container(c.id, timeout=timeout))


async def restart_async(
    project_name: str,
    services: Sequence[str] | None = None,
    *,
    timeout: int | None = None,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Restart the containers of `services` (all when none), dependencies first."""
    async with session(api, writes=project_name, command="restart", lock=lock) as docker:
        found = await find_containers(docker, project_name, services)
        waves = in_dependency_order(found)
        return await act_in_waves(waves, "restart", lambda c: docker.restart_container(c.id, timeout=timeout))


async def kill_async(
    project_name: str, services: Sequence[str] | None = None, *, signal: str = "SIGKILL", api: DockerAPI | None = None
) -> list[str]:
    """Send `signal` to the running containers of `services` (all when none); never waits for
    the project's lock (a kill is what you send when something hangs)."""
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services, running=True, one_off=None)
        return await act_in_waves([found], "kill", lambda c: docker.kill_container(c.id, signal=signal))


async def pause_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[str]:
    """Pause the running containers of `services`."""
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services, running=True)
        return await act_in_waves([found], "pause", lambda c: docker.pause_container(c.id))


async def unpause_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[str]:
    """Resume the paused containers of `services`."""
    async with session(api) as docker:
        found = [c for c in await find_containers(docker, project_name, services) if c.state == "paused"]
        return await act_in_waves([found], "unpause", lambda c: docker.unpause_container(c.id))


async def removable_async(
    project_name: str, services: Sequence[str] | None = None, *, stopped_too: bool = False, api: DockerAPI | None = None
) -> list[ObservedContainer]:
    """What `rm` would remove: stopped containers (one-off ones too); running ones with `stopped_too`."""
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services, one_off=None)
        return [c for c in found if stopped_too or not c.running]


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
    `volumes` also removes their anonymous volumes, those taken over in a recreate included."""
    async with session(api, writes=project_name, command="rm", lock=lock) as docker:
        if stop_first:
            await stop_async(project_name, services, api=docker)
        found = [c for c in await find_containers(docker, project_name, services, one_off=None) if not c.running]
        removed = await act_in_waves([found], "remove", lambda c: docker.remove_container(c.id, volumes=volumes))
        if volumes:
            # Mounted by name, the daemon keeps them with the container; another may still use one.
            taken_over = {v for c in found for v in c.labels.get(L.INHERITED_VOLUMES, "").split(",") if v}
            for name in sorted(taken_over):
                with contextlib.suppress(DockerAPIError):  # in use by another, or gone: left as it is
                    await docker.remove_volume(name)
        return removed


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
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services)
        _absent(services, found, "wait for", "start it with `stack up -d {}`")
        codes: dict[str, int] = {}

        async def one(container: ObservedContainer, tg: anyio.abc.TaskGroup) -> None:
            try:
                code = await wait_exit(docker, container.id)
            except DockerNotFoundError:
                return
            codes[container.name] = code
            if on_exit is not None:
                on_exit(container.name, code)
            if down_project:
                tg.cancel_scope.cancel()

        with unwrapped():
            async with anyio.create_task_group() as tg:
                for container in found:
                    tg.start_soon(one, container, tg)
        if down_project and codes:
            await down_async(project_name, api=docker)
        return codes


start = blocking(start_async)
stop = blocking(stop_async)
restart = blocking(restart_async)
kill = blocking(kill_async)
pause = blocking(pause_async)
unpause = blocking(unpause_async)
remove = blocking(remove_async)
wait = blocking(wait_async)
