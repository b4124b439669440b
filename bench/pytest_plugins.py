"""`python -m bench.pytest_plugins`: a one-test pytest session against a two-service stack, with
stack's plugin (stack.testing) and with pytest-docker driving the Docker Compose v2 binary.

Both suites read the same stack file (web + api, busybox httpd, healthchecks, web waits for api
to be healthy) and run the same test: GET web's /cgi-bin/api, which fetches api's page over the
project network.  What is timed is the whole `python -m pytest` process, as a developer waits
for it: start-up, `up --wait`, the test, `down -v`.

    cold     a fresh project every session, taken down at its end
    reuse    the project left running by the previous session (stack: --stack-reuse; pytest-docker:
             a fixed project name and no cleanup, so that its `up --build --wait` finds it up)
    no-wait  pytest-docker as before 3.0: `up -d`, then only its hand-written wait_until_responsive
    bare     the same pytest session without any stack: the floor both stand on

Sessions alternate plugin by plugin within each round; the table gives the median, min and max
of the counted rounds (after one uncounted warm-up round).  Each session must pass its test and,
when cold, leave nothing behind.  Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.daemon import Daemon
from bench.errors import BenchError
from bench.measure import Measurement, run
from bench.runner import log
from bench.tools import BENCH_DIR, find_compose

STACK_LABEL = "dev.stack.container-of"
STACK_PROJECT_LABEL = "dev.stack.project"
COMPOSE_LABEL = "com.docker.compose.project"
PREFIX = "benchpl"
REUSED_COMPOSE_PROJECT = f"{PREFIX}-pd-reuse"
SESSION_TIMEOUT_S = 180.0

STACK_YAML = """\
services:
  api:
    image: stack-test/busybox:latest
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        mkdir -p /www
        echo hello-from-api > /www/index.html
        httpd -f -p 8080 -h /www &
        wait
    ports: ["127.0.0.1::8080"]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 500ms
      timeout: 3s
      retries: 20
  web:
    image: stack-test/busybox:latest
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        mkdir -p /www/cgi-bin
        echo hello-from-web > /www/index.html
        printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nwget -q -O - http://api:8080/\\n' > /www/cgi-bin/api
        chmod +x /www/cgi-bin/api
        httpd -f -p 80 -h /www &
        wait
    ports: ["127.0.0.1::80"]
    depends_on:
      api: {condition: service_healthy}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 500ms
      timeout: 3s
      retries: 20
volumes:
  data: {}
"""

FETCH = """\
import urllib.request


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode().strip()
"""

STACK_TEST = (
    FETCH
    + """

def test_web_reaches_api(stack):
    assert fetch(stack.url("web", 80, "/cgi-bin/api")) == "hello-from-api"
"""
)

# What pytest-docker's README has a user write: the binary, the file, a project name, and a
# fixture that waits with wait_until_responsive.  BENCH_* variables pick the variant.
PYTEST_DOCKER_CONFTEST = (
    FETCH
    + """
import os

import pytest


@pytest.fixture(scope="session")
def docker_compose_command():
    return '"{compose}"'


