"""`up --wait`: block until every service is ready, and fail as soon as one cannot be.

Ready: running (healthy when it has a healthcheck, from the file or the image); a one-shot
service (stack.plan.expectations.runs_once) once its containers exited 0.  Not ready, ever:
- a container that exits (non-zero, or 0 when its service is not a one-shot) fails the wait at
  once, with its exit code and the last lines of its log.  When its restart policy starts it
  again, one such restart is tolerated; a second exit fails;
- a container without a healthcheck must stay running for SETTLE_SECONDS after it was seen to
  start (unless the daemon already says it has been up for a second or more): a process that
  dies right after its start must not pass for a running service;
- an unhealthy container fails once its grace (one more probe, see waits.UnhealthyGrace) has
  passed without a recovery, with its last healthcheck output: not at the end of the timeout.

Driven by the same event subscription as the dependency waits (`ContainerWatcher`): one list
call when the wait begins, then the daemon's events.  All services share one deadline.
"""

from __future__ import annotations

import enum
import math

import anyio

from stack.engine.errors import translate
from stack.engine.waits import ContainerState, ContainerWatcher, UnhealthyGrace, failure_detail, last_log_lines
from stack.errors import DockerAPIError, HealthcheckFailedError, ServiceFailedError, WaitTimeoutError
from stack.plan import labels as L
from stack.plan.expectations import healthcheck_state, restarts_after_exit, runs_once
from stack.spec.models import Project

DEFAULT_READY_TIMEOUT = 300.0
# How long a container without a healthcheck must be seen running before it counts as ready:
# the half second after which Compose's --wait first looks.  The events arrive from before the
# first start (the watcher subscribes first), so an exit at start-up shows within milliseconds;
# the daemon already saying "Up 1 second" skips it.  (1 s cost the example ~0.5 s more.)
SETTLE_SECONDS = 0.5


class Verdict(enum.Enum):
    READY = "ready"
    WAITING = "waiting"
    SETTLING = "settling"  # running, not yet for SETTLE_SECONDS
    UNHEALTHY = "unhealthy"  # within its grace, or past it (UnhealthyGrace decides)
    EXITED = "exited"  # an exit that fails the wait


def judge(project: Project, service: str, s: ContainerState, now: float) -> Verdict:
    """What one container of `service` says about the service's readiness."""
    definition = project.services[service]
    if s.state in ("exited", "dead", "restarting"):
        code = s.exit_code if s.exit_code is not None else 0
        if s.state == "exited" and code == 0 and runs_once(project, service):
            return Verdict.READY
        if restarts_after_exit(definition, code) and s.deaths < 2:
            return Verdict.WAITING  # the daemon starts it again: one restart is tolerated
        return Verdict.EXITED
    if s.state != "running":
        return Verdict.WAITING  # created (not started), paused
    checked = healthcheck_state(definition)
    if checked is True or (checked is None and s.health is not None):
        if s.health == "healthy":
            return Verdict.READY
        return Verdict.UNHEALTHY if s.health == "unhealthy" else Verdict.WAITING
    if s.settled or (s.running_since is not None and now - s.running_since >= SETTLE_SECONDS):
        return Verdict.READY
    return Verdict.SETTLING


def _describe(states: list[ContainerState]) -> str:
    parts = []
    for s in states:
        text = s.state or "unknown"
        if s.health:
            text += f", {s.health}"
        parts.append(f"{s.name}: {text}")
    return "; ".join(parts) or "no container"


async def _exited(watcher: ContainerWatcher, project: Project, service: str, s: ContainerState) -> ServiceFailedError:
    code = s.exit_code if s.exit_code is not None else 0
    why = "" if code else f", but {service} is not a one-shot job"
    message = f"service {service}: container {s.name} exited with code {code}{why}"
    if s.deaths > 1:
        message += f" (exited {s.deaths} times: its restart policy did not help)"
    tail = await last_log_lines(watcher.api, s.id)
    if tail:
        message += "\n  last lines of its log:\n" + tail
    hint = f"see `stack logs {service}`"
    if code == 0 and not runs_once(project, service):
        hint += (
            "; a service meant to run once and exit 0 is marked `x-stack-run-once: true`, or waited for"
            " by another with `condition: service_completed_successfully`"
        )
    return ServiceFailedError(message, hint=hint)


async def wait_ready(
    watcher: ContainerWatcher, project: Project, services: list[str], timeout: float | None = None
) -> None:
    """Return when every service in `services` is ready; raise a ServiceFailedError otherwise."""
    api = watcher.api
    try:
        listed = await api.list_containers(L.container_filter(watcher.project, oneoff=False))
    except DockerAPIError as exc:
        raise translate(exc, action="list the project's containers") from exc
    watcher.merge_listed(listed)
    # Membership from the list, taken after the plan ran: a container the plan removed (a recreate's
    # or a rolling update's old one) may still be in the watcher's states until its destroy event
    # arrives, and its exit must not decide this wait.
    members = {str(entry["Id"]) for entry in listed}
    bound = DEFAULT_READY_TIMEOUT if timeout is None else timeout
    deadline = anyio.current_time() + (bound if bound > 0 else math.inf)
    grace = UnhealthyGrace(api)
    pending = set(services)
    while pending:
        changed = watcher.next_change()
        now = anyio.current_time()
        wake = deadline
        for name in sorted(pending):
            states = [s for s in watcher.of_service(name) if s.id in members]
            verdicts = {s.id: judge(project, name, s, now) for s in states}
            for s in states:
                if verdicts[s.id] is Verdict.EXITED:
                    raise await _exited(watcher, project, name, s)
            await grace.update(states)
            for s in grace.expired(states):
                detail = await failure_detail(api, [s])
                raise HealthcheckFailedError(
                    f"service {name}: container {s.name} is unhealthy and did not recover within"
                    f" {grace.graces[s.id]:g}s (one more probe): {detail}",
                    hint=f"see `stack logs {name}` and the service's healthcheck",
                )
            if states and all(v is Verdict.READY for v in verdicts.values()):
                pending.discard(name)
                continue
            for s in states:
                if verdicts[s.id] is Verdict.SETTLING and s.running_since is not None:
                    wake = min(wake, s.running_since + SETTLE_SECONDS)
        if not pending:
            return
        wake = min(wake, grace.next_deadline())
        if now >= deadline:
            break
        # Woken by the next state change, else by the earliest settle/grace end or the deadline.
        with anyio.move_on_after(max(0.0, wake - now)):
            await changed.wait()
    details = "; ".join(
        f"{name} ({_describe([s for s in watcher.of_service(name) if s.id in members])})" for name in sorted(pending)
    )
    raise WaitTimeoutError(
        f"gave up after {bound:g}s waiting for services to be ready: {details}",
        hint="see `stack logs SERVICE`; raise the limit with --wait-timeout",
    )
