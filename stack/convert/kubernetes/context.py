"""What every step of one conversion shares: the project, the options, the result so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stack.convert.kubernetes.model import KubernetesOptions, KubernetesStack, Manifest
from stack.convert.unsupported import located
from stack.spec.models import Project
from stack.spec.sourcemap import KeyPath

__all__ = ["Context"]

PART_OF = "app.kubernetes.io/part-of"
NAME = "app.kubernetes.io/name"
MANAGED_BY = "app.kubernetes.io/managed-by"


@dataclass
class Context:
    project: Project  # read, never changed
    options: KubernetesOptions
    result: KubernetesStack
    _warned: set[tuple[str, str]] = field(default_factory=set)

    def warn(self, path: KeyPath, message: str) -> None:
        """A key whose meaning the output loses (WARN; --strict refuses)."""
        if (str(path), message) not in self._warned:
            self._warned.add((str(path), message))
            self.result.unsupported.append(located(self.project.source_map, path, message))

    def note(self, path: KeyPath, message: str) -> None:
        """A key converted with a caveat (NOTE)."""
        if (str(path), message) not in self._warned:
            self._warned.add((str(path), message))
            self.result.notes.append(located(self.project.source_map, path, message))

    def metadata(self, name: str, labels: dict[str, str] | None = None, *, namespaced: bool = True) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if namespaced and self.options.namespace:
            meta["namespace"] = self.options.namespace
        meta["labels"] = {**(labels or {}), PART_OF: self.project.name, MANAGED_BY: "stack"}
        return meta

    def selector(self, name: str) -> dict[str, str]:
        return {PART_OF: self.project.name, NAME: name}

    def add(self, kind: str, api_version: str, name: str, spec: dict[str, Any], service: str | None = None) -> None:
        body: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
        meta = spec.pop("metadata", None) or self.metadata(name)
        body["metadata"] = meta
        body.update(spec)
        self.result.manifests.append(Manifest(kind, name, body, service))
