"""The everyday commands (logs, exec, run, stop/start/..., port, ls, events, stats) against the real daemon."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import pytest

from stack.plan import labels as L
from tests.integration.cli_helpers import StackCLI, exec_output, project_containers

IMAGE = "stack-test/busybox:latest"

# `app` prints a line whenever /tmp/go appears (then removes it): a log that grows on demand.
APP_DB = f"""
services:
  app:
    image: {IMAGE}
    init: true
    command:
      - sh
      - -c
      - >-
        echo ready; echo oops >&2; while true; do
        if [ -f /tmp/go ]; then echo "go seen"; rm /tmp/go; fi; sleep 0.1; done
    depends_on: [db]
  db:
    image: {IMAGE}
    init: true
    command: sh -c 'echo one; echo two; echo three; exec sleep 3600'
"""


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    return StackCLI(tmp_path, project_name)


def state_time(client: docker.APIClient, name: str, key: str) -> tuple[str, int]:
    """StartedAt/FinishedAt of a container, comparable (the daemon trims trailing zeros of the
    nanoseconds, so the text alone does not sort)."""
    text = str(client.inspect_container(name)["State"][key]).rstrip("Z")
    whole, _, fraction = text.partition(".")
    return whole, int(fraction.ljust(9, "0")[:9] or 0)


def states(client: docker.APIClient, project: str) -> dict[str, str]:
    return {name: str(c["State"]) for name, c in project_containers(client, project).items()}


class LineReader:
    """Lines of a running process's stdout, read in a thread, taken with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line {text!r} within {timeout}s; saw {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended without {text!r}; saw {self.seen}")
            self.seen.append(line)
            if text in line:
                return


def exit_code_when_exited(client: docker.APIClient, name: str, timeout: float = 20) -> int:
    """The container's exit code once it has exited (a kill returns before the exit)."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.inspect_container(name)["State"]
        if not state["Running"]:
            return int(state["ExitCode"])
        assert time.monotonic() < deadline, f"{name} still running after {timeout}s"
        time.sleep(0.05)  # poll interval of a deadline-bounded poll


def logs_until(cli: StackCLI, count: int, *args: str, timeout: float = 20) -> list[str]:
    """`logs ARGS` once it shows at least `count` lines (the container may still be printing)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = cli.ok("logs", *args).out.splitlines()
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)  # poll interval of a deadline-bounded poll


