"""`python -m bench`: run the scenarios, print the Markdown table, write results/latest.{md,json}."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import machine, report
from bench.errors import BenchError
from bench.runner import ScenarioResult, log, run_scenario
from bench.scenarios import SCENARIOS, Context
from bench.tools import BENCH_DIR, find_compose, find_stack


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    keys = ",".join(SCENARIOS)
    listing = "\n".join(f"  {s.key}  {s.title}" for s in SCENARIOS.values())
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark stack against Docker Compose v2 on the same daemon, side by side.",
        epilog=f"scenarios:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds per scenario (default 5)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the uncounted warm-up round")
    parser.add_argument("--scenario", default=keys, help=f"comma-separated scenarios to run (default {keys})")
    parser.add_argument(
        "--output-dir", type=Path, default=BENCH_DIR / "results", help="where latest.md and latest.json go"
    )
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / ".work", help="where the generated stack files go")
    args = parser.parse_args(argv)
    wanted = [k.strip() for k in args.scenario.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in SCENARIOS]
    if unknown or not wanted:
        parser.error(f"unknown scenario(s) {', '.join(unknown) or '(none given)'}; choose from {keys}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.scenario = wanted
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warmup = 0 if args.no_warmup else 1
    ctx = Context(workdir=args.workdir.resolve())
    try:
        tools = [find_stack(), find_compose()]
        chosen = [SCENARIOS[k] for k in args.scenario]
        if any(s.needs_daemon for s in chosen):
            ctx.need_daemon()
        results: list[ScenarioResult] = [run_scenario(ctx, s, tools, rounds=args.rounds, warmup=warmup) for s in chosen]
        about = machine.describe(tools, ctx.daemon)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if ctx.daemon is not None:
            ctx.daemon.close()
    table = report.markdown(results, about, rounds=args.rounds, warmup=warmup)
    sys.stdout.write(table)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "latest.md").write_text(table)
    document = report.as_json(results, about, rounds=args.rounds, warmup=warmup)
    (args.output_dir / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    log(f"wrote {args.output_dir / 'latest.md'} and {args.output_dir / 'latest.json'}")
    failed = [r.scenario.key for r in results if r.error]
    if failed:
        log(f"failed scenarios: {', '.join(failed)}")
        return 1
    return 0
