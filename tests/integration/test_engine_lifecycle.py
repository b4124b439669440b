"""The engine against the real daemon: create, label, rename, volumes, networks, ports."""

from __future__ import annotations

import socket
import time
import urllib.request

import anyio
import docker
import pytest

from stack.engine.docker_api import DockerAPI
from stack.engine.executor import ExecContext, execute
from stack.engine.observe import observe, observe_project
from stack.engine.waits import ContainerWatcher, WaitSpec, wait_for
from stack.errors import DockerUnavailableError, PortInUseError, RegistryError
from stack.plan import labels as L
from stack.plan.options import DownOptions
from stack.plan.plan import Op, Plan
from stack.plan.reconcile import plan_up
from tests.daemon import free_port
from tests.integration.conftest import IMAGE
from tests.integration.engine_helpers import down, run_plan, snapshot, up

pytestmark = pytest.mark.docker

SLEEP = ["sleep", "600"]
HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-from-$$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"]
HTTP_HEALTH = {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"], "interval": "200ms"}


def test_fresh_up_creates_labelled_running_containers_and_second_up_is_empty(api, make_project, docker_client):
    project = make_project({"app": {"command": SLEEP, "scale": 2, "labels": {"team": "core"}}})
    plan, result = up(api, project)
    assert result.ok and len(result.done) == len(plan)

    state = snapshot(api, project)
    assert [(c.name, c.service, c.number, c.state) for c in state.containers] == [
        (f"{project.name}-app-1", "app", 1, "running"),
        (f"{project.name}-app-2", "app", 2, "running"),
    ]
    labels = docker_client.inspect_container(f"{project.name}-app-1")["Config"]["Labels"]
    assert labels[L.PROJECT] == project.name
    assert labels[L.SERVICE] == "app"
    assert labels[L.CONFIG_HASH] == state.containers[0].config_hash != ""
    assert labels["team"] == "core"
    assert state.networks[0].name == f"{project.name}_default"

    again, result2 = up(api, project)
    assert again.is_empty(), again.render()
    assert result2.api_calls == {}


def test_api_calls_are_counted_by_kind(api, make_project):
    project = make_project({"a": {"command": SLEEP}, "b": {"command": SLEEP}})
    up(api, project)
    # observe: one list per kind; up: one network, two creates, two starts.
    assert api.calls["container.list"] == 1
    assert api.calls["network.create"] == 1
    assert api.calls["container.create"] == 2
    assert api.calls["container.start"] == 2
    assert api.calls["container.inspect"] == 0  # observe never inspects per container
    assert api.calls["volume.list"] == 1
    assert api.calls["image.list"] == 1
    # ours by label, and by name every network the file declares: look-alikes, duplicates
    assert api.calls["network.list"] == 2
    assert api.total_calls == 10


def test_create_under_temporary_name_then_rename(api, make_project, docker_client):
    project = make_project({"app": {"command": SLEEP}})
    final = f"{project.name}-app-1"
    temp = f"0123456789ab_{final}"
    plan = Plan()
    net = plan.add(Op.CREATE_NETWORK, "network:default", "missing", key="default", name=f"{project.name}_default")
    create = plan.add(
        Op.CREATE_CONTAINER, "service:app:1", "test", [net.id], service="app", number=1, name=temp, final_name=final
    )
    rename = plan.add(Op.RENAME_CONTAINER, "service:app:1", "test", [create.id], container=temp, new_name=final)
    plan.add(Op.START_CONTAINER, "service:app:1", "test", [rename.id], container=final)
    result = run_plan(api, project, plan)
    assert result.ok
    info = docker_client.inspect_container(final)
    assert info["State"]["Running"]
    # The network alias is the final name, not the temporary one.
    aliases = info["NetworkSettings"]["Networks"][f"{project.name}_default"]["Aliases"]
    assert final in aliases and "app" in aliases and temp not in aliases
    with pytest.raises(docker.errors.NotFound):
        docker_client.inspect_container(temp)


def test_named_volume_survives_container_removal(api, make_project, docker_client):
    project = make_project(
        {
            "writer": {
                "command": ["sh", "-c", "echo kept > /data/f"],
                "volumes": [{"type": "volume", "source": "data", "target": "/data"}],
            }
        },
        volumes={"data": {}},
    )
    up(api, project)
    volume = f"{project.name}_data"
    assert docker_client.wait(f"{project.name}-writer-1", timeout=30)["StatusCode"] == 0
    down(api, project, DownOptions(timeout=0))
    assert snapshot(api, project).containers == ()
    assert [v.name for v in snapshot(api, project).volumes] == [volume]

    reader = make_project(
        {
            "writer": {
                "command": ["cat", "/data/f"],
                "volumes": [{"type": "volume", "source": "data", "target": "/data"}],
            }
        },
        volumes={"data": {}},
    )
    up(api, reader)
    name = f"{project.name}-writer-1"
    assert docker_client.wait(name, timeout=30)["StatusCode"] == 0
    assert docker_client.logs(name).decode().strip() == "kept"


def test_two_services_reach_each_other_by_service_and_container_name(api, make_project, docker_client):
    project = make_project(
        {
            "server": {"command": HTTPD, "healthcheck": HTTP_HEALTH},
            "client": {
                "command": ["sh", "-c", "wget -q -O - http://server/ && wget -q -O - http://$$TARGET/"],
                "environment": {"TARGET": "placeholder"},
                "depends_on": {"server": {"condition": "service_healthy"}},
            },
        }
    )
    project.services["client"].environment["TARGET"] = f"{project.name}-server-1"
    project.services["client"].command = ["sh", "-c", "wget -q -O - http://server/ && wget -q -O - http://$TARGET/"]
    up(api, project, wait_timeout=60)
    client = f"{project.name}-client-1"
    assert docker_client.wait(client, timeout=60)["StatusCode"] == 0
    lines = docker_client.logs(client).decode().split()
    assert len(lines) == 2 and all(line.startswith("hello-from-") for line in lines)


def test_published_port_answers_on_the_host(api, make_project):
    port = free_port()
    project = make_project(
        {"web": {"command": HTTPD, "healthcheck": HTTP_HEALTH, "ports": [{"target": 80, "published": str(port)}]}}
    )
    up(api, project)

    async def healthy() -> None:
        async with ContainerWatcher.watching(api, project.name) as watcher:
            await wait_for(watcher, WaitSpec("web", "service_healthy", timeout=60, has_healthcheck=True))

    anyio.run(healthy)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        assert response.read().decode().startswith("hello-from-")


def test_taken_port_names_the_service_and_the_port(api, make_project):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project = make_project({"web": {"command": SLEEP, "ports": [{"target": 80, "published": str(port)}]}})
        with pytest.raises(PortInUseError) as caught:
            up(api, project)
    message = caught.value.render()
    assert f"service web: host port {port}" in message
    assert "already in use" in message
    assert caught.value.service == "web"


def test_unreachable_daemon_says_what_to_do():
    facade = DockerAPI.from_env(environment={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    with pytest.raises(DockerUnavailableError) as caught:
        anyio.run(facade.ping)
    assert "unix:///nonexistent/docker.sock" in caught.value.message
    assert "daemon running" in (caught.value.hint or "")
    # The same single error (no exception group) from the concurrent observe.
    with pytest.raises(DockerUnavailableError):
        anyio.run(lambda: observe(facade, "whatever", ["busybox"]))


def test_missing_image_without_build_fails_naming_the_service(api, make_project):
    project = make_project({"ghost": {"image": "stack-test/absent:1", "command": SLEEP}})
    with pytest.raises(RegistryError) as caught:
        up(api, project)
    assert caught.value.message.startswith("service ghost: cannot pull image stack-test/absent:1")
    assert "docker load" in (caught.value.hint or "")


def test_changed_service_is_recreated_under_its_name_keeping_anonymous_volumes(api, make_project, docker_client):
    volumes = [{"type": "volume", "target": "/anon"}]
    first = make_project(
        {
            "app": {
                "command": ["sh", "-c", "echo $$V >> /anon/log; exec sleep 600"],
                "volumes": volumes,
                "environment": {"V": "one"},
            }
        }
    )
    first.services["app"].command = ["sh", "-c", "echo $V >> /anon/log; exec sleep 600"]
    up(api, first)
    name = f"{first.name}-app-1"
    old_id = docker_client.inspect_container(name)["Id"]

    second = first.model_copy(deep=True)
    second.services["app"].environment["V"] = "two"
    plan, result = up(api, second, stop_timeout=0)
    assert result.ok
    ops = [n.op for n in plan.nodes]
    assert Op.RENAME_CONTAINER in ops and Op.REMOVE_CONTAINER in ops
    info = docker_client.inspect_container(name)
    assert info["Id"] != old_id and info["State"]["Running"]
    assert [c.name for c in snapshot(api, second).containers] == [name]
    # The anonymous volume came along: both runs appended to the same file.  "Running" comes
    # before the new container's shell has written its line: poll, with a deadline.
    deadline = time.monotonic() + 15
    lines: list[str] = []
    while time.monotonic() < deadline:
        logs = docker_client.exec_create(name, ["cat", "/anon/log"])
        lines = docker_client.exec_start(logs).decode().split()
        if len(lines) >= 2:
            break
        time.sleep(0.05)  # poll interval
    assert lines == ["one", "two"]


def test_absent_optional_dependency_is_skipped(api, make_project, docker_client):
    project = make_project({"app": {"command": SLEEP}})
    plan = Plan()
    net = plan.add(Op.CREATE_NETWORK, "network:default", "missing", key="default", name=f"{project.name}_default")
    create = plan.add(Op.CREATE_CONTAINER, "service:app:1", "test", [net.id], service="app", number=1)
    wait = plan.add(
        Op.WAIT_CONDITION,
        "service:cache",
        "app depends on cache",
        [],
        service="cache",
        dependent="app",
        condition="service_started",
        required=False,
    )
    plan.add(Op.START_CONTAINER, "service:app:1", "test", [create.id, wait.id], container=f"{project.name}-app-1")
    result = run_plan(api, project, plan)
    assert result.ok and result.skipped == [wait.id]
    assert docker_client.inspect_container(f"{project.name}-app-1")["State"]["Running"]


def test_observe_finds_external_networks_and_volumes_by_exact_name(api, make_project, docker_client):
    project = make_project(
        {"app": {"command": SLEEP, "networks": {"shared": None}}},
        networks={"shared": {"external": True, "name": "PLACEHOLDER"}},
        volumes={"ext": {"external": True, "name": "PLACEHOLDER"}},
    )
    net, vol = f"{project.name}-ext-net", f"{project.name}-ext-vol"
    project.networks["shared"].name = net
    project.volumes["ext"].name = vol
    # Not ours (no labels), as external resources are; removed at the end.
    docker_client.create_network(net)
    docker_client.create_volume(vol)
    docker_client.create_network(net + "-longer")
    try:
        state = anyio.run(lambda: observe_project(api, project))
        assert [n.name for n in state.networks] == [net]
        assert [v.name for v in state.volumes] == [vol]
        assert state.images == {"stack-test/busybox:latest": docker_client.inspect_image(IMAGE)["Id"]}
        _, result = up(api, project)
        assert result.ok
        attached = docker_client.inspect_container(f"{project.name}-app-1")["NetworkSettings"]["Networks"]
        assert list(attached) == [net]
    finally:
        docker_client.remove_container(f"{project.name}-app-1", force=True)
        for name in (net, net + "-longer"):
            docker_client.remove_network(name)
        docker_client.remove_volume(vol)


def test_a_failing_service_does_not_stop_independent_ones(api, make_project, docker_client):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project = make_project(
            {
                "web": {"command": SLEEP, "ports": [{"target": 80, "published": str(port)}]},
                "after": {"command": SLEEP, "depends_on": {"web": {"condition": "service_started"}}},
                "other": {"command": SLEEP},
            }
        )
        plan = plan_up(project, snapshot(api, project))
        result = anyio.run(lambda: execute(plan, ExecContext(api, project), raise_on_failure=False))
    assert [plan.node(i).resource for i in result.failed] == ["service:web:1"]
    assert isinstance(next(iter(result.failed.values())), PortInUseError)
    skipped = {plan.node(i).resource for i in result.skipped}
    assert "service:after:1" in skipped
    assert docker_client.inspect_container(f"{project.name}-other-1")["State"]["Running"]
    assert not docker_client.inspect_container(f"{project.name}-after-1")["State"]["Running"]
