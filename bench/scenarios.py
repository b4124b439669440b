"""The scenarios: what is set up untimed, the one command that is timed, and how it is checked.

Each scenario runs the same stack file with both tools under distinct project names
(`bench<key>-stack-<run>`, `bench<key>-compose-<run>`): the two tools label their resources differently and never
adopt each other's containers, and distinct names give each a clean state. Cleanup is each tool's own
`down -v`, then a sweep of whatever still carries the tool's project label.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from bench import files
from bench.daemon import Daemon
from bench.errors import BenchError
from bench.load import LoadLoop, LoadResult
from bench.measure import Measurement, run, run_checked
from bench.tools import Tool

REPO = Path(__file__).resolve().parents[1]
TEST_IMAGE_SCRIPT = REPO / "tests" / "images" / "build.sh"
EXAMPLE = REPO / "examples" / "flask-api-db"
SETUP_TIMEOUT_S = 900.0
TIMED_TIMEOUT_S = 300.0
# The names of round_metrics() that the report knows.
REQUESTS = "requests"
FAILED_REQUESTS = "failed_requests"


@dataclass(frozen=True)
class Target:
    """What we aim for: a ceiling on the median stack/compose ratio and/or on stack's median time,
    and/or on the requests stack lets fail in any round (scenarios under HTTP load)."""

    max_ratio: float | None = None
    max_stack_s: float | None = None
    max_stack_failed_requests: int | None = None

    def describe(self) -> str:
        parts = []
        if self.max_stack_s is not None:
            parts.append(f"stack < {self.max_stack_s * 1000:.0f} ms")
        if self.max_ratio is not None:
            parts.append(f"ratio ≤ {self.max_ratio:g}")
        if self.max_stack_failed_requests is not None:
            parts.append(f"stack: ≤ {self.max_stack_failed_requests} failed requests")
        return ", ".join(parts) or "-"

    def met(self, ratio_median: float, stack_median_s: float, stack_failed_requests: float | None = None) -> bool:
        if self.max_ratio is not None and ratio_median > self.max_ratio:
            return False
        if (
            self.max_stack_failed_requests is not None
            and stack_failed_requests is not None
            and stack_failed_requests > self.max_stack_failed_requests
        ):
            return False
        return not (self.max_stack_s is not None and stack_median_s >= self.max_stack_s)


@dataclass
class Context:
    """What every scenario shares in one bench run."""

    workdir: Path
    daemon: Daemon | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # Part of every project name: a run never meets what an earlier, aborted run (or a daemon
    # bug) left behind under the same name.
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))

    def need_daemon(self) -> Daemon:
        if self.daemon is None:
            self.daemon = Daemon()
        return self.daemon


@dataclass
class Bound:
    """A tool bound to a scenario: its own project name, the shared stack file, global flags."""

    tool: Tool
    project: str
    file: Path
    env: dict[str, str]
    global_args: tuple[str, ...] = ()

    def command(self, *args: str) -> list[str]:
        return self.tool.command("-f", str(self.file), "-p", self.project, *self.global_args, *args)

    def run(self, *args: str, timeout_s: float = SETUP_TIMEOUT_S) -> Measurement:
        """An untimed step (setup, cleanup) that must succeed."""
        return run_checked(self.command(*args), cwd=self.file.parent, env=self.env, timeout_s=timeout_s)


class Scenario:
    key: ClassVar[str]
    title: ClassVar[str]
    target: ClassVar[Target]
    needs_daemon: ClassVar[bool] = True

    def skip_reason(self, ctx: Context) -> str | None:
        return None

    def prepare(self, ctx: Context) -> Path:
        """Write the scenario's stack file (once per run) and return its path."""
        raise NotImplementedError

    def bind(self, ctx: Context, tool: Tool, file: Path) -> Bound:
        return Bound(tool, project_name(ctx, self.key, tool), file, ctx.env)

    def timed_command(self, b: Bound) -> list[str]:
        raise NotImplementedError

    def before_all(self, ctx: Context, b: Bound) -> None:
        """Once per tool before the first round (the state every round starts from, if shared)."""

    def before_round(self, ctx: Context, b: Bound) -> None:
        """Before each timed command, untimed."""

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        """Raise BenchError unless the timed command did what it should (no timing a no-op failure)."""

    def after_round(self, ctx: Context, b: Bound) -> None:
        """After each timed command, untimed."""

    def round_metrics(self, ctx: Context, b: Bound) -> dict[str, float]:
        """Numbers besides time that the round just checked measured (FAILED_REQUESTS, ...); none by default."""
        return {}

    def after_all(self, ctx: Context, b: Bound) -> None:
        """Once per tool at the end, even after a failure."""
        if self.needs_daemon:
            clean(ctx, b)