@pytest.fixture(scope="session")
def docker_compose_file(pytestconfig):
    return os.path.join(str(pytestconfig.rootdir), "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_compose_project_name():
    return os.environ["BENCH_PROJECT"]


@pytest.fixture(scope="session")
def docker_setup():
    return ["up -d"] if os.environ.get("BENCH_NO_WAIT") else ["up --build --wait"]


@pytest.fixture(scope="session")
def docker_cleanup():
    return [] if os.environ.get("BENCH_REUSE") else ["down -v"]


def is_responsive(url):
    try:
        return fetch(url) == "hello-from-api"
    except OSError:
        return False


@pytest.fixture(scope="session")
def web_url(docker_ip, docker_services):
    url = "http://{{}}:{{}}/cgi-bin/api".format(docker_ip, docker_services.port_for("web", 80))
    docker_services.wait_until_responsive(timeout=60.0, pause=0.1, check=lambda: is_responsive(url))
    return url
"""
)

PYTEST_DOCKER_TEST = """\
from conftest import fetch


def test_web_reaches_api(web_url):
    assert fetch(web_url) == "hello-from-api"
"""

BARE_TEST = "def test_nothing():\n    assert True\n"

# Each session loads only its own plugin (both are installed), and not hypothesis's.
COMMON_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")


@dataclass
class Samples:
    label: str
    seconds: list[float] = field(default_factory=list)

    def row(self) -> str:
        if not self.seconds:
            return f"| {self.label} | - | - | - | 0 |"
        ms = [round(s * 1000) for s in self.seconds]
        return f"| {self.label} | {round(statistics.median(ms))} | {min(ms)} | {max(ms)} | {len(ms)} |"


class Bench:
    def __init__(self, workdir: Path, compose: str) -> None:
        self.workdir = workdir
        self.daemon = Daemon()
        self.compose = compose
        self.stack_dir = workdir / "stack-plugin"
        self.pd_dir = workdir / "pytest-docker"
        self.bare_dir = workdir / "bare"
        self.round = 0

    def write_suites(self) -> None:
        for directory in (self.stack_dir, self.pd_dir, self.bare_dir):
            directory.mkdir(parents=True, exist_ok=True)
        (self.stack_dir / "stack.yaml").write_text(STACK_YAML)
        (self.stack_dir / "test_web.py").write_text(STACK_TEST)
        (self.stack_dir / "pytest.ini").write_text(
            textwrap.dedent(
                f"""\
                [pytest]
                stack_files = stack.yaml
                stack_project_prefix = {PREFIX}
                stack_state_dir = {self.workdir / "state"}
                """
            )
        )
        (self.pd_dir / "docker-compose.yml").write_text(STACK_YAML)
        (self.pd_dir / "conftest.py").write_text(PYTEST_DOCKER_CONFTEST.format(compose=self.compose))
        (self.pd_dir / "test_web.py").write_text(PYTEST_DOCKER_TEST)
        (self.pd_dir / "pytest.ini").write_text("[pytest]\n")
        (self.bare_dir / "test_nothing.py").write_text(BARE_TEST)
        (self.bare_dir / "pytest.ini").write_text("[pytest]\n")

    def session(self, directory: Path, *args: str, env: dict[str, str] | None = None) -> Measurement:
        argv = [sys.executable, "-m", "pytest", *COMMON_ARGS, *args]
        result = run(argv, cwd=directory, env={**os.environ, **(env or {})}, timeout_s=SESSION_TIMEOUT_S)
        if not result.ok or "1 passed" not in result.stdout:
            output = result.stdout[-3000:]
            raise BenchError(f"session in {directory.name} failed: {result.describe_failure()}\n{output}")
        return result

    # -- the sessions -----------------------------------------------------------------------

    def stack_cold(self) -> float:
        result = self.session(self.stack_dir, "-p", "no:docker")
        self.expect_no_stack_projects()
        return result.wall_s

    def stack_reuse(self) -> float:
        return self.session(self.stack_dir, "-p", "no:docker", "--stack-reuse").wall_s

    def pd_cold(self, *, wait: bool = True) -> float:
        self.round += 1
        project = f"{PREFIX}-pd-{self.round}"
        env = {"BENCH_PROJECT": project} | ({} if wait else {"BENCH_NO_WAIT": "1"})
        result = self.session(self.pd_dir, "-p", "no:stack", env=env)
        if self.daemon.count_containers(COMPOSE_LABEL, project, running_only=False):
            raise BenchError(f"pytest-docker left containers of {project}")
        return result.wall_s

    def pd_reuse(self) -> float:
        env = {"BENCH_PROJECT": REUSED_COMPOSE_PROJECT, "BENCH_REUSE": "1"}
        return self.session(self.pd_dir, "-p", "no:stack", env=env).wall_s

    def bare(self) -> float:
        return self.session(self.bare_dir, "-p", "no:stack", "-p", "no:docker").wall_s

    # -- cleanup -------------------------------------------------------------------------------

    def stack_projects(self) -> set[str]:
        found = self.daemon.client.containers(all=True, filters={"label": [STACK_LABEL]})
        names = {str(c["Labels"][STACK_LABEL]) for c in found}
        return {n for n in names if n.startswith(f"{PREFIX}-")}

    def expect_no_stack_projects(self) -> None:
        left = self.stack_projects()
        if left:
            raise BenchError(f"the stack plugin left {sorted(left)}")

    def clean(self) -> None:
        for name in self.stack_projects():
            self.daemon.sweep(STACK_PROJECT_LABEL, name)
        subprocess.run(
            [self.compose, "-p", REUSED_COMPOSE_PROJECT, "down", "-v", "-t", "0"], capture_output=True, timeout=120
        )
        self.daemon.sweep(COMPOSE_LABEL, REUSED_COMPOSE_PROJECT)


Series = list[tuple[Samples, Callable[[], float]]]


def measure(series: Series, rounds: int, warmup: bool) -> None:
    """Round by round, each series once per round, alternating."""
    for number in range(rounds + (1 if warmup else 0)):
        name = "warm-up" if warmup and number == 0 else f"round {number if warmup else number + 1}"
        for samples, session in series:
            seconds = session()
            if name != "warm-up":
                samples.seconds.append(seconds)
            log(f"{name}: {samples.label}: {seconds:.2f}s")


def run_all(bench: Bench, rounds: int, warmup: bool) -> Series:
    cold: Series = [
        (Samples("bare pytest session (no stack)"), bench.bare),
        (Samples("stack.testing, cold"), bench.stack_cold),
        (Samples("pytest-docker + Compose, cold (`up --build --wait`)"), bench.pd_cold),
        (Samples("pytest-docker + Compose, cold, `up -d` + wait_until_responsive"), lambda: bench.pd_cold(wait=False)),
    ]
    reuse: Series = [
        (Samples("stack.testing, reuse (--stack-reuse)"), bench.stack_reuse),
        (Samples("pytest-docker + Compose, reuse (fixed name, no cleanup)"), bench.pd_reuse),
    ]
    try:
        measure(cold, rounds, warmup)
        # The first reuse session of each brings its stack up: always uncounted.
        measure(reuse, rounds, warmup=True)
    finally:
        bench.clean()
    return cold + reuse


def report(series: Series, output_dir: Path) -> str:
    table = [
        "| session | median ms | min ms | max ms | n |",
        "|---|---:|---:|---:|---:|",
        *(samples.row() for samples, _ in series),
    ]
    stamp = time.strftime("%Y-%m-%d %H:%M")
    text = f"# pytest plugins: one-test session, two-service stack ({stamp})\n\n" + "\n".join(table) + "\n"
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "pytest_plugins.md").write_text(text)
    data = {samples.label: samples.seconds for samples, _ in series}
    (output_dir / "pytest_plugins.json").write_text(json.dumps(data, indent=2) + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pytest_plugins", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--output-dir", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args(argv)
    build = ["bash", str(BENCH_DIR.parent / "tests" / "images" / "build.sh")]
    try:
        subprocess.run(build, check=True, capture_output=True, timeout=300)
        compose = str(find_compose().argv[0])
        with tempfile.TemporaryDirectory(prefix="bench-pytest-plugins-") as tmp:
            bench = Bench(Path(tmp), compose)
            bench.write_suites()
            series = run_all(bench, args.rounds, not args.no_warmup)
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    print(report(series, args.output_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
