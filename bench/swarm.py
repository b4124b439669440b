"""`python -m bench.swarm`: `stack swarm deploy --wait` against `docker stack deploy --detach=false`
on the ten-service healthy chain, side by side, with the time until every task is healthy.

Both tools deploy the same file (the chain of bench/files.py, every service `endpoint_mode:
dnsrr`: without IPVS in the kernel, service VIPs do not work), except that `docker stack deploy`
gets `depends_on` as a list: it refuses the long form with `condition:`.  For each round and tool: the
command's wall time, and the time from its start until every service's tasks run with a healthy
container (polled from the daemon, while the command runs and after it returned).  Then the
tool's own removal, and a wait until the daemon has no task of it left.

It starts a single-node swarm (`docker swarm init --advertise-addr 127.0.0.1`) and leaves it at
the end, even on failure; it refuses to run on a daemon already in a swarm, or, where the daemon
is shared, while the gate file STACK_SWARM_GATE (default /tmp/swarm-go; empty: no gate) is absent.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import yaml

from bench import files
from bench.errors import BenchError
from bench.tools import BENCH_DIR, find_stack

STACK_LABEL = "dev.stack.swarm.project"
DOCKER_LABEL = "com.docker.stack.namespace"
TIMEOUT_S = 300.0
POLL_S = 0.1


def chain_file(workdir: Path, *, short_depends_on: bool = False) -> Path:
    """The chain; `short_depends_on`: `depends_on` as a list, the only form `docker stack deploy`
    reads (it refuses `condition:`, and would ignore the order anyway): its one difference."""
    document = yaml.safe_load(files.healthy_chain(start_interval=False))
    for service in document["services"].values():
        service["deploy"] = {"endpoint_mode": "dnsrr"}
        if short_depends_on and "depends_on" in service:
            service["depends_on"] = sorted(service["depends_on"])
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / ("swarm-chain-docker.yaml" if short_depends_on else "swarm-chain.yaml")
    path.write_text(files.dump(document))
    return path


def _all_healthy(client: docker.APIClient, label: str, project: str, expected: int) -> bool:
    services = client.services(filters={"label": [f"{label}={project}"]})
    if len(services) != expected:
        return False
    for service in services:
        tasks = client.tasks(filters={"service": [service["ID"]], "desired-state": ["running"]})
        running = [t for t in tasks if t["Status"]["State"] == "running"]
        if not running:
            return False
        for task in running:
            container = task["Status"].get("ContainerStatus", {}).get("ContainerID")
            if not container:
                return False
            health = client.inspect_container(container)["State"].get("Health") or {}
            if health.get("Status") != "healthy":
                return False
    return True


def _poll(what: str, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(POLL_S)  # poll interval: the daemon's state, until the deadline


@dataclass
class Round:
    command_s: float
    healthy_s: float


@dataclass
class ToolRun:
    name: str
    command: str
    rounds: list[Round] = field(default_factory=list)


def _timed(client: docker.APIClient, argv: list[str], label: str, project: str, expected: int, cwd: Path) -> Round:
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    command_s: float | None = None
    healthy_s: float | None = None
    deadline = start + TIMEOUT_S
    while command_s is None or healthy_s is None:
        if command_s is None and proc.poll() is not None:
            command_s = time.monotonic() - start
            if proc.returncode != 0:
                raise BenchError(
                    f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}"
                )
        if healthy_s is None and _all_healthy(client, label, project, expected):
            healthy_s = time.monotonic() - start
        if time.monotonic() > deadline:
            proc.kill()
            raise BenchError(f"{' '.join(argv)}: not done and healthy within {TIMEOUT_S:g} s")
        time.sleep(POLL_S)  # poll interval: the command's end and the tasks' health
    return Round(command_s, healthy_s)


def _swarm_init(client: docker.APIClient) -> None:
    gate = os.environ.get("STACK_SWARM_GATE", "/tmp/swarm-go")
    if gate and not os.path.exists(gate):
        raise BenchError(f"the swarm gate {gate} does not exist: a swarm may not be started on this daemon now")
    state = client.info().get("Swarm", {}).get("LocalNodeState")
    if state != "inactive":
        raise BenchError(f"the daemon is already in a swarm ({state}): this bench only uses one it starts")
    subprocess.run(
        ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"],
        check=True,
        capture_output=True,
    )


def _swarm_leave() -> None:
    subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        inspected = subprocess.run(
            ["docker", "network", "inspect", "--format", "{{len .Containers}}", "docker_gwbridge"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if inspected.returncode != 0:
            return  # gone
        if (
            subprocess.run(["docker", "network", "rm", "docker_gwbridge"], capture_output=True, timeout=30).returncode
            == 0
        ):
            return
        if inspected.stdout.strip() == "0" or time.monotonic() > deadline:
            # none attached, yet "active endpoints": a stale endpoint (moby/moby#37018); the next
            # `swarm init` reuses the bridge
            print("bench.swarm: docker_gwbridge could not be removed (stale endpoint, moby#37018)", file=sys.stderr)
            return
        time.sleep(0.5)  # poll: until the bridge has no endpoint left


def _no_tasks_left(client: docker.APIClient, project: str) -> Callable[[], bool]:
    def check() -> bool:
        found = client.containers(all=True, filters={"label": ["com.docker.swarm.service.name"]})
        return not any(str(c["Labels"]["com.docker.swarm.service.name"]).startswith(f"{project}_") for c in found)

    return check


def run_bench(rounds: int) -> list[ToolRun]:
    client = docker.APIClient(version="1.41", **docker.utils.kwargs_from_env())
    workdir = BENCH_DIR / ".work"
    path = chain_file(workdir)
    docker_path = chain_file(workdir, short_depends_on=True)
    expected = sum(len(level) for level in files.CHAIN_LEVELS)
    stack = find_stack()
    runs = [
        ToolRun("stack", "stack swarm deploy --wait"),
        ToolRun("docker stack", "docker stack deploy --detach=false"),
    ]
    _swarm_init(client)
    try:
        for n in range(rounds):
            project = f"benchswarm{n}s"
            argv = stack.command("-f", str(path), "-p", project, "swarm", "deploy", "--wait")
            runs[0].rounds.append(_timed(client, argv, STACK_LABEL, project, expected, workdir))
            subprocess.run(stack.command("-p", project, "swarm", "rm"), check=True, capture_output=True)
            _poll(f"the tasks of {project} to be gone", _no_tasks_left(client, project))
            project = f"benchswarm{n}d"
            argv = ["docker", "stack", "deploy", "--detach=false", "-c", str(docker_path), project]
            runs[1].rounds.append(_timed(client, argv, DOCKER_LABEL, project, expected, workdir))
            subprocess.run(["docker", "stack", "rm", project], check=True, capture_output=True)
            _poll(f"the tasks of {project} to be gone", _no_tasks_left(client, project))
            print(
                f"round {n + 1}: stack {runs[0].rounds[-1]}, docker stack {runs[1].rounds[-1]}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        _swarm_leave()
        client.close()
    return runs


def markdown(runs: list[ToolRun]) -> str:
    lines = [
        "| tool | command | command median (s) | all tasks healthy, median (s) | rounds |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for run in runs:
        command = statistics.median(r.command_s for r in run.rounds)
        healthy = statistics.median(r.healthy_s for r in run.rounds)
        lines.append(f"| {run.name} | `{run.command}` | {command:.2f} | {healthy:.2f} | {len(run.rounds)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.swarm", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        runs = run_bench(max(1, args.rounds))
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(markdown(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
