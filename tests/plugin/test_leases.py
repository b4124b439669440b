"""Leases and project names, without a daemon: a lease is dead exactly when its process is,
is swept by one process only, and only on its own daemon; names never collide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from stack.testing.leases import Lease, dead_leases
from stack.testing.naming import project_name, reuse_project_name
from stack.testing.options import StackSpec

HOLDER = """
import sys
from pathlib import Path
from stack.testing.leases import Lease
Lease.take(Path(sys.argv[1]), sys.argv[2])
print("held", flush=True)
sys.stdin.read()  # hold it until told (stdin closed) or killed
"""


def test_a_lease_is_dead_exactly_when_its_process_is_and_one_sweeper_gets_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "proj-a"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert list(dead_leases(tmp_path)) == []  # alive: never swept
    finally:
        holder.kill()
        holder.wait(timeout=30)
    [lease] = dead_leases(tmp_path)
    assert (lease.project, lease.info["pid"]) == ("proj-a", holder.pid)
    assert list(dead_leases(tmp_path)) == []  # being swept by `lease`: nobody else gets it
    lease.release()
    assert not lease.path.exists()
    assert list(dead_leases(tmp_path)) == []


def test_a_lease_of_this_process_is_never_dead_and_an_abandoned_one_is(tmp_path: Path) -> None:
    lease = Lease.take(tmp_path, "proj-b")
    assert list(dead_leases(tmp_path)) == []
    lease.abandon()  # as after a failed `down`: the next sweep retries it
    [again] = dead_leases(tmp_path)
    assert again.project == "proj-b"
    again.release()


def test_leases_are_swept_only_on_their_own_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://one:2375")
    Lease.take(tmp_path, "proj-c").abandon()
    monkeypatch.setenv("DOCKER_HOST", "tcp://two:2375")
    assert list(dead_leases(tmp_path)) == []
    monkeypatch.setenv("DOCKER_HOST", "tcp://one:2375")
    [lease] = dead_leases(tmp_path)
    lease.release()


def config(worker: str | None = None, run: str = "0123456789abcdef") -> Any:
    return SimpleNamespace(workerinput={"workerid": worker, "testrunuid": run}) if worker else SimpleNamespace()


def test_project_names_are_unique_per_worker_and_fixture_and_stable_in_reuse_mode(tmp_path: Path) -> None:
    gw0, gw1 = config("gw0"), config("gw1")
    assert project_name(gw0, "pytest", "stack") == "pytest-01234567-gw0-stack"
    assert project_name(gw1, "pytest", "stack") == "pytest-01234567-gw1-stack"
    assert project_name(gw0, "pytest", "Db_Stack") == "pytest-01234567-gw0-db_stack"
    main = project_name(config(), "pytest", "stack")
    assert main.startswith("pytest-") and main.endswith("-main-stack")
    spec = StackSpec.make(tmp_path, ["stack.yaml"])
    other = StackSpec.make(tmp_path, ["stack.yaml"], services=["web"])
    assert reuse_project_name(gw0, "p", "stack", spec) == reuse_project_name(gw0, "p", "stack", spec)
    assert reuse_project_name(gw0, "p", "stack", spec) != reuse_project_name(gw0, "p", "stack", other)
    assert reuse_project_name(gw0, "p", "stack", spec) != reuse_project_name(gw1, "p", "stack", spec)
