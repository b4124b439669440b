"""Files into a service's containers for `stack watch`: copy, delete, and the exec hooks.

* Copies go through the Engine API's archive upload (`PUT /containers/{id}/archive`, through
  `DockerAPI.put_files`): the container needs no `tar` (Compose execs `tar` in it).  One
  archive per batch and service (per owner), uploaded to each of its containers.  The files
  belong to the container's user (`user:`, else the image's `USER`; resolved once per container
  from its /etc/passwd and /etc/group, read through the same API), so an app that runs
  unprivileged can rewrite what was synced.  Not the daemon's copyUIDGID: Docker 20.10 runs
  `getent` for it, which fails on a numeric `uid:gid` and in images without getent.
* Deletions exec `rm -rf -- PATH...` in the container, as Compose does: the archive upload
  cannot delete.  A container without `rm` (distroless, scratch) gets a warning naming it and
  keeps the stale files; watch goes on.
* Exec hooks (`sync+exec`) run in each container; their output comes back as log lines.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from stack.engine.docker_api import DockerAPI
from stack.engine.logs import STDERR, STDOUT, LineSplitter, LogLine
from stack.errors import DockerAPIError, DockerNotFoundError
from stack.plan.observed import ObservedContainer
from stack.plan.watch_rules import CompiledRule, PathMapping, is_within
from stack.spec.models import WatchExec

if TYPE_CHECKING:
    import tarfile

# Exit codes of a process the runtime could not start: 126 not executable, 127 not found.
_NOT_STARTED = (126, 127)


@dataclass(frozen=True)
class Entry:
    """One archive member: a host file, directory or symlink, and its path in the container."""

    host: str
    container: str


def tree_entries(mapping: PathMapping) -> list[Entry]:
    """What copying `mapping` takes: the file, or the directory and everything under it that
    its rule does not ignore (a directory that appeared with files in it, or an initial sync).
    Missing paths are skipped: the file may be gone again by now."""
    rule = mapping.rule
    try:
        info = os.lstat(mapping.host)
    except OSError:
        return []
    entries = [Entry(mapping.host, mapping.container)]
    if not stat.S_ISDIR(info.st_mode):
        return entries
    for directory, dirs, files in os.walk(mapping.host):
        dirs[:] = sorted(d for d in dirs if not rule.ignored(os.path.join(directory, d)))
        for name in [*dirs, *sorted(files)]:
            host = os.path.join(directory, name)
            if rule.matches(host):
                target = rule.container_path(host)
                if target is not None:
                    entries.append(Entry(host, target))
    return entries


def rule_tree(rule: CompiledRule) -> list[PathMapping]:
    """The whole of a sync rule's path, as one mapping (an initial sync)."""
    target = rule.container_path(rule.rule.path)
    if target is None or not os.path.lexists(rule.rule.path):
        return []
    return [PathMapping(rule.rule.path, target, rule)]


def build_archive(copies: Iterable[PathMapping], owner: tuple[int, int] = (0, 0)) -> tuple[bytes, int]:
    """A tar (paths from the container's root, owned by `owner`, a uid and gid) of everything
    `copies` takes; and how many members it holds.  Directories between a rule's target and a
    file are added, so a file in a new directory lands with the directory's host mode and the
    container user as owner rather than the daemon's defaults."""
    import tarfile  # only when files are synced: `import stack.api` must stay quick

    buffer = io.BytesIO()
    seen: set[str] = set()
    count = 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for mapping in copies:
            entries = tree_entries(mapping)
            if entries:
                entries = _parents(mapping) + entries
            for entry in entries:
                name = entry.container.strip("/")
                if not name or name in seen:
                    continue
                if _add(tar, entry.host, name, owner):
                    seen.add(name)
                    count += 1
    return buffer.getvalue(), count


def _parents(mapping: PathMapping) -> list[Entry]:
    """The directories strictly between the rule's path and `mapping.host`."""
    root = mapping.rule.rule.path
    out: list[Entry] = []
    parent = os.path.dirname(mapping.host)
    while parent != root and is_within(root, parent):
        target = mapping.rule.container_path(parent)
        if target is not None:
            out.append(Entry(parent, target))
        parent = os.path.dirname(parent)
    return out[::-1]


