"""The one async facade over the Docker SDK: every daemon call of stack goes through here.

The SDK is synchronous, so each call runs in a worker thread (`anyio.to_thread.run_sync`)
behind one shared `CapacityLimiter`; the SDK's connection pool is sized to match so that
parallel calls never queue on the pool.  The limiter's size is `concurrency`: by default
DEFAULT_CONCURRENCY, else STACK_PARALLEL_LIMIT / COMPOSE_PARALLEL_LIMIT (what the CLI's
`--parallel N` sets), -1 meaning no bound, as Compose's `--parallel -1`.  Every call is
counted by kind (`api.calls`), which is how we know (and test) how many round trips a command
makes.

This is the one boundary where the SDK's errors become ours, as httpx maps transport errors
in one place: connection failures become `DockerUnavailableError`, the daemon's refusals
`DockerAPIError` (`DockerNotFoundError` for a 404), carrying the daemon's status and words.
Callers that know the service and resource re-word them with `stack.engine.errors.translate`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import math
import os
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import IO, Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import docker
import docker.errors
import requests.exceptions
from anyio.abc import ObjectReceiveStream

from stack.engine.endpoint import DEFAULT_CONTEXT, DEFAULT_HOST, Endpoint
from stack.engine.endpoint import resolve as resolve_endpoint
from stack.engine.errors import refusal
from stack.errors import DockerUnavailableError
from stack.spec.environment import UNLIMITED, parallel_limit

T = TypeVar("T")

# Engine API versions: we speak the daemon's own, between these two.  1.41 is Docker 20.10, the
# oldest daemon we test against; 1.44 (Docker 25) is the first that applies a healthcheck's
# start_interval.  Newer daemons answer 1.44 requests as 1.44 did.
DEFAULT_API_VERSION = "1.41"
MAX_API_VERSION = "1.44"
START_INTERVAL_API_VERSION = "1.44"
DEFAULT_CONCURRENCY = 16
# Pooled connections kept for reuse when calls are not bounded (`--parallel -1`); more may be
# opened at once, and are closed after use.
_UNBOUNDED_POOL = 64
# Long-lived streams (events, logs) hold a pooled connection outside the limiter.
_STREAM_CONNECTIONS = 4
_READER_JOIN_SECONDS = 2.0
# Each swarm request (stack.engine.swarm) is answered within this many seconds, or fails.
SWARM_CALL_TIMEOUT = 30.0


def _unavailable(exc: BaseException, host: str) -> DockerUnavailableError:
    return DockerUnavailableError(
        f"cannot reach the Docker daemon at {host} ({exc.__class__.__name__}: {exc})",
        hint="is the Docker daemon running, and is DOCKER_HOST (or the docker context) pointing at it?",
    )


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def api_version_at_least(version: str, minimum: str) -> bool:
    return _version_key(version) >= _version_key(minimum)


def negotiate_api_version(server: str | None) -> str:
    """The API version to speak with a daemon that speaks `server`: its own, at most ours."""
    if not server or _version_key(server) == (0,):
        return DEFAULT_API_VERSION  # unknown: the first real call will say what is wrong
    return MAX_API_VERSION if _version_key(server) > _version_key(MAX_API_VERSION) else server


def _connection_kwargs(endpoint: Endpoint, env: dict[str, str]) -> dict[str, Any]:
    """base_url and TLS for the SDK: from the environment, or from the Docker CLI context."""
    if endpoint.context == DEFAULT_CONTEXT:
        return dict(docker.utils.kwargs_from_env(environment=env))
    kwargs: dict[str, Any] = {"base_url": endpoint.host}
    if endpoint.tls:
        from docker.context import ContextAPI

        # The SDK reads the context's certificates from DOCKER_CONFIG (or ~/.docker) itself.
        tls = ContextAPI.get_context(endpoint.context).TLSConfig
        if tls is not None:
            kwargs["tls"] = tls
    return kwargs


def _server_api_version(client: docker.APIClient) -> str | None:
    """The daemon's API version (an unversioned GET /version), or None when it cannot say."""
    try:
        return str(client.version(api_version=False)["ApiVersion"])
    except Exception:  # unreachable, or an odd reply: not fatal here, the first call reports it
        return None


