"""The commands of Compose's that stack gained last (attach, cp, volumes, version, commit,
export, the global --parallel), through the CLI against the real daemon."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import stat
import subprocess
import sys
import tarfile
import termios
import time
import uuid
from pathlib import Path

import docker
import docker.errors
import pytest

import stack
from stack.plan import labels as L
from tests.integration.cli_helpers import StackCLI, exec_output, poll, project_containers

IMAGE = "stack-test/busybox:latest"

# `app` says BOOT-MARK at start, then prints whatever is put in /tmp/say (and removes it);
# `shell` is an interactive shell on a TTY; `data` mounts two volumes, `other` one.
STACK = f"""
services:
  app:
    image: {IMAGE}
    init: true
    command:
      - sh
      - -c
      - >-
        echo BOOT-MARK; echo marker > /marker.txt; while true; do
        if [ -f /tmp/say ]; then cat /tmp/say; rm /tmp/say; fi; sleep 0.1; done
    labels: {{team: blue}}
  shell:
    image: {IMAGE}
    tty: true
    stdin_open: true
    command: sh
  data:
    image: {IMAGE}
    command: sleep 3600
    init: true
    volumes: [cache:/cache, logs:/logs]
  other:
    image: {IMAGE}
    command: sleep 3600
    init: true
    volumes: [logs:/logs]
volumes:
  cache: {{}}
  logs: {{}}
