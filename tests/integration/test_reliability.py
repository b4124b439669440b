"""Reliability and ownership against the real daemon: what is not ours stays untouched, two
commands never corrupt one project, `--wait` tells the truth, and a killed `up` converges."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from stack.engine.lock import lock_name
from stack.plan import labels as L
from stack.plan.hash import network_config_hash
from stack.spec.models import Network
from tests.daemon import Result
from tests.integration.cli_helpers import StackCLI, lock_volumes, poll, project_containers, project_networks
from tests.integration.conftest import IMAGE

SLEEP = '["sleep", "600"]'


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    return StackCLI(tmp_path, project_name)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> Result:
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out, err)


def networks_by_name(client: docker.APIClient, project: str) -> dict[str, int]:
    """name -> how many of the project's networks carry it (the daemon allows duplicates)."""
    counts: dict[str, int] = {}
    for n in client.networks(filters=L.resource_filter(project)):
        counts[str(n["Name"])] = counts.get(str(n["Name"]), 0) + 1
    return counts


# ---- 1. ownership: a label no image can hand down -------------------------------------------


@contextlib.contextmanager
def started_by_hand(client: docker.APIClient, image: str, name: str) -> Iterator[str]:
    """`docker run -d --name NAME IMAGE sleep 600`, removed at the end."""
    container = client.create_container(image, ["sleep", "600"], name=name, host_config=client.create_host_config())
    client.start(container["Id"])
    try:
        yield str(container["Id"])
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_container(container["Id"], force=True)


def test_containers_run_by_hand_from_our_images_are_never_ours(cli: StackCLI, docker_client: docker.APIClient) -> None:
    """A container started with plain `docker run` from an image stack built (or from one an
    older stack built, which carried the project and service labels) is not listed, stopped or
    removed by `down`, `down -v`, `rm` or `ls`."""
    image = f"{cli.project}/app:local"
    (cli.directory / "Dockerfile").write_text(f"FROM {IMAGE}\nCMD {SLEEP}\n")
    cli.write(f"services:\n  app:\n    build: .\n    image: {image}\n    init: true\n")
    cli.ok("up", "-d")
    legacy = f"{cli.project}/legacy:local"
    labels = {L.PROJECT: cli.project, L.SERVICE: "app", L.BUILT_FOR_PROJECT: cli.project}
    for _ in docker_client.build(
        path=str(cli.directory), tag=legacy, labels=labels, rm=True, decode=True, dockerfile="Dockerfile"
    ):
        pass
    with (
        started_by_hand(docker_client, image, f"{cli.project}-byhand") as mine,
        started_by_hand(docker_client, legacy, f"{cli.project}-legacy") as legacy_one,
    ):
        assert L.PROJECT not in docker_client.inspect_container(mine)["Config"]["Labels"]
        assert sorted(project_containers(docker_client, cli.project)) == [f"{cli.project}-app-1"]
        cli.ok("down")
        cli.ok("up", "-d")
        cli.ok("down", "-v")
        cli.ok("up", "-d")
        cli.ok("rm", "-f", "-s", "-v")
        cli.ok("down", "-v")
        assert cli.project not in cli.ok("ls", "-a", "-q").out.split()
        assert "byhand" not in cli.ok("ps", "-a").out
        for container in (mine, legacy_one):
            assert docker_client.inspect_container(container)["State"]["Running"]


# ---- 2. one writer per project ---------------------------------------------------------------

TWO_SERVICES = f"""\
services:
  web:
    image: {IMAGE}
    command: {SLEEP}
    init: true
    networks: [default, back]
  api:
    image: {IMAGE}
    command: {SLEEP}
    init: true
    networks: [back]
networks:
  back: {{}}
"""


