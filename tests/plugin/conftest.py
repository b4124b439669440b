"""Fixtures of the pytest plugin's tests: pytester sessions against the real daemon.

Each test gets its own project-name prefix and state directory; whatever carries a project
label starting with that prefix is removed after the test, even when it fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from stack.plan import labels as L
from tests.daemon import connect, remove_project

IMAGE = "stack-test/busybox:latest"
BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "images" / "build.sh"

# Two services that talk over HTTP: web's /cgi-bin/api fetches api's page over the project
# network; both have healthchecks, and web starts once api is healthy.  `trap` makes the shells
# (pid 1) stop at once on SIGTERM, as a real server does.
STACK_YAML = """\
services:
  api:
    image: stack-test/busybox:latest
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        mkdir -p /www
        echo hello-from-api > /www/index.html
        echo "api: serving on 8080"
        httpd -f -vv -p 8080 -h /www &
        wait
    ports: ["127.0.0.1::8080"]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 500ms
      timeout: 3s
      retries: 20
  web:
    image: stack-test/busybox:latest
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        mkdir -p /www/cgi-bin
        echo hello-from-web > /www/index.html
        printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nwget -q -O - http://api:8080/\\n' > /www/cgi-bin/api
        chmod +x /www/cgi-bin/api
        echo "web: serving on 80"
        httpd -f -vv -p 80 -h /www &
        wait
    ports: ["127.0.0.1::80"]
    depends_on:
      api: {condition: service_healthy}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 500ms
      timeout: 3s
      retries: 20
volumes:
  data: {}
"""


def pytest_configure(config: pytest.Config) -> None:
    # pytester, loaded here: `pytest_plugins` is only allowed in the root conftest.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/plugin" in str(item.fspath) and "daemon" in getattr(item, "fixturenames", []):
            item.add_marker(pytest.mark.docker)


def poll(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until `check()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)  # the poll's interval, not a synchronisation


def projects_named(client: docker.APIClient, prefix: str) -> set[str]:
    """The projects (containers, networks, volumes, locks) whose name starts with `prefix-`."""
    names = {
        str((c.get("Labels") or {}).get(L.CONTAINER_OF, ""))
        for c in client.containers(all=True, filters=L.container_filter(None))
    }
    names |= {str((n.get("Labels") or {}).get(L.PROJECT, "")) for n in client.networks(filters={"label": [L.PROJECT]})}
    volumes = client.volumes(filters={"label": [L.PROJECT]}).get("Volumes") or []
    names |= {str((v.get("Labels") or {}).get(L.PROJECT, "")) for v in volumes}
    locks = client.volumes(filters={"name": [f"stack-lock.{prefix}-"]}).get("Volumes") or []
    names |= {str(v["Name"]).removeprefix("stack-lock.").split(".")[0] for v in locks}
    return {name for name in names if name.startswith(f"{prefix}-")}


@pytest.fixture(scope="session")
def daemon() -> Iterator[docker.APIClient]:
    client = connect()
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, capture_output=True, timeout=120)
    yield client
    client.close()


@dataclass
class Suite:
    """A throwaway test suite (pytester) whose `stack` fixture runs STACK_YAML."""

    pytester: pytest.Pytester
    client: docker.APIClient
    prefix: str
    state_dir: Path
    spawned: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.pytester.path

    def run(self, *args: str, timeout: float = 120) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(*args, timeout=timeout)

    def spawn(self, *args: str, log: str = "session.log") -> subprocess.Popen[bytes]:
        """A pytest session in the background, its output in `log`."""
        with open(self.path / log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.path, stdout=out, stderr=out)
        self.spawned.append(proc)
        return proc

    def wait_for_file(self, name: str, proc: subprocess.Popen[bytes], log: str = "session.log") -> str:
        """The content of `name`, once the session in `proc` wrote it."""

        def written() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the session ended (exit {proc.returncode}) before writing {name}:\n{self.log(log)}")
            return (self.path / name).exists()

        poll(f"the session to write {name} (its stack is up)", written)
        return (self.path / name).read_text()

    def log(self, name: str = "session.log") -> str:
        return (self.path / name).read_text(errors="replace")

    def projects(self) -> set[str]:
        return projects_named(self.client, self.prefix)

    def containers(self, project: str) -> list[dict[str, object]]:
        return list(self.client.containers(all=True, filters=L.container_filter(project)))

    def leases(self) -> list[Path]:
        return sorted(self.state_dir.glob("*/*.lease"))


@pytest.fixture
def suite(
    pytester: pytest.Pytester, daemon: docker.APIClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Suite]:
    prefix = f"sp{uuid.uuid4().hex[:8]}"
    state_dir = tmp_path_factory.mktemp("stack-state")
    pytester.makefile(".yaml", stack=STACK_YAML)
    pytester.makeini(
        f"""
        [pytest]
        stack_files = stack.yaml
        stack_project_prefix = {prefix}
        stack_state_dir = {state_dir}
        addopts = -p no:docker -p no:hypothesispytest -p no:cacheprovider
        """
    )
    made = Suite(pytester, daemon, prefix, state_dir)
    try:
        yield made
    finally:
        for proc in made.spawned:  # a session a failed test did not end
            proc.kill()
            proc.wait(timeout=30)
        for name in made.projects():  # its lock volume too, should a session have left one
            remove_project(daemon, name, images=False)


@pytest.fixture(autouse=True)
def _own_options(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sessions under test must not pick up the options of the run that tests them.
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
