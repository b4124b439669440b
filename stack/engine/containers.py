"""The project's existing containers for the verbs that act on them (start, stop, logs, exec, ...):
found by our labels in one list call, acted on wave by wave in dependency order, with the
daemon's refusals turned into messages that name the container and its service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.observe import container_from_list
from stack.engine.taskgroups import unwrapped
from stack.errors import DockerAPIError, DockerNotFoundError, ServiceNotRunningError
from stack.plan import labels as L
from stack.plan.observed import ObservedContainer


async def find_containers(
    api: DockerAPI,
    project: str,
    services: Sequence[str] | None = None,
    *,
    running: bool = False,
    one_off: bool | None = False,
    index: int | None = None,
) -> list[ObservedContainer]:
    """The project's containers (of `services`; running ones; replica `index`), one list call.
    `one_off`: False for the services' containers, True for `run` ones, None for both."""
    filters: dict[str, Any] = L.container_filter(project, oneoff=one_off)
    if running:
        filters["status"] = ["running"]
    try:
        listed = await api.list_containers(filters)
    except DockerAPIError as exc:
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


async def act_in_waves(
    waves: Sequence[Sequence[ObservedContainer]],
    action: str,
    act: Callable[[ObservedContainer], Awaitable[None]],
) -> list[str]:
    """`act` on every container, wave after wave, the containers of a wave together; the names
    acted on.  A container removed meanwhile is skipped: there is nothing left to act on."""
    done: list[str] = []

    async def one(container: ObservedContainer) -> None:
        try:
            await act(container)
        except DockerNotFoundError:
            return
        except DockerAPIError as exc:
            raise translate(
                exc, action=f"{action} container {container.name}", service=container.service, resource=container.name
            ) from exc
        done.append(container.name)

    for wave in waves:
        with unwrapped():
            async with anyio.create_task_group() as tg:
                for container in wave:
                    tg.start_soon(one, container)
    return done


async def pick_container(
    api: DockerAPI, project: str, service: str, index: int | None = None, *, running: bool
) -> ObservedContainer:
    """One container of `service`, as Compose picks it (attach, commit, export, cp from):
    replica `index`, else the lowest numbered, the service's own before `run` ones; only a
    running one when `running`.  None: a ServiceNotRunningError saying what to do."""
    found = await find_containers(api, project, [service], one_off=None, index=index)
    ordered = sorted(found, key=lambda c: (c.one_off, c.number, c.name))
    replica = f" (replica {index})" if index is not None else ""
    if not running and ordered:
        return ordered[0]
    for container in ordered:
        if container.state == "running":
            return container
    if ordered and ordered[0].state == "paused":
        raise ServiceNotRunningError(f"service {service} is paused", hint=f"resume it with `stack unpause {service}`")
    if running and ordered:
        raise ServiceNotRunningError(
            f"service {service}{replica} is not running", hint=f"start it with `stack start {service}`"
        )
    raise ServiceNotRunningError(
        f"service {service}{replica} has no container", hint=f"create it with `stack up -d {service}`"
    )
