"""Zero-downtime updates of the example (deploy.update_config on `api`), under HTTP load.

A load loop (bench.load.LoadLoop: two clients GETting /api/whoami through the frontend, a new
connection per request, 10 s timeout each) runs while `up -d --wait --scale api=3` changes the
API's environment (APP_RELEASE) on three replicas:

- stack rolls them one at a time (start-first, health-gated): not one request fails;
- Compose, same file and same images, replaces them all at once: the same loop sees failures,
  which shows that the loop can see them;
- a release whose healthcheck fails is rolled back: `up` exits 1 naming the service, the replica
  and the healthcheck's output, and the old replicas serve throughout.

The counts are printed (pytest -s) and attached to the test's report (its user_properties).
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from bench.daemon import Daemon
from bench.load import LoadLoop, LoadResult
from bench.tools import find_compose
from stack.plan import labels as L
from tests.daemon import free_port, remove_project
from tests.e2e.conftest import EXAMPLE, ExampleStack

pytestmark = pytest.mark.timeout(900)

REPLICAS = 3
# Fewer requests than this during an update would make "0 failed" say little.
MIN_REQUESTS = 50
BROKEN = Path(__file__).resolve().parent / "rolling-update-broken.yaml"
BROKEN_OUTPUT = "release broken: the healthcheck fails on purpose"
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
# The same command for both tools; --scale every time, or `up` goes back to the file's one replica.
UP = ("up", "-d", "--wait", "--wait-timeout", "180", "--scale", f"api={REPLICAS}")


def release(value: str) -> dict[str, str]:
    return {"APP_RELEASE": value}


def api_containers(client: docker.APIClient, project: str) -> dict[str, dict[str, Any]]:
    """Name -> inspect() of every `api` container (running or not) of stack's `project`."""
    found = client.containers(all=True, filters={"label": [f"{L.CONTAINER_OF}={project}", f"{L.SERVICE}=api"]})
    return {c["Names"][0].lstrip("/"): client.inspect_container(c["Id"]) for c in found}


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container["Config"]["Env"] or [])


def under_load(
    frontend: ExampleStack, update: Callable[[], Any], request: pytest.FixtureRequest, name: str
) -> tuple[Any, LoadResult]:
    """Run `update()` while the load loop GETs /api/whoami through the frontend; return both outcomes."""
    load = LoadLoop(frontend.base_url + "/api/whoami", threads=2, timeout_s=10)
    with load:
        load.wait_first_ok(deadline_s=30)
        outcome = update()
    result = load.result
    print(f"\n{name}: {result.summary()}")
    for example in result.examples:
        print(f"  {example}")
    print(f"  answered by: {dict(result.served_by)}")
    # On the test's report (user_properties: junit's legacy family, report hooks, xdist).
    request.node.user_properties += [
        (f"{name}_ok", result.ok),
        (f"{name}_failed", result.failed),
        (f"{name}_failures", "; ".join(f"{n}x {r}" for r, n in result.reasons.most_common())),
    ]
    return outcome, result


@pytest.fixture(scope="module")
def rolling(docker_client: docker.APIClient, example_env_file: Path | None) -> Iterator[ExampleStack]:
    """The example under a project of its own, with three API replicas of release 1."""
    stack = ExampleStack(f"e2eroll{uuid.uuid4().hex[:8]}", free_port(), example_env_file)
    try:
        stack.ok(*UP, "--build", env=release("1"), timeout=600)
        stack.wait_http_ok("/api/whoami")
        yield stack
    finally:
        result = stack.run("down", "-v", "--remove-orphans", timeout=120)
        remove_project(docker_client, stack.project, images=False)
        assert result.code == 0, f"stack down -v failed:\n{result}"