def project_name(ctx: Context, key: str, tool: Tool) -> str:
    return f"bench{key}-{tool.name}-{ctx.run_id}"


def clean(ctx: Context, b: Bound) -> None:
    """The tool's own `down -v`, then a label sweep of what is left (even if `down` failed)."""
    down = run(b.command("down", "-v", "--remove-orphans"), cwd=b.file.parent, env=b.env, timeout_s=SETUP_TIMEOUT_S)
    if not down.ok:  # not fatal (the sweep follows), but worth knowing: it is the tool's own cleanup
        print(f"bench: warning: {down.describe_failure().splitlines()[0]}", file=sys.stderr, flush=True)
    ctx.need_daemon().sweep(b.tool.project_label, b.project)


def expect_running(ctx: Context, b: Bound, count: int) -> None:
    running = ctx.need_daemon().count_containers(b.tool.project_label, b.project)
    if running != count:
        raise BenchError(f"{b.tool.name}: expected {count} running containers in {b.project}, found {running}")


def ensure_test_image(ctx: Context) -> None:
    run_checked(["bash", str(TEST_IMAGE_SCRIPT)], env=ctx.env, timeout_s=SETUP_TIMEOUT_S)


def write(ctx: Context, key: str, text: str, name: str = "stack.yaml") -> Path:
    directory = ctx.workdir / key
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def healthy_chain_file(ctx: Context, key: str) -> Path:
    start_interval = ctx.need_daemon().api_at_least("1.44")
    return write(ctx, key, files.healthy_chain(start_interval=start_interval))


CHAIN_SIZE = sum(len(level) for level in files.CHAIN_LEVELS)


