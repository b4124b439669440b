"""A healthcheck as Kubernetes probes, with the daemon's meaning kept.

The daemon runs the test every `interval` (each run may take `timeout`), calls the container
healthy after one success and unhealthy after `retries` failures in a row; failures during
`start_period` do not count, and during it the test runs every `start_interval`.  So:

- readinessProbe and livenessProbe: the same command, periodSeconds = interval, timeoutSeconds
  = timeout, failureThreshold = retries, successThreshold = 1 (a Service routes to the pod
  once the test passed, as `service_healthy` waits for the first success);
- startupProbe (only when start_period or start_interval is set): every start_interval, with
  failureThreshold = ceil(start_period / start_interval) + retries, so Kubernetes gives up no
  earlier than the daemon would call the container unhealthy; readiness and liveness begin
  after its first success;
- `CMD a b` runs `[a, b]`, `CMD-SHELL s` runs `[sh, -c, s]` (the daemon's `/bin/sh -c`);
  `NONE` or `disable: true` gives no probe.

Kubernetes counts in whole seconds (at least 1): a sub-second value is rounded up, and said.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from stack.spec.models import Healthcheck
from stack.spec.units import duration_seconds

__all__ = ["DOCKER_DEFAULTS", "Probes", "probe_command", "probes_of"]

# The daemon's defaults for what a healthcheck leaves out (seconds; retries a count).
DOCKER_DEFAULTS: dict[str, float] = {
    "interval": 30.0,
    "timeout": 30.0,
    "retries": 3,
    "start_period": 0.0,
    "start_interval": 5.0,
}


@dataclass(frozen=True)
class Probes:
    readiness: dict[str, Any]
    liveness: dict[str, Any]
    startup: dict[str, Any] | None


def probe_command(test: list[str] | None) -> list[str] | None:
    """The command a probe runs for a healthcheck `test`; None for no probe (NONE, empty)."""
    if not test:
        return None
    head, rest = test[0], list(test[1:])
    if head == "NONE":
        return None
    if head == "CMD":
        return rest or None
    if head == "CMD-SHELL":
        return ["sh", "-c", " ".join(rest)] if rest else None
    return ["sh", "-c", " ".join(test)]  # a bare string: the daemon runs it with a shell


def _whole_seconds(key: str, value: str | None, notes: list[tuple[str, str]]) -> int:
    seconds = duration_seconds(value, DOCKER_DEFAULTS[key]) if value is not None else DOCKER_DEFAULTS[key]
    whole = max(1, math.ceil(seconds))
    if value is not None and whole != seconds:
        notes.append((key, f"{value} becomes {whole}s: Kubernetes counts probe times in whole seconds (at least 1)"))
    return whole


def probes_of(check: Healthcheck | None) -> tuple[Probes | None, list[tuple[str, str]]]:
    """The probes of a healthcheck, and (healthcheck sub-key, message) notes on what changed."""
    notes: list[tuple[str, str]] = []
    if check is None or check.disable:
        return None, notes
    if check.test is None:
        notes.append(("", "no test: the image's own HEALTHCHECK is not visible to the converter, so no probe"))
        return None, notes
    command = probe_command(check.test)
    if command is None:
        return None, notes
    period = _whole_seconds("interval", check.interval, notes)
    timeout = _whole_seconds("timeout", check.timeout, notes)
    # Unset or 0: the daemon's default (3); a probe's failureThreshold is at least 1 anyway.
    retries = int(check.retries) if check.retries else int(DOCKER_DEFAULTS["retries"])
    base: dict[str, Any] = {
        "exec": {"command": command},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "successThreshold": 1,
        "failureThreshold": retries,
    }
    startup: dict[str, Any] | None = None
    if check.start_period is not None or check.start_interval is not None:
        start_period = duration_seconds(check.start_period, 0.0) if check.start_period is not None else 0.0
        start_interval = _whole_seconds("start_interval", check.start_interval, notes)
        startup = {
            "exec": {"command": command},
            "periodSeconds": start_interval,
            "timeoutSeconds": timeout,
            "successThreshold": 1,
            "failureThreshold": math.ceil(start_period / start_interval) + retries,
        }
    return Probes(readiness=copy.deepcopy(base), liveness=copy.deepcopy(base), startup=startup), notes
