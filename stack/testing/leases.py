"""Which projects are ours, and whether the process that made them still lives.

Before it creates anything, the process that brings a project up writes a lease file for it
(`<state dir>/<daemon>/<project>.lease`) and holds an exclusive `flock` on it until the project
is down again.  The kernel drops that lock when the process ends, however it ends (SIGKILL
included), so "the lease can be locked" means exactly "its owner is gone": no pid is guessed,
reuse of pids and sibling xdist workers or concurrent runs (whose leases are held) are safe.
A lease's project is then swept by the next process that looks: `down -v` by its labels.

A lease is made under a temporary name, locked, then renamed into place, so that no one can
see it unlocked.  The state directory holds one directory per daemon (DOCKER_HOST or
DOCKER_CONTEXT), so a lease is only ever swept on the daemon its project lives on; runs on
other machines (or in other containers) have their own state directories and are never seen.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".lease"


def daemon_key() -> str:
    """Names the daemon this process talks to, as far as its environment says."""
    return os.environ.get("DOCKER_HOST") or os.environ.get("DOCKER_CONTEXT") or "default"


def lease_dir(state_dir: Path) -> Path:
    return state_dir / hashlib.sha256(daemon_key().encode()).hexdigest()[:12]


@dataclass
class Lease:
    """A held lease: the project it names, and the open, locked file that proves it."""

    project: str
    path: Path
    fd: int
    info: dict[str, Any]

    @classmethod
    def take(cls, state_dir: Path, project: str) -> Lease:
        """Record that this process owns `project`, before anything of it is created."""
        directory = lease_dir(state_dir)
        directory.mkdir(parents=True, exist_ok=True)
        info = {
            "project": project,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "daemon": daemon_key(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        temporary = directory / f".{project}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, json.dumps(info).encode())
            path = directory / f"{project}{SUFFIX}"
            os.rename(temporary, path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return cls(project, path, fd, info)

    def release(self) -> None:
        """The project is gone: remove the lease (unlink first, so that nobody who opened it
        meanwhile takes it for a dead one: they see it has no name left)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self.abandon()

    def abandon(self) -> None:
        """Stop holding the lease but leave it: the next run sweeps its project."""
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1


def _claim_if_dead(path: Path) -> Lease | None:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None  # released meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)  # held: its owner (or another sweeper) lives
        return None
    try:
        if os.fstat(fd).st_nlink == 0:
            raise ValueError("released meanwhile")
        with open(fd, encoding="utf-8", closefd=False) as file:
            info = json.load(file)
        project = str(info["project"])
        if path.name != f"{project}{SUFFIX}":
            raise ValueError("not a lease of ours")
    except (OSError, ValueError, KeyError, TypeError):
        os.close(fd)
        return None
    return Lease(project, path, fd, info)


def dead_leases(state_dir: Path) -> Iterator[Lease]:
    """The leases of this daemon whose owner is gone, each now held by this process."""
    directory = lease_dir(state_dir)
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        lease = _claim_if_dead(path)
        if lease is not None:
            yield lease
