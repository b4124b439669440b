"""`stack up`, `down`, `ps` end to end against the real daemon, as a user runs them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from stack.plan import labels as L
from tests.daemon import free_port
from tests.integration.cli_helpers import (
    StackCLI,
    exec_output,
    project_containers,
    project_networks,
    project_volumes,
)

IMAGE = "stack-test/busybox:latest"

# `init: true` so that SIGTERM stops busybox at once (a shell as PID 1 ignores it).
WEB_DB = f"""
services:
  web:
    image: {IMAGE}
    init: true
    command: httpd -f -p 80 -h /www
    volumes: [./www:/www:ro]
    environment:
      GREETING: hello
    depends_on: [db]
  db:
    image: {IMAGE}
    init: true
    command: sleep 3600
    volumes: [data:/data]
volumes:
  data:
"""


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("hello from web\n")
    return StackCLI(tmp_path, project_name)


def http_get(url: str, timeout: float = 15.0) -> str:
    """GET with retries until the deadline (the server may still be starting)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError as exc:
            last = exc
            time.sleep(0.1)  # poll interval of a deadline-bounded retry, not synchronisation
    raise AssertionError(f"no answer from {url} within {timeout}s: {last}")


def ids(client: docker.APIClient, project: str) -> dict[str, str]:
    return {name: str(c["Id"]) for name, c in project_containers(client, project).items()}


def test_up_creates_exactly_the_stack_with_our_labels(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB_DB)
    cli.ok("up", "-d")
    p = cli.project
    containers = project_containers(docker_client, p)
    assert set(containers) == {f"{p}-web-1", f"{p}-db-1"}
    for name, entry in containers.items():
        labels = entry["Labels"]
        assert isinstance(labels, dict)
        assert labels[L.PROJECT] == p
        assert labels[L.SERVICE] == name.split("-")[1]
        assert labels[L.NUMBER] == "1"
        assert labels[L.ONEOFF] == "False"
        assert len(labels[L.CONFIG_HASH]) == 64
        assert entry["State"] == "running"
    assert project_networks(docker_client, p) == {f"{p}_default"}
    assert project_volumes(docker_client, p) == {f"{p}_data"}
    # The hash on the container is the one `stack config --hash` prints.
    printed = cli.ok("config", "--hash", "web").out.split()
    assert printed == ["web", containers[f"{p}-web-1"]["Labels"][L.CONFIG_HASH]]  # type: ignore[index]

    rows = json.loads(cli.ok("ps", "--format", "json").out)
    assert sorted(r["Service"] for r in rows) == ["db", "web"]
    assert cli.ok("ps", "--services").out.split() == ["db", "web"]
    assert len(cli.ok("ps", "-q").out.split()) == 2


def test_second_up_changes_nothing(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB_DB)
    cli.ok("up", "-d")
    before = ids(docker_client, cli.project)
    dry = cli.ok("up", "-d", "--dry-run")
    assert "nothing to do" in dry.out
    again = cli.ok("up", "-d")
    assert "Created" not in again.err and "Started" not in again.err, again.err
    assert ids(docker_client, cli.project) == before


def test_changed_env_recreates_only_that_service(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB_DB)
    cli.ok("up", "-d")
    before = ids(docker_client, cli.project)
    cli.write(WEB_DB.replace("GREETING: hello", "GREETING: bonjour"))
    plan = cli.ok("up", "-d", "--dry-run").out
    assert "service:web:1" in plan and "service:db:1" not in plan, plan
    cli.ok("up", "-d")
    after = ids(docker_client, cli.project)
    p = cli.project
    assert set(after) == {f"{p}-web-1", f"{p}-db-1"}  # renamed back: no temporary names left
    assert after[f"{p}-db-1"] == before[f"{p}-db-1"]
    assert after[f"{p}-web-1"] != before[f"{p}-web-1"]
    env = docker_client.inspect_container(after[f"{p}-web-1"])["Config"]["Env"]
    assert "GREETING=bonjour" in env


