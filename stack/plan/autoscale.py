"""The autoscaler's decision: from one sample of a service's metrics to a replica count, and why.

Pure (no clock, no daemon): `Autoscaler.decide(sample)` reads the time from the sample, so a
synthetic series of samples drives it in the unit tests exactly as the live loop does.

The rule is Kubernetes' HorizontalPodAutoscaler's, per metric:

    recommendation = ceil(ready replicas * average per replica / target)

left at the current count while the ratio average/target is within 1 +- `tolerance`; with
several metrics (CPU, request rate) the largest recommendation wins; then clamped to
[min, max].  Two guards stop flapping:

* the stabilisation windows: a scale-up goes only as far as the *lowest* recommendation of the
  last `window_up` seconds (one spike does not add replicas when the window is set), a
  scale-down only as far as the *highest* of the last `window_down` seconds (a dip of a few
  samples removes nothing);
* the cooldowns: after a scaling, no scale-up for `cooldown_up` seconds and no scale-down for
  `cooldown_down` seconds (the new replicas' effect must show in the metrics first).

A count outside [min, max] (a user ran `stack scale`) is brought back at once, cooldowns aside.
A sample without metrics (no ready replica could be read) changes nothing.  The windows start
full of the replica count the first sample found: a freshly started autoscaler removes replicas
only after a whole `window_down` of low readings (and adds them only after `window_up`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from stack.spec.autoscale import AutoscalePolicy

Action = Literal["up", "down", "hold"]


@dataclass(frozen=True)
class Sample:
    """What the engine read of a service at time `at` (seconds, any monotonic clock)."""

    at: float
    replicas: int  # ready replicas (healthy, or running without a healthcheck): the ones counted
    cpu: tuple[float, ...] = ()  # CPU % of one core, one value per ready replica read
    requests: float | None = None  # requests per second over the last interval, all replicas together

    @property
    def cpu_average(self) -> float | None:
        return sum(self.cpu) / len(self.cpu) if self.cpu else None


@dataclass(frozen=True)
class Decision:
    at: float
    service: str
    current: int
    desired: int
    action: Action
    reason: str
    metrics: dict[str, float] = field(default_factory=dict)  # the values behind the decision

    def describe(self) -> str:
        """One line: what, and the numbers why."""
        values = ", ".join(f"{k}={_number(v)}" for k, v in self.metrics.items())
        change = f"{self.current} -> {self.desired}" if self.action != "hold" else f"{self.current}"
        return f"{self.service}: {self.action} {change}: {self.reason}" + (f" [{values}]" if values else "")

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "service": self.service,
            "action": self.action,
            "current": self.current,
            "desired": self.desired,
            "reason": self.reason,
            "metrics": dict(self.metrics),
        }


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def recommend(current: int, average: float, target: float, tolerance: float) -> int:
    """HPA's rule for one metric: the replicas that bring the average per replica to `target`."""
    if current <= 0:
        return 1 if average > 0 else 0
    ratio = average / target
    if abs(ratio - 1.0) <= tolerance:
        return current
    return max(1, math.ceil(current * ratio - 1e-9))


