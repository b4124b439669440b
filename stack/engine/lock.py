"""One writer per project: a lock kept by the daemon itself, so that it holds across processes,
terminals and machines that talk to one daemon (a file lock would not).

The lock is a volume named `stack-lock.<project>`.  The daemon creates volumes under a per-name
lock and, when one of that name exists, answers a create with the existing volume and its labels
unchanged.  So a create carrying our holder token is a compare-and-set: the token that comes
back tells who holds the lock.  Releasing removes the volume.

A holder killed with SIGKILL leaves its volume behind.  Whether a holder still lives:
- same kernel and pid namespace (the usual case): its pid still runs and started when the lock
  says (pids are reused, start times are not) - decided at once;
- elsewhere (another machine or container): it renews a heartbeat volume every BEAT_SECONDS;
  without a beat for LEASE_SECONDS by the daemon's clock, it is gone.
Taking over a stale lock must not remove a lock that a third process took meanwhile, and volumes
can only be removed by name.  So a taker first wins a guard volume named after the stale token
(the same compare-and-set); only the guard's winner removes the stale lock, and only while the
lock still carries that token, which no one else can put back.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.taskgroups import unwrapped
from stack.errors import DockerAPIError, DockerNotFoundError, ProjectLockedError, ResourceConflictError, StackError
from stack.plan import labels as L

DEFAULT_LOCK_TIMEOUT = 300.0  # seconds a writer waits for another; builds can take minutes
BEAT_SECONDS = 10.0
LEASE_SECONDS = 60.0  # no heartbeat for this long (daemon clock): the holder is gone
RECHECK_SECONDS = 1.0  # while waiting: how often to ask whether the holder still lives
_GUARD_DEPTH = 3  # guards of guards: each level needs another death within milliseconds


@dataclass(frozen=True)
class LockPolicy:
    """How a writer meets a held lock: wait (up to `timeout` seconds) or fail at once."""

    wait: bool = True
    timeout: float = DEFAULT_LOCK_TIMEOUT
    on_wait: Callable[[str], None] | None = None  # told once per holder what we wait for


def lock_name(project: str) -> str:
    return f"stack-lock.{project}"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as file:
            return file.read().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """When `pid` started (clock ticks since boot), "" when no such process (or no /proc)."""
    stat = _read(f"/proc/{pid}/stat")
    # Field 22; the command name (field 2) may hold spaces and parentheses, so count after it.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def _namespace() -> str:
    """This kernel boot and pid namespace: pids compare only within one ("" when unknown)."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{boot}/{pidns}" if boot else ""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock (or a guard): stored as JSON in the volume's LOCK_HOLDER label."""

    token: str
    command: str = "?"
    host: str = "?"
    pid: int = 0
    started: str = ""  # the process's start time, in its namespace
    namespace: str = ""  # see _namespace
    since: str = ""  # local wall-clock time, for people

    @classmethod
    def me(cls, command: str) -> Holder:
        pid = os.getpid()
        return cls(
            token=secrets.token_hex(8),
            command=command,
            host=socket.gethostname(),
            pid=pid,
            started=_start_time(pid),
            namespace=_namespace(),
            since=time.strftime("%H:%M:%S"),
        )

    @classmethod
    def parse(cls, text: str) -> Holder:
        """The holder a label names; an unreadable label is a holder we cannot ask, known by
        its text (so it is taken over once its lease ends)."""
        try:
            data = json.loads(text)
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (ValueError, TypeError, KeyError):
            # Every process must name it alike (guards are named after tokens): a digest.
            return cls(token="unreadable-" + hashlib.sha256(text.encode()).hexdigest()[:16])

    def label(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    def describe(self) -> str:
        return f"`stack {self.command}` (pid {self.pid} on {self.host}, since {self.since or '?'})"

    def alive_here(self) -> bool | None:
        """True or False when this process can tell from /proc; None when the holder runs on
        another kernel or in another pid namespace."""
        if not self.namespace or not self.started or self.namespace != _namespace():
            return None
        return _start_time(self.pid) == self.started


def _created(volume: dict[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(volume.get("CreatedAt") or "")).timestamp()
    except ValueError:
        return None


class _Locker:
    """Compare-and-set, staleness and take-over on the lock volumes of one project."""

    def __init__(self, api: DockerAPI, project: str, me: Holder) -> None:
        self.api = api
        self.project = project
        self.me = me
        self.name = lock_name(project)
        self.beats = False  # whether a heartbeat volume was ever made (a short command makes none)

    async def claim(self, name: str) -> tuple[Holder, dict[str, Any]]:
        """Create volume `name` carrying our token, unless it exists: its holder (us when we won)."""
        labels = {L.LOCK: self.project, L.LOCK_HOLDER: self.me.label()}
        try:
            volume = await self.api.create_volume(name, driver="local", labels=labels)
        except DockerAPIError as exc:
            raise translate(exc, action=f"create lock volume {name} of project {self.project}") from exc
        found = dict(volume.get("Labels") or {})
        if found.get(L.LOCK) != self.project:
            raise ResourceConflictError(
                f"volume {name} exists but stack did not create it: stack locks project {self.project} with it",
                hint=f"if nothing uses it, remove it (docker volume rm {name})",
            )
        return Holder.parse(found.get(L.LOCK_HOLDER, "")), volume

    async def holder_of(self, name: str) -> Holder | None:
        try:
            volume = await self.api.inspect_volume(name)
        except DockerNotFoundError:
            return None
        return Holder.parse(str((volume.get("Labels") or {}).get(L.LOCK_HOLDER, "")))

    async def stale(self, holder: Holder, volume: dict[str, Any]) -> bool:
        """Whether `holder` is gone: by /proc when it ran here, else by its last heartbeat."""
        alive = holder.alive_here()
        if alive is not None:
            return not alive
        stamps = [_created(volume)]
        beats = await self.api.list_volumes({"label": [f"{L.LOCK_BEAT}={holder.token}"]})
        stamps += [_created(v) for v in beats]
        try:
            now = datetime.fromisoformat(await self.api.system_time()).timestamp()
        except ValueError:
            return False  # no clock to age it by: never guess that someone is dead
        newest = max((s for s in stamps if s is not None), default=None)
        return newest is not None and now - newest > LEASE_SECONDS

    async def remove_if_held_by(self, name: str, holder: Holder, depth: int = 0) -> bool:
        """Remove lock volume `name` if `holder` (judged gone) still holds it; safe when several
        processes try at once (see the module docstring).  False: another process is at it."""
        guard = f"{name}.reap-{holder.token}"
        winner, volume = await self.claim(guard)
        if winner.token != self.me.token:
            # Someone else is taking it over; if that one died doing so, clear its guard too.
            if depth < _GUARD_DEPTH and await self.stale(winner, volume):
                await self.remove_if_held_by(guard, winner, depth + 1)
            return False
        try:
            current = await self.holder_of(name)
            if current is not None and current.token == holder.token:
                await self.remove(name)
                await self.remove_beats(holder.token)
            return True
        finally:
            with anyio.CancelScope(shield=True):
                await self.remove(guard)

    async def remove(self, name: str) -> None:
        with contextlib.suppress(DockerNotFoundError):
            await self.api.remove_volume(name)

    async def remove_beats(self, token: str) -> None:
        for beat in await self.api.list_volumes({"label": [f"{L.LOCK_BEAT}={token}"]}):
            await self.remove(str(beat["Name"]))

    async def heartbeat(self) -> None:
        """While held: a fresh beat volume every BEAT_SECONDS, for waiters on other machines."""
        previous: str | None = None
        for count in itertools.count(1):
            await anyio.sleep(BEAT_SECONDS)  # the heartbeat's period, not a synchronisation
            beat = f"{self.name}.beat-{self.me.token}-{count}"
            self.beats = True
            # A missed beat is not the command's failure: the command itself reports a lost daemon.
            with contextlib.suppress(DockerAPIError, StackError):
                await self.api.create_volume(beat, driver="local", labels={L.LOCK_BEAT: self.me.token})
                if previous is not None:
                    await self.remove(previous)
                previous = beat

    async def release(self) -> None:
        """Remove our lock volume, unless someone took it over (judged us gone).  A release that
        fails (daemon gone) must not hide the command's own outcome: the volume stays, and the
        next writer finds our process gone and takes the lock over."""
        with contextlib.suppress(DockerAPIError, StackError):
            if self.beats:
                await self.remove_beats(self.me.token)
            current = await self.holder_of(self.name)
            if current is not None and current.token == self.me.token:
                await self.remove(self.name)


async def _acquire(locker: _Locker, policy: LockPolicy) -> None:
    deadline = anyio.current_time() + policy.timeout
    holder, volume = await locker.claim(locker.name)
    if holder.token == locker.me.token:
        return  # uncontended: one create
    told = ""
    # Contended: subscribe to the lock's removal first, then try again, so no release is missed.
    filters = {"type": ["volume"], "event": ["destroy"], "volume": [locker.name]}
    async with locker.api.events(filters) as released:
        while True:
            holder, volume = await locker.claim(locker.name)
            if holder.token == locker.me.token:
                return
            what = f"project {locker.project} is locked by {holder.describe()}"
            if await locker.stale(holder, volume):
                if await locker.remove_if_held_by(locker.name, holder):
                    continue
                what += ", which is gone; another command is taking the lock over"
            if not policy.wait:
                raise ProjectLockedError(what, hint="wait for it to finish, or run again without --no-wait-lock")
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                raise ProjectLockedError(
                    f"{what}; gave up after waiting {policy.timeout:g}s",
                    hint="wait for it to finish, or wait longer with --lock-timeout SECONDS",
                )
            if holder.token != told and policy.on_wait is not None:
                policy.on_wait(f"Waiting for {holder.describe()} to finish changing project {locker.project}")
                told = holder.token
            # Woken by the release; otherwise look again whether the holder still lives.
            with anyio.move_on_after(min(RECHECK_SECONDS, remaining)):
                try:
                    await released.receive()
                except anyio.EndOfStream:
                    await anyio.sleep(RECHECK_SECONDS)  # the event stream ended: poll until the deadline


@asynccontextmanager
async def project_lock(
    api: DockerAPI, project: str, command: str, policy: LockPolicy | None = None
) -> AsyncIterator[None]:
    """Hold the project's lock for the body; re-entrant for callers that share `api`."""
    if project in api.held_locks:
        yield
        return
    locker = _Locker(api, project, Holder.me(command))
    await _acquire(locker, policy or LockPolicy())
    api.held_locks.add(project)
    try:
        with unwrapped():
            async with anyio.create_task_group() as tg:
                tg.start_soon(locker.heartbeat)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
    finally:
        api.held_locks.discard(project)
        with anyio.CancelScope(shield=True):
            await locker.release()
