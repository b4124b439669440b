"""Files in and out of a project's containers: cp (both ways), export (a container's
filesystem as a tar), commit (a container's changes as an image that is nobody's).

They work on containers in any state (the daemon reads and writes a stopped container's
files), found by our labels, as Compose finds them.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import IO

import anyio

from stack.api.session import blocking, session
from stack.engine.containers import find_containers, pick_container
from stack.engine.copy import CopyFlags, copy_into, copy_out
from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.errors import DockerAPIError, FileCopyError, ServiceNotRunningError, StackError
from stack.plan import labels as L
from stack.plan.observed import ObservedContainer

__all__ = [
    "CommitResult",
    "commit",
    "commit_async",
    "copy_from",
    "copy_from_async",
    "copy_to",
    "copy_to_async",
    "export",
    "export_async",
]

Local = str | os.PathLike[str]


def _no_container(service: str, index: int | None) -> ServiceNotRunningError:
    replica = f" (replica {index})" if index is not None else ""
    return ServiceNotRunningError(
        f"service {service}{replica} has no container", hint=f"create it with `stack up -d {service}`"
    )


async def copy_to_async(
    project_name: str,
    service: str,
    source: Local | IO[bytes],
    destination: str,
    *,
    index: int | None = None,
    include_one_off: bool = False,
    archive: bool = False,
    follow_link: bool = False,
    api: DockerAPI | None = None,
) -> list[str]:
    """Copy the local `source` to `destination` in every container of `service` (as Compose:
    all replicas, `run` containers too with `include_one_off`; only replica `index` when
    given), as `docker cp` copies; the names of the containers.

    `source` may be a tar stream, extracted into `destination` (an existing directory);
    `archive` keeps the files' uid/gid (`-a`), `follow_link` follows a source that is a link.
    """
    flags = CopyFlags(archive=archive, follow_link=follow_link)
    async with session(api) as docker:
        one_off = None if include_one_off and index is None else False
        found = await find_containers(docker, project_name, [service], one_off=one_off, index=index)
        if not found:
            raise _no_container(service, index)
        payload: str | IO[bytes] | _Replay
        if isinstance(source, str | os.PathLike):
            payload = os.fspath(source)
        elif len(found) == 1:
            payload = source
        else:  # one stream, several containers: each gets the whole of it
            data = await anyio.to_thread.run_sync(source.read)
            payload = _Replay(data)

        async def one(container: ObservedContainer) -> None:
            stream = payload.fresh() if isinstance(payload, _Replay) else payload
            await copy_into(docker, container.id, container.name, stream, destination, flags)

        async with anyio.create_task_group() as tg:
            for container in found:
                tg.start_soon(one, container)
    return [c.name for c in found]


class _Replay:
    """A tar read once, handed to several containers."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def fresh(self) -> IO[bytes]:
        return io.BytesIO(self.data)


async def copy_from_async(
    project_name: str,
    service: str,
    source: str,
    destination: Local | IO[bytes],
    *,
    index: int | None = None,
    archive: bool = False,
    follow_link: bool = False,
    api: DockerAPI | None = None,
) -> str:
    """Copy `source` from a container of `service` (replica `index`, else the first) to the
    local `destination`, as `docker cp` copies; the container's name.

    `destination` may be a binary stream, which receives the tar as the daemon sends it;
    `archive` keeps the container's numeric uid/gid, else the files are the caller's.
    """
    flags = CopyFlags(archive=archive, follow_link=follow_link)
    async with session(api) as docker:
        found = await find_containers(docker, project_name, [service], one_off=False, index=index)
        if not found:
            raise _no_container(service, index)
        container = found[0]
        target = destination if not isinstance(destination, str | os.PathLike) else os.fspath(destination)
        await copy_out(docker, container.id, container.name, source, target, flags)
    return container.name


@dataclass(frozen=True)
class CommitResult:
    container: str
    image_id: str


async def commit_async(
    project_name: str,
    service: str,
    reference: str | None = None,
    *,
    index: int | None = None,
    author: str | None = None,
    message: str | None = None,
    changes: list[str] | None = None,
    pause: bool = True,
    api: DockerAPI | None = None,
) -> CommitResult:
    """A new image from a container of `service` (replica `index`, else the first), tagged
    `reference` (REPOSITORY[:TAG]) when given; `changes` are Dockerfile instructions
    (`CMD`, `ENV`, `LABEL`, ...) applied to its config; `pause` pauses the container meanwhile.

    The image carries none of our labels' values (`labels.commit_changes`): a container run
    from it is never taken for one of the project's.
    """
    async with session(api) as docker:
        container = await pick_container(docker, project_name, service, index, running=False)
        ours = L.commit_changes(container.labels, project_name, service)
        try:
            image = await docker.commit_container(
                container.id,
                reference=reference,
                message=message,
                author=author,
                changes=[*(changes or []), *ours],
                pause=pause,
            )
            labels = ((await docker.inspect_image(image)).get("Config") or {}).get("Labels") or {}
        except DockerAPIError as exc:
            raise translate(exc, action=f"commit {container.name}", service=service, resource=container.name) from exc
        informative = (L.BUILT_FOR_PROJECT, L.BUILT_FOR_SERVICE)
        left = sorted(k for k, v in labels.items() if k.startswith(L.PREFIX) and v and k not in informative)
        if L.owner_of(labels) is not None or left:
            with contextlib.suppress(DockerAPIError):
                await docker.remove_image(image, force=True)
            raise StackError(f"the image committed from {container.name} kept our labels {left}: removed it")
    return CommitResult(container.name, image)


async def export_async(
    project_name: str,
    service: str,
    output: Local | IO[bytes],
    *,
    index: int | None = None,
    api: DockerAPI | None = None,
) -> str:
    """Write the filesystem of a container of `service` (replica `index`, else the first) to
    `output` (a path, or a binary stream) as a tar; the container's name."""
    async with session(api) as docker:
        container = await pick_container(docker, project_name, service, index, running=False)
        if isinstance(output, str | os.PathLike):
            path = os.fspath(output)
            try:
                sink: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed below)
            except OSError as exc:
                raise FileCopyError(f"cannot write {path}: {exc.strerror or exc}") from exc
            try:
                await _export(docker, container, service, sink, path)
            except BaseException:
                sink.close()
                with contextlib.suppress(OSError):
                    os.unlink(path)  # no half archive left behind
                raise
            sink.close()
        else:
            await _export(docker, container, service, output, "the output")
    return container.name


async def _export(docker: DockerAPI, container: ObservedContainer, service: str, sink: IO[bytes], where: str) -> None:
    def write(chunk: bytes) -> None:
        try:
            sink.write(chunk)
        except OSError as exc:
            raise FileCopyError(f"cannot write {where}: {exc.strerror or exc}") from exc

    try:
        await docker.export_container(container.id, write)
    except DockerAPIError as exc:
        raise translate(exc, action=f"export {container.name}", service=service, resource=container.name) from exc


copy_to = blocking(copy_to_async)
copy_from = blocking(copy_from_async)
commit = blocking(commit_async)
export = blocking(export_async)