@pytest.mark.parametrize("second", [("up", "-d"), ("scale", "api=3")], ids=["up-up", "up-scale"])
def test_racing_commands_never_duplicate_networks_or_replicas(
    cli: StackCLI, docker_client: docker.APIClient, second: tuple[str, ...]
) -> None:
    """6 rounds of two commands started together: one network of each name, every replica
    once, and a third `up` and `down -v` that succeed."""
    cli.write(TWO_SERVICES)
    for _ in range(6):
        first = cli.popen("up", "-d")
        other = cli.popen(*second)
        results = [finish(first), finish(other)]
        assert all(r.code == 0 for r in results), "\n".join(map(str, results))
        assert networks_by_name(docker_client, cli.project) == {f"{cli.project}_default": 1, f"{cli.project}_back": 1}
        # Whichever ran last decided the number of api replicas (`up` goes back to the file's 1).
        names = sorted(project_containers(docker_client, cli.project))
        replicas = sum(name.startswith(f"{cli.project}-api-") for name in names)
        assert replicas in ((1, 3) if second[0] == "scale" else (1,)), results
        assert names == sorted([f"{cli.project}-web-1", *(f"{cli.project}-api-{n}" for n in range(1, replicas + 1))])
        cli.ok("up", "-d", "--scale", f"api={replicas}")
        cli.ok("down", "-v")
        assert not project_containers(docker_client, cli.project)
        assert not project_networks(docker_client, cli.project)
        assert not lock_volumes(docker_client, cli.project)


SLOW = f"""\
services:
  slow:
    image: {IMAGE}
    command: {SLEEP}
    init: true
    healthcheck: {{test: ["CMD", "false"], interval: 1s, retries: 1000}}
"""


