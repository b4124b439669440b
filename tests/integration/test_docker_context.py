"""The daemon is the one the Docker CLI would use: DOCKER_HOST, else the current context.

Each test gets its own DOCKER_CONFIG with contexts written as `docker context create` writes
them (meta.json under contexts/meta/<sha256 of the name>).  The working context reaches the
real daemon through a different path (a symlink to its socket), and a broken one points
nowhere: a command that ignored the context would still succeed through the default socket.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import docker
import pytest

from tests.integration.cli_helpers import StackCLI, project_containers

IMAGE = "stack-test/busybox:latest"
SERVICE = f"""
services:
  web:
    image: {IMAGE}
    init: true
    command: sleep 3600
"""
DAEMON_SOCKET = "/var/run/docker.sock"


def write_context(config: Path, name: str, host: str) -> None:
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    document = {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}
    (meta / "meta.json").write_text(json.dumps(document))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    if not os.path.exists(DAEMON_SOCKET):
        pytest.skip(f"the daemon is not on {DAEMON_SOCKET} here")
    directory = tmp_path / "docker-config"
    directory.mkdir()
    alias = tmp_path / "alias.sock"
    alias.symlink_to(DAEMON_SOCKET)
    write_context(directory, "alias", f"unix://{alias}")
    write_context(directory, "broken", f"unix://{tmp_path / 'nothing-here.sock'}")
    return directory


def make_cli(tmp_path: Path, project: str, config: Path, **env: str | None) -> StackCLI:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    cli = StackCLI(work, project, {"DOCKER_CONFIG": str(config), "DOCKER_HOST": None, "DOCKER_CONTEXT": None, **env})
    cli.write(SERVICE)
    return cli


def use_context(config: Path, name: str) -> None:
    (config / "config.json").write_text(json.dumps({"currentContext": name}))


def test_the_current_context_selects_the_daemon(
    tmp_path: Path, project_name: str, config: Path, docker_client: docker.APIClient
) -> None:
    use_context(config, "alias")
    cli = make_cli(tmp_path, project_name, config)
    cli.ok("up", "-d")  # the SDK path
    assert project_containers(docker_client, project_name)[f"{project_name}-web-1"]["State"] == "running"
    # The no-op answer (light client, before click), as Compose gives it.
    assert cli.ok("up", "-d").err == f" Container {project_name}-web-1  Running\n[+] Running 1/1\n"
    assert f"{project_name}-web-1" in cli.ok("ps").out  # ps: the light client

    # Now the current context points nowhere: every path must fail, naming it, not fall back
    # to the default socket (where the containers are).
    use_context(config, "broken")
    for args in (("ps",), ("up", "-d"), ("down",)):
        result = cli.run(*args)
        assert result.code != 0, f"{args}: {result}"
        assert "nothing-here.sock" in result.err and "docker context broken" in result.err, f"{args}: {result}"
        assert "Traceback" not in result.err
    assert f"{project_name}-web-1" in project_containers(docker_client, project_name)


def test_docker_context_variable_wins_over_the_config_and_docker_host_over_both(
    tmp_path: Path, project_name: str, config: Path, docker_client: docker.APIClient
) -> None:
    use_context(config, "broken")
    cli = make_cli(tmp_path, project_name, config, DOCKER_CONTEXT="alias")
    cli.ok("up", "-d")
    assert f"{project_name}-web-1" in cli.ok("ps").out
    cli.env["DOCKER_CONTEXT"] = "broken"
    assert cli.run("ps").code != 0
    cli.env["DOCKER_HOST"] = f"unix://{DAEMON_SOCKET}"
    assert f"{project_name}-web-1" in cli.ok("ps").out
    cli.ok("down")
    assert project_containers(docker_client, project_name) == {}


def test_a_context_that_does_not_exist_is_one_clear_error(tmp_path: Path, project_name: str, config: Path) -> None:
    cli = make_cli(tmp_path, project_name, config, DOCKER_CONTEXT="nope")
    for args in (("ps",), ("up", "-d")):
        result = cli.run(*args)
        assert result.code != 0
        assert "docker context 'nope' (DOCKER_CONTEXT) does not exist" in result.err, str(result)
        assert "docker context ls" in result.err
        assert "Traceback" not in result.err
