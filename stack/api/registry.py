"""Registries: `pull` the services' images, `push` the ones the stack builds.

Which images, as Compose chooses them (stack.plan.pull_policy.choose_pulls / choose_pushes);
each transfer reads the daemon's stream to its end (stack.engine.registry) with the Docker
config's credentials.  `pull` changes the images the project's containers are made from, so it
holds the project's lock, as `up` does; `push` changes nothing here and holds none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import anyio

from stack.api.session import blocking, placed_in, session
from stack.engine.docker_api import DockerAPI
from stack.engine.lock import LockPolicy
from stack.engine.registry import (
    TRANSFER_CONCURRENCY,
    PullOutcome,
    PushOutcome,
    TransferEvent,
    TransferSink,
    null_transfer,
    pull_image,
    push_image,
)
from stack.engine.taskgroups import unwrapped
from stack.errors import DockerNotFoundError, RegistryError, unknown_service
from stack.plan.graph import ServiceGraph
from stack.plan.pull_policy import Transfer, choose_pulls, choose_pushes
from stack.spec.models import Project, Service

__all__ = [
    "PullOptions",
    "PullResult",
    "PushOptions",
    "PushResult",
    "TransferEvent",
    "pull",
    "pull_async",
    "push",
    "push_async",
]


@dataclass(frozen=True)
class PullOptions:
    services: list[str] = field(default_factory=list)  # empty: every enabled service
    include_deps: bool = False  # --include-deps: and what they depend on
    policy: Literal["missing", "always"] | None = None  # --policy: instead of each service's pull_policy
    ignore_failures: bool = False  # --ignore-pull-failures
    ignore_buildable: bool = False  # --ignore-buildable


@dataclass
class PullResult:
    pulled: list[PullOutcome] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # service -> why (Compose's words)
    failed: dict[str, str] = field(default_factory=dict)  # service -> the error, when tolerated
    must_build: list[str] = field(default_factory=list)  # services whose pull failed but that build
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PushOptions:
    services: list[str] = field(default_factory=list)
    include_deps: bool = False
    ignore_failures: bool = False  # --ignore-push-failures


@dataclass
class PushResult:
    pushed: list[PushOutcome] = field(default_factory=list)  # with their digests
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # image -> the error, when tolerated
    warnings: list[str] = field(default_factory=list)


def _service(project: Project, name: str) -> Service:
    return project.services.get(name) or project.disabled_services[name]


def _selected(project: Project, services: list[str], include_deps: bool) -> list[str]:
    """The named services (every enabled one when none; one disabled by its profiles may be
    named), with their dependencies when asked."""
    if not services:
        return sorted(project.services)
    known = {**project.services, **project.disabled_services}
    for name in services:
        if name not in known:
            raise unknown_service(name, known)
    chosen = set(services)
    if include_deps:
        enabled = [s for s in services if s in project.services]
        chosen |= set(ServiceGraph(project.services).select(enabled))
    return sorted(chosen)


async def _each(docker: DockerAPI, transfers: list[Transfer], act: Callable[[Transfer], Awaitable[None]]) -> None:
    """`act` on every transfer, TRANSFER_CONCURRENCY at once (fewer when the facade's bound on
    daemon calls, `--parallel`, is lower)."""
    limiter = anyio.CapacityLimiter(int(min(TRANSFER_CONCURRENCY, docker.limiter.total_tokens)))

    async def one(transfer: Transfer) -> None:
        async with limiter:
            await act(transfer)

    with unwrapped():
        async with anyio.create_task_group() as tg:
            for transfer in transfers:
                tg.start_soon(one, transfer)


def _combined(kind: str, errors: list[RegistryError]) -> RegistryError:
    """One error for several failed transfers: each on its line, the first one's hint."""
    if len(errors) == 1:
        return errors[0]
    lines = "\n".join(f"  {e.message}" + (f"\n    hint: {e.hint}" if e.hint else "") for e in errors)
    return RegistryError(f"{len(errors)} images could not be {kind}ed:\n{lines}")


