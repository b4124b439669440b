"""`stack_fixture`: a named fixture for one stack, for suites with several stacks (or a stack
of their own beside the `stack` fixture's).

    # conftest.py
    from pathlib import Path
    from stack.testing import stack_fixture

    shop = stack_fixture(Path(__file__).parent / "shop" / "stack.yaml")
    search = stack_fixture("tests/search/stack.yaml", scope="module", services=["es"])

The name the fixture gets is the variable's (or `name=`); it is also the last part of its
project names, so that two stacks up at once never collide.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from stack.testing.handle import RunningStack
from stack.testing.manager import provide
from stack.testing.options import Scope, StackSpec

PathLike = str | os.PathLike[str]


def stack_fixture(
    files: PathLike | Sequence[PathLike] = (),
    *,
    scope: Scope = "session",
    services: Sequence[str] = (),
    profiles: Sequence[str] = (),
    env_files: Sequence[PathLike] = (),
    name: str | None = None,
) -> Any:
    """A fixture that brings `files` up (`up --wait`: running and healthy) before the first
    test of its `scope` that uses it, yields a `RunningStack`, and takes it down with its
    volumes after the last one (unless --stack-reuse).

    Relative paths start at the rootdir; no files: found as `stack` finds them there.
    `services`: start only these (and what they depend on).
    """
    listed = [files] if isinstance(files, str | os.PathLike) else list(files)

    def stack_of_fixture(request: pytest.FixtureRequest) -> Iterator[RunningStack]:
        root = request.config.rootpath
        spec = StackSpec.make(root, listed, services=services, profiles=profiles, env_files=env_files)
        yield from provide(request, spec)

    return pytest.fixture(scope=scope, name=name)(stack_of_fixture)
