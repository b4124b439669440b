"""depends_on conditions, driven by the daemon's event stream (never by polling inspect).

One `ContainerWatcher` per run subscribes to the project's container events BEFORE the
first start, so no start/die/health_status event can slip between a start and its wait.
A wait checks the current state once when it begins (one list call for the dependency's
containers: it may already be healthy or exited) and then reacts to events as they arrive.

State merge rule: for a container that produced events since the subscription, the event
fields win (they are newer than anything the list can tell); the list fills in the rest
(containers untouched since before the subscription).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import ObjectReceiveStream

from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.observe import container_from_list
from stack.engine.taskgroups import unwrapped
from stack.errors import DockerAPIError, HealthcheckFailedError, ServiceFailedError, StackError, WaitTimeoutError
from stack.plan import labels as L

DEFAULT_WAIT_TIMEOUT = 120.0
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
WATCHED_ACTIONS = ("create", "start", "die", "destroy", "health_status")


@dataclass
class ContainerState:
    id: str
    name: str
    service: str
    state: str = ""  # created | running | exited | ...
    health: str | None = None  # starting | healthy | unhealthy | None
    exit_code: int | None = None
    started: bool = False  # a start event (or a non-created state) was seen
    deaths: int = 0  # exits seen (die events; an exited or restarting listing counts one)
    # When it was last seen to start or run (anyio clock), and whether the daemon already said it
    # has been up for a second or more: a process that dies right after its start must not pass
    # for a running service (see stack.engine.readiness).
    running_since: float | None = None
    settled: bool = False
    from_events: set[str] = field(default_factory=set)  # fields set by events


class ContainerWatcher:
    """The project's container states, kept current from one event subscription."""

    def __init__(self, api: DockerAPI, project: str) -> None:
        self.api = api
        self.project = project
        self.states: dict[str, ContainerState] = {}
        self.removed: set[str] = set()
        self._changed = anyio.Event()

    @classmethod
    @asynccontextmanager
    async def watching(cls, api: DockerAPI, project: str) -> AsyncIterator[ContainerWatcher]:
        """Subscribe (the stream is open when this yields) and keep the states current."""
        watcher = cls(api, project)
        # Only the actions `apply` folds: healthcheck probes add three exec_* events each, which
        # the daemon then need not send nor we decode (health_status matches by prefix).
        filters = {"type": "container", **L.container_filter(project), "event": list(WATCHED_ACTIONS)}
        with unwrapped():
            async with api.events(filters) as events, anyio.create_task_group() as tg:
                tg.start_soon(watcher._consume, events)
                try:
                    yield watcher
                finally:
                    tg.cancel_scope.cancel()

    async def _consume(self, events: ObjectReceiveStream[Any]) -> None:
        async for event in events:
            self.apply(event)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one daemon event into the states and wake the waits."""
        action = str(event.get("Action") or event.get("status") or "")
        actor = event.get("Actor") or {}
        attributes: dict[str, str] = actor.get("Attributes") or {}
        cid = str(actor.get("ID") or event.get("id") or "")
        if not cid or attributes.get(L.ONEOFF) == "True":
            return  # one-off `run` containers never satisfy (or fail) a service's condition
        if action == "destroy":
            self.states.pop(cid, None)
            self.removed.add(cid)
            self._notify()
            return
        st = self.states.get(cid)
        if st is None:
            st = ContainerState(cid, attributes.get("name", ""), attributes.get(L.SERVICE, ""))
            self.states[cid] = st
        if attributes.get("name"):
            st.name = attributes["name"]
        if action == "start":
            st.state, st.started, st.exit_code = "running", True, None
            st.running_since, st.settled = anyio.current_time(), False
            # A (re)start resets health; the healthcheck reports again.
            if st.health is not None:
                st.health = "starting"
            st.from_events |= {"state", "exit_code"}
        elif action == "die":
            st.state = "exited"
            st.started = True
            st.deaths += 1
            st.running_since, st.settled = None, False
            try:
                st.exit_code = int(attributes.get("exitCode", ""))
            except ValueError:
                st.exit_code = None
            st.from_events |= {"state", "exit_code"}
        elif action.startswith("health_status"):
            st.health = action.split(":", 1)[1].strip()
            st.from_events.add("health")
        elif action == "create":
            st.state = "created"
            st.from_events.add("state")
        else:
            return
        self._notify()

    def merge_listed(self, listed: list[dict[str, Any]]) -> None:
        """Fill in states from a container list, without overriding newer event facts."""
        for entry in listed:
            seen = container_from_list(entry)
            if seen.id in self.removed:
                continue
            st = self.states.get(seen.id)
            if st is None:
                st = ContainerState(seen.id, seen.name, seen.service)
                self.states[seen.id] = st
            if "state" not in st.from_events:
                st.state = seen.state
                st.started = st.started or seen.state not in ("created", "")
                if seen.state in ("exited", "restarting", "dead"):
                    st.deaths = max(st.deaths, 1)
                if seen.state == "running":
                    status = str(entry.get("Status") or "")
                    st.running_since = anyio.current_time()
                    st.settled = status.startswith("Up ") and not status.startswith("Up Less than")
            if "exit_code" not in st.from_events:
                st.exit_code = seen.exit_code
            if "health" not in st.from_events:
                st.health = seen.health

    def of_service(self, service: str) -> list[ContainerState]:
        return sorted((s for s in self.states.values() if s.service == service), key=lambda s: s.name)

    def next_change(self) -> anyio.Event:
        """The event set at the next state change (take it before checking: no lost wake-up)."""
        return self._changed


class UnhealthyGrace:
    """How long each unhealthy container has had to recover.

    A container turns unhealthy after `retries` failed probes in a row; one passing probe makes
    it healthy again, and the next probe comes one `interval` later and may take `timeout`.  So
    a wait gives an unhealthy container one more probe (interval + timeout, read from the
    container: the daemon's defaults are 30 s each), at least GRACE_FLOOR seconds, and fails
    once that has passed: a recovery is still seen, and a service that stays unhealthy fails in
    seconds instead of at the end of the whole wait.
    """

    GRACE_FLOOR = 2.0

    def __init__(self, api: DockerAPI) -> None:
        self.api = api
        self.deadlines: dict[str, float] = {}  # container id -> when its grace ends (anyio clock)
        self.graces: dict[str, float] = {}  # container id -> the grace it was given, in seconds

    async def _grace_of(self, container: str) -> float:
        try:
            info = await self.api.inspect_container(container)
        except DockerAPIError:
            return self.GRACE_FLOOR
        check = (info.get("Config") or {}).get("Healthcheck") or {}
        interval = (check.get("Interval") or 30_000_000_000) / 1e9
        timeout = (check.get("Timeout") or 30_000_000_000) / 1e9
        return max(self.GRACE_FLOOR, interval + timeout)

    async def update(self, states: list[ContainerState]) -> None:
        """Start the clock of newly unhealthy containers; stop it for the ones that recovered."""
        for s in states:
            if s.state == "running" and s.health == "unhealthy":
                if s.id not in self.deadlines:
                    grace = await self._grace_of(s.id)
                    self.graces[s.id] = grace
                    self.deadlines[s.id] = anyio.current_time() + grace
            else:
                self.deadlines.pop(s.id, None)

    def expired(self, states: list[ContainerState]) -> list[ContainerState]:
        now = anyio.current_time()
        return [s for s in states if self.deadlines.get(s.id, math.inf) <= now]

    def next_deadline(self) -> float:
        return min(self.deadlines.values(), default=math.inf)


async def last_log_lines(api: DockerAPI, container: str, lines: int = 10) -> str:
    """The end of a container's output, indented, for a failure message ("" when unavailable)."""
    try:
        text = await api.container_log_tail(container, lines)
    except DockerAPIError:
        return ""
    kept = [line[:300] for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in kept)


@dataclass(frozen=True)
class WaitSpec:
    service: str  # the dependency waited for
    condition: str
    required: bool = True
    timeout: float | None = None
    dependent: str | None = None  # who waits, for messages
    has_healthcheck: bool | None = None  # from the stack file: False = disabled/absent there
    restarts: bool = False  # the dependency has a restart policy (a die is not final)
    # Told the dependency's state each time it changes while waiting ("demo-db-1: starting").
    report: Callable[[str], None] | None = None


class _Outcome(Exception):
    """Internal: the wait is decided (satisfied when `error` is None)."""

    def __init__(self, error: StackError | None = None) -> None:
        self.error = error


def _check(spec: WaitSpec, states: list[ContainerState]) -> StackError | bool:
    """True when the condition holds, False to keep waiting, an error when it never will."""
    who = f"service {spec.dependent} " if spec.dependent else ""
    cond = spec.condition
    if cond == "service_started":
        return all(s.started or s.state not in ("created", "") for s in states)
    if cond == "service_healthy":
        for s in states:
            if s.state == "exited" and not spec.restarts:
                return ServiceFailedError(
                    f"{who}depends on {spec.service} being healthy, but container {s.name} exited"
                    f" with code {s.exit_code}",
                    hint=f"see `stack logs {spec.service}`",
                )
            if s.state == "running" and s.health is None:
                return HealthcheckFailedError(
                    f"{who}depends on {spec.service} being healthy, but container {s.name} has no healthcheck",
                    hint=f"add a `healthcheck:` to service {spec.service}, or use condition service_started",
                )
        return all(s.health == "healthy" and s.state == "running" for s in states)
    if cond == "service_completed_successfully":
        for s in states:
            if s.state == "exited" and s.exit_code not in (0, None):
                return ServiceFailedError(
                    f"{who}depends on {spec.service} completing successfully, but container {s.name}"
                    f" exited with code {s.exit_code}",
                    hint=f"see `stack logs {spec.service}`",
                )
        return all(s.state == "exited" and s.exit_code == 0 for s in states)
    return StackError(f"unknown depends_on condition {cond!r} for service {spec.service}")


async def failure_detail(api: DockerAPI, states: list[ContainerState]) -> str:
    """The last healthcheck output and exit code, from one inspect per container at failure time."""
    parts = []
    for s in states:
        try:
            info = await api.inspect_container(s.id)
        except DockerAPIError:
            continue
        state = info.get("State") or {}
        health = state.get("Health") or {}
        log = health.get("Log") or []
        bits = [f"state {state.get('Status', s.state)}"]
        if health:
            bits.append(f"health {health.get('Status')}")
        if state.get("Status") == "exited":
            bits.append(f"exit code {state.get('ExitCode')}")
        if log:
            last = log[-1]
            output = str(last.get("Output") or "").strip().replace("\n", " ")[:300]
            bits.append(f"last healthcheck exit {last.get('ExitCode')}: {output or '(no output)'}")
        parts.append(f"{s.name}: " + ", ".join(bits))
    return "; ".join(parts)


async def wait_for(watcher: ContainerWatcher, spec: WaitSpec) -> bool:
    """Block until `spec` holds.  Returns False when skipped (absent optional dependency).

    Raises a ServiceFailedError subclass when it cannot hold, WaitTimeoutError on timeout.
    """
    if spec.condition not in CONDITIONS:
        raise StackError(f"unknown depends_on condition {spec.condition!r} for service {spec.service}")
    if spec.condition == "service_healthy" and spec.has_healthcheck is False:
        raise HealthcheckFailedError(
            f"service {spec.dependent or '?'} depends on {spec.service} being healthy, but {spec.service}"
            " has no healthcheck",
            hint=f"add a `healthcheck:` to service {spec.service}, or use condition service_started",
        )
    api = watcher.api
    filters = L.container_filter(watcher.project, oneoff=False, service=spec.service)
    try:
        listed = await api.list_containers(filters)
    except DockerAPIError as exc:
        raise translate(exc, action=f"list the containers of {spec.service}", service=spec.service) from exc
    watcher.merge_listed(listed)
    # Membership comes from the list (taken after the dependency's starts): the events of a
    # container replaced or removed meanwhile, or of a one-off, must not decide this wait.
    members = {str(entry["Id"]) for entry in listed}

    def current() -> list[ContainerState]:
        return [s for s in watcher.of_service(spec.service) if s.id in members]

    if not current():
        if not spec.required:
            return False
        raise ServiceFailedError(
            f"service {spec.dependent or '?'} depends on {spec.service}, which has no container",
            hint=f"start it (`stack up {spec.service}`) or mark the dependency `required: false`",
        )
    timeout = spec.timeout if spec.timeout is not None else DEFAULT_WAIT_TIMEOUT
    last_told = ""
    grace = UnhealthyGrace(api)
    with anyio.move_on_after(timeout if timeout > 0 else math.inf) as scope:
        while True:
            changed = watcher.next_change()
            states = current()
            if spec.condition == "service_healthy":
                await grace.update(states)
                for s in grace.expired(states):
                    who = f"service {spec.dependent} " if spec.dependent else ""
                    raise HealthcheckFailedError(
                        f"{who}depends on {spec.service} being healthy, but container {s.name} is unhealthy"
                        f" and did not recover within {grace.graces[s.id]:g}s (one more probe):"
                        f" {await failure_detail(api, [s])}",
                        hint=f"see `stack logs {spec.service}` and the service's healthcheck",
                    )
            if spec.report is not None:
                told = ", ".join(f"{s.name}: {s.health or s.state or 'unknown'}" for s in states)
                if told != last_told:
                    spec.report(told)
                    last_told = told
            verdict = _check(spec, states)
            if verdict is True:
                return True
            if isinstance(verdict, StackError):
                detail = await failure_detail(api, current())
                if detail:
                    verdict.message += f" ({detail})"
                    verdict.args = (verdict.message,)
                raise verdict
            # Woken by the next state change, or when an unhealthy container's grace ends.
            with anyio.move_on_after(max(0.0, grace.next_deadline() - anyio.current_time())):
                await changed.wait()
    assert scope.cancelled_caught
    detail = await failure_detail(api, current())
    who = f"service {spec.dependent}: " if spec.dependent else ""
    cls = HealthcheckFailedError if spec.condition == "service_healthy" else WaitTimeoutError
    raise cls(
        f"{who}gave up after {timeout:g}s waiting for {spec.service} ({spec.condition})"
        + (f": {detail}" if detail else ""),
        hint=f"see `stack logs {spec.service}`; raise the wait with --wait-timeout",
    )


@dataclass(frozen=True)
class ReplicaCheck:
    """A rolling update's gate: these containers must become ready and stay so for `monitor`."""

    service: str
    containers: dict[str, tuple[int, str]]  # container id -> (replica number, name)
    # True: ready means healthy; False: running; None: healthy when the container reports a health
    # status (the image's own healthcheck), else running.
    healthcheck: bool | None
    monitor: float
    timeout: float
    report: Callable[[str], None] | None = None


@dataclass(frozen=True)
class ReplicaFailure:
    number: int
    name: str
    reason: str  # "exited with code 1", "is unhealthy", ...
    detail: str  # state, health, the last healthcheck output (from one inspect)


async def check_replicas(watcher: ContainerWatcher, check: ReplicaCheck) -> list[ReplicaFailure]:
    """Block until every container of `check` has been ready for `monitor` seconds, or has failed:
    exited or restarted, removed, unhealthy past its grace (UnhealthyGrace), unhealthy at all once
    ready, or not ready within `timeout`.  Returns the failures (empty: the gate passed)."""
    api = watcher.api
    try:
        listed = await api.list_containers({**L.container_filter(watcher.project), "id": list(check.containers)})
    except DockerAPIError as exc:
        raise translate(exc, action=f"list the new containers of {check.service}", service=check.service) from exc
    watcher.merge_listed(listed)
    deaths = {cid: s.deaths for cid in check.containers if (s := watcher.states.get(cid)) is not None}
    failed: dict[str, str] = {}
    ready_at: dict[str, float] = {}
    grace = UnhealthyGrace(api)
    started = anyio.current_time()
    deadline = started + check.timeout
    last_told = ""

    def health_gated(s: ContainerState) -> bool:
        return bool(check.healthcheck) or (check.healthcheck is None and s.health is not None)

    while True:
        changed = watcher.next_change()
        now = anyio.current_time()
        watched = {cid: watcher.states.get(cid) for cid in check.containers if cid not in failed}
        await grace.update([s for s in watched.values() if s is not None and s.id not in ready_at])
        for cid, s in watched.items():
            if s is None or cid in watcher.removed:
                failed[cid] = "was removed"
            elif s.deaths > deaths.get(cid, 0) or s.state in ("exited", "dead"):
                failed[cid] = f"exited with code {s.exit_code}" if s.exit_code is not None else "exited"
            elif health_gated(s) and s.health == "unhealthy":
                if cid in ready_at:
                    failed[cid] = f"turned unhealthy {now - ready_at[cid]:.1f}s after it was healthy"
                elif grace.expired([s]):
                    failed[cid] = f"is unhealthy (did not recover within {grace.graces[cid]:g}s, one more probe)"
            elif s.state == "running" and (not health_gated(s) or s.health == "healthy"):
                ready_at.setdefault(cid, now)
        if check.report is not None:
            told = ", ".join(
                f"{name}: {'failed' if cid in failed else 'ready' if cid in ready_at else _shown(watcher, cid)}"
                for cid, (_, name) in check.containers.items()
            )
            if told != last_told:
                check.report(told)
                last_told = told
        pending = [cid for cid in check.containers if cid not in failed]
        waiting = [cid for cid in pending if cid not in ready_at or ready_at[cid] + check.monitor > now]
        if not waiting:
            break
        if now >= deadline:
            what = "healthy" if any(health_gated(s) for s in watched.values() if s is not None) else "running"
            for cid in waiting:
                if cid not in ready_at:
                    failed[cid] = f"was not {what} after {check.timeout:g}s"
            break
        wake = min(deadline, grace.next_deadline(), *(ready_at[c] + check.monitor for c in waiting if c in ready_at))
        # Woken by the next state change, the end of a monitor period, a grace or the deadline.
        with anyio.move_on_after(max(0.0, wake - now)):
            await changed.wait()
    failures = []
    for cid, reason in failed.items():
        number, name = check.containers[cid]
        state = watcher.states.get(cid)
        detail = await failure_detail(api, [state]) if state is not None else ""
        failures.append(ReplicaFailure(number, name, reason, detail.partition(": ")[2] if detail else ""))
    return sorted(failures, key=lambda f: f.number)


def _shown(watcher: ContainerWatcher, cid: str) -> str:
    s = watcher.states.get(cid)
    return (s.health or s.state or "unknown") if s is not None else "unknown"