def _warnings(outcomes: list[PullOutcome] | list[PushOutcome]) -> list[str]:
    return list(dict.fromkeys(w for o in outcomes for w in o.warnings))


async def _present(docker: DockerAPI, images: list[str]) -> dict[str, bool]:
    """image -> whether the daemon has it (one inspect each, at once)."""
    found: dict[str, bool] = {}

    async def look(image: str) -> None:
        try:
            await docker.inspect_image(image)
            found[image] = True
        except DockerNotFoundError:
            found[image] = False

    with unwrapped():
        async with anyio.create_task_group() as tg:
            for image in sorted(set(images)):
                tg.start_soon(look, image)
    return found


async def pull_async(
    project: Project,
    options: PullOptions | None = None,
    *,
    progress: TransferSink = null_transfer,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> PullResult:
    """Pull the images of the project's services, as `docker compose pull` does.  A failed pull
    is a RegistryError naming the image with the registry's words (all of them, when several
    fail), unless `ignore_failures`; a service that can build its image only gets a warning."""
    options = options or PullOptions()
    result = PullResult()
    services = _selected(project, options.services, options.include_deps)
    with placed_in(project):
        async with session(api, writes=project.name, command="pull", lock=lock) as docker:
            candidates = [s for s in services if _service(project, s).image]
            images = [str(_service(project, s).image) for s in candidates]
            present = await _present(docker, images) if options.policy != "always" else {}
            pulls, result.skipped = choose_pulls(
                project, services, present, policy=options.policy, ignore_buildable=options.ignore_buildable
            )
            for name, why in result.skipped.items():
                image = _service(project, name).image or name
                progress(TransferEvent("pull", image, None, why, "skipped", service=name))
            errors: list[RegistryError] = []

            async def act(transfer: Transfer) -> None:
                service = _service(project, transfer.service)
                try:
                    result.pulled.append(
                        await pull_image(docker, transfer.image, service=transfer.service, sink=progress)
                    )
                except RegistryError as error:
                    if service.build is not None:
                        result.must_build.append(transfer.service)
                        result.failed[transfer.service] = error.message
                    elif options.ignore_failures:
                        result.failed[transfer.service] = error.message
                    else:
                        errors.append(error)

            await _each(docker, pulls, act)
    result.warnings = _warnings(result.pulled)
    result.warnings.extend(message for _, message in sorted(result.failed.items()))
    if result.must_build:
        result.must_build.sort()
        result.warnings.append(
            "some service images must be built from source: `stack build " + " ".join(result.must_build) + "`"
        )
    if errors:
        raise _combined("pull", sorted(errors, key=lambda e: e.message))
    return result


async def push_async(
    project: Project,
    options: PushOptions | None = None,
    *,
    progress: TransferSink = null_transfer,
    api: DockerAPI | None = None,
) -> PushResult:
    """Push the images the project builds (services with `build:` and `image:`, plus their
    `build.tags`), as `docker compose push` does; their digests.  The daemon reports a failed
    push inside its stream: it becomes a RegistryError with the registry's words, unless
    `ignore_failures` (then a warning)."""
    options = options or PushOptions()
    result = PushResult()
    services = _selected(project, options.services, options.include_deps)
    pushes, result.skipped = choose_pushes(project, services)
    for name, why in result.skipped.items():
        image = _service(project, name).image or name
        progress(TransferEvent("push", image, None, why, "skipped", service=name))
    errors: list[RegistryError] = []
    with placed_in(project):
        async with session(api) as docker:

            async def act(transfer: Transfer) -> None:
                try:
                    result.pushed.append(
                        await push_image(docker, transfer.image, service=transfer.service, sink=progress)
                    )
                except RegistryError as error:
                    if not options.ignore_failures:
                        errors.append(error)
                    result.failed[transfer.image] = error.message

            await _each(docker, pushes, act)
    result.pushed.sort(key=lambda o: o.image)
    result.warnings = _warnings(result.pushed)
    if errors:
        raise _combined("push", sorted(errors, key=lambda e: e.message))
    result.warnings.extend(message for _, message in sorted(result.failed.items()))
    return result


pull = blocking(pull_async)
push = blocking(push_async)
