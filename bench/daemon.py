"""What the bench asks the Docker daemon directly: its version, and the sweep of a project's leftovers.

Each tool's own `down -v` cleans up first; the sweep then removes whatever still carries the tool's
project label (containers, networks, volumes), so that a failed round cannot leak into the next.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import docker
import docker.errors

from bench.errors import BenchError

# Docker 20.10 sometimes keeps counting endpoints on a network after all its containers are gone
# (moby/moby#43286): it cannot be removed until the daemon restarts.  Both tools meet it.
STALE_ENDPOINTS = "has active endpoints"


def log_warning(message: str) -> None:
    import sys

    print(f"bench: warning: {message}", file=sys.stderr, flush=True)


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

    def service_env(self, label: str, project: str, service: str, variable: str) -> list[str]:
        """The value of `variable` in each running container of `service` (sorted; "" when unset).

        The service label is the project label's sibling in the tool's namespace
        (dev.stack.service, com.docker.compose.service)."""
        service_label = label.rsplit(".", 1)[0] + ".service"
        found = self.client.containers(filters={"label": [f"{label}={project}", f"{service_label}={service}"]})
        values = []
        for c in found:
            env = self.client.inspect_container(c["Id"])["Config"]["Env"] or []
            values.append(next((e.split("=", 1)[1] for e in env if e.startswith(f"{variable}=")), ""))
        return sorted(values)

    def sweep(self, label: str, project: str) -> None:
        """Remove every container, network and volume labelled `label=project`.

        Raises BenchError naming what could not be removed, except a network the daemon keeps for
        stale endpoints alone (no container attached): that is logged, and left for the next round
        of the same project to reuse.
        """
        selector = {"label": [f"{label}={project}"]}
        failures: list[str] = []

        def attempt(what: str, remove: Callable[[], object]) -> None:
            try:
                remove()
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                failures.append(f"{what}: {exc.explanation or exc}")

        for c in self.client.containers(all=True, filters=selector):
            attempt(f"container {c['Id'][:12]}", partial(self.client.remove_container, c["Id"], force=True, v=True))
        for n in self.client.networks(filters=selector):
            try:
                self.client.remove_network(n["Id"])
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if self.stale_network(n["Id"], str(exc.explanation or exc)):
                    log_warning(f"network {n['Name']} kept by the daemon's stale-endpoint bug (moby/moby#43286)")
                else:
                    failures.append(f"network {n['Name']}: {exc.explanation or exc}")
        for v in self.client.volumes(filters=selector).get("Volumes") or []:
            attempt(f"volume {v['Name']}", partial(self.client.remove_volume, v["Name"], force=True))
        if failures:
            raise BenchError(f"could not remove what {project} left: " + "; ".join(failures))

    def stale_network(self, network: str, error: str) -> bool:
        """`error` removing `network` is the daemon's stale-endpoint bug: no container is attached."""
        if STALE_ENDPOINTS not in error:
            return False
        try:
            return not self.client.inspect_network(network).get("Containers")
        except docker.errors.APIError:
            return False

    def close(self) -> None:
        self.client.close()