class ColdUp(Scenario):
    key = "a"
    title = f"cold `up -d --wait`, {CHAIN_SIZE} services, 3-level service_healthy chain"
    target = Target(max_ratio=0.7)

    def prepare(self, ctx: Context) -> Path:
        ensure_test_image(ctx)
        return healthy_chain_file(ctx, self.key)

    def before_all(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("up", "-d", "--wait")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        expect_running(ctx, b, CHAIN_SIZE)

    def after_round(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)


class NoopUp(Scenario):
    key = "b"
    title = f"no-op `up -d` on the converged {CHAIN_SIZE}-service stack"
    target = Target(max_ratio=2.0, max_stack_s=0.150)

    def prepare(self, ctx: Context) -> Path:
        ensure_test_image(ctx)
        return healthy_chain_file(ctx, self.key)

    # Each round brings the measured tool's stack up and takes it down again, so that only that
    # stack runs while its no-op is timed: the other tool's ten containers, probing twice a
    # second each, would otherwise load the two cores for whichever tool is being measured.

    def before_all(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)

    def before_round(self, ctx: Context, b: Bound) -> None:
        b.run("up", "-d", "--wait")

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("up", "-d")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        expect_running(ctx, b, CHAIN_SIZE)

    def after_round(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)


class ScaleUp(Scenario):
    key = "c"
    title = "scale one service from 1 to 50 replicas (`up -d --scale svc=50`)"
    target = Target(max_ratio=0.4)
    replicas = 50

    def prepare(self, ctx: Context) -> Path:
        ensure_test_image(ctx)
        return write(ctx, self.key, files.one_service())

    def before_all(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)

    def before_round(self, ctx: Context, b: Bound) -> None:
        b.run("up", "-d")
        expect_running(ctx, b, 1)

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("up", "-d", "--scale", f"svc={self.replicas}")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        expect_running(ctx, b, self.replicas)

    def after_round(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)


class DownReplicas(Scenario):
    key = "d"
    title = "`down` of a stack with 50 running replicas"
    target = Target(max_ratio=1.0)
    replicas = 50

    def prepare(self, ctx: Context) -> Path:
        ensure_test_image(ctx)
        return write(ctx, self.key, files.one_service())

    def before_all(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)

    def before_round(self, ctx: Context, b: Bound) -> None:
        b.run("up", "-d", "--scale", f"svc={self.replicas}")
        expect_running(ctx, b, self.replicas)

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("down")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        left = ctx.need_daemon().count_containers(b.tool.project_label, b.project, running_only=False)
        if left:
            raise BenchError(f"{b.tool.name}: `down` left {left} containers in {b.project}")

    def after_round(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)


class PsMany(Scenario):
    key = "e"
    title = "`ps` on a project with 200 running containers"
    target = Target(max_ratio=2.0, max_stack_s=0.150)
    replicas = 200

    def prepare(self, ctx: Context) -> Path:
        ensure_test_image(ctx)
        return write(ctx, self.key, files.one_service())

    def before_all(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)
        b.run("up", "-d", "--scale", f"svc={self.replicas}")
        expect_running(ctx, b, self.replicas)

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("ps")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        rows = sum(1 for line in m.stdout.splitlines() if f"{b.project}-svc-" in line)
        if rows != self.replicas:
            raise BenchError(f"{b.tool.name}: `ps` listed {rows} containers, expected {self.replicas}")


class ConfigMany(Scenario):
    key = "f"
    title = "`config` of a generated 500-service file (no daemon)"
    target = Target(max_ratio=2.0)
    needs_daemon = False
    services = 500

    def prepare(self, ctx: Context) -> Path:
        return write(ctx, self.key, files.many_services(self.services))

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("config")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        # Each service appears once as a mapping key under `services:` in the canonical output.
        found = sum(1 for line in m.stdout.splitlines() if line.startswith("  svc") and line.endswith(":"))
        if found != self.services:
            raise BenchError(f"{b.tool.name}: `config` printed {found} services, expected {self.services}")


class StartUp(Scenario):
    key = "g"
    title = "CLI start-up (`stack --version`, `docker-compose version`)"
    target = Target(max_stack_s=0.060)
    needs_daemon = False

    def prepare(self, ctx: Context) -> Path:
        return write(ctx, self.key, files.one_service())

    def timed_command(self, b: Bound) -> list[str]:
        return b.tool.command(*b.tool.version_args)

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        if "version" not in m.stdout.lower():
            raise BenchError(f"{b.tool.name}: version output is {m.stdout!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


REPLICAS_ROLLED = 3


class FlaskExample(Scenario):
    """examples/flask-api-db with the local Debian-based images, all present before the timed `up`."""

    key = "h"
    title = "examples/flask-api-db: cold `up -d --wait`, images present"
    target = Target(max_ratio=0.8)
    file = EXAMPLE / "stack.yaml"
    env_file = EXAMPLE / "local.env"
    build_script = EXAMPLE / "local-images" / "build.sh"
    # Services that keep running once up: db, api, frontend (migrate runs to completion).
    running = 3

    def skip_reason(self, ctx: Context) -> str | None:
        missing = [p for p in (self.file, self.env_file, self.build_script) if not p.exists()]
        if missing:
            return "not available: " + ", ".join(str(p.relative_to(REPO)) for p in missing)
        return None

    def prepare(self, ctx: Context) -> Path:
        # Untimed: the base images (cached by the script) and the API image built once from them.
        run_checked(["bash", str(self.build_script)], env=ctx.env, timeout_s=3 * SETUP_TIMEOUT_S)
        return self.file

    def bind(self, ctx: Context, tool: Tool, file: Path) -> Bound:
        # A free host port: 8080 may be taken by someone else's stack on this daemon.
        env = {**ctx.env, "FRONTEND_PORT": str(free_port())}
        return Bound(tool, project_name(ctx, self.key, tool), file, env, ("--env-file", str(self.env_file)))

    def api_image(self) -> str:
        for line in self.env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "API_IMAGE":
                return value.strip()
        raise BenchError(f"{self.env_file}: no API_IMAGE=... line")

    def before_all(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)
        # The API image is shared by both tools (same tag): built once, by stack, when missing.
        if b.tool.name == "stack" and not ctx.need_daemon().has_image(self.api_image()):
            b.run("build")

    def timed_command(self, b: Bound) -> list[str]:
        return b.command("up", "-d", "--wait")

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        expect_running(ctx, b, self.running)

    def after_round(self, ctx: Context, b: Bound) -> None:
        clean(ctx, b)


class RollingUpdate(FlaskExample):
    """The example's 3 API replicas get a new environment (APP_RELEASE 1 -> 2) while two clients
    GET /api/whoami through the frontend: stack rolls them one by one (the example's
    deploy.update_config: start-first, health-gated), Compose ignores update_config and replaces
    them all at once. Timed: the `up`; counted: the requests that failed meanwhile."""

    key = "i"
    title = f"examples/flask-api-db: `up -d --wait` of a new env on {REPLICAS_ROLLED} API replicas, under HTTP load"
    target = Target(max_stack_failed_requests=0)
    running = 2 + REPLICAS_ROLLED  # db, frontend and the API replicas

    def __init__(self) -> None:
        self.loads: dict[str, LoadLoop] = {}
        self.results: dict[str, LoadResult] = {}

    def up(self, b: Bound) -> list[str]:
        # --scale on every `up`: without it, `up` goes back to the file's single replica.
        return b.command("up", "-d", "--wait", "--scale", f"api={REPLICAS_ROLLED}")

    def url(self, b: Bound) -> str:
        return f"http://127.0.0.1:{b.env['FRONTEND_PORT']}/api/whoami"

    def before_round(self, ctx: Context, b: Bound) -> None:
        # Untimed: a fresh stack of release 1, alone on the daemon (the other tool's is down),
        # answering through the frontend; then the load starts and the environment changes.
        b.env["APP_RELEASE"] = "1"
        run_checked(self.up(b), cwd=b.file.parent, env=b.env, timeout_s=SETUP_TIMEOUT_S)
        with LoadLoop(self.url(b), threads=1) as probe:
            probe.wait_first_ok(deadline_s=60)
        b.env["APP_RELEASE"] = "2"
        load = self.loads[b.tool.name] = LoadLoop(self.url(b), threads=2, timeout_s=10)
        load.start().wait_first_ok(deadline_s=30)

    def timed_command(self, b: Bound) -> list[str]:
        return self.up(b)

    def check(self, ctx: Context, b: Bound, m: Measurement) -> None:
        result = self.results[b.tool.name] = self.loads.pop(b.tool.name).stop()
        print(f"bench: [{self.key}] {b.tool.name}: {result.summary()}", file=sys.stderr, flush=True)
        expect_running(ctx, b, self.running)
        releases = ctx.need_daemon().service_env(b.tool.project_label, b.project, "api", "APP_RELEASE")
        if releases != ["2"] * REPLICAS_ROLLED:
            raise BenchError(f"{b.tool.name}: the API replicas run APP_RELEASE {releases}, expected 2 on each")

    def round_metrics(self, ctx: Context, b: Bound) -> dict[str, float]:
        result = self.results.pop(b.tool.name)
        return {REQUESTS: result.total, FAILED_REQUESTS: result.failed}

    def after_all(self, ctx: Context, b: Bound) -> None:
        load = self.loads.pop(b.tool.name, None)  # a round that failed before its check
        if load is not None:
            load.stop()
        super().after_all(ctx, b)


SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        ColdUp(),
        NoopUp(),
        ScaleUp(),
        DownReplicas(),
        PsMany(),
        ConfigMany(),
        StartUp(),
        FlaskExample(),
        RollingUpdate(),
    )
}
