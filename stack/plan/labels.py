"""The labels stack puts on what it creates: our own namespace, the only proof of ownership.

`docker compose` uses `com.docker.compose.*`; we use `dev.stack.*` so that the two tools
never adopt, recreate or remove each other's containers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stack import __version__

if TYPE_CHECKING:
    from stack.spec.models import Project

PREFIX = "dev.stack."

PROJECT = PREFIX + "project"
SERVICE = PREFIX + "service"
NUMBER = PREFIX + "number"
CONFIG_HASH = PREFIX + "config-hash"
CONFIG_FILES = PREFIX + "config-files"
WORKING_DIR = PREFIX + "working-dir"
ONEOFF = PREFIX + "oneoff"
VERSION = PREFIX + "version"
NETWORK = PREFIX + "network"  # the stack-file key of a network
VOLUME = PREFIX + "volume"  # the stack-file key of a volume
IMAGE = PREFIX + "image"  # the image reference the service asked for
SPEC_DIGEST = PREFIX + "spec-digest"  # fingerprint of the canonical definition (see spec.digest)
# The services a container's service needs (comma separated), so that `down` without the
# stack file still stops dependents before their dependencies (Compose does the same).
DEPENDS_ON = PREFIX + "depends-on"


def _bool(value: bool) -> str:
    # Compose writes "True"/"False"; keep the same spelling so people can filter alike.
    return "True" if value else "False"


def container_labels(
    project: Project,
    service: str,
    number: int,
    config_hash: str,
    *,
    oneoff: bool = False,
    image: str | None = None,
) -> dict[str, str]:
    """Every label of a service container: the service's own `labels:`, then ours (ours win)."""
    definition = project.services.get(service) or project.disabled_services.get(service)
    labels: dict[str, str] = dict(definition.labels) if definition is not None else {}
    if image is None and definition is not None:
        from stack.plan.naming import service_image

        image = service_image(project.name, service, definition)
    labels.update(
        {
            PROJECT: project.name,
            SERVICE: service,
            NUMBER: str(number),
            CONFIG_HASH: config_hash,
            CONFIG_FILES: ",".join(project.config_files),
            WORKING_DIR: project.working_dir,
            ONEOFF: _bool(oneoff),
            VERSION: __version__,
        }
    )
    if image:
        labels[IMAGE] = image
    if definition is not None and definition.spec_digest and not oneoff:
        labels[SPEC_DIGEST] = definition.spec_digest
    if definition is not None:
        from stack.plan.graph import implicit_dependencies

        needed = sorted(set(definition.depends_on) | set(implicit_dependencies(definition)))
        if needed:
            labels[DEPENDS_ON] = ",".join(needed)
    return labels


def network_labels(
    project: str, key: str, config_hash: str, own: dict[str, str] | None = None, spec_digest: str = ""
) -> dict[str, str]:
    """Labels of a network we create: the network's own `labels:`, then ours."""
    labels = dict(own or {})
    labels.update({PROJECT: project, NETWORK: key, CONFIG_HASH: config_hash, VERSION: __version__})
    if spec_digest:
        labels[SPEC_DIGEST] = spec_digest
    return labels


def volume_labels(project: str, key: str, own: dict[str, str] | None = None) -> dict[str, str]:
    """Labels of a volume we create: the volume's own `labels:`, then ours."""
    labels = dict(own or {})
    labels.update({PROJECT: project, VOLUME: key, VERSION: __version__})
    return labels


def project_filter(project: str, *, oneoff: bool | None = None) -> dict[str, list[str]]:
    """Engine API list filter selecting what belongs to `project` (optionally by one-off flag)."""
    wanted = [f"{PROJECT}={project}"]
    if oneoff is not None:
        wanted.append(f"{ONEOFF}={_bool(oneoff)}")
    return {"label": wanted}


def is_owned(labels: dict[str, str], project: str) -> bool:
    """Whether a resource carrying `labels` belongs to `project`."""
    return labels.get(PROJECT) == project