def test_a_second_writer_waits_for_the_first_or_fails_at_once(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(SLOW)
    holder = cli.popen("up", "-d", "--wait", "--wait-timeout", "60")
    said = cli.directory / "waiting.err"
    try:
        poll("the first up to hold the lock", lambda: lock_volumes(docker_client, cli.project))
        refused = cli.run("--no-wait-lock", "down")
        assert refused.code == 1, str(refused)
        assert f"project {cli.project} is locked by `stack up`" in refused.err
        assert "Traceback" not in refused.err
        with said.open("w") as err:
            waiting = cli.popen("--lock-timeout", "120", "down", stderr=err)
        poll("the second command to say what it waits for", lambda: "Waiting for `stack up`" in said.read_text())
        assert waiting.poll() is None
    finally:
        holder.send_signal(signal.SIGINT)  # Ctrl-C: the first one ends and lets go of the lock
    finish(holder)
    assert waiting.wait(timeout=120) == 0, said.read_text()
    assert not project_containers(docker_client, cli.project)
    assert not lock_volumes(docker_client, cli.project)


def test_a_lock_left_by_a_killed_command_is_taken_over(cli: StackCLI, docker_client: docker.APIClient) -> None:
    cli.write(SLOW)
    holder = cli.popen("up", "-d", "--wait", "--wait-timeout", "60")
    poll("the first up to hold the lock", lambda: lock_volumes(docker_client, cli.project))
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert lock_volumes(docker_client, cli.project) == [lock_name(cli.project)]
    # Its process is gone: the lock is taken over at once, even by a writer that will not wait.
    cli.ok("--no-wait-lock", "down")
    assert not project_containers(docker_client, cli.project)
    assert not lock_volumes(docker_client, cli.project)


def test_up_repairs_duplicate_networks_left_by_an_older_race(cli: StackCLI, docker_client: docker.APIClient) -> None:
    """Two of our networks share a name (as older races left them): `up` keeps one, moves our
    containers onto it and removes the other; `down -v` then succeeds."""
    cli.write(TWO_SERVICES.replace("networks: [default, back]", "networks: [default]\n    scale: 2"))
    cli.ok("up", "-d")
    name = f"{cli.project}_default"
    original = docker_client.inspect_network(name)["Id"]
    labels = L.network_labels(cli.project, "default", network_config_hash(Network()))
    # The duplicate, as a racing `up` made it (the daemon's duplicate check is not atomic).
    duplicate = docker_client.create_network(name, labels=labels, check_duplicate=False)["Id"]
    web2 = f"{cli.project}-web-2"
    docker_client.disconnect_container_from_network(web2, original)
    docker_client.connect_container_to_network(web2, duplicate, aliases=["web"])
    assert networks_by_name(docker_client, cli.project)[name] == 2
    plan = cli.ok("up", "-d", "--dry-run").out
    assert "duplicate of network" in plan
    cli.ok("up", "-d")
    assert networks_by_name(docker_client, cli.project)[name] == 1
    kept = next(iter(docker_client.networks(names=[name])))["Id"]
    for container in (f"{cli.project}-web-1", web2):
        attached = docker_client.inspect_container(container)["NetworkSettings"]["Networks"]
        assert [n["NetworkID"] for n in attached.values()] == [kept], container
    assert "nothing to do" in cli.ok("up", "-d", "--dry-run").out
    cli.ok("down", "-v")
    assert not project_networks(docker_client, cli.project)


# ---- 3. honest --wait --------------------------------------------------------------------------


def test_wait_fails_when_a_service_exits_right_after_starting(cli: StackCLI) -> None:
    cli.write(
        f"services:\n  boom:\n    image: {IMAGE}\n    command: [sh, -c, 'echo boom; exit 3']\n"
        f"  web:\n    image: {IMAGE}\n    command: {SLEEP}\n    init: true\n"
    )
    for _ in range(3):
        result = cli.run("up", "-d", "--wait", "--wait-timeout", "60")
        assert result.code == 1, str(result)
        assert f"container {cli.project}-boom-1 exited with code 3" in result.err
        assert "boom" in result.err.split("last lines of its log", 1)[1]
        cli.ok("down")


def test_wait_accepts_exit_0_only_from_one_shot_services(cli: StackCLI) -> None:
    job = f"  job:\n    image: {IMAGE}\n    command: [sh, -c, 'exit 0']\n"
    web = f"  web:\n    image: {IMAGE}\n    command: {SLEEP}\n    init: true\n"
    cli.write("services:\n" + job + web)
    result = cli.run("up", "-d", "--wait", "--wait-timeout", "60")
    assert result.code == 1 and "exited with code 0, but job is not a one-shot job" in result.err, str(result)
    cli.write("services:\n" + job + "    x-stack-run-once: true\n" + web)
    cli.ok("up", "-d", "--wait", "--wait-timeout", "60")
    waited_for = web + "    depends_on: {job: {condition: service_completed_successfully}}\n"
    cli.write("services:\n" + job + waited_for)
    cli.ok("up", "-d", "--wait", "--wait-timeout", "60")


def test_wait_fails_on_an_unhealthy_service_within_its_grace_not_the_timeout(cli: StackCLI) -> None:
    cli.write(
        f"services:\n  db:\n    image: {IMAGE}\n    command: {SLEEP}\n    init: true\n"
        "    healthcheck: {test: [CMD-SHELL, 'echo db is not ready; exit 1'], interval: 1s, timeout: 1s, retries: 2}\n"
    )
    result = cli.run("up", "-d", "--wait", "--wait-timeout", "240", timeout=200)
    assert result.code == 1, str(result)
    # The grace (one more probe: interval + timeout = 2 s) ended the wait, not the 240 s timeout.
    assert "is unhealthy and did not recover within 2s" in result.err, result.err
    assert "db is not ready" in result.err
    assert "gave up after" not in result.err


def test_wait_tolerates_a_recovery_within_the_grace(cli: StackCLI) -> None:
    """Unhealthy for one probe, healthy at the next: the wait succeeds."""
    check = "test -f /tmp/fail && rm /tmp/fail && exit 1; exit 0"
    cli.write(
        f"services:\n  db:\n    image: {IMAGE}\n    command: [sh, -c, 'touch /tmp/fail; exec sleep 600']\n"
        f"    init: true\n    healthcheck: {{test: [CMD-SHELL, '{check}'], interval: 1s, timeout: 1s, retries: 1}}\n"
    )
    cli.ok("up", "-d", "--wait", "--wait-timeout", "60")


# ---- 6, 7: no stack file; anonymous volumes ------------------------------------------------------


def test_without_a_stack_file_commands_need_a_project_name(tmp_path: Path, project_name: str) -> None:
    empty = StackCLI(tmp_path, project_name)
    for args in (["ps"], ["down"], ["logs"], ["config"]):
        result = empty.run(*args, name_project=False)
        assert result.code == 1, str(result)
        assert "no configuration file provided: not found" in result.err
        assert "Traceback" not in result.err
    # -p names the project: `down` and `ps` work from labels alone.
    empty.ok("down")
    empty.ok("ps")


def test_down_v_removes_the_anonymous_volumes_carried_over_by_recreates(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    def volumes() -> set[str]:
        return {str(v["Name"]) for v in docker_client.volumes().get("Volumes") or []}

    before = volumes()
    text = f"services:\n  app:\n    image: {IMAGE}\n    command: {SLEEP}\n    init: true\n    volumes: [/data]\n"
    cli.write(text + "    environment: {V: '1'}\n")
    cli.ok("up", "-d")
    cli.write(text + "    environment: {V: '2'}\n")
    cli.ok("up", "-d")  # recreated: the anonymous volume is carried over
    cli.write(text + "    environment: {V: '3'}\n")
    cli.ok("up", "-d")
    assert len(volumes() - before) == 1
    cli.ok("down", "-v")
    assert volumes() - before == set()


# ---- SIGKILL at several points ------------------------------------------------------------------

KILLED = f"""\
services:
  db:
    image: {IMAGE}
    command: {SLEEP}
    init: true
    healthcheck: {{test: [CMD, "true"], interval: 1s}}
  api:
    image: {IMAGE}
    command: {SLEEP}
    init: true
    environment: {{V: "VALUE"}}
    depends_on: {{db: {{condition: service_healthy}}}}
    deploy: {{replicas: 3}}
    networks: [default, back]
networks:
  back: {{}}
"""


@pytest.mark.parametrize("point", ["lock", "network", "container", "recreate"])
def test_up_killed_at_any_point_converges_on_the_next_up(
    cli: StackCLI, docker_client: docker.APIClient, point: str
) -> None:
    cli.write(KILLED.replace("VALUE", "1"))
    if point == "recreate":
        cli.ok("up", "-d")
        cli.write(KILLED.replace("VALUE", "2"))
    up = cli.popen("up", "-d")

    def reached() -> bool:
        if point == "lock":
            return bool(lock_volumes(docker_client, cli.project))
        if point == "network":
            return bool(project_networks(docker_client, cli.project))
        if point == "container":
            return bool(project_containers(docker_client, cli.project))
        return any("_" in name for name in project_containers(docker_client, cli.project))  # a temporary name

    poll(f"up to reach the point '{point}'", lambda: reached() or up.poll() is not None)
    up.send_signal(signal.SIGKILL)
    up.wait(timeout=10)
    cli.ok("up", "-d", "--wait", "--wait-timeout", "60")
    names = sorted(project_containers(docker_client, cli.project))
    assert names == sorted([f"{cli.project}-db-1", *(f"{cli.project}-api-{n}" for n in (1, 2, 3))])
    assert networks_by_name(docker_client, cli.project) == {f"{cli.project}_default": 1, f"{cli.project}_back": 1}
    assert "nothing to do" in cli.ok("up", "-d", "--dry-run").out
    assert not lock_volumes(docker_client, cli.project)


def test_look_alike_network_and_volume_are_used_with_a_true_message_and_left_alone(
    cli: StackCLI, docker_client: docker.APIClient
) -> None:
    """A network and a volume with the names stack would give them, made by someone else: `up`
    says it uses them (never "Created"), and `down -v` leaves them."""
    network, volume = f"{cli.project}_default", f"{cli.project}_data"
    docker_client.create_network(network)
    docker_client.create_volume(volume)
    try:
        cli.write(
            f"services:\n  app:\n    image: {IMAGE}\n    command: {SLEEP}\n    init: true\n"
            "    volumes: [data:/data]\nvolumes:\n  data: {}\n"
        )
        up = cli.ok("up", "-d")
        assert f"network {network} exists but stack did not create it" in up.err
        assert f"volume {volume} exists but stack did not create it" in up.err
        assert "Created" not in "".join(line for line in up.err.splitlines() if network in line or volume in line)
        attached = docker_client.inspect_container(f"{cli.project}-app-1")["NetworkSettings"]["Networks"]
        assert list(attached) == [network]
        cli.ok("down", "-v")
        assert docker_client.inspect_network(network)["Labels"] in ({}, None)
        assert docker_client.inspect_volume(volume)["Name"] == volume
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.remove_container(f"{cli.project}-app-1", force=True)
        docker_client.remove_network(network)
        docker_client.remove_volume(volume)
