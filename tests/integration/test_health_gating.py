"""depends_on conditions, `--wait` and scaling, asserted from the daemon's own event timestamps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from stack.plan import labels as L
from tests.integration.cli_helpers import StackCLI, exec_output, project_containers

IMAGE = "stack-test/busybox:latest"


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    return StackCLI(tmp_path, project_name)


class EventRecorder:
    """Every daemon event from before `up` starts, recorded live by a reader thread.

    Live, not from the daemon's history: the history is a bounded ring that a busy daemon
    (healthchecks are events too) overwrites.
    """

    def __init__(self) -> None:
        self.client = docker.APIClient(version="1.41", **docker.utils.kwargs_from_env())
        self.stream = self.client.events(decode=True)  # subscribed once this returns
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                with self.changed:
                    self.events.append(event)
                    self.changed.notify_all()
        except Exception:  # the stream is closed by stop()
            pass

    def time_of(self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 15.0) -> float:
        """Daemon time (seconds) of the first event that `match`es, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for event in self.events:
                    if match(event):
                        return int(event["timeNano"]) / 1e9
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no event {what} within {timeout}s")
                self.changed.wait(left)

    def stop(self) -> None:
        self.stream.close()
        self.client.close()


@pytest.fixture
def recorder() -> Iterator[EventRecorder]:
    rec = EventRecorder()
    yield rec
    rec.stop()


def event_time(rec: EventRecorder, project: str, service: str, action: str) -> float:
    """Time of the first `action` event of a container of `service`."""

    def match(event: dict[str, Any]) -> bool:
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        return (
            event.get("Type") == "container"
            and attributes.get(L.PROJECT) == project
            and attributes.get(L.SERVICE) == service
            and event.get("Action") == action
        )

    return rec.time_of(match, f"{action!r} of service {service}")


def network_connect_time(rec: EventRecorder, network: str, container: str) -> float:
    """When the daemon attached `container` to `network`: the first step of its start."""

    def match(event: dict[str, Any]) -> bool:
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        return (
            event.get("Type") == "network"
            and event.get("Action") == "connect"
            and attributes.get("name") == network
            and attributes.get("container") == container
        )

    return rec.time_of(match, f"connect of {container[:12]} to {network}")


def chain(levels: int) -> str:
    """s0 <- s1 <- ... each level healthy after ~0.3 s, each waiting for the previous to be healthy."""
    out = ["services:"]
    for i in range(levels):
        out += [
            f"  s{i}:",
            f"    image: {IMAGE}",
            "    init: true",
            '    command: sh -c "sleep 0.3; touch /tmp/ok; exec sleep 3600"',
            "    healthcheck: {test: test -f /tmp/ok, interval: 1s, start_period: 10s, start_interval: 100ms}",
        ]
        if i:
            out.append(f"    depends_on: {{s{i - 1}: {{condition: service_healthy}}}}")
    return "\n".join(out) + "\n"


def test_three_level_healthy_chain_starts_in_order(
    cli: StackCLI, docker_client: docker.APIClient, recorder: EventRecorder
) -> None:
    cli.write(chain(3))
    cli.ok("up", "-d", "--wait")
    p = cli.project
    containers = project_containers(docker_client, cli.project)
    begun, done = [], []
    for i in (1, 2):
        healthy = event_time(recorder, p, f"s{i - 1}", "health_status: healthy")
        started = event_time(recorder, p, f"s{i}", "start")
        assert started > healthy, f"s{i} started before s{i - 1} was healthy"
        cid = str(containers[f"{p}-s{i}-1"]["Id"])
        connected = network_connect_time(recorder, f"{p}_default", cid)
        assert connected > healthy, f"the daemon began starting s{i} before s{i - 1} was healthy"
        begun.append(connected - healthy)
        done.append(started - healthy)
    # `begun`: healthy event -> the daemon attaching the dependent's network, the first step of its start
    # (our reaction plus one API round trip).  `done`: -> the `start` event, which the daemon emits once the
    # container runs, so it also holds the daemon's own container start latency (~250-400 ms here).
    print(
        "\nhealthy -> dependent start begun (daemon clock): "
        + ", ".join(f"{d * 1000:.1f} ms" for d in begun)
        + "; -> start event: "
        + ", ".join(f"{d * 1000:.1f} ms" for d in done)
    )


