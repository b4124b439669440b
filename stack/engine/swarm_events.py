"""When to look again: the swarm waits, woken by the daemon's event stream.

Docker 20.10's event stream has no task events, but what moves a task shows up in it: on this
node, the task's container is created, starts, turns healthy or unhealthy, dies (container
events, which carry the `com.docker.swarm.service.name` label); on the manager, a service is
created, updated (an update or a rollback starts, completes, pauses), removed (service events).
A wait reads the task states when one of those arrives for one of the project's services, and
at the latest every `FALLBACK_SECONDS`: a task that is pending, rejected or placed on another
node has no container here, hence no event.  A container event comes before the manager has
the task's new state (the node's agent reports it a moment later), so for `SETTLE_SECONDS`
after an event the waits look again every `POLL_SECONDS`.  If the daemon refuses the
subscription, the waits poll every `POLL_SECONDS`.

No event is lost between a check and the wait after it: `Wakeups.changed()` hands out the
event object that the next matching event sets, and a wait takes it BEFORE it checks.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from anyio.abc import ObjectReceiveStream

from stack.engine.docker_api import DockerAPI
from stack.errors import DockerAPIError

__all__ = ["FALLBACK_SECONDS", "POLL_SECONDS", "SETTLE_SECONDS", "Wakeups", "follow"]

POLL_SECONDS = 0.25  # without events
FALLBACK_SECONDS = 1.0  # with events: a change no event reports (another node's task, a rejection)
SETTLE_SECONDS = 2.0  # after an event: until the manager has the task state it led to
_CONTAINER_ACTIONS = ("create", "start", "die", "destroy", "health_status")
_SERVICE_ACTIONS = ("create", "update", "remove")
_SERVICE_LABEL = "com.docker.swarm.service.name"


class Wakeups:
    """The changes to a project's services seen on the event stream, as wake-ups."""

    def __init__(self, project: str, *, fallback: float) -> None:
        self.prefix = f"{project}_"
        self.fallback = fallback
        self.seen = 0  # events that woke the waits (for tests and the bench)
        self._next = anyio.Event()
        self._last_seen = -math.inf

    def changed(self) -> anyio.Event:
        """The event set at the next change: take it before checking."""
        return self._next

    async def until(self, changed: anyio.Event) -> None:
        """Until `changed` is set, or the fallback interval passed (shorter just after an event)."""
        settling = anyio.current_time() - self._last_seen < SETTLE_SECONDS
        with anyio.move_on_after(POLL_SECONDS if settling else self.fallback):  # poll fallback
            await changed.wait()

    def apply(self, event: dict[str, Any]) -> None:
        """Wake the waits when `event` concerns one of the project's services."""
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        kind = event.get("Type")
        name = str(attributes.get(_SERVICE_LABEL if kind == "container" else "name", ""))
        if name.startswith(self.prefix):
            self.seen += 1
            self._last_seen = anyio.current_time()
            self._next.set()
            self._next = anyio.Event()

    async def consume(self, events: ObjectReceiveStream[Any]) -> None:
        async for event in events:
            self.apply(event)


@asynccontextmanager
async def follow(api: DockerAPI, project: str) -> AsyncIterator[Wakeups]:
    """Wake-ups for `project`'s services while the block runs (subscribed before it starts)."""
    filters = {
        "type": ["container", "service"],
        "event": sorted(set(_CONTAINER_ACTIONS) | set(_SERVICE_ACTIONS)),
    }
    async with AsyncExitStack() as resources:
        try:
            events = await resources.enter_async_context(api.events(filters))
        except DockerAPIError:
            events = None
        if events is None:
            yield Wakeups(project, fallback=POLL_SECONDS)
            return
        wakeups = Wakeups(project, fallback=FALLBACK_SECONDS)
        async with anyio.create_task_group() as tg:
            tg.start_soon(wakeups.consume, events)
            try:
                yield wakeups
            finally:
                tg.cancel_scope.cancel()
