"""What `up` reports while it works, as Compose does: one row per container with its state word,
a dependency shown waiting and healthy once however many services wait for it, the containers
left alone shown `Running`, and the `[+] Running N/M` counter."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli_helpers import StackCLI

IMAGE = "stack-test/busybox:latest"

# db is waited for by two services (two WaitCondition nodes in the plan).
HEALTH_GATED = f"""
services:
  db:
    image: {IMAGE}
    command: sh -c 'touch /tmp/ready; exec sleep 3600'
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
  api:
    image: {IMAGE}
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    depends_on:
      db: {{condition: service_healthy}}
  web:
    image: {IMAGE}
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    depends_on:
      db: {{condition: service_healthy}}
      api: {{condition: service_started}}
"""


def test_up_shows_each_container_once_with_compose_words_and_the_counter(tmp_path: Path, project_name: str) -> None:
    cli = StackCLI(tmp_path, project_name)
    cli.write(HEALTH_GATED)
    progress = cli.ok("up", "-d").err.splitlines()
    db = f" Container {project_name}-db-1"
    assert progress.count(f"{db}  Waiting") == 1, progress
    assert progress.count(f"{db}  Healthy") == 1, progress
    for service in ("api", "web"):
        assert f" Container {project_name}-{service}-1  Started" in progress, progress
    assert progress[-1] == "[+] Running 4/4", progress  # the network and three containers

    # Nothing to change but a replica more: the others are listed as running, not created again.
    again = cli.ok("up", "-d", "--scale", "api=2").err.splitlines()
    assert f" Container {project_name}-api-2  Started" in again, again
    assert f" Container {project_name}-web-1  Running" in again, again
    assert f" Container {project_name}-api-1  Running" in again, again
    assert f"{db}  Healthy" in again, again  # api-2 waited for it
    assert again[-1] == "[+] Running 4/4", again
    assert not [line for line in again if "-1  Created" in line or "-1  Started" in line], again
