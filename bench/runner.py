"""Run one scenario: both tools alternately (A B A B ...), a warm-up round, then the counted rounds."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from bench.daemon import STALE_ENDPOINTS
from bench.errors import BenchError
from bench.measure import Measurement, run
from bench.scenarios import TIMED_TIMEOUT_S, Bound, Context, Scenario
from bench.tools import Tool


@dataclass
class ToolSamples:
    """The counted runs of one tool in one scenario."""

    command: list[str] = field(default_factory=list)
    times_s: list[float] = field(default_factory=list)
    max_rss_kib: list[int] = field(default_factory=list)
    # Scenario.round_metrics of each counted round, by name (e.g. failed_requests).
    metrics: dict[str, list[float]] = field(default_factory=dict)

    def add(self, m: Measurement, metrics: dict[str, float]) -> None:
        self.times_s.append(m.wall_s)
        self.max_rss_kib.append(m.max_rss_kib)
        for name, value in metrics.items():
            self.metrics.setdefault(name, []).append(value)


@dataclass
class ScenarioResult:
    scenario: Scenario
    samples: dict[str, ToolSamples] = field(default_factory=dict)
    skipped: str | None = None
    error: str | None = None


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run_scenario(ctx: Context, scenario: Scenario, tools: list[Tool], *, rounds: int, warmup: int) -> ScenarioResult:
    result = ScenarioResult(scenario, {t.name: ToolSamples() for t in tools})
    reason = scenario.skip_reason(ctx)
    if reason is not None:
        result.skipped = reason
        log(f"[{scenario.key}] skipped: {reason}")
        return result
    bounds: list[Bound] = []
    try:
        log(f"[{scenario.key}] {scenario.title}: preparing")
        file = scenario.prepare(ctx)
        for tool in tools:
            bound = scenario.bind(ctx, tool, file)
            bounds.append(bound)
            result.samples[tool.name].command = scenario.timed_command(bound)
            scenario.before_all(ctx, bound)
        for number in range(warmup + rounds):
            counted = number >= warmup
            label = f"round {number - warmup + 1}/{rounds}" if counted else "warm-up"
            for bound in bounds:
                m, metrics = _timed_round(ctx, scenario, bound)
                extra = "".join(f", {name} {value:g}" for name, value in metrics.items())
                log(f"[{scenario.key}] {label} {bound.tool.name}: {m.wall_s * 1000:.0f} ms{extra}")
                if counted:
                    result.samples[bound.tool.name].add(m, metrics)
    except BenchError as exc:
        result.error = str(exc)
        log(f"[{scenario.key}] FAILED: {exc}")
    finally:
        for bound in bounds:
            try:
                scenario.after_all(ctx, bound)
            except Exception as exc:  # whatever it is: report it, and still clean the other tool's project
                log(f"[{scenario.key}] cleanup of {bound.project} failed: {exc}")
    return result


def _only_stale_endpoints(m: Measurement) -> bool:
    """The command failed only on the daemon's stale-endpoint bug (a network it cannot remove):
    the timed work is done, and `check` verifies it; the leftover network is the daemon's."""
    output = f"{m.stdout}\n{m.stderr}"
    if m.timed_out or STALE_ENDPOINTS not in output:
        return False
    log(f"warning: {m.describe_failure().splitlines()[0]} (the daemon's stale-endpoint bug, moby/moby#43286)")
    return True


def _timed_round(ctx: Context, scenario: Scenario, bound: Bound) -> tuple[Measurement, dict[str, float]]:
    scenario.before_round(ctx, bound)
    m = run(scenario.timed_command(bound), cwd=bound.file.parent, env=bound.env, timeout_s=TIMED_TIMEOUT_S)
    if not m.ok and not _only_stale_endpoints(m):
        raise BenchError(m.describe_failure())
    scenario.check(ctx, bound, m)
    metrics = scenario.round_metrics(ctx, bound)
    scenario.after_round(ctx, bound)
    return m, metrics
