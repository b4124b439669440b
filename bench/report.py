"""Turn scenario results into numbers (min/median/max, pair ratios) and render them as Markdown and JSON."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.runner import ScenarioResult, ToolSamples
from bench.scenarios import FAILED_REQUESTS, REQUESTS

STACK, COMPOSE = "stack", "compose"


@dataclass(frozen=True)
class Summary:
    """The numbers of one completed scenario."""

    stack_s: tuple[float, float, float]  # min, median, max
    compose_s: tuple[float, float, float]
    ratios: list[float]  # stack/compose, pair by pair
    ratio_median: float
    stack_peak_rss_mib: float
    compose_peak_rss_mib: float
    target_met: bool


def _spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def summarise(result: ScenarioResult) -> Summary | None:
    if result.skipped or result.error:
        return None
    stack, compose = result.samples[STACK], result.samples[COMPOSE]
    if not stack.times_s or len(stack.times_s) != len(compose.times_s):
        return None
    ratios = [s / c for s, c in zip(stack.times_s, compose.times_s, strict=True)]
    ratio_median = statistics.median(ratios)
    stack_spread = _spread(stack.times_s)
    stack_failed = max(stack.metrics[FAILED_REQUESTS]) if FAILED_REQUESTS in stack.metrics else None
    return Summary(
        stack_s=stack_spread,
        compose_s=_spread(compose.times_s),
        ratios=ratios,
        ratio_median=ratio_median,
        stack_peak_rss_mib=max(stack.max_rss_kib) / 1024,
        compose_peak_rss_mib=max(compose.max_rss_kib) / 1024,
        target_met=result.scenario.target.met(ratio_median, stack_spread[1], stack_failed),
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _triple(spread: tuple[float, float, float]) -> str:
    low, mid, high = spread
    return f"{_ms(low)} / **{_ms(mid)}** / {_ms(high)}"


def markdown(results: list[ScenarioResult], machine: dict[str, str], *, rounds: int, warmup: int) -> str:
    lines = [
        f"Wall time in ms, min / **median** / max over {rounds} counted round(s) after {warmup} warm-up "
        "round(s), the tools alternating (stack, compose, stack, compose, ...). Ratio: stack/compose per pair, "
        "median (and range). Peak RSS: max over rounds of the tool's process.",
        "",
        "| | scenario | stack (ms) | compose (ms) | ratio | target | met | stack peak RSS | compose peak RSS |",
        "|---|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for result in results:
        s = result.scenario
        summary = summarise(result)
        if summary is None:
            note = f"skipped: {result.skipped}" if result.skipped else f"failed: {_first_line(result.error)}"
            lines.append(f"| {s.key} | {s.title} | {note} | | | {s.target.describe()} | | | |")
            continue
        ratio = f"**{summary.ratio_median:.2f}** ({min(summary.ratios):.2f}-{max(summary.ratios):.2f})"
        lines.append(
            f"| {s.key} | {s.title} | {_triple(summary.stack_s)} | {_triple(summary.compose_s)} | {ratio} "
            f"| {s.target.describe()} | {'yes' if summary.target_met else '**no**'} "
            f"| {summary.stack_peak_rss_mib:.0f} MiB | {summary.compose_peak_rss_mib:.0f} MiB |"
        )
    lines += _request_lines(results)
    lines += ["", "Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items())]
    return "\n".join(lines) + "\n"


def _requests(samples: ToolSamples) -> str:
    pairs = zip(samples.metrics[FAILED_REQUESTS], samples.metrics.get(REQUESTS, []), strict=False)
    return ", ".join(f"{failed:g}/{sent:g}" for failed, sent in pairs)


def _request_lines(results: list[ScenarioResult]) -> list[str]:
    """For the scenarios under HTTP load: failed/sent requests during each counted timed command."""
    lines = []
    for result in results:
        if result.skipped or result.error:
            continue
        if not all(FAILED_REQUESTS in samples.metrics for samples in result.samples.values()):
            continue
        per_tool = "; ".join(f"{name} {_requests(samples)}" for name, samples in result.samples.items())
        lines.append(f"- {result.scenario.key}: failed/sent requests during the timed command, per round: {per_tool}")
    return ["", *lines] if lines else []


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].replace("|", "\\|") if text else ""


def as_json(results: list[ScenarioResult], machine: dict[str, str], *, rounds: int, warmup: int) -> dict[str, Any]:
    scenarios: list[dict[str, Any]] = []
    for result in results:
        s = result.scenario
        entry: dict[str, Any] = {
            "key": s.key,
            "title": s.title,
            "target": {"max_ratio": s.target.max_ratio, "max_stack_s": s.target.max_stack_s},
            "skipped": result.skipped,
            "error": result.error,
        }
        for name, samples in result.samples.items():
            entry[name] = {"command": samples.command, "times_s": samples.times_s, "max_rss_kib": samples.max_rss_kib}
            if samples.metrics:
                entry[name]["metrics"] = samples.metrics
        summary = summarise(result)
        if summary is not None:
            for name, spread in ((STACK, summary.stack_s), (COMPOSE, summary.compose_s)):
                entry[name].update(dict(zip(("min_s", "median_s", "max_s"), spread, strict=True)))
            entry["ratios"] = summary.ratios
            entry["ratio_median"] = summary.ratio_median
            entry["stack_peak_rss_mib"] = summary.stack_peak_rss_mib
            entry["compose_peak_rss_mib"] = summary.compose_peak_rss_mib
            entry["target_met"] = summary.target_met
        scenarios.append(entry)
    return {"machine": machine, "rounds": rounds, "warmup": warmup, "scenarios": scenarios}
