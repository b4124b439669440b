"""Deploy the stack to Docker Swarm, and act on the deployed stack: `stack swarm ...`.

swarm_convert    the Swarm objects of a project, and the keys Swarm cannot honour (pure)
swarm_deploy     build, then create or update networks, secrets, configs and services in
                 dependency order; `wait`: until every service converged; `prune`
swarm_ps         the tasks of the project's services
swarm_services   the project's services, with running / desired replicas
swarm_rm         remove the project's services, secrets, configs and networks (ours only)
swarm_rollback   put a service's previous spec back
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stack.api.converge import build_async
from stack.api.registry import PushOptions, push_async
from stack.api.session import blocking, placed_in, session
from stack.convert.swarm import SwarmStack, Unsupported, UnsupportedKeysError, has_registry, translate
from stack.engine import swarm as engine
from stack.engine.docker_api import DockerAPI
from stack.engine.lock import LockPolicy
from stack.engine.swarm import DeployOptions, DeployResult, ServiceRow, TaskRow
from stack.errors import DockerNotFoundError
from stack.spec.models import Project

__all__ = [
    "SwarmDeployResult",
    "swarm_convert",
    "swarm_deploy",
    "swarm_deploy_async",
    "swarm_ps",
    "swarm_ps_async",
    "swarm_rm",
    "swarm_rm_async",
    "swarm_rollback",
    "swarm_rollback_async",
    "swarm_services",
    "swarm_services_async",
]

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def swarm_convert(project: Project, *, strict: bool = False) -> SwarmStack:
    """The Swarm objects of `project`; with `strict`, UnsupportedKeysError (exit 2) when the
    file has keys Swarm cannot honour (else they are in `.unsupported`)."""
    with placed_in(project):
        converted = translate(project)
    if strict and converted.unsupported:
        raise UnsupportedKeysError(converted.unsupported)
    return converted


@dataclass
class SwarmDeployResult:
    unsupported: list[Unsupported] = field(default_factory=list)
    deployed: DeployResult = field(default_factory=DeployResult)
    warnings: list[str] = field(default_factory=list)
    stack: SwarmStack | None = None


async def _image_ids(
    docker: DockerAPI, converted: SwarmStack, warnings: list[str], *, skip: set[str]
) -> dict[str, str]:
    """Service -> id of its image on this node (when there), warning for local images other
    nodes could not pull (`skip`: services whose image was just pushed)."""
    ids: dict[str, str] = {}
    local: dict[str, list[str]] = {}
    for svc in converted.services:
        if svc.key in skip:
            continue
        try:
            image = await docker.inspect_image(svc.image)
        except DockerNotFoundError:
            continue  # the nodes pull it
        ids[svc.key] = str(image["Id"])
        if not has_registry(svc.image):
            local.setdefault(svc.image, []).append(svc.key)
    for reference, keys in local.items():
        warnings.append(
            f"image {reference} (service {', '.join(keys)}) is used from this node's images, by id: it names no"
            " registry, so tasks on other nodes cannot pull it"
        )
    return ids


async def swarm_deploy_async(
    project: Project,
    options: DeployOptions | None = None,
    *,
    strict: bool = False,
    echo: Echo = _quiet,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> SwarmDeployResult:
    """Deploy `project` to the swarm this daemon manages.

    The keys Swarm cannot honour are reported first (`echo`, and in the result), before any
    change; `strict` refuses them (UnsupportedKeysError, exit 2).  Services with `build:` are
    built first, and pushed when their `image:` names a registry (then run by that digest)."""
    options = options or DeployOptions()
    first = swarm_convert(project, strict=strict)
    for problem in first.unsupported:
        echo(f"WARN: {problem.render()}")
    result = SwarmDeployResult(unsupported=list(first.unsupported))
    async with session(api, writes=project.name, command="swarm deploy", lock=lock) as docker:
        await engine.require_manager(docker)
        built = [s.key for s in first.services if s.build]
        if built:
            echo(f"building {', '.join(built)}")
            with placed_in(project):
                await build_async(project, built, api=docker)
        pushed: dict[str, str] = {}
        to_push = [s.key for s in first.services if s.build and has_registry(s.image)]
        if to_push:
            echo(f"pushing {', '.join(to_push)} (every node pulls them)")
            outcome = await push_async(project, PushOptions(services=to_push), api=docker)
            pushed = {o.service: o.digest for o in outcome.pushed if o.service and o.digest}
        ids = await _image_ids(docker, first, result.warnings, skip=set(pushed))
        for warning in result.warnings:
            echo(f"WARN: {warning}")
        with placed_in(project):
            converted = translate(project, image_ids=ids, pushed=pushed)
        result.stack = converted
        result.deployed = await engine.deploy(docker, converted, options, echo=echo)
        for warning in result.deployed.warnings:
            echo(f"WARN: {warning}")
    return result


async def swarm_ps_async(project_name: str, *, api: DockerAPI | None = None) -> list[TaskRow]:
    """The tasks of the project's swarm services (ours only), by service and slot."""
    async with session(api) as docker:
        await engine.require_manager(docker)
        return await engine.list_task_rows(docker, project_name)


async def swarm_services_async(project_name: str, *, api: DockerAPI | None = None) -> list[ServiceRow]:
    """The project's swarm services (ours only)."""
    async with session(api) as docker:
        await engine.require_manager(docker)
        return await engine.list_service_rows(docker, project_name)


async def swarm_rm_async(
    project_name: str,
    *,
    volumes: bool = False,
    echo: Echo = _quiet,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> list[str]:
    """Remove the project's services, secrets, configs and networks: only those carrying our
    labels for this project, never by name.  Volumes are kept unless `volumes` (this node's)."""
    async with session(api, writes=project_name, command="swarm rm", lock=lock) as docker:
        return await engine.remove_stack(docker, project_name, volumes=volumes, echo=echo)


async def swarm_rollback_async(
    project_name: str,
    service: str,
    *,
    wait: bool = False,
    timeout: float = engine.DEFAULT_WAIT_TIMEOUT,
    api: DockerAPI | None = None,
) -> str:
    """Put the previous spec of `service` (a stack-file key) back; its swarm name.  `wait`:
    until its rollback finished."""
    async with session(api) as docker:
        name = await engine.rollback_service(docker, project_name, service)
        if wait:
            await engine.wait_rolled_back(docker, project_name, service, timeout=timeout)
        return name


swarm_deploy = blocking(swarm_deploy_async)
swarm_ps = blocking(swarm_ps_async)
swarm_services = blocking(swarm_services_async)
swarm_rm = blocking(swarm_rm_async)
swarm_rollback = blocking(swarm_rollback_async)
