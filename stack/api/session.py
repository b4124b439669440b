"""What every verb shares: one daemon session (the facade, the project's lock), the synchronous
form of an async verb, and stack-file locations for errors found after loading."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import ParamSpec, TypeVar

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.lock import LockPolicy, project_lock
from stack.errors import StackFileError
from stack.spec.models import Project

P = ParamSpec("P")
T = TypeVar("T")


@asynccontextmanager
async def session(
    api: DockerAPI | None, *, writes: str | None = None, command: str = "", lock: LockPolicy | None = None
) -> AsyncIterator[DockerAPI]:
    """The daemon facade for one verb: the caller's, or a new one closed at the end.

    A verb that changes project `writes` holds that project's lock (stack.engine.lock) for its
    whole length, so two commands never change one project at once; `lock` says whether to
    wait for another writer, and how long.
    """
    owned = api is None
    facade = DockerAPI.from_env() if api is None else api
    try:
        if writes is None:
            yield facade
        else:
            async with project_lock(facade, writes, command, lock):
                yield facade
    finally:
        if owned:
            facade.close()


def blocking(verb: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """The synchronous form of an async verb (`up` of `up_async`), run in its own event loop."""

    @functools.wraps(verb)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return anyio.run(functools.partial(verb, *args, **kwargs))

    run.__name__ = run.__qualname__ = verb.__name__.removesuffix("_async")
    run.__doc__ = f"Synchronous `{verb.__name__}`.\n\n{verb.__doc__ or ''}"
    return run


@contextmanager
def placed_in(project: Project) -> Iterator[None]:
    """Stack-file errors found after loading (planner, engine) know their key path only: give
    them the file and line that key was written at."""
    try:
        yield
    except StackFileError as error:
        if project.source_map is not None:
            project.source_map.place(error)
        raise
