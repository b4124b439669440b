"""`stack swarm ...` on this daemon, which is no swarm manager (the swarm tests, in tests/swarm,
start one of their own): one readable error, exit 1, and nothing created."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest

from tests.integration.cli_helpers import StackCLI

pytestmark = pytest.mark.docker

IMAGE = "stack-test/busybox:latest"


@pytest.mark.parametrize("verb", [["deploy", "--wait"], ["ps"], ["services"], ["rm"]])
def test_swarm_verbs_on_a_daemon_that_is_no_manager(
    tmp_path: Path, docker_client: docker.APIClient, verb: list[str]
) -> None:
    if docker_client.info().get("Swarm", {}).get("LocalNodeState") != "inactive":
        pytest.skip("this daemon is in a swarm now (the swarm tests run apart, in tests/swarm)")
    cli = StackCLI(tmp_path, f"nm{uuid.uuid4().hex[:8]}")
    cli.write(f"services:\n  web: {{image: {IMAGE}, command: [sleep, '100000']}}\nsecrets: {{}}\n")
    done = cli.run("swarm", *verb)
    assert done.code == 1, str(done)
    assert "is not a swarm manager (swarm state: inactive)" in done.err
    assert "docker swarm init" in done.err  # the hint says what to do
    assert "Traceback" not in done.err
    assert docker_client.networks(filters={"name": cli.project}) == []