def test_stack_rolls_the_replicas_without_losing_a_request(
    rolling: ExampleStack, docker_client: docker.APIClient, request: pytest.FixtureRequest
) -> None:
    before = api_containers(docker_client, rolling.project)
    assert sorted(before) == [f"{rolling.project}-api-{n}" for n in range(1, REPLICAS + 1)]
    assert {env_of(c)["APP_RELEASE"] for c in before.values()} == {"1"}

    result, load = under_load(
        rolling,
        lambda: rolling.run(*UP, env=release("2"), timeout=600),
        request,
        "stack_rolling_update",
    )

    assert result.code == 0, str(result)
    assert load.total >= MIN_REQUESTS, load.summary()
    assert load.failed == 0, f"{load.summary()}\n" + "\n".join(load.examples)
    after = api_containers(docker_client, rolling.project)
    assert sorted(after) == [f"{rolling.project}-api-{n}" for n in range(1, REPLICAS + 1)]
    assert all(c["State"]["Running"] and env_of(c)["APP_RELEASE"] == "2" for c in after.values()), after
    assert not {c["Id"] for c in after.values()} & {c["Id"] for c in before.values()}, "every replica is new"
    assert rolling.get_json("/api/whoami")["release"] == "2"


def test_a_release_that_never_gets_healthy_is_rolled_back_while_the_old_replicas_serve(
    rolling: ExampleStack, docker_client: docker.APIClient, request: pytest.FixtureRequest
) -> None:
    # Whatever the test before left: three healthy replicas of release 2.
    rolling.ok(*UP, env=release("2"), timeout=600)
    before = api_containers(docker_client, rolling.project)
    assert len(before) == REPLICAS and all(c["State"]["Running"] for c in before.values())

    result, load = under_load(
        rolling,
        lambda: rolling.run("-f", "stack.yaml", "-f", str(BROKEN), *UP, env=release("3-broken"), timeout=600),
        request,
        "stack_failed_update",
    )

    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert "service api" in result.err, result.err
    assert re.search(r"replica \d", result.err), result.err
    assert BROKEN_OUTPUT in result.err, "the last healthcheck output is shown"
    assert load.total >= MIN_REQUESTS, load.summary()
    assert load.failed == 0, f"{load.summary()}\n" + "\n".join(load.examples)
    # The old replicas answered during the update (besides, maybe, the new one before it was removed).
    old_hostnames = {c["Config"]["Hostname"] for c in before.values()}
    assert old_hostnames <= set(load.served_by), (old_hostnames, load.served_by)
    after = api_containers(docker_client, rolling.project)
    assert {n: c["Id"] for n, c in after.items()} == {n: c["Id"] for n, c in before.items()}, "no new container left"
    assert all(c["State"]["Running"] and env_of(c)["APP_RELEASE"] == "2" for c in after.values())


def test_compose_replaces_every_replica_at_once_and_the_load_loop_sees_it(
    rolling: ExampleStack,  # the API image is built by then (Compose would otherwise build its own)
    example_env_file: Path | None,
    request: pytest.FixtureRequest,
) -> None:
    compose = find_compose()
    project = f"e2ecompose{uuid.uuid4().hex[:8]}"
    frontend = ExampleStack(project, free_port(), example_env_file)  # its HTTP helpers only
    env_args = ["--env-file", str(example_env_file)] if example_env_file else []

    def docker_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            compose.command("-f", "stack.yaml", "-p", project, *env_args, *args),
            cwd=EXAMPLE,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "FRONTEND_PORT": str(frontend.port), **(env or {})},
        )

    try:
        first = docker_compose(*UP, env=release("1"))
        assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
        frontend.wait_http_ok("/api/whoami")

        updated, load = under_load(frontend, lambda: docker_compose(*UP, env=release("2")), request, "compose")

        assert updated.returncode == 0, f"{updated.stdout}\n{updated.stderr}"
        assert load.total >= MIN_REQUESTS, load.summary()
        assert load.failed >= 1, f"the loop saw no failure while Compose replaced every replica: {load.summary()}"
    finally:
        try:
            down = docker_compose("down", "-v", "--remove-orphans")
        finally:  # and whatever Compose's own `down` left with its label for this project
            daemon = Daemon()
            try:
                daemon.sweep(COMPOSE_PROJECT_LABEL, project)
            finally:
                daemon.close()
        assert down.returncode == 0, f"docker-compose down -v failed:\n{down.stdout}\n{down.stderr}"
