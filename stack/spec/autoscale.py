"""`x-autoscale`: a service's autoscaling settings, read once into an `AutoscalePolicy`.

An `x-` key, so the file stays valid for Compose (which ignores it).  `stack autoscale` (or an
attached `up --autoscale`) keeps the service between `min` and `max` replicas::

    services:
      web:
        x-autoscale:
          min: 1                # fewest replicas (default 1)
          max: 4                # most replicas (required, >= min)
          cpu: 50%              # target average CPU per replica, % of one core (default 70%)
          requests:             # optional second metric: request rate per replica
            target: 20/s        # requests per second per replica (`20`, `20/s`, `600/m`)
            log: '"GET /'       # regex: each log line of a replica that matches is one request
          interval: 15s         # how often the metrics are sampled and a decision made
          tolerance: 10%        # no change while every metric is within target +- tolerance
          cooldown_up: 30s      # after a scaling, this long before the next scale-up
          cooldown_down: 2m     # after a scaling, this long before the next scale-down
          window_up: 0s         # scale up only to the lowest recommendation of this window
          window_down: 1m       # scale down only to the highest recommendation of this window
          drain_timeout: 30s    # how long a replica being removed may take to finish its requests
          drain_quiet: 2s       # ... and its connections must stay at zero this long

At least one of `cpu` and `requests` gives the metric; with both, the larger recommendation wins
(as Kubernetes' HorizontalPodAutoscaler).  The decision itself is `stack.plan.autoscale`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stack.errors import StackFileError
from stack.spec.limits import clip
from stack.spec.units import duration_seconds

if TYPE_CHECKING:  # no pydantic at import: validation reads this module
    from stack.spec.models import Service

AUTOSCALE_KEY = "x-autoscale"
KeyPath = tuple[str | int, ...]

_KEYS = (
    "min",
    "max",
    "cpu",
    "requests",
    "interval",
    "tolerance",
    "cooldown_up",
    "cooldown_down",
    "window_up",
    "window_down",
    "drain_timeout",
    "drain_quiet",
)
_REQUEST_KEYS = ("target", "log")
_MAX_REPLICAS = 1000
DEFAULT_CPU = 70.0


@dataclass(frozen=True)
class RequestRate:
    """Requests per second per replica to aim at, counted from log lines matching `log`."""

    target: float
    log: str

    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.log)


@dataclass(frozen=True)
class AutoscalePolicy:
    min: int = 1
    max: int = 1
    cpu: float | None = DEFAULT_CPU  # % of one core per replica; None: not a metric
    requests: RequestRate | None = None
    interval: float = 15.0
    tolerance: float = 0.1  # a fraction: 0.1 is 10%
    cooldown_up: float = 30.0
    cooldown_down: float = 120.0
    window_up: float = 0.0
    window_down: float = 60.0
    drain_timeout: float = 30.0
    drain_quiet: float = 2.0

    def clamp(self, count: int) -> int:
        return max(self.min, min(self.max, count))


class AutoscaleProblem(ValueError):
    """A value of x-autoscale that cannot be used: where (under x-autoscale), what, a hint."""

    def __init__(self, key: KeyPath, message: str, hint: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.hint = hint


def _count(raw: dict[str, Any], key: str, default: int | None) -> int:
    value = raw.get(key, default)
    if value is None:
        raise AutoscaleProblem((), f"x-autoscale needs `{key}`", f"add `{key}: 4`, the most replicas to run")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise AutoscaleProblem((key,), f"{key} must be a whole number of replicas, not {clip(value)}", f"e.g. {key}: 2")
    number = int(str(value).strip())
    if number > _MAX_REPLICAS:
        raise AutoscaleProblem((key,), f"{key} must be at most {_MAX_REPLICAS}, not {number}", "e.g. max: 4")
    return number


def _percent(value: Any, key: KeyPath, example: str) -> float:
    """`50%`, `50` or `12.5%` -> 50.0, 50.0, 12.5."""
    text = str(value).strip() if isinstance(value, int | float | str) and not isinstance(value, bool) else ""
    number = text[:-1].strip() if text.endswith("%") else text
    try:
        parsed = float(number)
    except ValueError:
        parsed = -1.0
    if not number or parsed != parsed or parsed <= 0 or parsed == float("inf"):
        raise AutoscaleProblem(key, f"{key[-1]} must be a positive percentage, not {clip(value)}", f"e.g. {example}")
    return parsed


def _rate(value: Any, key: KeyPath) -> float:
    """`20`, `20/s`, `600/m` -> requests per second."""
    text = str(value).strip() if isinstance(value, int | float | str) and not isinstance(value, bool) else ""
    match = re.fullmatch(r"(\d+(?:\.\d+)?|\.\d+)\s*(?:/\s*(s|m|h))?", text)
    if match is None or float(match.group(1)) <= 0:
        raise AutoscaleProblem(
            key, f"target must be a positive request rate, not {clip(value)}", "e.g. target: 20/s (or 600/m)"
        )
    return float(match.group(1)) / {"s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2) or "s"]


def _seconds(raw: dict[str, Any], key: str, default: float, *, positive: bool = False) -> float:
    value = raw.get(key)
    try:
        seconds = duration_seconds(value, default) if not isinstance(value, bool) else -1.0
    except ValueError:
        seconds = -1.0
    if seconds < 0 or (positive and seconds <= 0):
        what = "a positive duration" if positive else "a duration"
        raise AutoscaleProblem((key,), f"{key} must be {what}, not {clip(value)}", f"e.g. {key}: 30s (or 1m30s, 500ms)")
    return seconds


def _requests(value: Any) -> RequestRate:
    if not isinstance(value, dict):
        raise AutoscaleProblem(
            ("requests",),
            f"requests must be a mapping, not {clip(value)}",
            "e.g. requests: {target: 20/s, log: 'GET /'}",
        )
    for key in value:
        if key not in _REQUEST_KEYS:
            raise AutoscaleProblem(
                ("requests", key), f"unknown key {clip(key)} in x-autoscale.requests", f"use {', '.join(_REQUEST_KEYS)}"
            )
    if "target" not in value:
        raise AutoscaleProblem(("requests",), "requests needs a `target`", "e.g. target: 20/s (requests per replica)")
    target = _rate(value["target"], ("requests", "target"))
    log = value.get("log")
    if not isinstance(log, str) or not log:
        raise AutoscaleProblem(
            ("requests",) if log is None else ("requests", "log"),
            "requests needs `log`, a regular expression matching one log line per request",
            "e.g. log: '\"GET /' (busybox httpd, nginx and gunicorn access logs)",
        )
    try:
        re.compile(log)
    except re.error as exc:
        raise AutoscaleProblem(("requests", "log"), f"log is not a valid regular expression ({exc})", "e.g. 'GET /'")
    return RequestRate(target=target, log=log)


def read_autoscale(raw: Any) -> AutoscalePolicy:
    """The policy an `x-autoscale` mapping describes; AutoscaleProblem for a value that cannot be used."""
    if not isinstance(raw, dict):
        raise AutoscaleProblem(
            (), f"x-autoscale must be a mapping, not {clip(raw)}", "e.g. x-autoscale: {max: 4, cpu: 50%}"
        )
    for key in raw:
        if key not in _KEYS:
            import difflib  # only on the error path

            close = difflib.get_close_matches(str(key), _KEYS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(_KEYS)}"
            raise AutoscaleProblem((key,), f"unknown key {clip(key)} in x-autoscale", hint)
    least = _count(raw, "min", 1)
    most = _count(raw, "max", None)
    if least < 1:
        raise AutoscaleProblem(("min",), "min must be at least 1", "scale to zero is not supported: use min: 1")
    if most < least:
        raise AutoscaleProblem(("max",), f"max ({most}) is below min ({least})", f"set max: {least} or more")
    requests = _requests(raw["requests"]) if "requests" in raw else None
    cpu: float | None = DEFAULT_CPU if requests is None else None
    if "cpu" in raw:
        cpu = _percent(raw["cpu"], ("cpu",), "cpu: 50%")
    tolerance = _percent(raw["tolerance"], ("tolerance",), "tolerance: 10%") / 100.0 if "tolerance" in raw else 0.1
    if tolerance >= 1.0:
        raise AutoscaleProblem(
            ("tolerance",), f"tolerance must be below 100%, not {clip(raw['tolerance'])}", "e.g. 10%"
        )
    return AutoscalePolicy(
        min=least,
        max=most,
        cpu=cpu,
        requests=requests,
        interval=_seconds(raw, "interval", 15.0, positive=True),
        tolerance=tolerance,
        cooldown_up=_seconds(raw, "cooldown_up", 30.0),
        cooldown_down=_seconds(raw, "cooldown_down", 120.0),
        window_up=_seconds(raw, "window_up", 0.0),
        window_down=_seconds(raw, "window_down", 60.0),
        drain_timeout=_seconds(raw, "drain_timeout", 30.0),
        drain_quiet=_seconds(raw, "drain_quiet", 2.0),
    )


def autoscale_policy(service: Service) -> AutoscalePolicy | None:
    """The service's autoscaling policy; None when it has no x-autoscale."""
    raw = (service.model_extra or {}).get(AUTOSCALE_KEY)
    return read_autoscale(raw) if raw is not None else None


class _ErrorAt(Protocol):
    def error(self, path: KeyPath, message: str, hint: str | None = None) -> StackFileError: ...


def check_autoscale(name: str, service: dict[str, Any], smap: _ErrorAt) -> None:
    """Raise a located StackFileError (file:line of the key) for an x-autoscale that cannot work."""
    if AUTOSCALE_KEY not in service:
        return
    try:
        read_autoscale(service[AUTOSCALE_KEY])
    except AutoscaleProblem as problem:
        raise smap.error(
            ("services", name, AUTOSCALE_KEY, *problem.key), f"service {clip(name)}: {problem.message}", problem.hint
        ) from None
