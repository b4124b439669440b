"""Attached `up`: stream the services' logs until they exit, an abort rule fires, or Ctrl-C.

- Logs are followed from the moment `up` began (`since`), so a container created by this `up`
  shows its whole output and one that was already running shows only what is new.
- Exits are seen on the daemon's event stream (`die`), never by polling.
- The first Ctrl-C stops the project's containers gracefully (dependents first); a second one
  kills them.  Either way the caller exits 130.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc

from stack.engine.docker_api import DockerAPI
from stack.engine.logs import LineSink, LogOptions, LogTarget, follow_logs, target_from_list
from stack.errors import DockerAPIError
from stack.plan import labels as L
from stack.plan.graph import ServiceGraph
from stack.spec.models import Project

INTERRUPTED = 130


@dataclass(frozen=True)
class AttachOptions:
    services: list[str]  # services whose logs are shown (and whose exits count)
    since: float  # unix time `up` began
    abort_on_exit: bool = False  # --abort-on-container-exit
    abort_on_failure: bool = False  # --abort-on-container-failure
    exit_code_from: str | None = None  # --exit-code-from SERVICE (implies abort_on_exit)
    stop_timeout: float | None = None
    # `up --watch`: keep following while no container runs (a recreate stops the old one first).
    keep_following: bool = False


Notice = Callable[[str], None]


async def stop_project(
    api: DockerAPI, project: Project, *, timeout: float | None, kill: bool = False, notice: Notice
) -> None:
    """Stop (or kill) the project's running containers, dependents before their dependencies."""
    filters: dict[str, Any] = {**L.container_filter(project.name, oneoff=False), "status": ["running"]}
    running = await api.list_containers(filters)
    by_service: dict[str, list[str]] = {}
    for entry in running:
        service = (entry.get("Labels") or {}).get(L.SERVICE, "")
        by_service.setdefault(service, []).append(str(entry["Id"]))
    order = [s for s in reversed(ServiceGraph(project.services).topological_order()) if s in by_service]
    order += [s for s in by_service if s not in order]  # services no longer in the file

    async def one(cid: str) -> None:
        try:
            if kill:
                await api.kill_container(cid)
            else:
                await api.stop_container(cid, None if timeout is None else int(timeout))
        except DockerAPIError:
            pass  # already gone or stopped: nothing left to do

    for service in order:
        notice(f"{'Killing' if kill else 'Stopping'} {service}")
        async with anyio.create_task_group() as tg:
            for cid in by_service[service]:
                tg.start_soon(one, cid)


async def attach(
    api: DockerAPI,
    project: Project,
    options: AttachOptions,
    on_line: LineSink,
    notice: Notice,
    *,
    on_start: Callable[[list[LogTarget]], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> int:
    """Follow logs until the end; returns the exit code `up` should give.

    `on_start` hears the containers about to be followed, before their first line (the CLI
    sizes its prefix column from them and says whom it attaches to).

    An abort rule or the first signal starts a graceful stop while the logs keep flowing (the
    services' last words are shown); the logs end when the containers have stopped.
    """
    abort = options.abort_on_exit or options.abort_on_failure or options.exit_code_from is not None
    exits: dict[str, int] = {}  # service -> exit code of its first container to exit
    exit_code = 0
    interrupted = False
    stopping = anyio.Event()
    logs_done = anyio.Event()

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:

            async def shutdown() -> None:
                notice("Gracefully stopping... (press Ctrl+C again to force)")
                await stop_project(api, project, timeout=options.stop_timeout, notice=notice)
                # The log streams end once their containers are gone; give them a moment to drain.
                with anyio.move_on_after(5):
                    await logs_done.wait()
                tg.cancel_scope.cancel()

            def begin_shutdown() -> None:
                if not stopping.is_set():
                    stopping.set()
                    if on_stop is not None:
                        on_stop()  # `up --watch`: no more syncs or bring-backs while stopping
                    tg.start_soon(shutdown)

            async def on_signals() -> None:
                nonlocal interrupted
                async for _ in signals:
                    interrupted = True
                    if not stopping.is_set():
                        begin_shutdown()
                        continue
                    # Second signal: kill what is left, then leave.
                    with anyio.CancelScope(shield=True):
                        await stop_project(api, project, timeout=0, kill=True, notice=notice)
                    tg.cancel_scope.cancel()
                    return

            async def watch_exits() -> None:
                nonlocal exit_code
                filters = {"type": ["container"], "event": ["die"], **L.container_filter(project.name)}
                # Replayed from when `up` began: a one-shot job may have exited before we subscribed.
                stream = api.stream(
                    "events", lambda: api.client.events(since=f"{options.since:.3f}", filters=filters, decode=True)
                )
                async with stream as events:
                    async for event in events:
                        attributes = dict((event.get("Actor") or {}).get("Attributes") or {})
                        if attributes.get(L.ONEOFF) == "True":
                            continue
                        service = attributes.get(L.SERVICE, "")
                        try:
                            code = int(attributes.get("exitCode", "0"))
                        except ValueError:
                            code = 1
                        exits.setdefault(service, code)
                        if stopping.is_set() or service not in options.services:
                            continue
                        if options.exit_code_from is not None:
                            if service == options.exit_code_from:
                                exit_code = code
                                begin_shutdown()
                        elif options.abort_on_exit or (options.abort_on_failure and code != 0):
                            exit_code = code
                            begin_shutdown()

            async def follow() -> None:
                filters = L.container_filter(project.name, oneoff=False)
                listed = await api.list_containers(filters)
                # Exited ones too: a job that finished during `up` still shows what it printed.
                targets = [
                    target_from_list(e) for e in listed if (e.get("Labels") or {}).get(L.SERVICE) in options.services
                ]
                if on_start is not None:
                    on_start(targets)
                log_options = LogOptions(follow=True, since=f"{options.since:.3f}")
                await follow_logs(
                    api,
                    project.name,
                    targets,
                    log_options,
                    on_line,
                    services=options.services,
                    keep_following=(lambda: not stopping.is_set()) if options.keep_following else None,
                )
                logs_done.set()
                if not stopping.is_set():
                    tg.cancel_scope.cancel()  # every attached container stopped by itself

            tg.start_soon(on_signals)
            tg.start_soon(follow)
            if abort:
                tg.start_soon(watch_exits)
    if interrupted:
        return INTERRUPTED
    if options.exit_code_from is not None:
        if options.exit_code_from not in exits:
            exits[options.exit_code_from] = await _exit_code_of(api, project.name, options.exit_code_from)
        return exits[options.exit_code_from]
    return exit_code


async def _exit_code_of(api: DockerAPI, project: str, service: str) -> int:
    """The exit code of the service's first replica, from the container list (0 if still running)."""
    from stack.engine.observe import container_from_list

    filters = L.container_filter(project, oneoff=False, service=service)
    seen = sorted((container_from_list(e) for e in await api.list_containers(filters)), key=lambda c: c.number)
    return seen[0].exit_code or 0 if seen else 0
