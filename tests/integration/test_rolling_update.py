"""Rolling updates in `up` (deploy.update_config), against the real daemon.

A user checks them by what serves: how many replicas ran at every moment of the update (from
the daemon's own event log), which containers are left, what they run, and the exit code and
message of a failed update.  The zero-downtime claim under HTTP load is in tests/e2e.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import docker
import pytest

from stack.plan import labels as L
from tests.integration.cli_helpers import StackCLI, project_containers

# VERSION is what the replicas serve; HEALTH=fail makes the healthcheck fail (with a message);
# ONLY_FIRST=1 lets only the first container of a VERSION become healthy (a failure in batch 2).
STACK = """
services:
  web:
    image: stack-test/busybox:latest
    command:
      - sh
      - -c
      - |
        echo "$$VERSION" > /tmp/version
        if [ -z "$$ONLY_FIRST" ] || mkdir "/shared/first-$$VERSION" 2>/dev/null; then touch /tmp/healthy; fi
        exec httpd -f -p 8000 -h /tmp
    environment:
      VERSION: ${{VERSION:-1}}
      HEALTH: ${{HEALTH:-ok}}
      ONLY_FIRST: ${{ONLY_FIRST:-}}
    volumes:
      - ./shared:/shared
    scale: 3
    stop_grace_period: 1s
    networks: [default, back]
    healthcheck:
      test:
        - CMD-SHELL
        - '[ "$$HEALTH" != fail ] && [ -e /tmp/healthy ] || {{ echo version $$VERSION is broken; exit 1; }}'
      interval: 1s
      timeout: 2s
      retries: 2
    deploy:
      update_config:
{update}
networks:
  back: {{}}
