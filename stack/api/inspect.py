"""Look at a project without changing it: ps, top, port, images, ls, stats, volumes.

Every answer comes from our labels (the stack file may be gone), in as few daemon calls as the
daemon allows: `ps` on 200 containers is one list call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stack.api.session import blocking, session
from stack.engine.containers import act_in_waves, find_containers, running_container
from stack.engine.docker_api import DockerAPI
from stack.engine.listing import ContainerInfo, ps_rows
from stack.engine.stats import Usage, sample_all
from stack.errors import UsageError
from stack.plan import labels as L
from stack.plan.observed import ObservedContainer


async def ps_async(
    project_name: str, *, all: bool = False, services: list[str] | None = None, api: DockerAPI | None = None
) -> list[ContainerInfo]:
    """The project's containers (running ones unless `all`), by service and replica number."""
    async with session(api) as docker:
        listed = await docker.list_containers(L.container_filter(project_name))
    return ps_rows(listed, all=all, services=services)


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
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services, running=True)
        results: dict[str, TopResult] = {}

        async def one(c: ObservedContainer) -> None:
            top = await docker.container_processes(c.id)
            titles = [str(t) for t in top.get("Titles") or []]
            processes = [[str(x) for x in p] for p in top.get("Processes") or []]
            results[c.id] = TopResult(c.name, c.service, titles, processes)

        await act_in_waves([found], "list the processes of", one)
        return [results[c.id] for c in found if c.id in results]


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
    async with session(api) as docker:
        container = await running_container(docker, project_name, service, index)
        info = await docker.inspect_container(container.id)
    bindings = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{private_port}/{protocol}") or []
    if not bindings:
        raise UsageError(
            f"port {private_port}/{protocol} of service {service} is not published",
            hint="publish it with `ports:` in the stack file",
        )
    first = bindings[0]
    return f"{first.get('HostIp') or '0.0.0.0'}:{first.get('HostPort')}"


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


def _image_row(container: ObservedContainer, image: dict[str, Any]) -> ImageRow:
    wanted = container.labels.get(L.IMAGE, "")
    tags = [str(t) for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
    ref = wanted if wanted and (wanted in tags or f"{wanted}:latest" in tags) else (tags[0] if tags else "")
    repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    size = int(image.get("Size") or 0)
    return ImageRow(container.name, container.service, repo or "<none>", tag or "<none>", container.image_id, size)


async def images_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[ImageRow]:
    """The image of each container of the project (two list calls)."""
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services)
        by_id = {str(i.get("Id")): i for i in await docker.list_images()}
    return [_image_row(c, by_id.get(c.image_id) or {}) for c in found]


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
    """Every stack on this daemon (the projects our containers were created for); only running
    ones unless `all`."""
    async with session(api) as docker:
        listed = await docker.list_containers(L.container_filter(None))
    projects: dict[str, dict[str, int]] = {}
    files: dict[str, str] = {}
    for entry in listed:
        labels = entry.get("Labels") or {}
        name = L.owner_of(labels)  # the key alone also marks containers of images committed from ours
        if not name or labels.get(L.ONEOFF) == "True":
            continue
        states = projects.setdefault(name, {})
        state = str(entry.get("State") or "unknown")
        states[state] = states.get(state, 0) + 1
        files.setdefault(name, str(labels.get(L.CONFIG_FILES, "")))
    rows = [ProjectRow(n, s, files.get(n, "")) for n, s in sorted(projects.items())]
    return [r for r in rows if all or r.running]


async def stats_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[Usage]:
    """One reading of CPU, memory, network and block I/O per running container (about 1 s)."""
    async with session(api) as docker:
        found = await find_containers(docker, project_name, services, running=True)
        return await sample_all(docker, [(c.id, c.name, c.service) for c in found])


@dataclass(frozen=True)
class VolumeRow:
    """One of the project's volumes, as `docker compose volumes` lists it."""

    name: str
    driver: str
    scope: str
    mountpoint: str
    labels: dict[str, str]

    def fields(self) -> dict[str, str]:
        """The fields of the Docker CLI's volume formatter (`--format json`, `{{.Name}}`)."""
        return {
            "Availability": "N/A",
            "Driver": self.driver,
            "Group": "N/A",
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(self.labels.items())),
            "Links": "N/A",
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Scope": self.scope,
            "Size": "N/A",
            "Status": "N/A",
        }


async def volumes_async(
    project_name: str, services: Sequence[str] | None = None, *, api: DockerAPI | None = None
) -> list[VolumeRow]:
    """The volumes stack created for the project (by label), by name; with `services`, those
    that the services' containers mount (their stopped containers too)."""
    async with session(api) as docker:
        listed = await docker.list_volumes(L.resource_filter(project_name))
        if services:
            containers = await docker.list_containers(L.container_filter(project_name))
            mounted = {
                str(mount.get("Name") or "")
                for entry in containers
                if (entry.get("Labels") or {}).get(L.SERVICE) in services
                for mount in entry.get("Mounts") or []
            }
            listed = [v for v in listed if v.get("Name") in mounted]
    rows = [
        VolumeRow(
            name=str(v.get("Name") or ""),
            driver=str(v.get("Driver") or ""),
            scope=str(v.get("Scope") or "local"),
            mountpoint=str(v.get("Mountpoint") or ""),
            labels={str(k): str(val) for k, val in (v.get("Labels") or {}).items()},
        )
        for v in listed
        if L.is_owned(v.get("Labels") or {}, project_name)
    ]
    return sorted(rows, key=lambda r: r.name)


ps = blocking(ps_async)
top = blocking(top_async)
port = blocking(port_async)
images = blocking(images_async)
ls = blocking(ls_async)
stats = blocking(stats_async)
volumes = blocking(volumes_async)
