"""Answers that need neither the typed models nor the Docker SDK: a no-op `up`, `ps`.

Both imports cost more than Compose takes for the whole command, so these paths use the
loader's plain canonical dict and `engine.light` (a few JSON GETs on the unix socket).  When
they cannot answer (a remote daemon, anything unexpected) they return None and the caller takes
the full path, which is the authority and gives the proper errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stack.plan import labels as L


def converged(load_options: Any, *, need_healthy: bool) -> list[str] | None:
    """The project's running containers when `up -d` has nothing to do for the project
    `load_options` names (Compose then lists them as Running); None when it has, or cannot tell."""
    from stack.engine.light import LightDocker, LightUnavailable
    from stack.plan.converged import image_reference, is_converged, normalise_reference
    from stack.spec.loader import load_raw

    raw = load_raw(load_options)
    project = str(raw["name"])
    services = raw.get("services") or {}
    refs = sorted({normalise_reference(image_reference(project, n, s)) for n, s in services.items()})
    selector = L.resource_filter(project)
    try:
        with LightDocker() as docker:
            containers = docker.containers(L.container_filter(project))
            networks = docker.networks(selector)
            volumes = docker.volumes(selector)
            images = docker.images(refs) if refs else []
    except LightUnavailable:
        return None
    if not is_converged(raw, containers, networks, volumes, images, need_healthy=need_healthy):
        return None
    names = (str((c.get("Names") or ["?"])[0]).lstrip("/") for c in containers)
    return sorted(name for name, c in zip(names, containers, strict=True) if c.get("State") == "running")


def report_running(names: list[str], echo: Callable[[str], None]) -> None:
    """What Compose prints for a no-op `up -d`: each container as Running, then the counter."""
    for name in names:
        echo(f" Container {name}  Running")
    echo(f"[+] Running {len(names)}/{len(names)}")


def list_containers(project: str) -> list[dict[str, Any]] | None:
    """Every container of the project (one GET), or None when the light client cannot ask."""
    from stack.engine.light import LightDocker, LightUnavailable

    try:
        with LightDocker() as docker:
            return docker.containers(L.container_filter(project))
    except LightUnavailable:
        return None