# Reads and writes of archives and exports, in bytes.
_CHUNK_SIZE = 1 << 16


def _path_stat(header: str | None) -> dict[str, Any]:
    """The X-Docker-Container-Path-Stat header: base64 of a JSON object ({} when absent or odd)."""
    if not header:
        return {}
    try:
        decoded = json.loads(base64.b64decode(header))
    except (ValueError, binascii.Error):
        return {}
    return dict(decoded) if isinstance(decoded, dict) else {}


class _ChunkReader(io.RawIOBase):
    """A readable stream over the SDK's iterator of byte chunks (for tarfile)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class DockerAPI:
    """Async, counted, concurrency-limited access to one Docker daemon."""

    def __init__(
        self, client: docker.APIClient, *, concurrency: int = DEFAULT_CONCURRENCY, host: str = DEFAULT_HOST
    ) -> None:
        if concurrency != UNLIMITED and concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, or {UNLIMITED} for no bound (got {concurrency})")
        self.client = client
        self.host = host  # the endpoint as messages name it (DOCKER_HOST, or the docker context's)
        # How many daemon calls may run at once (UNLIMITED: no bound).
        self.concurrency = concurrency
        self.limiter = anyio.CapacityLimiter(math.inf if concurrency == UNLIMITED else concurrency)
        self.calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        # Projects whose lock this facade's caller holds (stack.engine.lock): a verb called by
        # another verb with the same facade does not wait for its own caller.
        self.held_locks: set[str] = set()

    @classmethod
    def from_env(
        cls,
        *,
        concurrency: int | None = None,
        timeout: float = 120.0,
        environment: Mapping[str, str] | None = None,
    ) -> DockerAPI:
        """A facade for the daemon the environment names (DOCKER_HOST, DOCKER_TLS_VERIFY, ...).

        One round trip (GET /version) agrees on the API version, unless DOCKER_API_VERSION names
        it; an unreachable daemon is reported by the first call, not here.  `concurrency` None:
        STACK_PARALLEL_LIMIT or COMPOSE_PARALLEL_LIMIT of the environment, else the default.
        """
        env = dict(os.environ if environment is None else environment)
        if concurrency is None:
            concurrency = parallel_limit(env) or DEFAULT_CONCURRENCY
        pool = _UNBOUNDED_POOL if concurrency == UNLIMITED else concurrency
        endpoint = resolve_endpoint(env)
        host = endpoint.describe()
        wanted = env.get("DOCKER_API_VERSION")

        def client_for(version: str) -> docker.APIClient:
            return docker.APIClient(
                version=version,
                timeout=int(timeout),
                max_pool_size=pool + _STREAM_CONNECTIONS,
                **kwargs,
            )

        try:
            kwargs = _connection_kwargs(endpoint, env)
            client = client_for(wanted or DEFAULT_API_VERSION)
            if not wanted:
                agreed = negotiate_api_version(_server_api_version(client))
                if agreed != DEFAULT_API_VERSION:
                    client.close()
                    client = client_for(agreed)
        except docker.errors.DockerException as exc:
            raise _unavailable(exc, host) from exc
        return cls(client, concurrency=concurrency, host=host)

    @property
    def api_version(self) -> str:
        """The Engine API version this facade speaks."""
        return str(self.client.api_version)

    def close(self) -> None:
        self.client.close()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def count(self, kind: str) -> None:
        """Count one daemon interaction of `kind` (calls made outside `call`, e.g. the CLI)."""
        with self._count_lock:
            self.calls[kind] += 1

    async def call(self, kind: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK call in a worker thread, counted under `kind`."""
        self.count(kind)

        def run() -> T:
            return fn(*args, **kwargs)

        try:
            return await anyio.to_thread.run_sync(run, limiter=self.limiter)
        except (requests.exceptions.ConnectionError, FileNotFoundError, ConnectionRefusedError) as exc:
            raise _unavailable(exc, self.host) from exc
        except requests.exceptions.Timeout as exc:
            raise DockerUnavailableError(
                f"the Docker daemon at {self.host} did not answer ({kind}) in time: {exc}",
                hint="the daemon may be overloaded or hung; check `docker info`",
            ) from exc
        except docker.errors.APIError as exc:
            raise refusal(exc, kind) from exc
        except docker.errors.DockerException as exc:
            raise _unavailable(exc, self.host) from exc

    # -- system ---------------------------------------------------------------------------

    async def ping(self) -> bool:
        return bool(await self.call("ping", self.client.ping))

    async def system_time(self) -> str:
        """The daemon's clock (RFC 3339), to age resources by the clock that stamped them."""
        info = await self.call("system.info", self.client.info)
        return str(info.get("SystemTime") or "")

    # -- containers -----------------------------------------------------------------------

    async def list_containers(self, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """All containers (running or not) matching `filters`; one call, no inspect."""
        return await self.call("container.list", self.client.containers, all=True, filters=dict(filters))

    async def put_files(self, container: str, archive: bytes, *, keep_owner: bool = False) -> None:
        """Extract a tar at the container's root (it may be created, not started).

        `keep_owner`: the tar's uid/gid apply (the daemon's copyUIDGID, `docker cp -a`); else
        the files belong to root.  The SDK's put_archive cannot ask for that, so that one case
        makes the same request itself, through the SDK's session.
        """
        if not keep_owner:
            await self.call("container.archive", self.client.put_archive, container, "/", archive)
            return
        client = self.client

        def put() -> None:
            url = client._url("/containers/{0}/archive", container)
            client._raise_for_status(client._put(url, params={"path": "/", "copyUIDGID": "1"}, data=archive))

        await self.call("container.archive", put)

    async def read_file(self, container: str, path: str) -> bytes | None:
        """A regular file's content from a container's file system (GET archive; no exec, so no
        `cat` needed in it); None when there is no such file."""
        import io
        import tarfile

        def read() -> bytes | None:
            try:
                chunks, _ = self.client.get_archive(container, path)
            except docker.errors.NotFound:
                return None
            with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
                member = next((m for m in tar.getmembers() if m.isfile()), None)
                extracted = tar.extractfile(member) if member is not None else None
                return extracted.read() if extracted is not None else None

        return await self.call("container.archive.get", read)

    async def inspect_container(self, container: str) -> dict[str, Any]:
        return await self.call("container.inspect", self.client.inspect_container, container)

    # -- a container's files, filesystem and image (cp, export, commit) and its console ------

    async def stat_path(self, container: str, path: str) -> dict[str, Any]:
        """What the daemon knows of `path` in the container (HEAD .../archive): name, size,
        mode (Go's os.FileMode bits), mtime, linkTarget; a missing path: DockerNotFoundError."""
        client = self.client

        def head() -> dict[str, Any]:
            url = client._url("/containers/{0}/archive", container)
            response = client.head(url, params={"path": path}, timeout=client.timeout)
            client._raise_for_status(response)
            return _path_stat(response.headers.get("X-Docker-Container-Path-Stat"))

        return await self.call("container.archive.stat", head)

    async def read_archive(self, container: str, path: str, consume: Callable[[IO[bytes], dict[str, Any]], T]) -> T:
        """A tar of `path` in the container, handed as a stream (with the path's stat) to
        `consume`, which runs in the worker thread and reads it as it arrives."""
        client = self.client

        def read() -> T:
            chunks, stat = client.get_archive(container, path, chunk_size=_CHUNK_SIZE)
            with io.BufferedReader(_ChunkReader(chunks), _CHUNK_SIZE) as stream:
                return consume(stream, dict(stat or {}))

        return await self.call("container.archive.get", read)

    async def write_archive(
        self, container: str, path: str, data: IO[bytes] | bytes, *, copy_uid_gid: bool = False
    ) -> None:
        """Extract a tar at `path` (an existing directory) in the container, never replacing a
        directory by a file or the reverse (as `docker cp`); `copy_uid_gid`: the daemon's
        copyUIDGID (`docker cp -a`), else the files belong to root."""
        client = self.client
        params = {"path": path, "noOverwriteDirNonDir": "true"}
        if copy_uid_gid:
            params["copyUIDGID"] = "true"

        def put() -> None:
            url = client._url("/containers/{0}/archive", container)
            client._raise_for_status(client._put(url, params=params, data=data))

        await self.call("container.archive", put)

    async def export_container(self, container: str, write: Callable[[bytes], object]) -> int:
        """The container's filesystem as a tar, streamed to `write` (in the worker thread); the
        number of bytes."""
        client = self.client

        def export() -> int:
            total = 0
            for chunk in client.export(container, chunk_size=_CHUNK_SIZE):
                write(chunk)
                total += len(chunk)
            return total

        return await self.call("container.export", export)

    async def commit_container(
        self,
        container: str,
        *,
        reference: str | None = None,
        message: str | None = None,
        author: str | None = None,
        changes: list[str] | None = None,
        pause: bool = True,
    ) -> str:
        """A new image from the container's changes (`docker commit`); its id.  `reference`:
        REPOSITORY[:TAG] to tag it with; `changes`: Dockerfile instructions applied to its config."""
        repository, tag = docker.utils.parse_repository_tag(reference) if reference else (None, None)
        result = await self.call(
            "container.commit",
            self.client.commit,
            container,
            repository=repository,
            tag=tag,
            message=message or None,
            author=author or None,
            pause=pause,
            changes=list(changes or []) or None,
        )
        return str(result["Id"])

    async def attach_socket(self, container: str, *, stdin: bool, detach_keys: str | None = None) -> Any:
        """A hijacked connection to a running container's stdio, from now on (no old output).
        `detach_keys`: the daemon's detachKeys (it ends the session when it reads them on stdin)."""
        params: dict[str, Any] = {"stdin": 1 if stdin else 0, "stdout": 1, "stderr": 1, "stream": 1, "logs": 0}
        if detach_keys:
            params["detachKeys"] = detach_keys
        return await self.call("container.attach", self.client.attach_socket, container, params=params)

    async def create_container(self, name: str, body: Mapping[str, Any]) -> str:
        """Create from a raw Engine API body (see container_spec); returns the new id."""
        result = await self.call("container.create", self.client.create_container_from_config, dict(body), name=name)
        return str(result["Id"])

    async def start_container(self, container: str) -> None:
        await self.call("container.start", self.client.start, container)

    async def stop_container(self, container: str, timeout: int | None = None) -> None:
        # The HTTP read must outlive the daemon's own stop timeout.
        await self.call("container.stop", self.client.stop, container, timeout=timeout)

    async def restart_container(self, container: str, timeout: int | None = None) -> None:
        await self.call("container.restart", self.client.restart, container, timeout=10 if timeout is None else timeout)

    async def remove_container(self, container: str, *, volumes: bool = False, force: bool = False) -> None:
        await self.call("container.remove", self.client.remove_container, container, v=volumes, force=force)

    async def rename_container(self, container: str, name: str) -> None:
        await self.call("container.rename", self.client.rename, container, name)

    async def kill_container(self, container: str, signal: str | None = None) -> None:
        await self.call("container.kill", self.client.kill, container, signal=signal)

    async def pause_container(self, container: str) -> None:
        await self.call("container.pause", self.client.pause, container)

    async def unpause_container(self, container: str) -> None:
        await self.call("container.unpause", self.client.unpause, container)

    async def resize_container(self, container: str, rows: int, columns: int) -> None:
        await self.call("container.resize", self.client.resize, container, rows, columns)

    async def container_processes(self, container: str) -> dict[str, Any]:
        """`docker top`: {"Titles": [...], "Processes": [[...], ...]}."""
        return await self.call("container.top", self.client.top, container)

    async def container_log_tail(self, container: str, lines: int) -> str:
        """The last `lines` lines of a container's output (stdout and stderr), as text."""
        raw = await self.call("container.logs", self.client.logs, container, tail=lines, stdout=True, stderr=True)
        return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)

    # -- exec (no terminal: the output is collected or streamed; engine/exec.py attaches one) -

    async def exec_create(
        self,
        container: str,
        command: list[str],
        *,
        user: str | None = None,
        privileged: bool = False,
        workdir: str | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> str:
        """Create a process in a running container (not started yet); its exec id."""
        environment = [k if v is None else f"{k}={v}" for k, v in (env or {}).items()] or None
        created = await self.call(
            "exec.create",
            self.client.exec_create,
            container,
            command,
            stdout=True,
            stderr=True,
            user=user or "",
            privileged=privileged,
            workdir=workdir,
            environment=environment,
        )
        return str(created["Id"])

    async def exec_output(self, exec_id: str) -> bytes:
        """Start a created process and wait for its end (bounded by the client's timeout); its
        stdout and stderr, interleaved."""
        output = await self.call("exec.start", self.client.exec_start, exec_id)
        return output if isinstance(output, bytes) else b""

    @asynccontextmanager
    async def exec_stream(self, exec_id: str) -> AsyncIterator[ObjectReceiveStream[tuple[bytes | None, bytes | None]]]:
        """Start a created process; its output as it comes, (stdout, stderr) chunks, until it ends."""
        async with self.stream("exec.start", lambda: self.client.exec_start(exec_id, stream=True, demux=True)) as out:
            yield out

    async def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        """{"Running": bool, "ExitCode": int | None, ...}"""
        return await self.call("exec.inspect", self.client.exec_inspect, exec_id)

    # -- networks -------------------------------------------------------------------------

    async def list_networks(self, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await self.call("network.list", self.client.networks, filters=dict(filters))

    async def inspect_network(self, network: str) -> dict[str, Any]:
        return await self.call("network.inspect", self.client.inspect_network, network)

    async def create_network(self, name: str, **kwargs: Any) -> str:
        result = await self.call("network.create", self.client.create_network, name, **kwargs)
        return str(result["Id"])

    async def remove_network(self, network: str) -> None:
        await self.call("network.remove", self.client.remove_network, network)

    async def connect_network(self, container: str, network: str, **endpoint: Any) -> None:
        await self.call("network.connect", self.client.connect_container_to_network, container, network, **endpoint)

    async def disconnect_network(self, container: str, network: str, *, force: bool = False) -> None:
        await self.call(
            "network.disconnect",
            self.client.disconnect_container_from_network,
            container,
            network,
            force=force,
        )

    # -- volumes --------------------------------------------------------------------------

    async def list_volumes(self, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = await self.call("volume.list", self.client.volumes, filters=dict(filters))
        return list(result.get("Volumes") or [])

    async def create_volume(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """Create a volume; when one of that name exists, the daemon answers with it, unchanged
        (its labels, not ours): the lock relies on that."""
        return await self.call("volume.create", self.client.create_volume, name, **kwargs)

    async def inspect_volume(self, name: str) -> dict[str, Any]:
        return await self.call("volume.inspect", self.client.inspect_volume, name)

    async def remove_volume(self, name: str) -> None:
        await self.call("volume.remove", self.client.remove_volume, name)

    # -- images ---------------------------------------------------------------------------

    async def list_images(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self.call("image.list", self.client.images, filters=dict(filters or {}))

    async def inspect_image(self, image: str) -> dict[str, Any]:
        return await self.call("image.inspect", self.client.inspect_image, image)

    async def remove_image(self, image: str, *, force: bool = False) -> None:
        await self.call("image.remove", self.client.remove_image, image, force=force)

    async def tag_image(self, image: str, reference: str) -> None:
        """Tag `image` as `reference` (`repo[:tag]`, replacing the tag's current image); the daemon
        stamps the image's Metadata.LastTagTime, which refresh pull policies read."""
        repo, tag = docker.utils.parse_repository_tag(reference)
        await self.call("image.tag", self.client.tag, image, repo, tag=tag or "latest", force=True)

    @asynccontextmanager
    async def pull_stream(
        self, image: str, auth: Mapping[str, str]
    ) -> AsyncIterator[ObjectReceiveStream[dict[str, Any]]]:
        """Pull `image` (no tag: `latest`, never every tag) sending `auth` as X-Registry-Auth
        (`{}`: anonymous, never the SDK's own lookup): the daemon's progress messages, decoded.
        A refusal before the first message raises DockerAPIError with the registry's words;
        later failures arrive as `{"error": ...}` messages, as do all of a push's."""
        repo, tag = docker.utils.parse_repository_tag(image)

        def open_pull() -> Iterator[dict[str, Any]]:
            messages: Iterator[dict[str, Any]] = self.client.pull(
                repo, tag=tag or "latest", stream=True, decode=True, auth_config=dict(auth)
            )
            return messages

        async with self.stream("image.pull", open_pull) as messages:
            yield messages

    @asynccontextmanager
    async def push_stream(
        self, image: str, auth: Mapping[str, str]
    ) -> AsyncIterator[ObjectReceiveStream[dict[str, Any]]]:
        """Push `image` (`repo:tag`) with `auth` as X-Registry-Auth: the daemon's progress
        messages, decoded.  The daemon answers 200 and reports a failure (unreachable registry,
        refused credentials, no such local image) as an `{"error": ...}` message: read them all."""
        repo, tag = docker.utils.parse_repository_tag(image)

        def open_push() -> Iterator[dict[str, Any]]:
            messages: Iterator[dict[str, Any]] = self.client.push(
                repo, tag=tag or "latest", stream=True, decode=True, auth_config=dict(auth)
            )
            return messages

        async with self.stream("image.push", open_push) as messages:
            yield messages

    # -- streams --------------------------------------------------------------------------

    @asynccontextmanager
    async def stream(
        self, kind: str, open_stream: Callable[[], Iterator[Any]]
    ) -> AsyncIterator[ObjectReceiveStream[Any]]:
        """Run a blocking SDK stream (events, build output) in a thread, items delivered async.

        The stream is opened before this yields (so nothing after the `async with` is missed) and
        closed on exit, which ends the reader thread.
        """
        self.count(kind)
        send, receive = anyio.create_memory_object_stream[Any](max_buffer_size=1000)
        try:
            source = await anyio.to_thread.run_sync(open_stream)
        except (requests.exceptions.ConnectionError, FileNotFoundError, ConnectionRefusedError) as exc:
            raise _unavailable(exc, self.host) from exc
        except requests.exceptions.Timeout as exc:
            raise DockerUnavailableError(
                f"the Docker daemon at {self.host} did not start answering ({kind}) within"
                f" {self.client.timeout} s: {exc}",
                hint="the daemon may be overloaded or hung, or waiting on a registry that does not answer",
            ) from exc
        except docker.errors.APIError as exc:
            raise refusal(exc, kind) from exc
        token = anyio.lowlevel.current_token()

        def pump() -> None:
            try:
                for item in source:
                    anyio.from_thread.run(send.send, item, token=token)
            except (
                anyio.BrokenResourceError,
                anyio.ClosedResourceError,
                anyio.RunFinishedError,
                requests.exceptions.RequestException,
                OSError,
                ValueError,
                RuntimeError,
            ):
                # The consumer closed the stream under us: the normal way a stream ends.
                pass
            finally:
                with contextlib.suppress(RuntimeError, anyio.RunFinishedError):
                    anyio.from_thread.run_sync(send.close, token=token)

        # A daemon thread of our own, not a worker thread: a reader blocked on a socket (or on an
        # event loop that already ended) must never keep the process from exiting.  Closing the
        # source below ends the read; a long-lived stream also must not hold a limiter slot.
        reader = threading.Thread(target=pump, name=f"stack-{kind}-stream", daemon=True)
        reader.start()
        try:
            yield receive
        finally:
            closer = getattr(source, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer()
            receive.close()
            # Let the reader see the closed source and finish while the loop still runs (else
            # its last hand-over is left un-awaited at loop shutdown); bounded, never hangs.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(reader.join, _READER_JOIN_SECONDS)

    @asynccontextmanager
    async def events(self, filters: Mapping[str, Any]) -> AsyncIterator[ObjectReceiveStream[Any]]:
        """The daemon's event stream, decoded, restricted by `filters`."""
        async with self.stream("events", lambda: self.client.events(filters=dict(filters), decode=True)) as events:
            yield events

    # -- swarm (stack.engine.swarm): raw Engine API bodies, each request bounded by `timeout` --

    def _swarm_request(
        self,
        method: str,
        path: str,
        *args: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: float = SWARM_CALL_TIMEOUT,
    ) -> Any:
        client = self.client
        url = client._url(path, *args)
        query = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in (params or {}).items()}
        if method == "GET":
            response = client._get(url, params=query, timeout=timeout)
        elif method == "DELETE":
            response = client._delete(url, params=query, timeout=timeout)
        else:
            response = client._post_json(url, data=body, params=query, timeout=timeout)
        client._raise_for_status(response)
        return response.json() if response.content else None

    async def swarm_info(self, *, timeout: float = SWARM_CALL_TIMEOUT) -> dict[str, Any]:
        """`GET /info`'s `Swarm` part: LocalNodeState, ControlAvailable, Nodes, ..."""
        info = await self.call("swarm.info", self._swarm_request, "GET", "/info", timeout=timeout)
        return dict(info.get("Swarm") or {})

    async def list_services(
        self, filters: Mapping[str, Any], *, timeout: float = SWARM_CALL_TIMEOUT
    ) -> list[dict[str, Any]]:
        found = await self.call(
            "service.list", self._swarm_request, "GET", "/services", params={"filters": dict(filters)}, timeout=timeout
        )
        return list(found or [])

    async def create_service(self, spec: Mapping[str, Any], *, timeout: float = SWARM_CALL_TIMEOUT) -> str:
        """Create a service from a raw ServiceSpec body; its id."""
        result = await self.call(
            "service.create", self._swarm_request, "POST", "/services/create", body=dict(spec), timeout=timeout
        )
        return str(result["ID"])

    async def update_service(
        self,
        service: str,
        version: int,
        spec: Mapping[str, Any],
        *,
        rollback: bool = False,
        timeout: float = SWARM_CALL_TIMEOUT,
    ) -> list[str]:
        """Replace a service's spec (at `version`, the index it was read at), or, with `rollback`,
        put its previous spec back; the daemon's warnings."""
        params: dict[str, Any] = {"version": version}
        if rollback:
            params["rollback"] = "previous"
        result = await self.call(
            "service.update",
            self._swarm_request,
            "POST",
            "/services/{0}/update",
            service,
            params=params,
            body=dict(spec),
            timeout=timeout,
        )
        return [str(w) for w in ((result or {}).get("Warnings") or [])]

    async def remove_service(self, service: str, *, timeout: float = SWARM_CALL_TIMEOUT) -> None:
        await self.call("service.remove", self._swarm_request, "DELETE", "/services/{0}", service, timeout=timeout)

    async def list_tasks(
        self, filters: Mapping[str, Any], *, timeout: float = SWARM_CALL_TIMEOUT
    ) -> list[dict[str, Any]]:
        found = await self.call(
            "task.list", self._swarm_request, "GET", "/tasks", params={"filters": dict(filters)}, timeout=timeout
        )
        return list(found or [])

    async def list_swarm_objects(
        self, kind: str, filters: Mapping[str, Any], *, timeout: float = SWARM_CALL_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Secrets (`kind` "secrets"), configs ("configs") or nodes ("nodes") matching `filters`."""
        found = await self.call(
            f"{kind[:-1]}.list",
            self._swarm_request,
            "GET",
            f"/{kind}",
            params={"filters": dict(filters)},
            timeout=timeout,
        )
        return list(found or [])

    async def create_swarm_object(
        self, kind: str, body: Mapping[str, Any], *, timeout: float = SWARM_CALL_TIMEOUT
    ) -> str:
        """Create a secret (`kind` "secrets") or config ("configs") from its raw body; its id."""
        result = await self.call(
            f"{kind[:-1]}.create", self._swarm_request, "POST", f"/{kind}/create", body=dict(body), timeout=timeout
        )
        return str(result["ID"])

    async def remove_swarm_object(self, kind: str, ident: str, *, timeout: float = SWARM_CALL_TIMEOUT) -> None:
        await self.call(f"{kind[:-1]}.remove", self._swarm_request, "DELETE", f"/{kind}/{{0}}", ident, timeout=timeout)