def test_named_volume_survives_down_up_and_recreate(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB_DB)
    cli.ok("up", "-d")
    db = f"{cli.project}-db-1"
    assert exec_output(docker_client, db, "sh", "-c", "echo kept > /data/file")[0] == 0
    cli.ok("down")
    assert project_containers(docker_client, cli.project) == {}
    assert project_volumes(docker_client, cli.project) == {f"{cli.project}_data"}
    cli.ok("up", "-d")
    assert exec_output(docker_client, db, "cat", "/data/file") == (0, "kept\n")
    cli.ok("up", "-d", "--force-recreate", "db")
    assert exec_output(docker_client, db, "cat", "/data/file") == (0, "kept\n")
    cli.ok("down", "-v")
    assert project_volumes(docker_client, cli.project) == set()


@pytest.fixture
def foreign(docker_client: docker.APIClient, project_name: str) -> Iterator[dict[str, str]]:
    """Resources with look-alike names but none of our labels: down must leave them alone."""
    names = {
        "container": f"{project_name}-web-7",
        "network": f"{project_name}_default2",
        "volume": f"{project_name}_data",
    }
    # The volume has exactly the name our stack would use: a volume that is not ours is reused, not
    # deleted, even by `down -v`.
    docker_client.create_volume(names["volume"])
    docker_client.create_network(names["network"])
    docker_client.create_container(
        IMAGE, "sleep 3600", name=names["container"], labels={"com.docker.compose.project": project_name}
    )
    try:
        yield names
    finally:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.remove_container(names["container"], force=True)
        with contextlib.suppress(docker.errors.APIError):
            docker_client.remove_network(names["network"])
        with contextlib.suppress(docker.errors.APIError):
            docker_client.remove_volume(names["volume"], force=True)


def test_down_removes_ours_and_nothing_else(
    cli: StackCLI, docker_client: docker.APIClient, foreign: dict[str, str]
) -> None:
    cli.write(WEB_DB)
    cli.ok("up", "-d")
    cli.ok("down", "-v")
    assert project_containers(docker_client, cli.project) == {}
    assert project_networks(docker_client, cli.project) == set()
    docker_client.inspect_container(foreign["container"])
    docker_client.inspect_network(foreign["network"])
    docker_client.inspect_volume(foreign["volume"])


def test_down_works_from_labels_when_the_file_is_gone(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB_DB)
    cli.ok("up", "-d")
    (cli.directory / "stack.yaml").unlink()
    cli.ok("down")
    assert project_containers(docker_client, cli.project) == {}
    assert project_networks(docker_client, cli.project) == set()