def _add(tar: tarfile.TarFile, host: str, name: str, owner: tuple[int, int]) -> bool:
    """One member, with the host file's mode and time and the container user's ownership."""
    try:
        info = tar.gettarinfo(host, arcname=name)
    except OSError:
        return False  # removed while we walked
    if not (info.isfile() or info.isdir() or info.issym()):
        return False  # sockets, FIFOs, devices: nothing to sync
    info.uid, info.gid = owner
    info.uname = info.gname = ""
    if not info.isfile():
        tar.addfile(info)
        return True
    try:
        with open(host, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    info.size = len(data)  # what was read, even if the file changes meanwhile
    tar.addfile(info, io.BytesIO(data))
    return True


Notice = Callable[[str], None]


def container_owner(user: str, passwd: str | None, group: str | None) -> tuple[int, int]:
    """The uid and gid a container's `User` (`""`, `name`, `uid`, `name:group`, `uid:gid`) runs
    as, resolved as the runtime does from the image's /etc/passwd and /etc/group; root when a
    name is unknown (the container could not have started as it)."""
    if not user:
        return 0, 0
    name, _, wanted_group = user.partition(":")
    users = [line.split(":") for line in (passwd or "").splitlines() if line.count(":") >= 3]
    entry = next((u for u in users if (u[2] == name if name.isdigit() else u[0] == name)), None)
    if name.isdigit():
        uid = int(name)
    elif entry is not None and entry[2].isdigit():
        uid = int(entry[2])
    else:
        return 0, 0
    gid = int(entry[3]) if entry is not None and entry[3].isdigit() else 0
    if wanted_group.isdigit():
        gid = int(wanted_group)
    elif wanted_group:
        groups = [line.split(":") for line in (group or "").splitlines() if line.count(":") >= 2]
        found = next((g for g in groups if g[0] == wanted_group and g[2].isdigit()), None)
        gid = int(found[2]) if found is not None else gid
    return uid, gid


class Owners:
    """Whom synced files belong to in each container (its user), looked up once per container."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int]] = {}

    async def of(self, api: DockerAPI, container: str) -> tuple[int, int]:
        if container not in self._known:
            user = str(((await api.inspect_container(container)).get("Config") or {}).get("User") or "")
            name, _, wanted_group = user.partition(":")
            numeric = name.isdigit() and (not wanted_group or wanted_group.isdigit())
            passwd = group = None
            if user and not (numeric and wanted_group):
                passwd = _text(await api.read_file(container, "/etc/passwd"))
            if wanted_group and not wanted_group.isdigit():
                group = _text(await api.read_file(container, "/etc/group"))
            self._known[container] = container_owner(user, passwd, group)
        return self._known[container]


def _text(data: bytes | None) -> str | None:
    return data.decode(errors="replace") if data is not None else None


async def sync_into(
    api: DockerAPI,
    containers: Sequence[ObservedContainer],
    copies: Sequence[PathMapping],
    deletes: Sequence[str],
    warn: Notice,
    owners: Owners,
) -> int:
    """Delete `deletes`, then copy `copies`, in every container at once; the number of archive
    members copied.  A container removed meanwhile is skipped; other refusals are warnings."""
    archives: dict[tuple[int, int], tuple[bytes, int]] = {}
    lock = anyio.Lock()  # one archive per owner, built once

    async def archive_for(container: ObservedContainer) -> tuple[bytes, int]:
        owner = await owners.of(api, container.id)
        async with lock:
            if owner not in archives:
                archives[owner] = await anyio.to_thread.run_sync(build_archive, copies, owner)
        return archives[owner]

    async def one(container: ObservedContainer) -> None:
        try:
            if deletes:
                await _delete(api, container, deletes, warn)
            if copies:
                archive, members = await archive_for(container)
                if members:
                    await api.put_files(container.id, archive)
        except DockerNotFoundError:
            return
        except DockerAPIError as exc:
            warn(f"service {container.service}: could not sync into {container.name}: {exc.detail}")

    async with anyio.create_task_group() as tg:
        for container in containers:
            tg.start_soon(one, container)
    return max((members for _, members in archives.values()), default=0)


async def _delete(api: DockerAPI, container: ObservedContainer, paths: Sequence[str], warn: Notice) -> None:
    exec_id = await api.exec_create(container.id, ["rm", "-rf", "--", *paths])
    try:
        output = await api.exec_output(exec_id)
    except DockerAPIError as exc:
        output, code = exc.detail.encode(), _NOT_STARTED[1]
    else:
        code = await _exit_code(api, exec_id)
    if code == 0:
        return
    said = output.decode(errors="replace").strip().splitlines()
    detail = said[-1] if said else f"exit code {code}"
    if code in _NOT_STARTED:
        warn(
            f"service {container.service}: cannot delete {', '.join(paths)} in {container.name}: the container has"
            f" no `rm` ({detail}); the files stay there until the container is recreated"
        )
    else:
        warn(f"service {container.service}: deleting {', '.join(paths)} in {container.name} failed: {detail}")


async def _exit_code(api: DockerAPI, exec_id: str) -> int:
    # The output ends a moment before the daemon records the exit code: poll it, bounded.
    with anyio.move_on_after(10):
        while True:
            info = await api.exec_inspect(exec_id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else 0
            await anyio.sleep(0.02)
    return -1


async def run_hook(
    api: DockerAPI, container: ObservedContainer, hook: WatchExec, on_line: Callable[[LogLine], None]
) -> int:
    """Run a `sync+exec` hook in `container`, its output to `on_line` as the container's log
    lines; its exit code (126/127: it could not start)."""
    assert hook.command
    exec_id = await api.exec_create(
        container.id,
        list(hook.command),
        user=hook.user,
        privileged=bool(hook.privileged),
        workdir=hook.working_dir,
        env=hook.environment,
    )
    splitter = LineSplitter()

    def emit(stream: str, text: str) -> None:
        on_line(LogLine(container.name, container.service, container.number, stream, text))

    async with api.exec_stream(exec_id) as chunks:
        async for out, err in chunks:
            for stream, data in ((STDOUT, out), (STDERR, err)):
                if data:
                    for text in splitter.feed(stream, data):
                        emit(stream, text)
    for stream, text in splitter.flush():
        emit(stream, text)
    return await _exit_code(api, exec_id)
