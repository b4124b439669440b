"""A stack for the length of a `with` block: scripts, notebooks and the pytest plugin use it.

with stack.running(["stack.yaml"], project_name="demo-test") as project:
    print(stack.port(project.name, "web", 80))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio

from stack.api.converge import down, down_async, load, up, up_async
from stack.engine.progress import ProgressSink, null_sink
from stack.plan.options import BuildPolicy, DownOptions, UpOptions
from stack.spec.models import Project


def _up_options(services: list[str] | None, build: BuildPolicy, wait_timeout: float | None) -> UpOptions:
    return UpOptions(services=list(services or []), build=build, wait=True, wait_timeout=wait_timeout)


def _down_options(remove_volumes: bool) -> DownOptions:
    # Orphans too: whatever the block left of the project goes with it.
    return DownOptions(remove_volumes=remove_volumes, remove_orphans=True)


@asynccontextmanager
async def running_async(
    project: Project,
    *,
    services: list[str] | None = None,
    build: BuildPolicy = "auto",
    wait_timeout: float | None = None,
    keep: bool = False,
    remove_volumes: bool = True,
    progress: ProgressSink = null_sink,
) -> AsyncIterator[Project]:
    """`up --wait` before the body; after it, even when it fails or is cancelled (Ctrl-C), `down`
    (with `-v` unless `remove_volumes` is False), unless `keep`."""
    try:
        await up_async(project, _up_options(services, build, wait_timeout), progress=progress)
        yield project
    finally:
        if not keep:
            with anyio.CancelScope(shield=True):
                await down_async(project.name, _down_options(remove_volumes), project=project, progress=progress)


@contextmanager
def running(
    files: list[str] | None = None,
    *,
    project_name: str | None = None,
    project_directory: str | None = None,
    env_files: list[str] | None = None,
    profiles: list[str] | None = None,
    services: list[str] | None = None,
    build: BuildPolicy = "auto",
    wait_timeout: float | None = None,
    keep: bool = False,
    remove_volumes: bool = True,
) -> Iterator[Project]:
    """Load the stack as the CLI does, bring it up and wait until every service is ready, run
    the body, and take it down again whatever happens (a failure, Ctrl-C) unless `keep`."""
    project = load(
        files,
        project_name=project_name,
        project_directory=project_directory,
        env_files=env_files,
        profiles=profiles,
        services=services,
    )
    try:
        up(project, _up_options(services, build, wait_timeout))
        yield project
    finally:
        if not keep:
            down(project.name, _down_options(remove_volumes), project=project)
