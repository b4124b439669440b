"""Which services share a Pod.

Services joined by `network_mode: service:x` share x's network namespace (they talk over
localhost), and `volumes_from: x` shares x's volumes: in Kubernetes both are containers of one
Pod.  The groups are the connected parts of those two relations; a group is named after its
root, the service the others join (the first in dependency order when several could be).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stack.plan.graph import volumes_from
from stack.spec.graph import service_reference
from stack.spec.models import Project

__all__ = ["PodGroup", "group_pods", "volumes_from_source"]


@dataclass(frozen=True)
class PodGroup:
    root: str
    members: tuple[str, ...]  # root first, then in dependency order

    @property
    def joined(self) -> tuple[str, ...]:
        return self.members[1:]


def volumes_from_source(entry: str) -> tuple[str | None, bool]:
    """(service, read_only) of a `volumes_from` entry; service None for `container:...`."""
    if entry.startswith("container:"):
        return None, False
    name, _, mode = entry.partition(":")
    return name, mode == "ro"


def group_pods(project: Project, order: Sequence[str]) -> list[PodGroup]:
    """The Pods of the project's services, in the dependency order of their roots."""
    parent = {key: key for key in order}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    joins_network: set[str] = set()
    for key in order:
        service = project.services[key]
        target = service_reference(service.network_mode)
        if target is not None and target in parent:
            join(target, key)
            joins_network.add(key)
        for entry in volumes_from(service):
            source, _ = volumes_from_source(entry)
            if source is not None and source in parent:
                join(source, key)
    members: dict[str, list[str]] = {}
    for key in order:
        members.setdefault(find(key), []).append(key)
    groups: list[PodGroup] = []
    for keys in members.values():
        candidates = [k for k in keys if k not in joins_network]
        root = candidates[0] if candidates else keys[0]
        groups.append(PodGroup(root, (root, *[k for k in keys if k != root])))
    position = {key: index for index, key in enumerate(order)}
    groups.sort(key=lambda g: position[g.root])
    return groups
