"""The labels stack puts on what it creates: our own namespace, the only proof of ownership.

`docker compose` uses `com.docker.compose.*`; we use `dev.stack.*` so that the two tools
never adopt, recreate or remove each other's containers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stack import __version__

if TYPE_CHECKING:
    from stack.spec.models import Project

PREFIX = "dev.stack."

# What makes a container ours: stack sets it when it creates a container and never puts it on an
# image with a value (`stack commit` blanks it: `commit_changes`), so a container that someone
# starts from one of our images (`docker run app:local`) does not inherit it and is never listed,
# stopped or removed by stack.  Every container lookup (lists, event filters, ownership checks)
# goes through `container_filter`/`is_our_container` (`owner_of` after a key-only filter).
CONTAINER_OF = PREFIX + "container-of"  # value: the project
PROJECT = PREFIX + "project"  # on containers, networks and volumes; alone it proves nothing for a container
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
# Images built by stack say what they were built for, under names that decide nothing.
BUILT_FOR_PROJECT = PREFIX + "built-for.project"
BUILT_FOR_SERVICE = PREFIX + "built-for.service"
# Anonymous volumes a container took over from the container it replaced (a recreate): the daemon
# does not count them as the new container's own, so `down -v`/`rm -v` remove them by this list.
INHERITED_VOLUMES = PREFIX + "inherited-volumes"
# The project lock (stack.engine.lock): volumes that carry these are never a project's volumes.
LOCK = PREFIX + "lock"  # value: the project
LOCK_HOLDER = PREFIX + "lock.holder"  # who holds it (JSON, see stack.engine.lock.Holder)
LOCK_BEAT = PREFIX + "lock.beat"  # a holder's heartbeat volume; value: the holder's token
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
            CONTAINER_OF: project.name,
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


def build_labels(project: str, service: str) -> dict[str, str]:
    """Labels of an image built for a service: informative only, never read as ownership."""
    return {BUILT_FOR_PROJECT: project, BUILT_FOR_SERVICE: service}


def container_filter(
    project: str | None, *, oneoff: bool | None = None, service: str | None = None
) -> dict[str, list[str]]:
    """Engine API filter (container lists and events) selecting our containers of `project`
    (of every project when None), optionally by one-off flag and service."""
    wanted = [f"{CONTAINER_OF}={project}" if project is not None else CONTAINER_OF]
    if oneoff is not None:
        wanted.append(f"{ONEOFF}={_bool(oneoff)}")
    if service is not None:
        wanted.append(f"{SERVICE}={service}")
    return {"label": wanted}


def resource_filter(project: str) -> dict[str, list[str]]:
    """Engine API list filter selecting the networks and volumes of `project`."""
    return {"label": [f"{PROJECT}={project}"]}


def is_our_container(labels: dict[str, str], project: str) -> bool:
    """Whether a container carrying `labels` was created by stack for `project`."""
    return bool(project) and labels.get(CONTAINER_OF) == project


def owner_of(labels: dict[str, str]) -> str | None:
    """The project a container carrying `labels` was created for by stack, or None.

    Only a non-empty value counts: a key-only filter (`container_filter(None)`) also matches
    containers run from an image committed from one of ours, which carries the key blanked
    (see `commit_changes`); every such match must be checked with this."""
    return labels.get(CONTAINER_OF) or None


def commit_changes(labels: dict[str, str], project: str, service: str) -> list[str]:
    """Dockerfile instructions for committing our container (carrying `labels`) to an image
    that hands none of our labels to the containers run from it.

    The daemon copies a container's labels into the committed image, and a commit can only
    override a label, never drop it: so every label of ours is blanked (an empty
    `container-of` is nobody's, see `owner_of`, and no filter `container-of=PROJECT` matches
    it), and the image says, as built images do, what it was made from, under names that
    decide nothing."""
    ours = {key for key in labels if key.startswith(PREFIX)}
    ours |= {CONTAINER_OF, PROJECT, SERVICE, NUMBER, ONEOFF, CONFIG_HASH}
    ours -= {BUILT_FOR_PROJECT, BUILT_FOR_SERVICE}
    blanked = " ".join(f'{json.dumps(key)}=""' for key in sorted(ours))
    made_for = build_labels(project, service)
    informative = " ".join(f"{json.dumps(key)}={json.dumps(value)}" for key, value in made_for.items())
    return [f"LABEL {blanked}", f"LABEL {informative}"]


def is_owned(labels: dict[str, str], project: str) -> bool:
    """Whether a network or volume carrying `labels` was created by stack for `project` (images
    never hand labels to networks and volumes, so the project label is proof enough there)."""
    return labels.get(PROJECT) == project
