"""Daemon-side names of everything a stack creates, as Compose users expect them.

Names are for humans and for the daemon's uniqueness rules; ownership is decided by labels
(`stack.plan.labels`), never by name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.spec.models import Network, Project, Service, Volume

_INVALID_PROJECT_CHARS = re.compile(r"[^a-z0-9_-]")


def normalize_project_name(name: str) -> str:
    """Compose's normalisation: lower case, drop anything but `[a-z0-9_-]`, no leading `_`/`-`."""
    return _INVALID_PROJECT_CHARS.sub("", name.lower()).lstrip("_-")


def container_name(project: str, service: str, number: int, custom: str | None = None) -> str:
    """`{project}-{service}-{n}`, or the service's own `container_name`."""
    if custom:
        return custom
    return f"{project}-{service}-{number}"


def service_container_name(project: str, name: str, service: Service, number: int) -> str:
    """The name of replica `number` of `service` (keyed `name` in the stack file)."""
    return container_name(project, name, number, service.container_name)


def oneoff_container_name(project: str, service: str, run_id: str) -> str:
    """A `stack run` container: `{project}-{service}-run-{id}` (id: 12 hex digits, as Compose)."""
    return f"{project}-{service}-run-{run_id[:12]}"


def temporary_container_name(old_container_id: str, name: str) -> str:
    """The name a replacement container is created under while the old one still holds `name`.

    Same shape as Compose (`{old_id[:12]}_{name}`), so a crash mid-recreate leaves a name
    users already recognise.
    """
    return f"{old_container_id[:12]}_{name}"


def previous_container_name(old_container_id: str, name: str) -> str:
    """The name an old replica is kept under, stopped, while a rolling update with
    `failure_action: rollback` may still need it back (removed once the update succeeded)."""
    return f"{name}_previous_{old_container_id[:12]}"


def network_name(project: str, key: str, network: Network | None = None) -> str:
    """Daemon name of network `key`: its `name:` (also for external ones), else `{project}_{key}`."""
    if network is not None and network.name:
        return network.name
    return f"{project}_{key}"


def volume_name(project: str, key: str, volume: Volume | None = None) -> str:
    """Daemon name of volume `key`: its `name:` (also for external ones), else `{project}_{key}`."""
    if volume is not None and volume.name:
        return volume.name
    return f"{project}_{key}"


def default_image_name(project: str, service: str) -> str:
    """The tag of an image built for a service that has `build` but no `image`."""
    return f"{project}-{service}"


def service_image(project: str, name: str, service: Service) -> str:
    """The image reference a service runs: its `image`, else the default build tag."""
    return service.image or default_image_name(project, name)


def project_network_name(project: Project, key: str) -> str:
    """Daemon name of the project's network `key` (declared or the implicit `default`)."""
    return network_name(project.name, key, project.networks.get(key))


def project_volume_name(project: Project, key: str) -> str:
    """Daemon name of the project's volume `key`."""
    return volume_name(project.name, key, project.volumes.get(key))
