"""Fixtures of the integration tests: the real daemon, one project name per test, cleanup.

Every test gets its own project name; whatever carries that project's label (containers,
networks, volumes, images) is removed after the test, even when it fails, so the suite
leaves the daemon as it found it.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from stack.engine.docker_api import DockerAPI
from stack.spec.models import Project
from tests.daemon import connect, remove_project

IMAGE = "stack-test/busybox:latest"
BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "images" / "build.sh"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.APIClient]:
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(docker_client: docker.APIClient) -> str:
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, capture_output=True, timeout=120)
    return IMAGE


@pytest.fixture
def project_name(docker_client: docker.APIClient, test_image: str) -> Iterator[str]:
    name = f"stk{uuid.uuid4().hex[:10]}"
    remove_project(docker_client, name)
    try:
        yield name
    finally:
        remove_project(docker_client, name)


@pytest.fixture
def api() -> Iterator[DockerAPI]:
    facade = DockerAPI.from_env()
    yield facade
    facade.close()


@pytest.fixture
def make_project(project_name: str, tmp_path: Path):
    """Build a Project from canonical service dicts (services join `default` unless told)."""

    def make(
        services: dict[str, dict[str, Any]],
        *,
        networks: dict[str, dict[str, Any]] | None = None,
        volumes: dict[str, dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Project:
        canonical = {}
        for key, svc in services.items():
            svc = {"image": IMAGE, **svc, "name": key}
            if "network_mode" not in svc:
                svc.setdefault("networks", {"default": None})
            canonical[key] = svc
        return Project.model_validate(
            {
                "name": project_name,
                "services": canonical,
                "networks": {"default": {}, **(networks or {})},
                "volumes": volumes or {},
                "working_dir": str(tmp_path),
                "config_files": [str(tmp_path / "stack.yaml")],
                **extra,
            }
        )

    return make
