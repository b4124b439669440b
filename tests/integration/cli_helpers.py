"""Drive the `stack` CLI as a user would: a stack file in a directory, a subprocess per command."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import docker

from stack.engine.lock import lock_name
from stack.plan import labels as L
from tests.daemon import Result


class StackCLI:
    """`stack -p PROJECT ...` run in `directory`, where the test writes its stack.yaml."""

    def __init__(self, directory: Path, project: str, env: dict[str, str | None] | None = None) -> None:
        self.directory = directory
        self.project = project
        # Changes to the environment of every command (None unsets a variable).
        self.env = dict(env or {})

    def environment(self) -> dict[str, str]:
        merged = {**os.environ, "NO_COLOR": "1"}
        for key, value in self.env.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def write(self, text: str, name: str = "stack.yaml") -> Path:
        path = self.directory / name
        path.write_text(text)
        return path

    def popen(self, *args: str, stderr: IO[str] | int = subprocess.PIPE) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "stack", "-p", self.project, *args],
            cwd=self.directory,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=self.environment(),
        )

    def run(self, *args: str, timeout: float = 120, name_project: bool = True) -> Result:
        """`stack -p PROJECT ARGS` (without -p when `name_project` is False)."""
        naming = ["-p", self.project] if name_project else []
        proc = subprocess.run(
            [sys.executable, "-m", "stack", *naming, *args],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environment(),
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, timeout: float = 120) -> Result:
        result = self.run(*args, timeout=timeout)
        assert result.code == 0, str(result)
        assert "Traceback" not in result.err, str(result)
        return result


def project_containers(client: docker.APIClient, project: str) -> dict[str, dict[str, object]]:
    """name -> container list entry, for every container stack created for `project`."""
    found = client.containers(all=True, filters=L.container_filter(project))
    return {str(c["Names"][0]).lstrip("/"): c for c in found}


def project_networks(client: docker.APIClient, project: str) -> set[str]:
    return {str(n["Name"]) for n in client.networks(filters={"label": [f"{L.PROJECT}={project}"]})}


def project_volumes(client: docker.APIClient, project: str) -> set[str]:
    listed = client.volumes(filters={"label": [f"{L.PROJECT}={project}"]}).get("Volumes") or []
    return {str(v["Name"]) for v in listed}


def exec_output(client: docker.APIClient, container: str, *cmd: str) -> tuple[int, str]:
    """Run `cmd` in a running container; its exit code and output."""
    exec_id = client.exec_create(container, list(cmd))["Id"]
    output = client.exec_start(exec_id).decode(errors="replace")
    code = client.exec_inspect(exec_id)["ExitCode"]
    return int(code), output


def poll(what: str, condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until `condition()` is true (a deadline-bounded poll of the daemon's state)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        time.sleep(0.05)  # poll interval


def lock_volumes(client: docker.APIClient, project: str) -> list[str]:
    listed = client.volumes(filters={"name": [lock_name(project)]}).get("Volumes") or []
    return sorted(str(v["Name"]) for v in listed if str(v["Name"]).startswith(lock_name(project)))


@dataclass
class Background:
    """A `stack` command running in the background, its output in files."""

    proc: subprocess.Popen[str]
    stdout: Path
    stderr: Path

    def out(self) -> str:
        return self.stdout.read_text()

    def err(self) -> str:
        return self.stderr.read_text()

    def __str__(self) -> str:
        return f"--- stdout\n{self.out()[-3000:]}\n--- stderr\n{self.err()[-6000:]}"


@contextlib.contextmanager
def in_background(cli: StackCLI, *args: str, ready: str, timeout: float = 90.0) -> Iterator[Background]:
    """`stack -p PROJECT ARGS` in the background until `ready` is on its stderr; Ctrl-C at the end
    (the command must then exit within a minute, with no traceback)."""
    stdout, stderr = cli.directory / "bg.out", cli.directory / "bg.err"
    with stdout.open("w") as out, stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stack", "-p", cli.project, *args],
            cwd=cli.directory,
            stdout=out,
            stderr=err,
            text=True,
            env=cli.environment(),
        )
    running = Background(proc, stdout, stderr)
    try:
        what = f"{ready!r} from `stack {' '.join(args)}`"
        poll(what, lambda: ready in running.err() or proc.poll() is not None, timeout)
        assert proc.poll() is None, str(running)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert "Traceback" not in running.err(), str(running)