"""


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    work = tmp_path / "project"
    work.mkdir()
    cli = StackCLI(work, project_name)
    cli.write(STACK)
    return cli


# -- cp -----------------------------------------------------------------------------------


def make_tree(root: Path) -> dict[str, tuple[int, str]]:
    """A directory with distinct modes, nested, and a link; relative path -> (mode, content)."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "plain.txt").write_text("plain\n")
    (root / "secret.txt").write_text("secret\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "sub" / "deeper" / "note").write_text("deep\n")
    (root / "link").symlink_to("plain.txt")
    os.chmod(root / "secret.txt", 0o600)
    os.chmod(root / "run.sh", 0o755)
    os.chmod(root / "sub", 0o711)
    os.chmod(root / "sub" / "deeper", 0o750)
    os.chmod(root / "sub" / "deeper" / "note", 0o640)
    os.chmod(root, 0o705)
    return describe(root)


def describe(root: Path) -> dict[str, tuple[int, str]]:
    """Every entry under `root` (and root itself as "."): its mode bits and what it holds."""
    seen: dict[str, tuple[int, str]] = {".": (stat.S_IMODE(root.lstat().st_mode), "dir")}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            held = "-> " + os.readlink(path)
        elif stat.S_ISDIR(info.st_mode):
            held = "dir"
        else:
            held = path.read_text()
        mode = 0 if stat.S_ISLNK(info.st_mode) else stat.S_IMODE(info.st_mode)
        seen[str(path.relative_to(root))] = (mode, held)
    return seen


def test_cp_round_trips_a_directory_with_modes_to_every_replica(
    cli: StackCLI, tmp_path: Path, docker_client: docker.APIClient
) -> None:
    cli.ok("up", "-d", "--scale", "app=2", "app")
    expected = make_tree(tmp_path / "tree")

    # Into the service: every replica gets it (not a shared volume: each its own /tmp).
    copied = cli.ok("cp", str(tmp_path / "tree"), "app:/tmp/tree")
    assert copied.err.count("Copied ") == 2, str(copied)
    for index in (1, 2):
        back = tmp_path / f"back{index}"
        cli.ok("cp", "--index", str(index), "app:/tmp/tree", str(back))
        assert describe(back) == expected, f"replica {index}"

    # Out of it: the first replica by default; into an existing directory, inside it.
    (tmp_path / "into").mkdir()
    cli.ok("cp", "app:/tmp/tree", str(tmp_path / "into"))
    assert describe(tmp_path / "into" / "tree") == expected

    # --index: one replica only.
    (tmp_path / "only2.txt").write_text("two\n")
    cli.ok("cp", "--index", "2", str(tmp_path / "only2.txt"), "app:/tmp/tree/only2.txt")
    code, _ = exec_output(docker_client, f"{cli.project}-app-1", "test", "-e", "/tmp/tree/only2.txt")
    assert code == 1
    assert cli.ok("cp", "--index", "2", "app:/tmp/tree/only2.txt", "-").out.count("two") == 1  # a tar on stdout

    missing = cli.run("cp", "app:/no/such/path", str(tmp_path / "x"))
    assert missing.code == 1 and "no such file or directory" in missing.err and "Traceback" not in missing.err
    between = cli.run("cp", "app:/tmp", "shell:/tmp")
    assert between.code == 2 and "between services" in between.err


# -- attach ---------------------------------------------------------------------------------


def _take_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is its stdin (the pty), so
    that Ctrl-C typed there is a SIGINT to it."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """`stack attach` on a pseudo-terminal, read with deadlines."""

    def __init__(self, cli: StackCLI, *args: str) -> None:
        master, slave = os.openpty()
        self.fd = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stack", "-p", cli.project, *args],
            cwd=cli.directory,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=cli.environment(),
            preexec_fn=_take_terminal,  # the pty is its controlling terminal, as a user's is
        )
        os.close(slave)
        self.output = b""

    def read(self, timeout: float) -> None:
        """What the terminal shows within `timeout` seconds (less when the CLI exits)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):  # the CLI closed the terminal
                self.output += os.read(self.fd, 4096)

    def expect(self, text: bytes, timeout: float = 20, *, meanwhile: object = None) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline, f"no {text!r} on the terminal within {timeout}s: {self.output[-400:]!r}"
            if callable(meanwhile):
                meanwhile()
            self.read(0.3)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exit_code(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"stack attach still running after {timeout}s: {self.output[-400:]!r}"
            self.read(0.1)
        return int(self.proc.returncode)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def test_attach_sees_new_output_and_detaches_on_the_keys(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.ok("up", "-d", "app")
    app = f"{cli.project}-app-1"
    poll("app's first line", lambda: "BOOT-MARK" in cli.ok("logs", "app").out)
    term = Terminal(cli, "attach", "app")
    try:
        # Said again until seen: what the container prints before the attach is not shown.
        say = ["sh", "-c", "echo NEW-OUTPUT > /tmp/say"]
        term.expect(b"NEW-OUTPUT", meanwhile=lambda: exec_output(docker_client, app, *say))
        assert b"BOOT-MARK" not in term.output
        term.send(b"\x10\x11")  # ctrl-p, ctrl-q
        assert term.exit_code() == 0, term.output
        assert b"Traceback" not in term.output
    finally:
        term.close()
    assert docker_client.inspect_container(app)["State"]["Running"]  # detached, not stopped

    # Ctrl-C is a signal to stack, which sends it on to the container (sig-proxy): it stops.
    term = Terminal(cli, "attach", "app")
    try:
        term.expect(b"AGAIN", meanwhile=lambda: exec_output(docker_client, app, "sh", "-c", "echo AGAIN > /tmp/say"))
        term.send(b"\x03")
        assert term.exit_code() == 130, term.output  # the container's exit code: SIGINT
    finally:
        term.close()
    assert docker_client.inspect_container(app)["State"]["ExitCode"] == 130


def test_attach_tty_takes_input_and_returns_the_exit_code(cli: StackCLI) -> None:
    cli.ok("up", "-d", "shell")
    term = Terminal(cli, "attach", "--detach-keys", "ctrl-x", "shell")
    try:
        term.send(b"echo sum-$((6*7))\r")
        term.expect(b"sum-42")
        term.send(b"exit 3\r")
        assert term.exit_code() == 3, term.output
    finally:
        term.close()
    missing = cli.run("attach", "shell")
    assert missing.code == 1 and "not running" in missing.err and "Traceback" not in missing.err
    bad = cli.run("attach", "--detach-keys", "ctrl-1", "shell")
    assert bad.code == 2 and "invalid detach keys" in bad.err


# -- volumes, version -------------------------------------------------------------------------


def test_volumes_lists_the_projects_volumes(cli: StackCLI) -> None:
    cli.ok("up", "-d", "data", "other")
    p = cli.project
    table = cli.ok("volumes").out.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert sorted(line.split()[1] for line in table[1:]) == [f"{p}_cache", f"{p}_logs"]
    rows = [json.loads(line) for line in cli.ok("volumes", "--format", "json").out.splitlines()]
    assert [r["Name"] for r in rows] == [f"{p}_cache", f"{p}_logs"]
    assert rows[0]["Driver"] == "local" and f"{L.PROJECT}={p}" in rows[0]["Labels"]
    assert cli.ok("volumes", "-q", "other").out.split() == [f"{p}_logs"]
    assert cli.ok("volumes", "--format", "{{.Name}}:{{.Scope}}", "data").out.split() == [
        f"{p}_cache:local",
        f"{p}_logs:local",
    ]
    unknown = cli.run("volumes", "nope")
    assert unknown.code == 2 and "no such service: nope" in unknown.err


def test_version_formats(cli: StackCLI) -> None:
    for name_project in (False, True):  # the quick path (no -p), and click's
        assert cli.run("version", name_project=name_project).out == f"stack version {stack.__version__}\n"
        assert cli.run("version", "--short", name_project=name_project).out == f"{stack.__version__}\n"
        shown = cli.run("version", "--format", "json", name_project=name_project).out
        assert json.loads(shown) == {"version": stack.__version__}
    assert cli.run("version", "--format", "yaml").code == 2


# -- commit, export -------------------------------------------------------------------------------


def test_commit_makes_an_image_whose_containers_are_not_ours(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.ok("up", "-d", "app")
    p = cli.project
    reference = f"{p}-snapshot:v1"
    committed = cli.ok(
        "commit",
        "-a",
        "Ann <ann@example.com>",
        "-m",
        "a snapshot",
        "-c",
        "ENV SNAP=1",
        "--pause=false",
        "app",
        reference,
    )
    image = docker_client.inspect_image(reference)
    assert committed.out.strip() == image["Id"]
    assert image["Author"] == "Ann <ann@example.com>" and image["Comment"] == "a snapshot"
    assert "SNAP=1" in image["Config"]["Env"]
    labels = image["Config"]["Labels"]
    assert labels["team"] == "blue"  # the service's own labels stay
    assert {k: v for k, v in labels.items() if k.startswith(L.PREFIX) and v} == {
        L.BUILT_FOR_PROJECT: p,
        L.BUILT_FOR_SERVICE: "app",
    }

    # A container run from it, as anyone would, carries the image's labels: none is ours.
    name = f"{p}-outsider-{uuid.uuid4().hex[:6]}"
    outsider = docker_client.create_container(reference, name=name)["Id"]
    try:
        docker_client.start(outsider)
        inherited = docker_client.inspect_container(outsider)["Config"]["Labels"]
        assert not L.is_our_container(inherited, p) and L.owner_of(inherited) is None
        assert name not in cli.ok("ps", "-a").out
        assert "" not in {row["Name"] for row in json.loads(cli.ok("ls", "-a", "--format", "json").out)}
        cli.ok("down")
        assert docker_client.inspect_container(outsider)["State"]["Running"]  # down left it alone
        assert f"{p}-app-1" not in project_containers(docker_client, p)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.remove_container(outsider, force=True)


def test_export_writes_the_filesystem_as_a_tar(cli: StackCLI, tmp_path: Path) -> None:
    cli.ok("up", "-d", "app")
    poll("app's marker file", lambda: "marker" in cli.ok("exec", "-T", "app", "cat", "/marker.txt").out)
    target = tmp_path / "app.tar"
    cli.ok("export", "app", "-o", str(target))
    with tarfile.open(target) as archive:
        member = archive.extractfile("marker.txt")
        assert member is not None and member.read() == b"marker\n"
        assert "bin/sh" in archive.getnames()
    piped = subprocess.run(
        [sys.executable, "-m", "stack", "-p", cli.project, "export", "app"],
        cwd=cli.directory,
        capture_output=True,
        timeout=120,
        env=cli.environment(),
    )
    assert piped.returncode == 0 and piped.stdout[:512] == target.read_bytes()[:512], piped.stderr


# -- --parallel -----------------------------------------------------------------------------------


def test_parallel_bounds_are_accepted_and_checked(cli: StackCLI) -> None:
    cli.ok("--parallel", "1", "up", "-d", "--wait", "data", "other")
    assert sorted(cli.ok("--parallel", "-1", "ps", "--services").out.split()) == ["data", "other"]
    cli.ok("--parallel", "1", "down", "-v")
    for bad in ("0", "-2"):
        refused = cli.run("--parallel", bad, "ps")
        assert refused.code == 2 and "--parallel" in refused.err and "Traceback" not in refused.err
    env = StackCLI(cli.directory, cli.project, {"COMPOSE_PARALLEL_LIMIT": "many"})
    refused = env.run("ps")
    assert refused.code == 2 and "COMPOSE_PARALLEL_LIMIT" in refused.err
