"""Is a project already converged?  A conservative, pydantic-free check for the no-op `up`.

`up` with nothing changed must be fast (Compose answers in ~40-80 ms).  Loading the typed
models and the Docker SDK alone costs more than that, so `stack up -d` first asks this pure
function, with the loader's canonical dict and four list calls' raw answers.  It says True only
when the daemon holds exactly what the planner would leave alone:

- no enabled service's pull_policy pulls or builds a present image again (`always`, `build`,
  `daily`, `weekly`, `every_X`);
- every enabled service has containers numbered 1..replicas, named as planned, running (and
  healthy when they report health and `need_healthy`), created from the same canonical
  definition (spec-digest label) and the image id its reference has now;
- no other non-one-off container of the project exists (orphans, disabled services);
- every network is ours with the same definition, and no two of ours share a name; every named
  volume is ours and exists.

Anything else returns False and the full planner (the authority) decides.  A False is never
wrong, only slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stack.plan import labels as L
from stack.plan.naming import default_image_name
from stack.spec.digest import spec_digest


def replicas(service: Mapping[str, Any]) -> int:
    if service.get("scale") is not None:
        return int(service["scale"])
    deploy = service.get("deploy") or {}
    if deploy.get("replicas") is not None:
        return int(deploy["replicas"])
    return 1


def image_reference(project: str, name: str, service: Mapping[str, Any]) -> str:
    return str(service.get("image") or default_image_name(project, name))


def normalise_reference(ref: str) -> str:
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def repulls(service: Mapping[str, Any]) -> bool:
    """Whether `up` may pull or build the service's image although it is present: pull_policy
    `always`, `build` and the refresh ones (daily, weekly, every_X; their age needs an inspect)."""
    policy = str(service.get("pull_policy") or "")
    return policy in ("always", "build", "daily", "weekly") or policy.startswith("every_")


def image_ids(images: list[dict[str, Any]]) -> dict[str, str]:
    """reference -> image id, for every tag on the listed images."""
    out: dict[str, str] = {}
    for image in images:
        for tag in image.get("RepoTags") or []:
            out[str(tag)] = str(image.get("Id", ""))
    return out


def is_converged(
    raw: Mapping[str, Any],
    containers: list[dict[str, Any]],
    networks: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    images: list[dict[str, Any]],
    *,
    need_healthy: bool = False,
) -> bool:
    project = str(raw["name"])
    services: Mapping[str, Any] = raw.get("services") or {}
    declared_networks: Mapping[str, Any] = raw.get("networks") or {}
    declared_volumes: Mapping[str, Any] = raw.get("volumes") or {}
    ids = image_ids(images)

    by_service: dict[str, list[dict[str, Any]]] = {}
    for entry in containers:
        labels = entry.get("Labels") or {}
        if labels.get(L.ONEOFF) == "True":
            continue
        service = labels.get(L.SERVICE, "")
        if service not in services:
            return False  # an orphan or a disabled service: the planner has something to say
        by_service.setdefault(service, []).append(entry)

    for name, service in services.items():
        if repulls(service):
            return False  # `up` pulls (or builds) its image again: the planner decides
        found = by_service.get(name, [])
        count = replicas(service)
        if len(found) != count:
            return False
        digest = spec_digest(service)
        image_id = ids.get(normalise_reference(image_reference(project, name, service)))
        if image_id is None:
            return False
        wanted_networks = {
            str((declared_networks.get(key) or {}).get("name") or f"{project}_{key}")
            for key in (service.get("networks") or {})
        }
        numbers = set()
        for entry in found:
            labels = entry.get("Labels") or {}
            try:
                number = int(labels.get(L.NUMBER, "0"))
            except ValueError:
                return False
            numbers.add(number)
            expected_name = service.get("container_name") or f"{project}-{name}-{number}"
            names = entry.get("Names") or []
            if not names or str(names[0]).lstrip("/") != expected_name:
                return False
            if entry.get("State") != "running" or labels.get(L.SPEC_DIGEST) != digest:
                return False
            if entry.get("ImageID") != image_id:
                return False
            status = str(entry.get("Status") or "")
            if need_healthy and ("(health: starting)" in status or "(unhealthy)" in status):
                return False
            attached = set(((entry.get("NetworkSettings") or {}).get("Networks") or {}).keys())
            if not service.get("network_mode") and not wanted_networks <= attached:
                return False
        if numbers != set(range(1, count + 1)):
            return False

    ours_networks = {str(n.get("Name")): n for n in networks}
    if len(ours_networks) != len(networks):
        return False  # two of our networks share a name (an older race): the planner repairs that
    for key, network in declared_networks.items():
        if (network or {}).get("external"):
            continue
        name = str((network or {}).get("name") or f"{project}_{key}")
        seen = ours_networks.get(name)
        if seen is None or (seen.get("Labels") or {}).get(L.SPEC_DIGEST) != spec_digest(network or {}):
            return False
    ours_volumes = {str(v.get("Name")) for v in volumes}
    for key, volume in declared_volumes.items():
        if (volume or {}).get("external"):
            continue
        if str((volume or {}).get("name") or f"{project}_{key}") not in ours_volumes:
            return False
    return True