def test_dry_run_changes_nothing(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(WEB_DB)
    out = cli.ok("up", "-d", "--dry-run").out
    assert "CreateContainer" in out and "CreateNetwork" in out
    assert project_containers(docker_client, cli.project) == {}
    assert project_networks(docker_client, cli.project) == set()
    assert project_volumes(docker_client, cli.project) == set()


def test_services_reach_each_other_by_name_and_ports_publish(cli: StackCLI, docker_client: docker.APIClient) -> None:
    port = free_port()
    cli.write(WEB_DB.replace("    depends_on: [db]", f'    depends_on: [db]\n    ports: ["127.0.0.1:{port}:80"]'))
    cli.ok("up", "-d")
    assert http_get(f"http://127.0.0.1:{port}/index.html") == "hello from web\n"
    db = f"{cli.project}-db-1"
    deadline = time.monotonic() + 15
    code, out = 1, ""
    while time.monotonic() < deadline:
        code, out = exec_output(docker_client, db, "wget", "-qO-", "http://web/index.html")
        if code == 0:
            break
        time.sleep(0.1)  # poll interval: the name resolves once the network is up
    assert (code, out) == (0, "hello from web\n")


def test_taken_port_is_a_clear_error(cli: StackCLI, docker_client: docker.APIClient) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cli.write(WEB_DB.replace("    depends_on: [db]", f'    depends_on: [db]\n    ports: ["{port}:80"]'))
        result = cli.run("up", "-d")
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert "web" in result.err and str(port) in result.err and "in use" in result.err, result.err


def test_interrupted_up_then_up_converges(cli: StackCLI, docker_client: docker.APIClient) -> None:
    services = "\n".join(
        f"""  s{i}:
    image: {IMAGE}
    init: true
    command: sleep 3600
    depends_on: [s{i - 1}]"""
        if i
        else f"""  s0:
    image: {IMAGE}
    init: true
    command: sh -c "sleep 1; touch /tmp/ok; exec sleep 3600"
    healthcheck: {{test: test -f /tmp/ok, interval: 200ms}}"""
        for i in range(6)
    )
    text = "services:\n" + services + "\n"
    # s1 waits for s0 to be healthy (about a second): kill `up` while it waits.
    text = text.replace("depends_on: [s0]", "depends_on: {s0: {condition: service_healthy}}")
    cli.write(text)
    proc = cli.popen("up", "-d")
    deadline = time.monotonic() + 30
    while not project_containers(docker_client, cli.project):
        assert time.monotonic() < deadline, "up never created a container"
        assert proc.poll() is None, "up finished before it could be interrupted"
        time.sleep(0.05)  # poll interval of a deadline-bounded poll
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    cli.ok("up", "-d")
    containers = project_containers(docker_client, cli.project)
    assert sorted(containers) == sorted(f"{cli.project}-s{i}-1" for i in range(6))
    assert all(c["State"] == "running" for c in containers.values())
    assert "nothing to do" in cli.ok("up", "-d", "--dry-run").out


def test_fast_noop_check_agrees_with_the_planner(cli: StackCLI, docker_client: docker.APIClient) -> None:
    """The pydantic-free converged check says yes exactly when the planner has nothing to do."""
    from stack.cli.fastpath import converged
    from stack.spec.loader import LoadOptions

    def fast() -> bool:
        options = LoadOptions(files=[str(cli.directory / "stack.yaml")], project_name=cli.project)
        return converged(options, need_healthy=False) is not None

    cli.write(WEB_DB)
    assert not fast()
    cli.ok("up", "-d")
    assert fast()
    cli.write(WEB_DB.replace("GREETING: hello", "GREETING: changed"))
    assert not fast()
    cli.ok("up", "-d")
    assert fast()
    docker_client.stop(f"{cli.project}-db-1", timeout=1)
    assert not fast()
    assert "StartContainer" in cli.ok("up", "-d", "--dry-run").out
    cli.ok("up", "-d")
    assert fast()
    cli.ok("up", "-d", "--scale", "db=2")
    assert not fast()  # the file says one replica: the planner would scale back down


def test_a_noop_up_is_answered_before_click_with_its_warnings_once(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    """`up -d` with nothing to do imports neither click nor the SDK nor pydantic (cli.quick),
    and still shows the stack file's warnings, once; a real change still goes to the planner."""
    cli.write(WEB_DB.replace("GREETING: hello", "GREETING: ${STACK_TEST_SURELY_UNSET}"))
    first = cli.ok("up", "-d")
    warning = 'The "STACK_TEST_SURELY_UNSET" variable is not set'
    assert first.err.count(warning) == 1, first.err
    before = {name: c["Id"] for name, c in project_containers(docker_client, cli.project).items()}

    probe = (
        "import sys; from stack.cli.entry import main; main(); "
        "print(*(m in sys.modules for m in ('click', 'docker', 'pydantic')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "STACK_TEST_SURELY_UNSET"}
    proc = subprocess.run(
        [sys.executable, "-c", probe, "-p", cli.project, "up", "-d"],
        cwd=cli.directory,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "False"], proc.stdout
    assert proc.stderr.count(warning) == 1, proc.stderr
    assert {name: c["Id"] for name, c in project_containers(docker_client, cli.project).items()} == before

    cli.write(WEB_DB.replace("GREETING: hello", "GREETING: changed"))
    changed = cli.ok("up", "-d")
    assert f"{cli.project}-web-1" in changed.err and "Started" in changed.err


def test_start_interval_is_applied_or_named_as_ignored_by_the_daemon(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    """Docker < 25 (Engine API < 1.44) ignores a healthcheck's start_interval: `up` says so,
    and still starts the service; a newer daemon gets it in the container's healthcheck."""
    cli.write(
        f"""
services:
  web:
    image: {IMAGE}
    init: true
    command: sleep 3600
    healthcheck: {{test: ["CMD", "true"], interval: 30s, start_period: 10s, start_interval: 200ms}}
"""
    )
    result = cli.ok("up", "-d")
    daemon_api = str(docker_client.version(api_version=False)["ApiVersion"])
    old_daemon = tuple(int(p) for p in daemon_api.split(".")) < (1, 44)
    warning = "service web: healthcheck start_interval is ignored by this daemon"
    assert (warning in result.err) == old_daemon, result.err
    assert project_containers(docker_client, cli.project)[f"{cli.project}-web-1"]["State"] == "running"
    if not old_daemon:
        health = docker_client.inspect_container(f"{cli.project}-web-1")["Config"]["Healthcheck"]
        assert health["StartInterval"] == 200_000_000


def test_errors_found_by_the_planner_name_the_file_and_line(cli: StackCLI, docker_client: docker.APIClient) -> None:
    path = cli.write(
        f"""services:
  web:
    image: {IMAGE}
    command: sleep 3600
    ports:
      - "127.0.0.1:{free_port()}:80"
"""
    )
    result = cli.run("up", "-d", "--scale", "web=2")
    assert result.code == 2, str(result)
    assert f"error: {path}:6:9: services.web.ports[0]: service web publishes host port" in result.err, result.err
    assert "Traceback" not in result.err
    assert project_containers(docker_client, cli.project) == {}


def test_down_leaves_a_network_a_foreign_container_still_uses(cli: StackCLI, docker_client: docker.APIClient) -> None:
    """Someone else's container attached to our network blocks its removal: `down` says so and
    fails, and that container is left alone (only the daemon's stale-endpoint bug, with nothing
    attached, is reported as a warning)."""
    cli.write(f"services:\n  web:\n    image: {IMAGE}\n    init: true\n    command: sleep 3600\n")
    cli.ok("up", "-d")
    network = f"{cli.project}_default"
    foreign = docker_client.create_container(
        IMAGE, ["sleep", "3600"], host_config=docker_client.create_host_config(init=True)
    )
    try:
        docker_client.start(foreign["Id"])
        docker_client.connect_container_to_network(foreign["Id"], network)
        result = cli.run("down")
        assert result.code == 1, str(result)
        assert f"cannot remove network {network}" in result.err and "active endpoints" in result.err, result.err
        assert "kept:" not in result.err
        assert docker_client.inspect_container(foreign["Id"])["State"]["Running"]
        assert project_containers(docker_client, cli.project) == {}
    finally:
        docker_client.remove_container(foreign["Id"], force=True)
    cli.ok("down")
    assert docker_client.networks(names=[network]) == []


def test_bind_mount_of_an_existing_file_and_a_missing_directory(cli: StackCLI, docker_client: docker.APIClient) -> None:
    (cli.directory / "app.conf").write_text("answer=42\n")
    cli.write(
        f"""
services:
  app:
    image: {IMAGE}
    init: true
    command: sleep 3600
    volumes: ["./app.conf:/etc/app.conf:ro", "./made-for-me:/data"]
"""
    )
    cli.ok("up", "-d")
    assert (cli.directory / "made-for-me").is_dir()  # a missing bind source is created, as Compose does
    assert exec_output(docker_client, f"{cli.project}-app-1", "cat", "/etc/app.conf") == (0, "answer=42\n")
