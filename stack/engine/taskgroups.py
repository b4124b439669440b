"""Exception groups from anyio task groups -> the one error a user should see.

anyio 4 wraps every error escaping a task group in an ExceptionGroup, even a single one.
A StackError must reach the CLI as itself (one readable message), so engine code that runs
a task group wraps it in `unwrapped()`: one leaf is re-raised as itself; several StackErrors
give the first; anything else (a bug) stays a group, with its tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio

from stack.errors import StackError


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found += leaves(exc)
        else:
            found.append(exc)
    return found


@contextmanager
def unwrapped() -> Iterator[None]:
    try:
        yield
    except BaseExceptionGroup as group:
        found = leaves(group)
        cancelled = anyio.get_cancelled_exc_class()
        meaningful = [e for e in found if not isinstance(e, cancelled)]
        if not meaningful:
            raise found[0] from None
        if len(meaningful) == 1 or all(isinstance(e, StackError) for e in meaningful):
            raise meaningful[0] from None
        raise
