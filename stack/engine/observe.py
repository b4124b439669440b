"""One snapshot of what the daemon holds for a project, found by label.

A handful of list calls, no inspect per container: containers (one list, all=True, label
filter), networks and volumes (one list each, label filter), the images the stack names
(one image list), and external networks/volumes by name when the stack declares some.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import docker.errors

from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.listing import exit_code_of, health_of
from stack.engine.taskgroups import unwrapped
from stack.plan import labels as L
from stack.plan.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stack.spec.models import Project


def container_from_list(entry: dict[str, Any]) -> ObservedContainer:
    """An ObservedContainer from one entry of the container list (no inspect needed)."""
    labels: dict[str, str] = dict(entry.get("Labels") or {})
    names = entry.get("Names") or []
    name = str(names[0]).lstrip("/") if isinstance(names, list) and names else ""
    state = str(entry.get("State") or "")
    status = str(entry.get("Status") or "")
    settings = entry.get("NetworkSettings") or {}
    networks = tuple(sorted((settings.get("Networks") or {}).keys())) if isinstance(settings, dict) else ()
    try:
        number = int(labels.get(L.NUMBER, "0"))
    except ValueError:
        number = 0
    return ObservedContainer(
        id=str(entry["Id"]),
        name=name,
        service=labels.get(L.SERVICE, ""),
        number=number,
        state=state,
        image_id=str(entry.get("ImageID") or ""),
        config_hash=labels.get(L.CONFIG_HASH, ""),
        one_off=labels.get(L.ONEOFF) == "True",
        labels=labels,
        networks=networks,
        health=health_of(status),
        exit_code=exit_code_of(state, status),
        created=float(entry.get("Created") or 0),
    )


def _image_index(images: list[dict[str, Any]]) -> dict[str, str]:
    """reference -> image id, for every tag (and the implicit `:latest`) on the daemon."""
    index: dict[str, str] = {}
    for image in images:
        image_id = str(image.get("Id") or "")
        for tag in image.get("RepoTags") or []:
            index[str(tag)] = image_id
        index[image_id] = image_id
    return index


def _normalise_ref(ref: str) -> str:
    """`busybox` -> `busybox:latest`; digests and explicit tags are kept."""
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


async def observe(
    api: DockerAPI,
    project: str,
    image_refs: list[str] | None = None,
    *,
    external_networks: list[str] | None = None,
    external_volumes: list[str] | None = None,
) -> ObservedState:
    """Everything the daemon holds for `project`, plus the given images and external resources."""
    selector = L.project_filter(project)
    found_containers: list[dict[str, Any]] = []
    found_networks: list[dict[str, Any]] = []
    found_volumes: list[dict[str, Any]] = []
    found_images: list[dict[str, Any]] = []
    found_ext_networks: list[dict[str, Any]] = []
    found_ext_volumes: list[dict[str, Any]] = []

    async def fetch(into: list[dict[str, Any]], call: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
        into.extend(await call())

    try:
        with unwrapped():
            async with anyio.create_task_group() as tg:
                tg.start_soon(fetch, found_containers, lambda: api.list_containers(selector))
                tg.start_soon(fetch, found_networks, lambda: api.list_networks(selector))
                tg.start_soon(fetch, found_volumes, lambda: api.list_volumes(selector))
                if image_refs:
                    tg.start_soon(fetch, found_images, lambda: api.list_images())
                if external_networks:
                    tg.start_soon(
                        fetch, found_ext_networks, lambda: api.list_networks({"name": list(external_networks)})
                    )
                if external_volumes:
                    tg.start_soon(fetch, found_ext_volumes, lambda: api.list_volumes({"name": list(external_volumes)}))
    except docker.errors.APIError as exc:
        raise translate(exc, action=f"list the resources of project {project}") from exc

    containers = tuple(
        sorted(
            (container_from_list(c) for c in found_containers),
            key=lambda c: (c.service, c.one_off, c.number, c.name),
        )
    )
    networks = tuple(
        ObservedNetwork(
            id=str(n["Id"]),
            name=str(n["Name"]),
            key=(n.get("Labels") or {}).get(L.NETWORK, ""),
            config_hash=(n.get("Labels") or {}).get(L.CONFIG_HASH, ""),
            labels=dict(n.get("Labels") or {}),
        )
        for n in found_networks
    )
    volumes = tuple(
        ObservedVolume(
            name=str(v["Name"]),
            key=(v.get("Labels") or {}).get(L.VOLUME, ""),
            labels=dict(v.get("Labels") or {}),
        )
        for v in found_volumes
    )
    images: dict[str, str | None] = {}
    if image_refs:
        index = _image_index(found_images)
        for ref in image_refs:
            images[ref] = index.get(_normalise_ref(ref)) or index.get(ref)
    # The name filter matches substrings: keep exact names only.
    ext_networks = frozenset(str(n["Name"]) for n in found_ext_networks if n["Name"] in (external_networks or []))
    ext_volumes = frozenset(str(v["Name"]) for v in found_ext_volumes if v["Name"] in (external_volumes or []))
    return ObservedState(
        project=project,
        containers=containers,
        networks=tuple(sorted(networks, key=lambda n: n.name)),
        volumes=tuple(sorted(volumes, key=lambda v: v.name)),
        images=images,
        external_networks=ext_networks,
        external_volumes=ext_volumes,
    )


async def observe_project(api: DockerAPI, project: Project) -> ObservedState:
    """`observe` for a loaded stack: its images and its external networks/volumes included."""
    from stack.plan.reconcile import external_names, image_references

    networks, volumes = external_names(project)
    return await observe(
        api, project.name, image_references(project), external_networks=networks, external_volumes=volumes
    )
