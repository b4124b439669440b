"""The bound on parallel daemon calls: `--parallel`, STACK_/COMPOSE_PARALLEL_LIMIT, and the
facade's limiter holding to it (with a stand-in client: no daemon)."""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import anyio
import pytest

from stack.cli.global_options import GlobalOptions
from stack.engine.docker_api import DEFAULT_CONCURRENCY, DockerAPI
from stack.errors import UsageError
from stack.spec.environment import parallel_limit, parse_parallel


def test_parse_parallel() -> None:
    assert parse_parallel("4", "--parallel") == 4
    assert parse_parallel(" -1 ", "--parallel") == -1
    for bad in ("0", "-2", "four", ""):
        with pytest.raises(UsageError, match="--parallel"):
            parse_parallel(bad, "--parallel")


def test_parallel_limit_from_the_environment() -> None:
    assert parallel_limit({}) is None
    assert parallel_limit({"COMPOSE_PARALLEL_LIMIT": "3"}) == 3
    assert parallel_limit({"COMPOSE_PARALLEL_LIMIT": "3", "STACK_PARALLEL_LIMIT": "2"}) == 2
    with pytest.raises(UsageError, match="COMPOSE_PARALLEL_LIMIT"):
        parallel_limit({"COMPOSE_PARALLEL_LIMIT": "lots"})


def test_from_env_reads_the_bound() -> None:
    unreachable = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "DOCKER_API_VERSION": "1.41"}
    for env, expected in [
        ({}, DEFAULT_CONCURRENCY),
        ({"COMPOSE_PARALLEL_LIMIT": "2"}, 2),
        ({"STACK_PARALLEL_LIMIT": "-1"}, math.inf),
    ]:
        api = DockerAPI.from_env(environment={**unreachable, **env})
        try:
            assert api.limiter.total_tokens == expected
        finally:
            api.close()
    assert DockerAPI.from_env(concurrency=5, environment=unreachable).limiter.total_tokens == 5


def test_the_flag_reaches_every_facade_of_the_command_and_is_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACK_PARALLEL_LIMIT", raising=False)
    options = GlobalOptions.from_flags(
        files=[], project_name=None, project_directory=None, env_files=[], profiles=[], parallel=1, environ={}
    )
    restore = options.export_parallel()
    assert os.environ["STACK_PARALLEL_LIMIT"] == "1"
    restore()
    assert "STACK_PARALLEL_LIMIT" not in os.environ
    with pytest.raises(UsageError, match="--parallel"):
        GlobalOptions.from_flags(
            files=[], project_name=None, project_directory=None, env_files=[], profiles=[], parallel=0, environ={}
        )


class _Blocking:
    """A stand-in SDK client whose calls wait until released, counting how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.release = threading.Event()

    def ping(self) -> bool:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.release.wait(timeout=10)
        with self.lock:
            self.running -= 1
        return True


@pytest.mark.parametrize(("concurrency", "expected_peak"), [(2, 2), (-1, 6)])
def test_the_limiter_bounds_calls_in_flight(concurrency: int, expected_peak: int) -> None:
    client: Any = _Blocking()
    api = DockerAPI(client, concurrency=concurrency)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(api.ping)
            with anyio.fail_after(10):  # waiting for the calls the bound lets in
                while client.running < expected_peak:
                    await anyio.sleep(0.01)
            client.release.set()

    anyio.run(main)
    assert client.peak == expected_peak
    assert api.calls["ping"] == 6
