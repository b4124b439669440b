"""`deploy.update_config` and `deploy.rollback_config`: how `up` replaces a service's outdated
replicas, read once into an `UpdatePolicy`.

Without `update_config`, `up` replaces a service's outdated replicas all at once, as Compose
does.  With it, `up` rolls them as Swarm does, with Swarm's defaults for the keys left out
(parallelism 1, delay 0s, stop-first, failure_action pause, monitor 5s, max_failure_ratio 0):
batches of `parallelism` replicas (0: all), each new replica healthy (or running, without a
healthcheck) and then stable for `monitor` before the next batch, `delay` between batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from stack.spec.units import duration_seconds

if TYPE_CHECKING:  # the loader's fast path reads this module: no pydantic at import
    from stack.spec.models import Service

Order = Literal["stop-first", "start-first"]
FailureAction = Literal["pause", "continue", "rollback"]
ORDERS: tuple[Order, ...] = ("stop-first", "start-first")
FAILURE_ACTIONS: tuple[FailureAction, ...] = ("pause", "continue", "rollback")


@dataclass(frozen=True)
class UpdatePolicy:
    parallelism: int = 1  # replicas replaced at once; 0: all of them
    delay: float = 0.0  # seconds between two batches
    order: Order = "stop-first"
    failure_action: FailureAction = "pause"
    monitor: float = 5.0  # seconds a new replica must stay up (and healthy) after it is ready
    max_failure_ratio: float = 0.0  # failed replicas / replicas to update that is tolerated

    def batches(self, count: int) -> list[range]:
        """Indexes 0..count-1 cut into the batches replaced together."""
        size = count if self.parallelism == 0 else self.parallelism
        return [range(start, min(start + size, count)) for start in range(0, count, max(size, 1))]

    def tolerated(self, count: int) -> int:
        """How many of `count` replacements may fail before `failure_action` applies."""
        return math.floor(self.max_failure_ratio * count + 1e-9)


class PolicyProblem(ValueError):
    """A value of update_config/rollback_config that cannot be used: the key, and a hint."""

    def __init__(self, key: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.hint = hint


def read_policy(raw: dict[str, Any], *, rollback: bool = False, defaults: UpdatePolicy | None = None) -> UpdatePolicy:
    """The policy a `update_config` (or `rollback_config`) mapping describes, `defaults` for the
    keys it leaves out; PolicyProblem when a value is not one Swarm would accept."""
    defaults = defaults or UpdatePolicy()
    actions = ("pause", "continue") if rollback else FAILURE_ACTIONS
    try:
        parallelism = int(raw.get("parallelism", defaults.parallelism))
    except (TypeError, ValueError):
        raise PolicyProblem("parallelism", f"parallelism must be a whole number, not {raw['parallelism']!r}", "e.g. 1")
    if parallelism < 0:
        raise PolicyProblem("parallelism", f"parallelism cannot be negative ({parallelism})", "0 means all at once")
    order = raw.get("order", defaults.order)
    if order not in ORDERS:
        raise PolicyProblem("order", f"unknown order {order!r}", "use start-first or stop-first")
    action = raw.get("failure_action", defaults.failure_action)
    if action not in actions:
        raise PolicyProblem("failure_action", f"unknown failure_action {action!r}", f"use one of {', '.join(actions)}")
    try:
        ratio = float(raw.get("max_failure_ratio", defaults.max_failure_ratio))
    except (TypeError, ValueError):
        raise PolicyProblem(
            "max_failure_ratio", f"max_failure_ratio must be a number, not {raw['max_failure_ratio']!r}", "e.g. 0.2"
        )
    if not 0.0 <= ratio <= 1.0:
        raise PolicyProblem(
            "max_failure_ratio", f"max_failure_ratio must be between 0 and 1, not {ratio:g}", "e.g. 0.2"
        )
    return UpdatePolicy(
        parallelism=parallelism,
        delay=duration_seconds(raw.get("delay"), defaults.delay),
        order=order,
        failure_action=action,
        monitor=duration_seconds(raw.get("monitor"), defaults.monitor),
        max_failure_ratio=ratio,
    )


def update_policy(service: Service) -> UpdatePolicy | None:
    """The service's rolling-update policy; None when it has no update_config (Compose's way)."""
    raw = service.deploy.update_config if service.deploy is not None else None
    return read_policy(raw) if raw is not None else None


def rollback_policy(service: Service) -> UpdatePolicy:
    """How a failed rolling update puts the previous replicas back.

    The keys rollback_config leaves out are the update's own (Swarm would take stop-first
    instead): an update rolled start-first for zero downtime is rolled back the same way."""
    update = update_policy(service) or UpdatePolicy()
    raw = service.deploy.rollback_config if service.deploy is not None else None
    return read_policy(raw or {}, rollback=True, defaults=replace(update, failure_action="pause"))
