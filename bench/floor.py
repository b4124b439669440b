"""`python -m bench.floor`: how fast stack's orchestration alone is, start-up cost removed.

For the cold-start scenarios (a, h) the timed command is mostly daemon time: container starts
and healthcheck intervals that both tools wait for alike.  This runs stack's `up --wait` in
this process, with every module imported and the stack file loaded before the clock starts,
alternating with Compose's CLI on the same file.  The ratio it prints is the best the CLI could
reach on this machine if its start-up (imports, loading, ~0.3 s) cost nothing: the floor that
daemon latency sets, which tells a start-up problem from a daemon-bound one.

Not part of the main table: the main bench times what a user waits for, the whole command.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from bench.errors import BenchError
from bench.measure import Measurement, run
from bench.runner import log
from bench.scenarios import SCENARIOS, TIMED_TIMEOUT_S, Bound, Context, Scenario
from bench.tools import BENCH_DIR, find_compose, find_stack

SUPPORTED = ("a", "h")


def _stack_in_process(b: Bound) -> float:
    """Seconds of `up --wait` for b's stack, everything imported and loaded beforehand."""
    from stack.api import up
    from stack.engine.docker_api import DockerAPI
    from stack.plan.options import UpOptions
    from stack.spec.loader import LoadOptions, load_project

    env_files = [b.global_args[i + 1] for i, arg in enumerate(b.global_args) if arg == "--env-file"]
    options = LoadOptions(
        files=[str(b.file)], project_name=b.project, env_files=env_files, environ=b.env, cwd=str(b.file.parent)
    )
    project = load_project(options)
    docker = DockerAPI.from_env(environment=b.env)
    try:
        began = time.perf_counter()
        up(project, UpOptions(wait=True), api=docker)
        return time.perf_counter() - began
    finally:
        docker.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.floor", description="stack's orchestration alone (start-up excluded) against Compose."
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-warmup", action="store_true", help="skip the uncounted first round")
    parser.add_argument("--scenario", default=",".join(SUPPORTED), help=f"of {', '.join(SUPPORTED)}")
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / ".work")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.scenario.split(",") if k.strip()]
    if not keys or any(k not in SUPPORTED for k in keys):
        parser.error(f"--scenario: choose from {', '.join(SUPPORTED)}")
    ctx = Context(workdir=args.workdir.resolve())
    stack_tool, compose = find_stack(), find_compose()
    bounds: list[Bound] = []
    scenario_of: dict[str, Scenario] = {}
    try:
        for key in keys:
            scenario = SCENARIOS[key]
            file = scenario.prepare(ctx)
            ours, theirs = scenario.bind(ctx, stack_tool, file), scenario.bind(ctx, compose, file)
            for bound in (ours, theirs):
                bounds.append(bound)
                scenario_of[bound.project] = scenario
                scenario.before_all(ctx, bound)
            ratios = []
            warmup = 0 if args.no_warmup else 1
            for number in range(1 - warmup, args.rounds + 1):  # round 0 is the warm-up
                scenario.before_round(ctx, ours)
                stack_s = _stack_in_process(ours)
                scenario.check(ctx, ours, Measurement(("stack (in-process)",), stack_s, 0, 0, False, "", ""))
                scenario.after_round(ctx, ours)
                scenario.before_round(ctx, theirs)
                m = run(scenario.timed_command(theirs), cwd=file.parent, env=theirs.env, timeout_s=TIMED_TIMEOUT_S)
                if not m.ok:
                    raise BenchError(m.describe_failure())
                scenario.check(ctx, theirs, m)
                scenario.after_round(ctx, theirs)
                label = "warm-up" if number == 0 else f"round {number}/{args.rounds}"
                log(f"[{key}] {label}: stack in-process {stack_s:.2f} s, compose CLI {m.wall_s:.2f} s")
                if number:
                    ratios.append(stack_s / m.wall_s)
            print(
                f"{key}: {scenario.title}: stack without start-up / compose, median {statistics.median(ratios):.2f}"
                f" (range {min(ratios):.2f}-{max(ratios):.2f}, {len(ratios)} rounds)"
            )
    except BenchError as exc:
        print(f"bench.floor: error: {exc}", file=sys.stderr)
        return 1
    finally:
        for bound in bounds:
            scenario_of[bound.project].after_all(ctx, bound)
        if ctx.daemon is not None:
            ctx.daemon.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
