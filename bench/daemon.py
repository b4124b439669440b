"""What the bench asks the Docker daemon directly: its version, and the sweep of a project's leftovers.

Each tool's own `down -v` cleans up first; the sweep then removes whatever still carries the tool's
project label (containers, networks, volumes), so that a failed round cannot leak into the next.
"""

from __future__ import annotations

import contextlib
from typing import Any

import docker
import docker.errors

from bench.errors import BenchError


class Daemon:
    def __init__(self) -> None:
        try:
            self.client: Any = docker.APIClient(version="auto", **docker.utils.kwargs_from_env())
            self.client.ping()
        except Exception as exc:  # any failure to reach the daemon ends the run with one line
            raise BenchError(f"Docker daemon not reachable: {exc}") from exc

    def version(self) -> dict[str, Any]:
        info: dict[str, Any] = self.client.version()
        return info

    def api_at_least(self, wanted: str) -> bool:
        have = tuple(int(p) for p in str(self.version().get("ApiVersion", "0.0")).split("."))
        return have >= tuple(int(p) for p in wanted.split("."))

    def has_image(self, reference: str) -> bool:
        try:
            self.client.inspect_image(reference)
        except docker.errors.ImageNotFound:
            return False
        return True

    def count_containers(self, label: str, project: str, *, running_only: bool = True) -> int:
        found = self.client.containers(all=not running_only, filters={"label": [f"{label}={project}"]})
        return len(found)

    def sweep(self, label: str, project: str) -> None:
        """Remove every container, network and volume labelled `label=project`."""
        selector = {"label": [f"{label}={project}"]}
        for c in self.client.containers(all=True, filters=selector):
            with contextlib.suppress(docker.errors.NotFound):
                self.client.remove_container(c["Id"], force=True, v=True)
        for n in self.client.networks(filters=selector):
            with contextlib.suppress(docker.errors.NotFound):
                self.client.remove_network(n["Id"])
        for v in self.client.volumes(filters=selector).get("Volumes") or []:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.remove_volume(v["Name"], force=True)

    def close(self) -> None:
        self.client.close()