def test_unhealthy_dependency_fails_up(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(
        f"""
services:
  db:
    image: {IMAGE}
    init: true
    command: sleep 3600
    healthcheck: {{test: ["CMD-SHELL", "echo db is not ready; exit 1"], interval: 200ms, retries: 1}}
  api:
    image: {IMAGE}
    init: true
    command: sleep 3600
    depends_on: {{db: {{condition: service_healthy}}}}
"""
    )
    started = time.monotonic()
    result = cli.run("up", "-d", "--wait-timeout", "3")
    elapsed = time.monotonic() - started
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    for needle in ("api", "db", "service_healthy", "db is not ready"):
        assert needle in result.err, f"{needle!r} missing from: {result.err}"
    containers = project_containers(docker_client, cli.project)
    assert containers[f"{cli.project}-api-1"]["State"] == "created"  # never started
    print(f"\nup failed after {elapsed:.1f}s for a 3s wait timeout")


def test_dependency_that_recovers_does_not_fail_up(cli: StackCLI, recorder: EventRecorder) -> None:
    cli.write(
        f"""
services:
  db:
    image: {IMAGE}
    init: true
    command: sh -c "sleep 1.5; touch /tmp/ok; exec sleep 3600"
    healthcheck: {{test: test -f /tmp/ok, interval: 200ms, retries: 1}}
  api:
    image: {IMAGE}
    init: true
    command: sleep 3600
    depends_on: {{db: {{condition: service_healthy}}}}
"""
    )
    cli.ok("up", "-d", "--wait-timeout", "30")
    unhealthy = event_time(recorder, cli.project, "db", "health_status: unhealthy")
    healthy = event_time(recorder, cli.project, "db", "health_status: healthy")
    started = event_time(recorder, cli.project, "api", "start")
    assert unhealthy < healthy < started


def test_completed_job_gates_and_failed_job_blocks(
    cli: StackCLI, docker_client: docker.APIClient, recorder: EventRecorder
) -> None:
    text = f"""
services:
  migrate:
    image: {IMAGE}
    command: sh -c "sleep 0.3; exit CODE"
  api:
    image: {IMAGE}
    init: true
    command: sleep 3600
    depends_on: {{migrate: {{condition: service_completed_successfully}}}}
"""
    cli.write(text.replace("CODE", "0"))
    cli.ok("up", "-d", "--wait")
    p = cli.project
    assert event_time(recorder, p, "api", "start") > event_time(recorder, p, "migrate", "die")
    cli.ok("down", "-t", "1")

    cli.write(text.replace("CODE", "3"))
    result = cli.run("up", "-d")
    assert result.code == 1, str(result)
    assert "migrate" in result.err and "code 3" in result.err, result.err
    containers = project_containers(docker_client, cli.project)
    assert containers[f"{cli.project}-api-1"]["State"] == "created"


def test_wait_timeout_that_cannot_be_met(cli: StackCLI) -> None:
    cli.write(
        f"""
services:
  slow:
    image: {IMAGE}
    init: true
    command: sleep 3600
    healthcheck: {{test: ["CMD", "false"], interval: 200ms}}
"""
    )
    started = time.monotonic()
    result = cli.run("up", "-d", "--wait", "--wait-timeout", "2")
    elapsed = time.monotonic() - started
    assert result.code == 1, str(result)
    assert "slow" in result.err and "2s" in result.err, result.err
    assert elapsed >= 2
    print(f"\nup --wait --wait-timeout 2 gave up after {elapsed:.1f}s")


def replica_ids(client: docker.APIClient, project: str, service: str) -> dict[int, str]:
    found = client.containers(all=True, filters=L.container_filter(project, service=service))
    return {int(c["Labels"][L.NUMBER]): str(c["Id"]) for c in found}


WEB = f"""
services:
  web:
    image: {IMAGE}
    init: true
    command: sh -c "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"
  client:
    image: {IMAGE}
    init: true
    command: sleep 3600
"""


def test_scale_keeps_numbers_and_never_recreates(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB)
    cli.ok("up", "-d")
    first = replica_ids(docker_client, cli.project, "web")
    assert list(first) == [1]
    cli.ok("scale", "web=5")
    five = replica_ids(docker_client, cli.project, "web")
    assert sorted(five) == [1, 2, 3, 4, 5]
    assert five[1] == first[1]
    cli.ok("up", "-d", "--scale", "web=2")
    two = replica_ids(docker_client, cli.project, "web")
    assert sorted(two) == [1, 2]
    assert two == {1: five[1], 2: five[2]}


def test_five_replicas_answer_behind_the_service_name(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB)
    cli.ok("up", "-d", "--scale", "web=5")
    client = f"{cli.project}-client-1"
    hostnames = {
        docker_client.inspect_container(cid)["Config"]["Hostname"]
        for cid in replica_ids(docker_client, cli.project, "web").values()
    }
    assert len(hostnames) == 5
    # Requests from another container to http://web/ reach every replica within a bounded number of tries.
    seen: set[str] = set()
    for _ in range(200):
        code, out = exec_output(docker_client, client, "timeout", "5", "wget", "-qO-", "http://web/index.html")
        if code == 0:
            seen.add(out.strip())
        if seen == hostnames:
            break
    assert seen == hostnames
