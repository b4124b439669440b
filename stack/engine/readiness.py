"""`up --wait`: block until every service is running (healthy when it has a healthcheck).

Driven by the same event subscription as the dependency waits (`ContainerWatcher`): one list
call when the wait begins, then the daemon's events.  A one-shot service whose containers
exit 0 counts as ready; a non-zero exit fails at once; an unhealthy report may still recover
until the deadline.  All services are waited for concurrently under one deadline.
"""

from __future__ import annotations

import math

import anyio
import docker.errors

from stack.engine.errors import translate
from stack.engine.waits import ContainerState, ContainerWatcher
from stack.errors import ServiceFailedError, StackError, WaitTimeoutError
from stack.plan import labels as L
from stack.spec.models import Project, Service

DEFAULT_READY_TIMEOUT = 300.0


def _has_healthcheck(service: Service) -> bool:
    hc = service.healthcheck
    if hc is None:
        return False  # the image may define one: the daemon's health field tells (see _verdict)
    return not hc.disable and hc.test != ["NONE"]


def _verdict(service: str, states: list[ContainerState], want_health: bool) -> bool | StackError:
    if not states:
        return False
    for s in states:
        if s.state == "exited" and s.exit_code not in (0, None):
            return ServiceFailedError(
                f"service {service}: container {s.name} exited with code {s.exit_code}",
                hint=f"see `stack logs {service}`",
            )
    for s in states:
        if s.state == "exited" and s.exit_code == 0:
            continue  # a one-shot job that finished successfully
        if s.state != "running":
            return False
        # A healthcheck from the image (no `healthcheck:` in the file) shows up in the health field.
        if (want_health or s.health is not None) and s.health != "healthy":
            return False
    return True


def _describe(states: list[ContainerState]) -> str:
    parts = []
    for s in states:
        text = s.state or "unknown"
        if s.health:
            text += f", {s.health}"
        parts.append(f"{s.name}: {text}")
    return "; ".join(parts) or "no container"


async def wait_ready(
    watcher: ContainerWatcher, project: Project, services: list[str], timeout: float | None = None
) -> None:
    """Return when every service in `services` is ready; raise a ServiceFailedError otherwise."""
    api = watcher.api
    filters = {"label": [f"{L.PROJECT}={watcher.project}", f"{L.ONEOFF}=False"]}
    try:
        watcher.merge_listed(await api.list_containers(filters))
    except docker.errors.APIError as exc:
        raise translate(exc, action="list the project's containers") from exc
    bound = DEFAULT_READY_TIMEOUT if timeout is None else timeout
    pending = set(services)
    with anyio.move_on_after(bound if bound > 0 else math.inf) as scope:
        while pending:
            changed = watcher.next_change()
            for name in sorted(pending):
                service = project.services[name]
                verdict = _verdict(name, watcher.of_service(name), _has_healthcheck(service))
                if isinstance(verdict, StackError):
                    raise verdict
                if verdict:
                    pending.discard(name)
            if pending:
                await changed.wait()
    if scope.cancelled_caught and pending:
        details = "; ".join(f"{name} ({_describe(watcher.of_service(name))})" for name in sorted(pending))
        raise WaitTimeoutError(
            f"gave up after {bound:g}s waiting for services to be ready: {details}",
            hint="see `stack logs SERVICE`; raise the limit with --wait-timeout",
        )
