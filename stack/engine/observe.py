"""One snapshot of what the daemon holds for a project, found by label.

A handful of list calls, no inspect per container: containers (one list, all=True, label
filter), networks and volumes (one list each, label filter), the images the stack names
(one image list), and external networks/volumes by name when the stack declares some.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.listing import exit_code_of, health_of
from stack.engine.taskgroups import unwrapped
from stack.errors import DockerAPIError, DockerNotFoundError
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
    attached = (settings.get("Networks") or {}) if isinstance(settings, dict) else {}
    networks = tuple(sorted(attached))
    network_ids = tuple(sorted(str(n.get("NetworkID") or "") for n in attached.values() if isinstance(n, dict)))
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
        network_ids=tuple(i for i in network_ids if i),
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
    network_names: list[str] | None = None,
    volume_names: list[str] | None = None,
    refresh_refs: list[str] | None = None,
) -> ObservedState:
    """Everything the daemon holds for `project` (found by our labels), plus the given images
    and every network and volume of the given names, ours or not (a look-alike that someone
    else created, an external one, or a duplicate that an older race left behind).

    `refresh_refs`: images whose last tag time the planner needs (refresh pull policies); each
    one present is inspected (the image list does not carry that time)."""
    observed_at = time.time()
    found: dict[str, list[dict[str, Any]]] = {}

    async def fetch(kind: str, call: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
        found[kind] = await call()

    ours = L.resource_filter(project)
    calls: dict[str, Callable[[], Awaitable[list[dict[str, Any]]]]] = {
        "containers": lambda: api.list_containers(L.container_filter(project)),
        "networks": lambda: api.list_networks(ours),
        "volumes": lambda: api.list_volumes(ours),
    }
    if image_refs:
        calls["images"] = lambda: api.list_images()
    if network_names:
        calls["named_networks"] = lambda: api.list_networks({"name": list(network_names)})
    if volume_names:
        calls["named_volumes"] = lambda: api.list_volumes({"name": list(volume_names)})
    try:
        with unwrapped():
            async with anyio.create_task_group() as tg:
                for kind, call in calls.items():
                    tg.start_soon(fetch, kind, call)
    except DockerAPIError as exc:
        raise translate(exc, action=f"list the resources of project {project}") from exc

    containers = tuple(
        sorted(
            (container_from_list(c) for c in found["containers"]),
            key=lambda c: (c.service, c.one_off, c.number, c.name),
        )
    )
    # The name filter matches substrings: keep exact names only.
    named_networks = [n for n in found.get("named_networks", []) if n["Name"] in (network_names or [])]
    named_volumes = [v for v in found.get("named_volumes", []) if v["Name"] in (volume_names or [])]
    networks = {str(n["Id"]): _network(n) for n in [*found["networks"], *named_networks]}
    volumes = {str(v["Name"]): _volume(v) for v in [*found["volumes"], *named_volumes]}
    images: dict[str, str | None] = {}
    if image_refs:
        index = _image_index(found["images"])
        for ref in image_refs:
            images[ref] = index.get(_normalise_ref(ref)) or index.get(ref)
    tagged = await _tag_times(api, [r for r in refresh_refs or [] if images.get(r)])
    return ObservedState(
        project=project,
        containers=containers,
        networks=tuple(sorted(networks.values(), key=lambda n: (n.name, n.created, n.id))),
        volumes=tuple(sorted(volumes.values(), key=lambda v: v.name)),
        images=images,
        image_tagged=tagged,
        observed_at=observed_at,
    )


def _unix_time(stamp: str) -> float:
    """An RFC 3339 time of the daemon (nanoseconds, `Z`) as unix time; 0.0 for Go's zero time."""
    if not stamp or stamp.startswith("0001-01-01"):
        return 0.0
    head, _, rest = stamp.partition(".")
    zone = rest.lstrip("0123456789") if rest else stamp[19:]
    try:
        return datetime.fromisoformat(head[:19] + (zone.replace("Z", "+00:00") or "+00:00")).timestamp()
    except ValueError:
        return 0.0


async def _tag_times(api: DockerAPI, refs: list[str]) -> dict[str, float]:
    """ref -> the image's Metadata.LastTagTime (unix time, 0.0 when unset); one inspect each."""
    times: dict[str, float] = {}

    async def inspect(ref: str) -> None:
        try:
            image = await api.inspect_image(ref)
        except DockerNotFoundError:
            return  # removed meanwhile: absent, the planner pulls it
        times[ref] = _unix_time(str((image.get("Metadata") or {}).get("LastTagTime") or ""))

    if refs:
        try:
            with unwrapped():
                async with anyio.create_task_group() as tg:
                    for ref in refs:
                        tg.start_soon(inspect, ref)
        except DockerAPIError as exc:
            raise translate(exc, action="inspect the images of refreshed services") from exc
    return times


def _network(entry: dict[str, Any]) -> ObservedNetwork:
    labels = dict(entry.get("Labels") or {})
    return ObservedNetwork(
        id=str(entry["Id"]),
        name=str(entry["Name"]),
        key=labels.get(L.NETWORK, ""),
        config_hash=labels.get(L.CONFIG_HASH, ""),
        labels=labels,
        created=str(entry.get("Created") or ""),
    )


def _volume(entry: dict[str, Any]) -> ObservedVolume:
    labels = dict(entry.get("Labels") or {})
    return ObservedVolume(name=str(entry["Name"]), key=labels.get(L.VOLUME, ""), labels=labels)


async def observe_project(api: DockerAPI, project: Project) -> ObservedState:
    """`observe` for a loaded stack: the images it runs and the networks and volumes it declares."""
    from stack.plan.pull_policy import refresh_references
    from stack.plan.reconcile import declared_names, image_references

    networks, volumes = declared_names(project)
    return await observe(
        api,
        project.name,
        image_references(project),
        network_names=networks,
        volume_names=volumes,
        refresh_refs=refresh_references(project),
    )
