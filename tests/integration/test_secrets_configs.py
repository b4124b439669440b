"""Secrets and configs without a host file (`environment:`, `content:`) are copied into the
container before it starts, as Compose does outside swarm: path, content, mode and owner."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.cli_helpers import StackCLI, exec_output, project_containers

IMAGE = "stack-test/busybox:latest"

STACK = f"""
services:
  web:
    image: {IMAGE}
    init: true
    command: sleep 3600
    depends_on: [app]
  app:
    image: {IMAGE}
    init: true
    command: sleep 3600
    secrets:
      - api_key
      - source: db_password
        target: db.txt
        uid: "1000"
        gid: "1001"
        mode: 0400
      - from_file
    configs:
      - app_conf
      - source: env_conf
        target: /etc/app/env.conf
        mode: 0640
secrets:
  api_key:
    environment: STACK_TEST_API_KEY
  db_password:
    environment: STACK_TEST_DB_PASSWORD
  from_file:
    file: ./secret.txt
configs:
  app_conf:
    content: |
      listen = 8080
      name = ${{STACK_TEST_APP_NAME:-demo}}
  env_conf:
    environment: STACK_TEST_API_KEY
"""


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    (tmp_path / "secret.txt").write_text("from a file\n")
    cli = StackCLI(
        tmp_path,
        project_name,
        {"STACK_TEST_API_KEY": "k-123", "STACK_TEST_DB_PASSWORD": "s3cret", "STACK_TEST_APP_NAME": None},
    )
    cli.write(STACK)
    return cli


def stat(client: docker.APIClient, container: str, path: str) -> str:
    code, out = exec_output(client, container, "stat", "-c", "%a %u %g", path)
    assert code == 0, out
    return out.strip()


def test_values_become_files_with_their_mode_and_owner(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.ok("up", "-d")
    app = f"{cli.project}-app-1"
    assert project_containers(docker_client, cli.project)[app]["State"] == "running"
    assert exec_output(docker_client, app, "cat", "/run/secrets/api_key") == (0, "k-123")
    assert stat(docker_client, app, "/run/secrets/api_key") == "444 0 0"
    assert exec_output(docker_client, app, "cat", "/run/secrets/db.txt") == (0, "s3cret")
    assert stat(docker_client, app, "/run/secrets/db.txt") == "400 1000 1001"
    assert exec_output(docker_client, app, "cat", "/run/secrets/from_file") == (0, "from a file\n")
    assert exec_output(docker_client, app, "cat", "/app_conf") == (0, "listen = 8080\nname = demo\n")
    assert exec_output(docker_client, app, "cat", "/etc/app/env.conf") == (0, "k-123")
    assert stat(docker_client, app, "/etc/app/env.conf") == "640 0 0"

    # A one-off `run` container gets them too.
    result = cli.ok("run", "--rm", "app", "cat", "/run/secrets/api_key", "/app_conf")
    assert "k-123" in result.out and "listen = 8080" in result.out


def test_an_unset_variable_is_one_clear_error_and_nothing_is_created(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    cli.env["STACK_TEST_DB_PASSWORD"] = None
    # `up web` starts web's dependency app too: app's secrets are checked before anything.
    result = cli.run("up", "-d", "web")
    assert result.code != 0
    assert "secret 'db_password'" in result.err and "STACK_TEST_DB_PASSWORD, which is not set" in result.err
    assert f"{cli.directory / 'stack.yaml'}:29:5: secrets.db_password.environment:" in result.err, result.err
    assert "Traceback" not in result.err
    assert project_containers(docker_client, cli.project) == {}
    assert docker_client.networks(filters={"label": [f"dev.stack.project={cli.project}"]}) == []
