"""Fixtures of the end-to-end tests: the example stack (examples/flask-api-db) run as a user would.

Base images: the official ones when all three are on the daemon (or STACK_E2E_IMAGES=official),
else the local Debian-based ones, built once per session by the example's own script
(examples/flask-api-db/local-images/build.sh) and selected with its local.env.

One stack per session, under its own project name and a free host port; it is taken down with
its volumes at the end, even when a test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.daemon import Result, connect, free_port, remove_project

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "flask-api-db"
BUILD_SCRIPT = EXAMPLE / "local-images" / "build.sh"
OFFICIAL_IMAGES = ("python:3.12-slim", "postgres:16", "nginx:1.27")
ARTIFACTS = REPO / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.docker)


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ExampleStack:
    """The example, driven through the `stack` CLI (one subprocess per command) and over HTTP."""

    def __init__(self, project: str, port: int, env_file: Path | None, directory: Path = EXAMPLE) -> None:
        self.project = project
        self.port = port
        self.env_file = env_file
        self.directory = directory
        self.base_url = f"http://127.0.0.1:{port}"

    def run(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
        """`stack -p PROJECT [--env-file F] ARGS` in the example's directory; `env`: more variables."""
        env_args = ["--env-file", str(self.env_file)] if self.env_file else []
        proc = subprocess.run(
            [sys.executable, "-m", "stack", "-p", self.project, *env_args, *args],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "NO_COLOR": "1", "FRONTEND_PORT": str(self.port), **(env or {})},
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
        result = self.run(*args, timeout=timeout, env=env)
        assert result.code == 0, f"stack {' '.join(args)} failed:\n{result}"
        return result

    def http(self, method: str, path: str, payload: Any = None, timeout: float = 10) -> HttpResponse:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as e:
            return HttpResponse(e.code, dict(e.headers), e.read())

    def get_json(self, path: str) -> Any:
        response = self.http("GET", path)
        assert response.status == 200, f"GET {path}: {response.status} {response.body!r}"
        return response.json()

    def item_names(self) -> list[str]:
        return [item["name"] for item in self.get_json("/api/items")["items"]]

    def wait_http_ok(self, path: str, deadline_s: float = 60) -> None:
        """Poll until GET path answers 200 (the frontend proxies to a freshly started API)."""
        deadline = time.monotonic() + deadline_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                response = self.http("GET", path, timeout=3)
                if response.status == 200:
                    return
                last = f"{response.status} {response.body[:200]!r}"
            except OSError as e:
                last = str(e)
            time.sleep(0.2)  # polling interval, not synchronisation: the deadline bounds the wait
        raise AssertionError(f"GET {self.base_url}{path} did not answer 200 within {deadline_s} s: {last}")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.APIClient]:
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="session")
def example_env_file(docker_client: docker.APIClient) -> Path | None:
    """None for the official images, else local.env after building the local bases."""
    choice = os.environ.get("STACK_E2E_IMAGES", "")
    if not choice:
        present = all(docker_client.images(name=image) for image in OFFICIAL_IMAGES)
        choice = "official" if present else "local"
    if choice == "official":
        return None
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{BUILD_SCRIPT} failed:\n{done.stdout}\n{done.stderr}"
    return EXAMPLE / "local.env"


@pytest.fixture(scope="session")
def example(docker_client: docker.APIClient, example_env_file: Path | None) -> Iterator[ExampleStack]:
    """The example stack, up and healthy (`stack up --build --wait`), for the whole session."""
    stack = ExampleStack(f"e2e{uuid.uuid4().hex[:8]}", free_port(), example_env_file)
    try:
        stack.ok("up", "--build", "--wait", "--wait-timeout", "180", timeout=600)
        stack.wait_http_ok("/api/healthz")
        yield stack
    finally:
        result = stack.run("down", "-v", "--remove-orphans", timeout=120)
        remove_project(docker_client, stack.project, images=False)
        assert result.code == 0, f"stack down -v failed:\n{result}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
