"""Pulls and pushes: the daemon's progress streams, read to their end.

The daemon reports most registry failures inside the stream, not as an HTTP error: a push to an
unreachable registry, or with refused credentials, answers 200 and then `{"error": "..."}`.  So
every message is read; an error message becomes a `RegistryError` carrying the registry's own
words, and a stream that ends without the daemon's result (a pull's `Status: ...`, a push's
digest) is an error too, never a silent success.

Credentials come from the Docker config (`stack.engine.credentials`) and are always sent
explicitly (`{}` when there are none), so the SDK's own lookup never applies.

After a pull, the image is tagged again under the same name: the daemon then stamps its
`Metadata.LastTagTime`, which Docker 20.10 leaves unset on a pull.  Compose's refresh policies
(`pull_policy: daily`, `every_12h`) measure from that time; without the stamp such an image
would count as stale on every `up`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import anyio

from stack.engine import credentials as creds
from stack.engine.docker_api import DockerAPI
from stack.engine.progress import ProgressEvent, ProgressSink, Status
from stack.errors import DockerAPIError, RegistryError

TransferKind = Literal["pull", "push"]
TransferState = Literal["working", "done", "error", "skipped"]
TRANSFER_CONCURRENCY = 4  # pulls/pushes at once (the daemon itself runs 3 layer downloads per pull)

# The daemon's words for a layer, and whether the layer is done once it says them.
_LAYER_DONE = {
    "Download complete",
    "Pull complete",
    "Already exists",
    "Pushed",
    "Layer already exists",
}


@dataclass(frozen=True)
class TransferEvent:
    """One step of a pull or push: of the image (`layer` None) or of one of its layers."""

    kind: TransferKind
    image: str
    layer: str | None
    word: str  # Pulling, Pulled, Downloading, Extracting, Pull complete, Pushing, Pushed, Error, ...
    state: TransferState
    current: int = 0  # bytes, while a layer moves
    total: int = 0
    service: str | None = None
    text: str = ""  # an error's message; a skip's reason


TransferSink = Callable[[TransferEvent], None]


def null_transfer(event: TransferEvent) -> None:
    """Discard transfer progress."""


@dataclass(frozen=True)
class PullOutcome:
    image: str
    status: str  # the daemon's: "Downloaded newer image for ...", "Image is up to date for ..."
    digest: str = ""
    warnings: tuple[str, ...] = ()
    service: str | None = None

    @property
    def updated(self) -> bool:
        return "newer image" in self.status


@dataclass(frozen=True)
class PushOutcome:
    image: str
    digest: str
    size: int = 0
    warnings: tuple[str, ...] = ()
    service: str | None = None


@dataclass
class _Reading:
    """What a stream said so far."""

    result: str = ""  # the final status line (pull) or the digest (push)
    digest: str = ""
    size: int = 0
    errors: list[str] = field(default_factory=list)


def as_log(progress: ProgressSink, node_id: int | None, resource: str, op: str = "PullImage") -> TransferSink:
    """A TransferSink that hands layer steps to a plan's ProgressSink as `log` lines (`up`'s
    pulls: the table shows the image's row; the layers are detail)."""

    def sink(event: TransferEvent) -> None:
        if event.layer is None:
            return
        size = f" {_size(event.current)}/{_size(event.total)}" if event.total else ""
        progress(ProgressEvent(node_id, resource, op, Status.LOG, f"{event.layer}: {event.word}{size}"))

    return sink


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1000
    return f"{value:.1f}GB"


async def credentials_for(image: str, env: Mapping[str, str] | None = None) -> creds.Credentials:
    """The Docker config's credentials for `image`'s registry (a helper program may run)."""
    return await anyio.to_thread.run_sync(creds.resolve, image, env)


def _hint(kind: TransferKind, image: str, message: str, credentials: creds.Credentials, service: str | None) -> str:
    lowered = message.lower()
    registry = credentials.registry
    if any(word in lowered for word in ("unauthorized", "authentication required", "no basic auth", "denied")):
        if credentials.anonymous:
            where = creds.config_path()
            return (
                f"stack found no credentials for {registry} in {where} (auths, credsStore, credHelpers):"
                f" log in (`docker login {registry}`) or configure a credential helper"
            )
        return (
            f"the registry refused the credentials from {credentials.source}: log in again (`docker login {registry}`)"
        )
    if any(word in lowered for word in ("connection refused", "no such host", "i/o timeout", "dial tcp")):
        offline = " (or, without a registry, build the image or `docker load` it)" if kind == "pull" else ""
        return f"is the registry at {registry} running, and reachable from the Docker daemon?{offline}"
    if "server gave http response to https client" in lowered:
        return (
            f"the daemon speaks HTTPS to {registry}: serve it over TLS, or list it in `insecure-registries`"
            " in the daemon's daemon.json (loopback registries are insecure-allowed already)"
        )
    if "does not exist locally" in lowered or "no such image" in lowered:
        build = f"`stack build {service}`" if service else "`stack build`"
        return f"build it first ({build}), or tag an image as {image}"
    if kind == "pull" and ("manifest unknown" in lowered or "not found" in lowered):
        return f"{registry} has no {image}: check the name and tag, push it first (`stack push`), or `docker load` it"
    return f"see the registry's logs for why it refused the {kind}"


