"""The project lock against the real daemon: one holder at a time, take-over of dead holders
(in this pid namespace at once, elsewhere after the lease), heartbeats, foreign look-alikes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator

import anyio
import docker
import pytest

from stack.engine import lock as lk
from stack.engine.docker_api import DockerAPI
from stack.errors import ProjectLockedError, ResourceConflictError
from stack.plan import labels as L
from tests.integration.cli_helpers import lock_volumes, poll


@pytest.fixture
def facades() -> Iterator[list[DockerAPI]]:
    made: list[DockerAPI] = []
    yield made
    for facade in made:
        facade.close()


def new_facade(facades: list[DockerAPI]) -> DockerAPI:
    facade = DockerAPI.from_env()
    facades.append(facade)
    return facade


def dead_holder(command: str = "up") -> lk.Holder:
    """A holder whose process has ended (in this pid namespace)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = lk._start_time(proc.pid)
    proc.kill()
    proc.wait()
    return dataclasses.replace(lk.Holder.me(command), pid=proc.pid, started=started)


def plant(client: docker.APIClient, project: str, holder: lk.Holder) -> None:
    """A lock volume as the holder would have left it."""
    client.create_volume(lk.lock_name(project), labels={L.LOCK: project, L.LOCK_HOLDER: holder.label()})


def test_holders_take_turns_and_a_dead_one_is_taken_over_once(
    project_name: str, docker_client: docker.APIClient, facades: list[DockerAPI]
) -> None:
    """Six writers race for a lock left by a killed process: each gets it in turn, never two
    at once (the take-over cannot remove a lock that another writer took meanwhile)."""
    plant(docker_client, project_name, dead_holder())
    inside: list[int] = []
    overlaps: list[tuple[int, int]] = []

    async def writer(number: int) -> None:
        async with lk.project_lock(new_facade(facades), project_name, f"w{number}", lk.LockPolicy(timeout=60)):
            overlaps.extend((number, other) for other in inside)
            inside.append(number)
            await anyio.sleep(0.2)  # hold it a while, so that the others must wait
            inside.remove(number)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for number in range(6):
                tg.start_soon(writer, number)

    anyio.run(main)
    assert overlaps == []
    assert lock_volumes(docker_client, project_name) == []


def test_a_live_holder_elsewhere_keeps_the_lock_while_it_beats(
    project_name: str, docker_client: docker.APIClient, facades: list[DockerAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder in another pid namespace (another machine) cannot be asked by pid: it renews a
    heartbeat volume, and is taken over only once the beats stop for the lease."""
    monkeypatch.setattr(lk, "BEAT_SECONDS", 0.3)
    monkeypatch.setattr(lk, "LEASE_SECONDS", 2.0)
    elsewhere = dataclasses.replace(lk.Holder.me("up"), namespace="other-machine/pid:[1]")

    async def main() -> None:
        holder_api, waiter_api = new_facade(facades), new_facade(facades)
        locker = lk._Locker(holder_api, project_name, elsewhere)
        assert (await locker.claim(locker.name))[0].token == elsewhere.token
        async with anyio.create_task_group() as tg:
            tg.start_soon(locker.heartbeat)
            await anyio.sleep(3.0)  # longer than the lease: only the beats keep it alive
            with pytest.raises(ProjectLockedError, match=r"locked by `stack up`"):
                async with lk.project_lock(waiter_api, project_name, "down", lk.LockPolicy(wait=False)):
                    pass
            tg.cancel_scope.cancel()  # the holder stops beating, as if its machine went away
        beats = [v for v in lock_volumes(docker_client, project_name) if ".beat-" in v]
        assert beats, "no heartbeat volume while held"
        # After the lease (by the daemon's clock) a waiter takes it over, beats and all.
        async with lk.project_lock(waiter_api, project_name, "down", lk.LockPolicy(timeout=30)):
            assert lock_volumes(docker_client, project_name) == [lk.lock_name(project_name)]

    anyio.run(main)
    assert lock_volumes(docker_client, project_name) == []


def test_the_lock_is_reentrant_for_a_verb_called_by_a_verb(project_name: str, facades: list[DockerAPI]) -> None:
    async def main() -> None:
        api = new_facade(facades)
        async with (
            lk.project_lock(api, project_name, "rm", lk.LockPolicy(wait=False)),
            lk.project_lock(api, project_name, "stop", lk.LockPolicy(wait=False)),
        ):
            assert project_name in api.held_locks
        assert project_name not in api.held_locks

    anyio.run(main)


def test_a_volume_of_the_lock_name_that_is_not_ours_is_left_alone(
    project_name: str, docker_client: docker.APIClient, facades: list[DockerAPI]
) -> None:
    docker_client.create_volume(lk.lock_name(project_name))
    try:

        async def main() -> None:
            async with lk.project_lock(new_facade(facades), project_name, "up"):
                pass

        with pytest.raises(ResourceConflictError, match="stack did not create it") as error:
            anyio.run(main)
        assert f"docker volume rm {lk.lock_name(project_name)}" in error.value.render()
        assert lock_volumes(docker_client, project_name) == [lk.lock_name(project_name)]
    finally:
        docker_client.remove_volume(lk.lock_name(project_name))


def test_a_waiter_is_woken_by_the_release(
    project_name: str, docker_client: docker.APIClient, facades: list[DockerAPI]
) -> None:
    told: list[str] = []

    async def main() -> None:
        first = new_facade(facades)
        released = anyio.Event()

        async def second() -> None:
            policy = lk.LockPolicy(timeout=30, on_wait=told.append)
            async with lk.project_lock(new_facade(facades), project_name, "down", policy):
                assert released.is_set()

        async with anyio.create_task_group() as tg, lk.project_lock(first, project_name, "up"):
            tg.start_soon(second)
            await anyio.to_thread.run_sync(poll, "the second writer to wait", lambda: told)
            released.set()

    anyio.run(main)
    assert len(told) == 1 and "Waiting for `stack up`" in told[0] and f"project {project_name}" in told[0]
