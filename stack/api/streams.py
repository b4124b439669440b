"""Follow what a project's containers say and do: logs, events, and exec into one of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio

from stack.api.session import blocking, session
from stack.engine.containers import find_containers, running_container
from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.exec import ExecRequest, Terminal, exec_in
from stack.engine.logs import LineSink, LogLine, LogOptions, LogTarget, follow_logs
from stack.errors import DockerAPIError
from stack.plan import labels as L

__all__ = ["ExecRequest", "LogLine", "LogOptions", "event_json", "events_async", "exec", "exec_async", "logs"]


async def logs_async(
    project_name: str,
    on_line: LineSink,
    services: Sequence[str] | None = None,
    options: LogOptions | None = None,
    *,
    index: int | None = None,
    on_start: Callable[[list[str]], None] | None = None,
    api: DockerAPI | None = None,
) -> int:
    """Deliver the project's log lines to `on_line`; the number of containers read.

    `on_start` hears the names of the containers about to be read (to size a prefix column).
    With `options.follow`, returns once every followed container has stopped.
    """
    options = options or LogOptions()
    async with session(api) as docker:
        listed = await find_containers(docker, project_name, services, index=index)
        targets = [LogTarget(c.id, c.name, c.service, c.number, one_off=c.one_off) for c in listed]
        if on_start is not None:
            on_start([t.name for t in targets])
        await follow_logs(docker, project_name, targets, options, on_line, services=list(services or []), index=index)
        return len(targets)


async def exec_async(
    project_name: str,
    service: str,
    request: ExecRequest,
    *,
    index: int = 1,
    terminal: Terminal | None = None,
    api: DockerAPI | None = None,
) -> int:
    """Run a command in replica `index` of a running service; the command's exit code."""
    term = terminal or Terminal.current(attach_stdin=not request.detach)
    async with session(api) as docker:
        container = await running_container(docker, project_name, service, index)
        try:
            return await exec_in(docker, container.id, request, term)
        except DockerAPIError as exc:
            raise translate(exc, action=f"exec in {container.name}", service=service, resource=container.name) from exc


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    """A daemon event in the shape `docker compose events --json` prints."""
    actor = event.get("Actor") or {}
    attributes = dict(actor.get("Attributes") or {})
    nano = int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)
    moment = datetime.fromtimestamp(nano // 1_000_000_000, tz=UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nano % 1_000_000_000:09d}Z"
    return {
        "time": stamp,
        "type": str(event.get("Type") or event.get("type") or ""),
        "action": str(event.get("Action") or event.get("status") or ""),
        "id": str(actor.get("ID") or event.get("id") or ""),
        "service": attributes.get(L.SERVICE, ""),
        "attributes": attributes,
    }


async def events_async(
    project_name: str,
    on_event: Callable[[dict[str, Any]], None],
    services: Sequence[str] | None = None,
    *,
    ready: anyio.Event | None = None,
    api: DockerAPI | None = None,
) -> None:
    """Deliver the project's container events to `on_event` (shaped by `event_json`) until cancelled.

    `ready` is set once the subscription is open (nothing after it is missed).
    """
    async with session(api) as docker:
        filters = {"type": ["container"], **L.container_filter(project_name)}
        async with docker.events(filters) as stream:
            if ready is not None:
                ready.set()
            async for event in stream:
                shaped = event_json(event)
                if not services or shaped["service"] in services:
                    on_event(shaped)


logs = blocking(logs_async)
exec = blocking(exec_async)
