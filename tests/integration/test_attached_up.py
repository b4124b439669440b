"""Attached `up`: logs with Compose's prefixes, Ctrl-C stops the services (exit 130), abort rules."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import docker
import pytest

from tests.integration.cli_helpers import StackCLI, project_containers

IMAGE = "stack-test/busybox:latest"

STACK = f"""
services:
  talker:
    image: {IMAGE}
    command: sh -c 'trap "echo bye; exit 0" TERM; i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 0.2; done'
  job:
    image: {IMAGE}
    command: sh -c 'echo job done; exit 4'
"""


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    cli = StackCLI(tmp_path, project_name)
    cli.write(STACK)
    return cli


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    """Lines of the process's stdout up to the first containing `needle` (fails after `timeout`)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not seen in {timeout}s; got {lines[-5:]}")


def test_ctrl_c_stops_the_services_and_exits_130(cli: StackCLI, docker_client: docker.APIClient) -> None:
    proc = cli.popen("up", "--no-color")
    try:
        lines = read_until(proc, "tick 2", timeout=60)
        assert lines[0] == "Attaching to job-1, talker-1\n", lines
        assert any(line.startswith("talker-1  | tick 0") for line in lines), lines
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "bye" in out  # the service's last words are shown while it stops
    states = {name: c["State"] for name, c in project_containers(docker_client, cli.project).items()}
    assert states[f"{cli.project}-talker-1"] == "exited"


def test_exit_code_from_returns_that_services_code(cli: StackCLI, docker_client: docker.APIClient) -> None:
    result = cli.run("up", "--exit-code-from", "job", "--no-color", timeout=90)
    assert result.code == 4, str(result)
    assert re.search(r"^job-1 +\| job done$", result.out, re.M), result.out
    states = {name: c["State"] for name, c in project_containers(docker_client, cli.project).items()}
    assert states[f"{cli.project}-talker-1"] == "exited"


def test_abort_on_container_failure(cli: StackCLI) -> None:
    result = cli.run("up", "--abort-on-container-failure", "--no-color", timeout=90)
    assert result.code == 4, str(result)


# A short service that prints at once and a long-named one, scaled, that prints later: the
# prefix column is sized for all of them before the first line, so it never moves.
WIDTHS = f"""
services:
  a:
    image: {IMAGE}
    command: sh -c 'echo first'
  long-service-name:
    image: {IMAGE}
    command: sh -c 'sleep 1; echo later'
"""


def test_prefixes_are_short_and_keep_one_width(tmp_path: Path, project_name: str) -> None:
    cli = StackCLI(tmp_path, project_name)
    cli.write(WIDTHS)
    result = cli.run("up", "--no-color", "--scale", "long-service-name=2", timeout=90)
    assert result.code == 0, str(result)
    lines = result.out.splitlines()
    assert lines[0] == "Attaching to a-1, long-service-name-1, long-service-name-2", lines
    logged = [line for line in lines[1:] if " | " in line]
    width = len("long-service-name-2")
    assert "a-1" + " " * (width - 3) + "  | first" in logged, logged
    for n in (1, 2):
        assert f"long-service-name-{n}  | later" in logged, logged
    assert {line.index(" | ") for line in logged} == {width + 1}, logged