def test_logs_follow_shows_new_lines_and_ends_when_containers_stop(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d", "db")
    p = cli.project
    proc = cli.popen("logs", "-f")
    try:
        reader = LineReader(proc)
        # Compose's short prefixes, padded for every service of the file (app-1 starts later).
        reader.wait_for("db-1   | three")
        # A container of the project that starts later is followed too.
        cli.ok("up", "-d", "app")
        reader.wait_for("app-1  | ready")
        assert exec_output(docker_client, f"{p}-app-1", "touch", "/tmp/go")[0] == 0
        reader.wait_for("app-1  | go seen")
        cli.ok("stop")
        assert proc.wait(timeout=30) == 0  # every followed container stopped: logs -f ends
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_logs_follow_stops_on_ctrl_c(cli: StackCLI) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d", "db")
    proc = cli.popen("logs", "-f", "db")
    try:
        LineReader(proc).wait_for("three")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_logs_tail_prefix_and_services(cli: StackCLI) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d")
    everything = logs_until(cli, 3, "db")
    assert everything == ["db-1  | one", "db-1  | two", "db-1  | three"]
    assert cli.ok("logs", "--tail", "1", "--no-log-prefix", "db").out == "three\n"
    stamped = cli.ok("logs", "-t", "--tail", "1", "--no-log-prefix", "db").out
    assert stamped.endswith(" three\n") and stamped[:4].isdigit(), stamped
    both = logs_until(cli, 5, "--no-log-prefix")
    assert {"one", "two", "three", "ready", "oops"} <= set(both), both  # stderr lines too
    assert cli.ok("logs", "--since", "1h", "--no-log-prefix", "db").out.splitlines() == ["one", "two", "three"]
    assert cli.ok("logs", "--until", "1h", "--no-log-prefix", "db").out == ""
    bad = cli.run("logs", "nope")
    assert bad.code == 2 and "no such service: nope" in bad.err and "Traceback" not in bad.err


def test_exec_returns_the_commands_exit_code_and_output(cli: StackCLI) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d")
    result = cli.run("exec", "-T", "db", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.code == 3, str(result)
    assert result.out == "out\n" and result.err == "err\n", str(result)
    env = cli.ok("exec", "-T", "-e", "GREETING=hi", "-w", "/tmp", "db", "sh", "-c", 'echo "$GREETING $(pwd)"')
    assert env.out == "hi /tmp\n"
    assert cli.ok("exec", "-T", "-u", "nobody", "db", "id", "-u").out == "65534\n"
    stopped = cli.run("exec", "-T", "--index", "2", "db", "true")
    assert stopped.code == 1 and "service db (replica 2) is not running" in stopped.err, str(stopped)
    cli.ok("stop", "app")
    down = cli.run("exec", "-T", "app", "true")
    assert down.code == 1 and "stack up -d app" in down.err and "Traceback" not in down.err, str(down)


def test_exec_feeds_piped_stdin(cli: StackCLI) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d", "db")
    proc = subprocess.run(
        [*cli_command(cli), "exec", "-T", "db", "sh", "-c", "tr a-z A-Z"],
        input="piped text\n",
        capture_output=True,
        text=True,
        cwd=cli.directory,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (0, "PIPED TEXT\n"), proc.stderr


def cli_command(cli: StackCLI) -> list[str]:
    return [sys.executable, "-m", "stack", "-p", cli.project]


def test_run_exit_code_rm_and_one_off_containers(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(APP_DB)
    p = cli.project
    # Dependencies come up first; the one-off resolves them by name.
    result = cli.run("run", "--rm", "-T", "app", "sh", "-c", "nslookup db >/dev/null && echo resolved; exit 5")
    assert result.code == 5, str(result)
    assert result.out == "resolved\n"
    assert states(docker_client, p) == {f"{p}-db-1": "running"}  # --rm left nothing; app not started

    kept = cli.run("run", "-T", "--no-deps", "-e", "X=1", "app", "sh", "-c", 'echo "x=$X"')
    assert (kept.code, kept.out) == (0, "x=1\n"), str(kept)
    one_offs = {n: c for n, c in project_containers(docker_client, p).items() if n.startswith(f"{p}-app-run-")}
    assert len(one_offs) == 1
    ((name, entry),) = one_offs.items()
    assert len(name) == len(f"{p}-app-run-") + 12
    assert entry["Labels"][L.ONEOFF] == "True"  # type: ignore[index]
    assert entry["State"] == "exited"
    assert name not in cli.ok("ps", "-a").out  # ps does not list one-off containers
    cli.ok("rm", "-f")
    assert name not in project_containers(docker_client, p)


def test_run_publishes_ports_only_when_asked(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(APP_DB.replace("    depends_on: [db]", '    depends_on: [db]\n    ports: ["80"]'))
    p = cli.project
    name = cli.ok("run", "-d", "--no-deps", "app", "sleep", "60").out.strip()
    assert docker_client.inspect_container(name)["HostConfig"]["PortBindings"] in (None, {})
    published = cli.ok("run", "-d", "--no-deps", "--service-ports", "--name", f"{p}-sp", "app", "sleep", "60")
    assert published.out.strip() == f"{p}-sp"
    assert "80/tcp" in docker_client.inspect_container(f"{p}-sp")["HostConfig"]["PortBindings"]


def test_stop_start_restart_change_states(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d")
    p = cli.project
    app, db = f"{p}-app-1", f"{p}-db-1"
    stopped = cli.ok("stop", "-t", "5")
    assert states(docker_client, p) == {app: "exited", db: "exited"}
    # Dependents first: app stops before db (the daemon's own timestamps say so).
    assert state_time(docker_client, app, "FinishedAt") <= state_time(docker_client, db, "FinishedAt")
    assert stopped.err.index(app) < stopped.err.index(db), stopped.err
    started = cli.ok("start")
    assert states(docker_client, p) == {app: "running", db: "running"}
    assert state_time(docker_client, db, "StartedAt") <= state_time(docker_client, app, "StartedAt")
    assert started.err.index(db) < started.err.index(app), started.err  # dependencies first
    before = docker_client.inspect_container(db)["State"]["StartedAt"]
    cli.ok("restart", "db")
    after = docker_client.inspect_container(db)
    assert after["State"]["Running"] and after["State"]["StartedAt"] != before
    cli.ok("stop", "app")
    assert states(docker_client, p) == {app: "exited", db: "running"}


def test_kill_pause_unpause_rm(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d")
    p = cli.project
    app, db = f"{p}-app-1", f"{p}-db-1"
    cli.ok("pause", "app")
    assert states(docker_client, p) == {app: "paused", db: "running"}
    paused = cli.run("exec", "-T", "app", "true")
    assert paused.code == 1 and "unpause" in paused.err
    cli.ok("unpause")
    assert states(docker_client, p) == {app: "running", db: "running"}
    cli.ok("kill", "-s", "SIGTERM", "db")
    assert exit_code_when_exited(docker_client, db) == 143  # init relayed SIGTERM
    cli.ok("kill", "app")
    assert exit_code_when_exited(docker_client, app) == 137
    cli.ok("rm", "-f", "db")
    assert set(project_containers(docker_client, p)) == {app}
    cli.ok("up", "-d")
    cli.ok("rm", "-f", "-s", "-v")
    assert project_containers(docker_client, p) == {}


def test_wait_prints_the_exit_code(cli: StackCLI) -> None:
    cli.write(APP_DB + "  job:\n    image: " + IMAGE + "\n    command: sh -c 'exit 4'\n")
    cli.ok("up", "-d", "job")
    result = cli.run("wait", "job")
    assert (result.code, result.out) == (4, "4\n"), str(result)


def test_port_top_images(cli: StackCLI) -> None:
    cli.write(APP_DB.replace("    depends_on: [db]", '    depends_on: [db]\n    ports: ["127.0.0.1::80"]'))
    cli.ok("up", "-d")
    p = cli.project
    address = cli.ok("port", "app", "80").out.strip()
    host, _, number = address.rpartition(":")
    assert host == "127.0.0.1" and number.isdigit() and int(number) > 0, address
    missing = cli.run("port", "app", "81")
    assert missing.code == 2 and "not published" in missing.err
    top = cli.ok("top", "db").out
    assert top.startswith(f"{p}-db-1\nUID") and "sleep 3600" in top, top
    images = cli.ok("images").out.splitlines()
    assert images[0].split()[:2] == ["CONTAINER", "REPOSITORY"]
    assert sorted(line.split()[:3] for line in images[1:]) == [
        [f"{p}-app-1", "stack-test/busybox", "latest"],
        [f"{p}-db-1", "stack-test/busybox", "latest"],
    ]


def test_ls_lists_the_project(cli: StackCLI) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d")
    rows = {r["Name"]: r for r in json.loads(cli.ok("ls", "--format", "json").out)}
    assert rows[cli.project]["Status"] == "running(2)"
    assert rows[cli.project]["ConfigFiles"] == str(cli.directory / "stack.yaml")
    table = cli.ok("ls").out
    assert any(line.split()[:2] == [cli.project, "running(2)"] for line in table.splitlines()), table
    cli.ok("stop", "app")
    assert cli.project in cli.ok("ls", "-q").out.split()
    cli.ok("stop")
    assert cli.project not in cli.ok("ls", "-q").out.split()
    assert rows_status(cli)[cli.project] == "exited(2)"


def rows_status(cli: StackCLI) -> dict[str, str]:
    return {r["Name"]: r["Status"] for r in json.loads(cli.ok("ls", "-a", "--format", "json").out)}


def test_events_json_shows_the_start_of_our_container(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d", "db")
    cli.ok("stop", "db")
    proc = cli.popen("events", "--json")
    try:
        reader = LineReader(proc)
        # The subscription is open once the first event of ours arrives; start until it does.
        deadline = time.monotonic() + 30
        while True:
            cli.ok("start", "db")
            try:
                reader.wait_for('"action":"start"', timeout=2)
                break
            except AssertionError:
                assert time.monotonic() < deadline, reader.seen
                cli.ok("stop", "db")
        event = json.loads(next(line for line in reader.seen if '"action":"start"' in line))
        assert event["type"] == "container" and event["service"] == "db"
        assert event["id"] == docker_client.inspect_container(f"{cli.project}-db-1")["Id"]
        assert event["attributes"][L.PROJECT] == cli.project
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_stats_no_stream_shows_a_row_per_container(cli: StackCLI) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d")
    p = cli.project
    lines = cli.ok("stats", "--no-stream").out.splitlines()
    for column in ("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O"):
        assert column in lines[0], lines
    names = sorted(line.split()[1] for line in lines[1:])
    assert names == [f"{p}-app-1", f"{p}-db-1"]
    rows = [json.loads(line) for line in cli.ok("stats", "--no-stream", "--format", "json", "db").out.splitlines()]
    assert [r["Name"] for r in rows] == [f"{p}-db-1"]
    assert rows[0]["CPUPerc"].endswith("%") and " / " in rows[0]["MemUsage"] and rows[0]["PIDs"] == "2"


class PtySession:
    """The CLI on a pseudo-terminal, as a user at a terminal runs it."""

    def __init__(self, cli: StackCLI, *args: str) -> None:

        self.output = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become `stack ...` on the terminal
            os.chdir(cli.directory)
            os.execv(sys.executable, [sys.executable, "-m", "stack", "-p", cli.project, *args])

    def expect(self, text: bytes, timeout: float = 20) -> None:

        deadline = time.monotonic() + timeout
        while text not in self.output:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {text!r} on the terminal within {timeout}s: {self.output[-500:]!r}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"terminal closed before {text!r}: {self.output[-500:]!r}"
                self.output += chunk

    def send(self, data: bytes) -> None:

        os.write(self.fd, data)

    def exit_code(self, timeout: float = 30) -> int:

        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            assert time.monotonic() < deadline, "the CLI did not exit"
            self.expect_any(0.1)

    def expect_any(self, timeout: float) -> None:

        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                self.output += os.read(self.fd, 4096)

    def kill(self) -> None:

        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


@pytest.mark.parametrize("verb", ["exec", "run"])
def test_interactive_session_gets_a_tty(cli: StackCLI, verb: str) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d", "db")
    args = ["exec", "db", "sh"] if verb == "exec" else ["run", "--rm", "--no-deps", "db", "sh"]
    session = PtySession(cli, *args)
    try:
        session.expect(b"# ")
        session.send(b"tty\r")
        session.expect(b"/dev/pts/")
        session.send(b"exit 7\r")
        assert session.exit_code() == 7
    finally:
        session.kill()


def test_exec_detached(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(APP_DB)
    cli.ok("up", "-d", "db")
    result = cli.ok("exec", "-d", "db", "sh", "-c", "sleep 0.2; touch /tmp/done")
    assert result.out == ""
    deadline = time.monotonic() + 20
    while exec_output(docker_client, f"{cli.project}-db-1", "test", "-f", "/tmp/done")[0] != 0:
        assert time.monotonic() < deadline, "the detached command never ran"
        time.sleep(0.05)  # poll interval of a deadline-bounded poll