def _failure(
    kind: TransferKind, image: str, message: str, credentials: creds.Credentials, service: str | None
) -> RegistryError:
    who = f"service {service}: " if service else ""
    return RegistryError(
        f"{who}cannot {kind} image {image}: {message}", hint=_hint(kind, image, message, credentials, service)
    )


def _read(kind: TransferKind, image: str, message: Mapping[str, Any], seen: _Reading) -> TransferEvent | None:
    """Take in one message of the daemon's stream; the layer step it reports, if any."""
    if message.get("error") or message.get("errorDetail"):
        detail = message.get("errorDetail") or {}
        text = message.get("error") or (detail.get("message") if isinstance(detail, dict) else "") or ""
        seen.errors.append(str(text).strip())
        return None
    status = str(message.get("status") or "")
    aux = message.get("aux")
    if kind == "push" and isinstance(aux, dict) and aux.get("Digest"):
        seen.result = seen.digest = str(aux["Digest"])
        seen.size = int(aux.get("Size") or 0)
        return None
    if kind == "pull" and status.startswith("Status:"):
        seen.result = status.removeprefix("Status:").strip()
        return None
    if status.startswith("Digest:"):
        seen.digest = status.removeprefix("Digest:").strip()
        return None
    layer = message.get("id")
    if not layer or "progressDetail" not in message:
        return None  # "Pulling from ...", "The push refers to repository [...]"
    detail = message.get("progressDetail") or {}
    current = int(detail.get("current") or 0) if isinstance(detail, dict) else 0
    total = int(detail.get("total") or 0) if isinstance(detail, dict) else 0
    done = status in _LAYER_DONE or status.startswith("Mounted from")
    return TransferEvent(kind, image, str(layer), status, "done" if done else "working", current, total)


async def pull_image(
    api: DockerAPI,
    image: str,
    *,
    service: str | None = None,
    sink: TransferSink = null_transfer,
    credentials: creds.Credentials | None = None,
) -> PullOutcome:
    """Pull `image` with the Docker config's credentials; RegistryError with the registry's words
    when it cannot.  The image's LastTagTime is stamped afterwards (see the module's doc)."""
    credentials = credentials or await credentials_for(image)
    sink(TransferEvent("pull", image, None, "Pulling", "working", service=service))
    seen = _Reading()
    try:
        async with api.pull_stream(image, credentials.header()) as messages:
            async for message in messages:
                step = _read("pull", image, message, seen)
                if step is not None:
                    sink(replace(step, service=service))
    except DockerAPIError as exc:
        seen.errors.append(exc.detail)
    if not seen.errors and not seen.result:
        seen.errors.append(
            "the stream ended before the daemon reported the result (the connection closed, or the daemon"
            f" sent nothing for {api.client.timeout} s)"
        )
    if seen.errors:
        sink(TransferEvent("pull", image, None, "Error", "error", service=service, text=seen.errors[0]))
        raise _failure("pull", image, seen.errors[0], credentials, service)
    if "@" not in image:
        await api.tag_image(image, image)
    sink(TransferEvent("pull", image, None, "Pulled", "done", service=service, text=seen.result))
    return PullOutcome(image, seen.result, seen.digest, credentials.warnings, service)


async def push_image(
    api: DockerAPI,
    image: str,
    *,
    service: str | None = None,
    sink: TransferSink = null_transfer,
    credentials: creds.Credentials | None = None,
) -> PushOutcome:
    """Push `image` with the Docker config's credentials; its digest.  RegistryError with the
    registry's words when the push fails (the daemon says so inside the stream)."""
    credentials = credentials or await credentials_for(image)
    sink(TransferEvent("push", image, None, "Pushing", "working", service=service))
    seen = _Reading()
    try:
        async with api.push_stream(image, credentials.header()) as messages:
            async for message in messages:
                step = _read("push", image, message, seen)
                if step is not None:
                    sink(replace(step, service=service))
    except DockerAPIError as exc:
        seen.errors.append(exc.detail)
    if not seen.errors and not seen.digest:
        seen.errors.append(
            "the stream ended before the daemon reported the pushed digest (the connection closed, or the"
            f" daemon sent nothing for {api.client.timeout} s)"
        )
    if seen.errors:
        sink(TransferEvent("push", image, None, "Error", "error", service=service, text=seen.errors[0]))
        raise _failure("push", image, seen.errors[0], credentials, service)
    sink(TransferEvent("push", image, None, "Pushed", "done", service=service, text=seen.digest))
    return PushOutcome(image, seen.digest, seen.size, credentials.warnings, service)
