"""x-autoscale read into an AutoscalePolicy: defaults, units, and located errors (file:line, exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stack.spec.autoscale import AutoscalePolicy, AutoscaleProblem, autoscale_policy, read_autoscale
from stack.spec.models import Service

from .test_validation import load_error, where


def test_keys_left_out_take_the_defaults() -> None:
    policy = read_autoscale({"max": 4})
    assert policy == AutoscalePolicy(min=1, max=4)
    assert policy.cpu == 70.0 and policy.requests is None
    assert (policy.interval, policy.cooldown_up, policy.cooldown_down) == (15.0, 30.0, 120.0)
    assert (policy.window_up, policy.window_down, policy.tolerance) == (0.0, 60.0, 0.1)


def test_values_are_read_with_their_units() -> None:
    policy = read_autoscale(
        {
            "min": "2",
            "max": 5,
            "cpu": "42.5%",
            "interval": "1500ms",
            "tolerance": "5%",
            "cooldown_up": "1m",
            "cooldown_down": 90,
            "window_up": "10s",
            "window_down": "2m30s",
            "drain_timeout": "45s",
            "drain_quiet": "0s",
            "requests": {"target": "600/m", "log": "GET /"},
        }
    )
    assert (policy.min, policy.max, policy.cpu) == (2, 5, 42.5)
    assert policy.interval == 1.5 and policy.tolerance == pytest.approx(0.05)
    assert (policy.cooldown_up, policy.cooldown_down, policy.window_up, policy.window_down) == (60, 90, 10, 150)
    assert (policy.drain_timeout, policy.drain_quiet) == (45, 0)
    assert policy.requests is not None and policy.requests.target == 10.0 and policy.requests.log == "GET /"


def test_requests_alone_means_no_cpu_target_unless_given() -> None:
    assert read_autoscale({"max": 3, "requests": {"target": 20, "log": "x"}}).cpu is None
    assert read_autoscale({"max": 3, "cpu": 50, "requests": {"target": "20/s", "log": "x"}}).cpu == 50.0


def test_a_service_without_the_key_has_no_policy() -> None:
    assert autoscale_policy(Service.model_validate({"name": "web", "image": "x"})) is None
    svc = Service.model_validate({"name": "web", "image": "x", "x-autoscale": {"max": 2}})
    assert autoscale_policy(svc) == AutoscalePolicy(max=2)


@pytest.mark.parametrize(
    ("value", "key", "words"),
    [
        ({"min": 1}, (), "needs `max`"),
        ({"max": 0}, ("max",), "max (0) is below min (1)"),
        ({"min": 0, "max": 2}, ("min",), "min must be at least 1"),
        ({"max": "lots"}, ("max",), "whole number"),
        ({"max": True}, ("max",), "whole number"),
        ({"max": 2, "cpu": "-5%"}, ("cpu",), "positive percentage"),
        ({"max": 2, "cpu": "hot"}, ("cpu",), "positive percentage"),
        ({"max": 2, "interval": "0s"}, ("interval",), "positive duration"),
        ({"max": 2, "cooldown_down": "soon"}, ("cooldown_down",), "must be a duration"),
        ({"max": 2, "tolerance": "100%"}, ("tolerance",), "below 100%"),
        ({"max": 2, "requests": {"log": "GET"}}, ("requests",), "needs a `target`"),
        ({"max": 2, "requests": {"target": "fast", "log": "GET"}}, ("requests", "target"), "positive request rate"),
        ({"max": 2, "requests": {"target": 5}}, ("requests",), "needs `log`"),
        ({"max": 2, "requests": {"target": 5, "log": "(["}}, ("requests", "log"), "not a valid regular expression"),
        ({"max": 2, "requests": {"target": 5, "log": "x", "port": 9}}, ("requests", "port"), "unknown key"),
    ],
)
def test_bad_values_name_their_key(value: dict[str, object], key: tuple[str, ...], words: str) -> None:
    with pytest.raises(AutoscaleProblem) as info:
        read_autoscale(value)
    assert info.value.key == key
    assert words in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(
    ("lines", "path", "line", "words", "hint"),
    [
        ("max: 3\n      cpu: fifty", "cpu", 6, "cpu must be a positive percentage, not 'fifty'", "cpu: 50%"),
        (
            "max: 3\n      cooldown_upp: 1s",
            "cooldown_upp",
            6,
            "unknown key 'cooldown_upp'",
            "did you mean 'cooldown_up'",
        ),
        ("min: 4\n      max: 2", "max", 6, "max (2) is below min (4)", "max: 4"),
        ("max: 2\n      requests: {target: 1/s, log: '(['}", "requests.log", 6, "regular expression", "GET"),
        ("min: 2", "", 4, "x-autoscale needs `max`", "max: 4"),
    ],
)
def test_bad_values_are_stack_file_errors_at_their_line(
    tmp_path: Path, lines: str, path: str, line: int, words: str, hint: str
) -> None:
    text = f"services:\n  web:\n    image: x\n    x-autoscale:\n      {lines}\n"
    err = load_error(text, tmp_path)
    assert err.path == "services.web.x-autoscale" + (f".{path}" if path else "")
    assert words in err.message
    assert where(err)[0] == line
    assert err.hint is not None and hint in err.hint


def test_the_cli_reports_the_file_and_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "services:\n  web:\n    image: x\n    x-autoscale:\n      max: 3\n      window_down: later\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "stack", "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "stack.yaml:6:" in done.stderr and "window_down must be a duration" in done.stderr
    assert "hint:" in done.stderr


def test_autoscale_without_any_x_autoscale_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  web:\n    image: x\n")
    done = subprocess.run(
        [sys.executable, "-m", "stack", "-p", "noscale", "autoscale"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no service of the stack has an x-autoscale section" in done.stderr