class Autoscaler:
    """The decisions for one service, remembering what the windows and cooldowns need."""

    def __init__(self, service: str, policy: AutoscalePolicy) -> None:
        self.service = service
        self.policy = policy
        self._history: deque[tuple[float, int]] = deque()  # (at, recommendation)
        self.last_scaled: float | None = None  # when the last scaling ended
        self._started = False

    def scaled(self, at: float) -> None:
        """A scaling was carried out (or failed) and ended at `at`: the cooldowns count from here."""
        self.last_scaled = at

    def decide(self, sample: Sample) -> Decision:
        p = self.policy
        current = sample.replicas
        if not self._started:
            # No history yet: the windows start full of the count found, so that a freshly
            # started autoscaler scales down only after a whole window of low readings.
            self._started = True
            self._history.append((sample.at, current))
        metrics: dict[str, float] = {"replicas": float(current)}
        recommendations: list[tuple[int, str]] = []
        ratios: list[float] = []  # average / target of each metric
        cpu = sample.cpu_average
        if p.cpu is not None and cpu is not None and current > 0:
            metrics["cpu%"] = round(cpu, 1)
            metrics["cpu_target%"] = p.cpu
            recommendations.append((recommend(current, cpu, p.cpu, p.tolerance), f"cpu {cpu:.0f}% vs {p.cpu:g}%"))
            ratios.append(cpu / p.cpu)
        if p.requests is not None and sample.requests is not None and current > 0:
            per_replica = sample.requests / current
            metrics["req/s"] = round(sample.requests, 2)
            metrics["req/s/replica"] = round(per_replica, 2)
            metrics["req_target/s"] = p.requests.target
            ratios.append(per_replica / p.requests.target)
            recommendations.append(
                (
                    recommend(current, per_replica, p.requests.target, p.tolerance),
                    f"{per_replica:.1f} req/s per replica vs {p.requests.target:g}",
                )
            )
        if current < p.min or current > p.max:
            desired = p.clamp(current)
            self._remember(sample.at, desired)
            return self._scale(sample, desired, f"outside min {p.min} / max {p.max}", metrics)
        if not recommendations:
            return Decision(sample.at, self.service, current, current, "hold", "no metrics yet", metrics)
        raw, why = max(recommendations, key=lambda r: r[0])
        recommended = p.clamp(raw)
        metrics["recommended"] = float(recommended)
        self._remember(sample.at, recommended)
        if recommended > current:
            return self._up(sample, current, recommended, why, metrics)
        if recommended < current:
            return self._down(sample, current, recommended, why, metrics)
        if raw > current:
            state = "at max"
        elif raw < current or (current == p.min and max(ratios) < 1.0 - p.tolerance):
            state = "at min"
        else:
            state = "on target"
        return Decision(sample.at, self.service, current, current, "hold", f"{why}: {state}", metrics)

    def _remember(self, at: float, recommendation: int) -> None:
        self._history.append((at, recommendation))
        keep = max(self.policy.window_up, self.policy.window_down)
        while self._history and self._history[0][0] < at - keep:
            self._history.popleft()

    def _within(self, at: float, window: float) -> list[int]:
        """The recommendations of the last `window` seconds (without a window: the latest)."""
        if window <= 0:
            return [self._history[-1][1]]
        return [n for t, n in self._history if t >= at - window]

    def _cooling(self, at: float, cooldown: float) -> float:
        """Seconds of the cooldown left (0: none)."""
        if self.last_scaled is None:
            return 0.0
        return max(0.0, self.last_scaled + cooldown - at)

    def _up(self, sample: Sample, current: int, recommended: int, why: str, metrics: dict[str, float]) -> Decision:
        stable = min(self._within(sample.at, self.policy.window_up))
        if stable <= current:
            reason = f"{why}: wants {recommended}, stabilising (lowest in {self.policy.window_up:g}s window: {stable})"
            return Decision(sample.at, self.service, current, current, "hold", reason, metrics)
        left = self._cooling(sample.at, self.policy.cooldown_up)
        if left > 0:
            reason = f"{why}: wants {stable}, cooling down ({left:.0f}s left)"
            return Decision(sample.at, self.service, current, current, "hold", reason, metrics)
        return self._scale(sample, stable, why, metrics)

    def _down(self, sample: Sample, current: int, recommended: int, why: str, metrics: dict[str, float]) -> Decision:
        stable = max(self._within(sample.at, self.policy.window_down))
        if stable >= current:
            reason = (
                f"{why}: wants {recommended}, stabilising (highest in {self.policy.window_down:g}s window: {stable})"
            )
            return Decision(sample.at, self.service, current, current, "hold", reason, metrics)
        left = self._cooling(sample.at, self.policy.cooldown_down)
        if left > 0:
            reason = f"{why}: wants {stable}, cooling down ({left:.0f}s left)"
            return Decision(sample.at, self.service, current, current, "hold", reason, metrics)
        return self._scale(sample, stable, why, metrics)

    def _scale(self, sample: Sample, desired: int, why: str, metrics: dict[str, float]) -> Decision:
        current = sample.replicas
        if desired == current:
            return Decision(sample.at, self.service, current, current, "hold", why, metrics)
        action: Action = "up" if desired > current else "down"
        return Decision(sample.at, self.service, current, desired, action, why, metrics)
