"""The autoscaler's decisions over synthetic metric series: the HPA rule, min/max, tolerance,
stabilisation windows, cooldowns, request rate, and the values each decision carries."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest

from stack.plan.autoscale import Autoscaler, Decision, Sample, recommend
from stack.spec.autoscale import AutoscalePolicy, RequestRate

FAST = AutoscalePolicy(
    min=1, max=4, cpu=50.0, interval=1.0, cooldown_up=0.0, cooldown_down=0.0, window_up=0.0, window_down=0.0
)


def cpu(at: float, replicas: int, each: float) -> Sample:
    return Sample(at=at, replicas=replicas, cpu=(each,) * replicas)


def run(scaler: Autoscaler, series: Iterable[tuple[float, float]], start: int) -> list[Decision]:
    """Feed (time, cpu per replica) samples, applying each scaling at once, as the loop does."""
    replicas = start
    decisions = []
    for at, each in series:
        decision = scaler.decide(cpu(at, replicas, each))
        decisions.append(decision)
        if decision.action != "hold":
            replicas = decision.desired
            scaler.scaled(at)
    return decisions


@pytest.mark.parametrize(
    ("current", "average", "target", "expected"),
    [
        (1, 100.0, 50.0, 2),
        (2, 90.0, 30.0, 6),
        (4, 10.0, 50.0, 1),
        (3, 52.0, 50.0, 3),  # within 10%: no change
        (3, 56.0, 50.0, 4),
        (3, 0.0, 50.0, 1),  # never below one
    ],
)
def test_recommend_is_the_hpa_rule(current: int, average: float, target: float, expected: int) -> None:
    assert recommend(current, average, target, 0.1) == expected


def test_a_busy_service_scales_up_to_max_and_no_further() -> None:
    scaler = Autoscaler("web", FAST)
    decisions = run(scaler, [(t, 100.0) for t in range(6)], start=1)
    assert [(d.action, d.current, d.desired) for d in decisions[:3]] == [("up", 1, 2), ("up", 2, 4), ("hold", 4, 4)]
    assert "at max" in decisions[2].reason


def test_an_idle_service_scales_down_to_min() -> None:
    decisions = run(Autoscaler("web", FAST), [(0.0, 1.0), (1.0, 1.0)], start=4)
    assert [(d.action, d.desired) for d in decisions] == [("down", 1), ("hold", 1)]
    assert "at min" in decisions[1].reason


def test_within_tolerance_nothing_changes() -> None:
    decisions = run(Autoscaler("web", FAST), [(t, v) for t, v in enumerate([46.0, 54.0, 50.0, 47.0])], start=2)
    assert all(d.action == "hold" for d in decisions)


def test_every_decision_carries_the_values_behind_it() -> None:
    decision = Autoscaler("web", FAST).decide(Sample(at=0.0, replicas=2, cpu=(80.0, 100.0)))
    assert decision.metrics == {"replicas": 2.0, "cpu%": 90.0, "cpu_target%": 50.0, "recommended": 4.0}
    assert decision.describe() == (
        "web: up 2 -> 4: cpu 90% vs 50% [replicas=2, cpu%=90, cpu_target%=50, recommended=4]"
    )
    assert decision.as_json()["metrics"] == decision.metrics


def test_the_down_window_ignores_a_short_dip() -> None:
    policy = AutoscalePolicy(min=1, max=4, cpu=50.0, cooldown_up=0, cooldown_down=0, window_down=10.0)
    # Busy at 3 replicas, a 5 s dip, busy again: no replica is removed during the dip.
    series = [(0.0, 50.0), (2.0, 5.0), (4.0, 5.0), (6.0, 5.0), (8.0, 50.0), (10.0, 50.0)]
    decisions = run(Autoscaler("web", policy), series, start=3)
    assert all(d.action == "hold" for d in decisions)
    assert "stabilising (highest in 10s window: 3)" in decisions[1].reason


def test_the_down_window_lets_a_lasting_drop_through_once_it_fills() -> None:
    policy = AutoscalePolicy(min=1, max=4, cpu=50.0, cooldown_up=0, cooldown_down=0, window_down=4.0)
    series = [(0.0, 50.0), *[(float(t), 5.0) for t in range(1, 8)]]
    decisions = run(Autoscaler("web", policy), series, start=3)
    actions = [(d.at, d.action, d.desired) for d in decisions if d.action != "hold"]
    # The 3-replica recommendation of t=0 leaves the 4 s window after t=4.
    assert actions == [(5.0, "down", 1)]


def test_the_up_window_ignores_a_single_spike() -> None:
    policy = AutoscalePolicy(min=1, max=4, cpu=50.0, cooldown_up=0, cooldown_down=0, window_up=3.0, window_down=0)
    decisions = run(Autoscaler("web", policy), [(0.0, 40.0), (1.0, 200.0), (2.0, 45.0), (3.0, 40.0)], start=1)
    assert all(d.action == "hold" for d in decisions)
    assert "stabilising (lowest in 3s window: 1)" in decisions[1].reason


def test_the_up_window_scales_to_the_lowest_recommendation_it_held() -> None:
    policy = AutoscalePolicy(min=1, max=8, cpu=50.0, cooldown_up=0, cooldown_down=0, window_up=2.0, window_down=0)
    scaler = Autoscaler("web", policy)
    decisions = [
        scaler.decide(cpu(at, 1, each)) for at, each in [(0.0, 40.0), (1.0, 200.0), (2.0, 120.0), (3.0, 150.0)]
    ]
    assert [d.action for d in decisions] == ["hold", "hold", "hold", "up"]
    assert decisions[3].desired == 3  # lowest of 4 (t=1), 3 (t=2) and 3 (t=3)


def test_cooldowns_space_the_scalings() -> None:
    policy = AutoscalePolicy(min=1, max=10, cpu=50.0, cooldown_up=5.0, cooldown_down=20.0, window_up=0, window_down=0)
    series = [(0.0, 100.0), (1.0, 100.0), (4.0, 100.0), (5.0, 100.0), (10.0, 5.0), (24.0, 5.0), (25.0, 5.0)]
    decisions = run(Autoscaler("web", policy), series, start=1)
    assert [(d.at, d.action) for d in decisions] == [
        (0.0, "up"),  # 1 -> 2
        (1.0, "hold"),
        (4.0, "hold"),
        (5.0, "up"),  # 5 s after the last scaling: 2 -> 4
        (10.0, "hold"),  # a scale-down waits 20 s after the last scaling
        (24.0, "hold"),
        (25.0, "down"),
    ]
    assert "cooling down (4s left)" in decisions[1].reason
    assert "cooling down (1s left)" in decisions[5].reason


def test_no_flapping_on_a_noisy_series_around_the_target() -> None:
    policy = AutoscalePolicy(min=1, max=6, cpu=50.0, cooldown_up=3.0, cooldown_down=10.0, window_down=10.0)
    noise = [40.0, 62.0, 35.0, 58.0, 44.0, 66.0, 38.0, 55.0] * 5
    decisions = run(Autoscaler("web", policy), [(float(t), v) for t, v in enumerate(noise)], start=3)
    changes = [d for d in decisions if d.action != "hold"]
    downs_after_ups = [(a.at, b.at) for a, b in itertools.pairwise(changes) if a.action == "up" and b.action == "down"]
    assert not downs_after_ups
    assert len(changes) <= 2


def test_outside_min_and_max_is_corrected_at_once_even_when_cooling_down() -> None:
    policy = AutoscalePolicy(min=2, max=3, cpu=50.0, cooldown_up=100.0, cooldown_down=100.0)
    scaler = Autoscaler("web", policy)
    scaler.scaled(0.0)
    assert (scaler.decide(cpu(1.0, 1, 0.0)).action, scaler.decide(cpu(1.0, 1, 0.0)).desired) == ("up", 2)
    too_many = scaler.decide(cpu(2.0, 5, 50.0))
    assert (too_many.action, too_many.desired) == ("down", 3)
    assert "outside min 2 / max 3" in too_many.reason
    none_ready = scaler.decide(Sample(at=3.0, replicas=0))
    assert (none_ready.action, none_ready.desired) == ("up", 2)


def test_no_metrics_changes_nothing() -> None:
    decision = Autoscaler("web", FAST).decide(Sample(at=0.0, replicas=2))
    assert (decision.action, decision.reason) == ("hold", "no metrics yet")


def test_request_rate_per_replica_drives_the_count() -> None:
    policy = AutoscalePolicy(min=1, max=10, cpu=None, requests=RequestRate(target=10.0, log="GET"), window_down=0)
    scaler = Autoscaler("web", policy)
    busy = scaler.decide(Sample(at=0.0, replicas=2, requests=55.0))
    assert (busy.action, busy.desired) == ("up", 6)
    assert busy.metrics["req/s/replica"] == 27.5
    assert "27.5 req/s per replica vs 10" in busy.reason
    first = scaler.decide(Sample(at=1.0, replicas=2, requests=None))
    assert first.action == "hold"


def test_the_larger_of_cpu_and_requests_wins() -> None:
    policy = AutoscalePolicy(min=1, max=10, cpu=50.0, requests=RequestRate(target=10.0, log="GET"), window_down=0)
    decision = Autoscaler("web", policy).decide(Sample(at=0.0, replicas=2, cpu=(10.0, 10.0), requests=60.0))
    assert (decision.action, decision.desired) == ("up", 6)  # cpu alone would say 1
    quiet = Autoscaler("web", policy).decide(Sample(at=0.0, replicas=2, cpu=(100.0, 100.0), requests=2.0))
    assert quiet.desired == 4  # requests alone would say 1


def test_a_fresh_autoscaler_waits_a_whole_down_window_before_removing_replicas() -> None:
    policy = AutoscalePolicy(min=1, max=4, cpu=50.0, cooldown_up=0, cooldown_down=0, window_down=5.0)
    decisions = run(Autoscaler("web", policy), [(float(t), 1.0) for t in range(8)], start=3)
    assert [(d.at, d.action, d.desired) for d in decisions if d.action != "hold"] == [(6.0, "down", 1)]