"""


def write_stack(cli: StackCLI, **update: Any) -> None:
    (cli.directory / "shared").mkdir(exist_ok=True)
    lines = "\n".join(f"        {key}: {value}" for key, value in update.items())
    cli.write(STACK.format(update=lines))


def replicas(client: docker.APIClient, project: str) -> dict[str, dict[str, Any]]:
    """Replica name -> {id, running, version} of every container of the project."""
    out = {}
    for name, entry in project_containers(client, project).items():
        cid = str(entry["Id"])
        running = entry["State"] == "running"
        version = ""
        if running:
            exec_id = client.exec_create(cid, ["cat", "/tmp/version"])["Id"]
            version = client.exec_start(exec_id).decode().strip()
        out[name] = {"id": cid, "running": running, "version": version}
    return out


class RunningCount:
    """How many of the project's containers run, replayed from start/die events received live
    (the daemon keeps too few past events for a replay: healthchecks fill its buffer)."""

    def __init__(self, client: docker.APIClient, project: str, running: int) -> None:
        filters = {"type": "container", "label": [f"{L.CONTAINER_OF}={project}"], "event": ["start", "die"]}
        self.stream = client.events(decode=True, filters=filters)  # subscribed when this returns
        self.running = self.fewest = running
        self.thread = threading.Thread(target=self._count, daemon=True)
        self.thread.start()

    def _count(self) -> None:
        with contextlib.suppress(Exception):  # the stream raises once closed
            for event in self.stream:
                self.running += 1 if event["Action"] == "start" else -1
                self.fewest = min(self.fewest, self.running)

    def close(self) -> int:
        """The least number running at any moment; the events of the update have all arrived
        once the command returned (the daemon sends them before it answers the calls)."""
        self.stream.close()
        self.thread.join(timeout=10)
        return self.fewest


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    return StackCLI(tmp_path, project_name)


def started(cli: StackCLI, client: docker.APIClient) -> dict[str, dict[str, Any]]:
    cli.ok("up", "-d", "--wait")
    before = replicas(client, cli.project)
    assert sorted(before) == [f"{cli.project}-web-{n}" for n in (1, 2, 3)]
    return before


def test_start_first_replaces_replicas_one_by_one_never_below_three_running(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    write_stack(cli, order="start-first", failure_action="rollback", monitor="1s")
    before = started(cli, docker_client)
    count = RunningCount(docker_client, cli.project, running=3)
    cli.env["VERSION"] = "2"
    result = cli.ok("up", "-d", "--wait")
    fewest = count.close()
    after = replicas(docker_client, cli.project)

    assert sorted(after) == sorted(before), "the replicas keep their names and numbers"
    assert all(r["running"] and r["version"] == "2" for r in after.values()), after
    assert not {r["id"] for r in after.values()} & {r["id"] for r in before.values()}, "every replica is new"
    assert fewest >= 3
    assert "Updated" in result.err


def test_stop_first_never_has_more_than_one_replica_down(cli: StackCLI, docker_client: docker.APIClient) -> None:
    write_stack(cli, order="stop-first", monitor="0s")
    started(cli, docker_client)
    count = RunningCount(docker_client, cli.project, running=3)
    cli.env["VERSION"] = "2"
    cli.ok("up", "-d", "--wait")
    fewest = count.close()
    after = replicas(docker_client, cli.project)
    assert all(r["version"] == "2" for r in after.values()), after
    assert fewest == 2


def test_a_new_version_that_never_gets_healthy_is_rolled_back(cli: StackCLI, docker_client: docker.APIClient) -> None:
    write_stack(cli, order="start-first", failure_action="rollback", monitor="1s")
    before = started(cli, docker_client)
    cli.env.update(VERSION="2", HEALTH="fail")
    result = cli.run("up", "-d", "--wait")

    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert "service web: update failed: replica 1" in result.err
    assert "version 2 is broken" in result.err, "the last healthcheck output is shown"
    assert "rolled back" in result.err
    after = replicas(docker_client, cli.project)
    assert after == before, "the old replicas, untouched, are all that is left"


def test_a_failure_in_a_later_batch_puts_back_the_replicas_already_updated(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    write_stack(cli, order="start-first", failure_action="rollback", monitor="0s")
    before = started(cli, docker_client)
    cli.env.update(VERSION="2", ONLY_FIRST="1")  # replica 1's new container passes, replica 2's fails
    result = cli.run("up", "-d", "--wait")

    assert result.code == 1, str(result)
    assert "replica 2" in result.err and "rolled back" in result.err, result.err
    assert replicas(docker_client, cli.project) == before, "replica 1 is its previous container again"


def test_pause_keeps_what_was_updated_and_stops_there(cli: StackCLI, docker_client: docker.APIClient) -> None:
    write_stack(cli, order="stop-first", failure_action="pause", monitor="0s")
    before = started(cli, docker_client)
    cli.env.update(VERSION="2", ONLY_FIRST="1")
    result = cli.run("up", "-d", "--wait")

    assert result.code == 1, str(result)
    assert "update paused" in result.err, result.err
    after = replicas(docker_client, cli.project)
    web = [f"{cli.project}-web-{n}" for n in (1, 2, 3)]
    assert sorted(after) == web
    assert after[web[0]]["version"] == "2"
    assert after[web[1]] == before[web[1]], "stop-first: the failed replica's old container is started again"
    assert after[web[2]] == before[web[2]], "replicas after the failure are not touched"
    # The next `up`, with the fix, finishes the update.
    cli.env.pop("ONLY_FIRST")
    cli.env["VERSION"] = "3"
    cli.ok("up", "-d", "--wait")
    assert {r["version"] for r in replicas(docker_client, cli.project).values()} == {"3"}


def test_continue_replaces_every_replica_and_warns(cli: StackCLI, docker_client: docker.APIClient) -> None:
    write_stack(cli, order="start-first", failure_action="continue", monitor="0s", parallelism=0)
    before = started(cli, docker_client)
    cli.env.update(VERSION="2", HEALTH="fail")
    result = cli.run("up", "-d")

    assert result.code == 0, str(result)
    assert "failure_action: continue" in result.err
    after = replicas(docker_client, cli.project)
    assert sorted(after) == sorted(before)
    assert all(r["version"] == "2" for r in after.values())


def test_the_new_replica_answers_to_the_service_and_replica_names_on_every_network(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    write_stack(cli, order="start-first", failure_action="rollback", monitor="0s")
    started(cli, docker_client)
    cli.env["VERSION"] = "2"
    cli.ok("up", "-d", "--wait")
    for network in ("default", "back"):
        probe = docker_client.create_container(
            "stack-test/busybox:latest",
            ["sh", "-c", f"wget -qO- http://{cli.project}-web-2:8000/version && wget -qO- http://web:8000/version"],
            host_config=docker_client.create_host_config(network_mode=f"{cli.project}_{network}"),
        )
        try:
            docker_client.start(probe)
            assert docker_client.wait(probe, timeout=30)["StatusCode"] == 0
            assert docker_client.logs(probe).decode().split() == ["2", "2"]
        finally:
            docker_client.remove_container(probe, force=True)


def test_dry_run_prints_the_rolling_steps_and_changes_nothing(cli: StackCLI, docker_client: docker.APIClient) -> None:
    write_stack(cli, order="start-first", failure_action="rollback", monitor="0s")
    before = started(cli, docker_client)
    cli.env["VERSION"] = "2"
    result = cli.ok("up", "-d", "--dry-run")
    out = result.out + result.err
    assert "rolling update 1/3, start-first" in out
    assert "MonitorReplicas" in out
    assert "only if" in out, "the rollback steps are shown, with what triggers them"
    assert replicas(docker_client, cli.project) == before
