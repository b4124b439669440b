"""Helpers shared by the tests that use the real Docker daemon (integration and e2e)."""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass

import docker
import docker.errors
import pytest

from stack.plan import labels as L


@dataclass
class Result:
    """What one `stack` subprocess did."""

    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connect() -> docker.APIClient:
    """A client of the daemon; a missing daemon fails the test (skips only when asked to)."""
    client = docker.APIClient(version="1.41", **docker.utils.kwargs_from_env())
    try:
        client.ping()
    except Exception as exc:
        # A missing daemon must not turn the suite green by skipping it.
        if os.environ.get("STACK_TESTS_WITHOUT_DOCKER"):
            pytest.skip(f"Docker daemon not reachable: {exc}")
        pytest.fail(f"Docker daemon not reachable: {exc} (set STACK_TESTS_WITHOUT_DOCKER=1 to skip these tests)")
    return client


def remove_project(client: docker.APIClient, project: str, *, images: bool = True) -> None:
    """Remove everything labelled with `project`: containers, networks, volumes, and images
    unless `images` is False (the e2e images are a cache shared with the user's own runs)."""
    selector = L.resource_filter(project)
    inherited: set[str] = set()
    for c in client.containers(all=True, filters=L.container_filter(project)):
        inherited.update(v for v in (c.get("Labels") or {}).get(L.INHERITED_VOLUMES, "").split(",") if v)
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_container(c["Id"], force=True, v=True)
    # Anonymous volumes carried over by a recreate are the project's too (`down -v` removes them).
    for name in sorted(inherited):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.remove_volume(name)
    for n in client.networks(filters=selector):
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_network(n["Id"])
    # The project's volumes, and its lock (with heartbeats and take-over guards) if a test left it.
    lock = f"stack-lock.{project}"
    locks = client.volumes(filters={"name": [lock]}).get("Volumes") or []
    for v in (client.volumes(filters=selector).get("Volumes") or []) + locks:
        if v in locks and not (v["Name"] == lock or v["Name"].startswith(lock + ".")):
            continue  # the name filter matches substrings
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_volume(v["Name"], force=True)
    if images:
        for i in client.images(filters={"label": [f"{L.BUILT_FOR_PROJECT}={project}"]}):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.remove_image(i["Id"], force=True)
