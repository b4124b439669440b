"""Tests on a real single-node swarm: kept apart from every other test.

Turning the daemon into a swarm manager changes it for everyone (ingress and docker_gwbridge
networks, a node), so these tests run only on their own (`pytest tests/swarm`, which
scripts/test.sh runs after the rest): collected together with other tests, they are skipped.

The session fixture `swarm` runs `docker swarm init --advertise-addr 127.0.0.1 --listen-addr
127.0.0.1:2377` and, in teardown (also when tests fail or are interrupted), `docker swarm leave
--force` and removes the `docker_gwbridge` network.  It never touches a swarm it did not start:
a daemon already in a swarm skips these tests.

Where several people share one daemon, a gate file says when a swarm may be started:
STACK_SWARM_GATE (a path; unset or empty: no gate) must exist before `swarm init`,
else these tests are skipped, saying why.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.daemon import connect

HERE = Path(__file__).resolve().parent
LEAVE_TIMEOUT = 60.0


def _in_swarm_dir(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    swarm_items = [item for item in items if _in_swarm_dir(item)]
    if swarm_items and len(swarm_items) < len(items):
        skip = pytest.mark.skip(
            reason="tests/swarm make the daemon a swarm manager: they run on their own "
            "(`pytest tests/swarm`, as scripts/test.sh does after the other tests)"
        )
        for item in swarm_items:
            item.add_marker(skip)


def _check_gate() -> None:
    gate = os.environ.get("STACK_SWARM_GATE", "")
    if gate and not os.path.exists(gate):
        pytest.skip(
            f"the swarm gate {gate} does not exist: a swarm may not be started on this daemon now; create it "
            "(or set STACK_SWARM_GATE= (empty) where the daemon is yours alone)"
        )


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


def _leave(client: docker.APIClient) -> None:
    _docker("swarm", "leave", "--force")
    deadline = time.monotonic() + LEAVE_TIMEOUT
    while True:  # the gateway bridge goes once its last endpoint (a task's) is gone
        found = client.networks(names=["docker_gwbridge"])
        if not [n for n in found if n["Name"] == "docker_gwbridge"]:
            return
        if _docker("network", "rm", "docker_gwbridge").returncode == 0:
            return
        attached = client.inspect_network("docker_gwbridge").get("Containers") or {}
        if not attached:
            # "has active endpoints" with none attached: an endpoint left in the daemon's store
            # (moby/moby#37018; Docker 20.10 here).  Its known workaround, then give up: the next
            # `swarm init` reuses the bridge.
            _docker("network", "disconnect", "--force", "docker_gwbridge", "gateway_ingress-sbox")
            if _docker("network", "rm", "docker_gwbridge").returncode == 0:
                return
            warnings.warn(
                "docker_gwbridge could not be removed after `docker swarm leave`: the daemon keeps a stale"
                " endpoint on it (moby/moby#37018); only a daemon restart clears it",
                stacklevel=1,
            )
            return
        if time.monotonic() > deadline:
            warnings.warn(
                f"docker_gwbridge still has endpoints {sorted(attached)} after {LEAVE_TIMEOUT:g} s", stacklevel=1
            )
            return
        time.sleep(0.5)  # poll: until the network has no endpoint left


@pytest.fixture(scope="session")
def swarm() -> Iterator[docker.APIClient]:
    """A single-node swarm on this daemon for the session; left (and its bridge removed) at the end."""
    client = connect()
    state = client.info().get("Swarm", {}).get("LocalNodeState", "")
    if state != "inactive":
        pytest.skip(f"the daemon is already in a swarm (state {state!r}): these tests only use one they start")
    _check_gate()
    init = _docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377")
    if init.returncode != 0:
        _leave(client)
        pytest.fail(f"docker swarm init failed: {init.stderr.strip()}")
    try:
        yield client
    finally:
        _leave(client)
