"""`stack swarm ...` on a real single-node swarm (see conftest.py: run on their own).

This kernel has no IPVS: no routing mesh, no service VIPs.  The stacks here publish with
`mode: host` and address peers by DNS round-robin (`endpoint_mode: dnsrr`, `tasks.<service>`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import docker
import docker.errors
import docker.types
import pytest

from bench.load import LoadLoop
from stack.convert.swarm import SWARM_PROJECT
from stack.engine.docker_api import DockerAPI
from stack.engine.swarm_events import follow
from tests.daemon import Result, free_port
from tests.integration.cli_helpers import StackCLI, exec_output
from tests.registry import registries

pytestmark = pytest.mark.docker

IMAGE = "stack-test/busybox:latest"
PROXY_IMAGE = "stack-local/nginx:bookworm"
DEPLOY_TIMEOUT = 240.0


def _ts(text: str) -> datetime:
    """The daemon's RFC 3339 timestamps (nanoseconds) as datetimes (microseconds)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?", text)
    assert match is not None, text
    return datetime.fromisoformat(f"{match.group(1)}.{(match.group(2) or '0')[:6].ljust(6, '0')}")


def _services(client: docker.APIClient, project: str) -> dict[str, dict[str, Any]]:
    found = client.services(filters={"label": [f"{SWARM_PROJECT}={project}"]})
    return {str(s["Spec"]["Name"]): s for s in found}


def _tasks(client: docker.APIClient, service: str, *, running_only: bool = True) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {"service": [service]}
    if running_only:
        filters["desired-state"] = ["running"]
    return [t for t in client.tasks(filters=filters) if t["ServiceID"]]


def _container(task: dict[str, Any]) -> str:
    return str(task["Status"]["ContainerStatus"]["ContainerID"])


def _cli(tmp_path: Path) -> StackCLI:
    return StackCLI(tmp_path, f"sw{uuid.uuid4().hex[:8]}")


@pytest.fixture
def cli(swarm: docker.APIClient, tmp_path: Path) -> Iterator[StackCLI]:
    stack = _cli(tmp_path)
    try:
        yield stack
    finally:
        stack.run("swarm", "rm", timeout=180)


def _deploy(cli: StackCLI, *args: str) -> Result:
    return cli.run("swarm", "deploy", "--timeout", str(DEPLOY_TIMEOUT), *args, timeout=DEPLOY_TIMEOUT + 60)


def _healthy_service(name: str, needs: str | None = None, delay: int = 2) -> str:
    depends = f"\n    depends_on: {{{needs}: {{condition: service_healthy}}}}" if needs else ""
    return f"""
  {name}:
    image: {IMAGE}
    init: true
    command: ["sh", "-c", "sleep {delay}; touch /tmp/ok; exec sleep 100000"]
    healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 1s, retries: 60}}
    deploy: {{endpoint_mode: dnsrr}}{depends}"""


@dataclass
class Chain:
    cli: StackCLI
    result: Result
    health_at_return: dict[str, list[str]]  # service -> health of its containers right after deploy returned
    tasks_at_return: dict[str, list[str]]  # service -> running task ids


@pytest.fixture(scope="module")
def chain(swarm: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    stack = _cli(tmp_path_factory.mktemp("chain"))
    stack.write("services:" + _healthy_service("a") + _healthy_service("b", "a") + _healthy_service("c", "b") + "\n")
    try:
        result = _deploy(stack, "--wait")
        health: dict[str, list[str]] = {}
        tasks: dict[str, list[str]] = {}
        for key in "abc":
            running = _tasks(swarm, f"{stack.project}_{key}")
            tasks[key] = sorted(t["ID"] for t in running)
            health[key] = [
                str(swarm.inspect_container(_container(t))["State"].get("Health", {}).get("Status")) for t in running
            ]
        yield Chain(stack, result, health, tasks)
    finally:
        stack.run("swarm", "rm", timeout=180)


def test_service_healthy_chain_deploys_in_order(chain: Chain, swarm: docker.APIClient) -> None:
    assert chain.result.code == 0, str(chain.result)
    project = chain.cli.project
    # Read from the daemon: each service's tasks were created only after the tasks of what it
    # needs were running (Swarm holds a task with a healthcheck in `starting` until it passes).
    running_since = {}
    created = {}
    for key in "abc":
        (task,) = _tasks(swarm, f"{project}_{key}")
        assert task["Status"]["State"] == "running"
        running_since[key] = _ts(task["Status"]["Timestamp"])
        created[key] = _ts(task["CreatedAt"])
    assert created["b"] >= running_since["a"], (created, running_since)
    assert created["c"] >= running_since["b"], (created, running_since)
    err = chain.result.err
    assert err.index(f"{project}_b: waiting for {project}_a to be healthy") < err.index(f"{project}_b: created")


def test_wait_returns_once_all_healthy(chain: Chain) -> None:
    assert chain.result.code == 0, str(chain.result)
    assert chain.health_at_return == {"a": ["healthy"], "b": ["healthy"], "c": ["healthy"]}


def test_unchanged_redeploy_restarts_no_task(chain: Chain, swarm: docker.APIClient) -> None:
    before = {key: swarm.inspect_service(f"{chain.cli.project}_{key}")["Version"]["Index"] for key in "abc"}
    again = _deploy(chain.cli, "--wait")
    assert again.code == 0, str(again)
    assert "nothing to change" in again.err
    for key in "abc":
        name = f"{chain.cli.project}_{key}"
        assert sorted(t["ID"] for t in _tasks(swarm, name)) == chain.tasks_at_return[key]
        assert len(_tasks(swarm, name, running_only=False)) == 1  # no task was replaced
        assert swarm.inspect_service(name)["Version"]["Index"] == before[key]  # the spec was not touched


def test_ps_and_services_list_the_tasks_by_node_hostname(chain: Chain, swarm: docker.APIClient) -> None:
    project = chain.cli.project
    hostname = str(swarm.info()["Name"])
    ps = chain.cli.run("swarm", "ps")
    assert ps.code == 0, str(ps)
    lines = [line.split() for line in ps.out.splitlines()[1:]]
    for key in "abc":
        (row,) = [cols for cols in lines if cols[1] == f"{project}_{key}.1"]
        assert row[0] == chain.tasks_at_return[key][0][:12]
        assert row[3:6] == [hostname, "running", "running"]  # the node by its hostname, as docker stack ps
    listed = chain.cli.run("swarm", "services")
    assert listed.code == 0, str(listed)
    replicas = {cols[1]: cols[3] for cols in (line.split() for line in listed.out.splitlines()[1:])}
    assert replicas == {f"{project}_{key}": "1/1" for key in "abc"}


def test_rm_leaves_a_foreign_service_of_the_same_name(cli: StackCLI, swarm: docker.APIClient) -> None:
    foreign_name = f"{cli.project}_web"
    template = docker.types.TaskTemplate(docker.types.ContainerSpec(IMAGE, ["sleep", "100000"]))
    foreign = swarm.create_service(template, name=foreign_name)["ID"]
    try:
        cli.write(f"services:\n  web: {{image: {IMAGE}, command: [sleep, '100000'], init: true}}\n")
        refused = _deploy(cli)
        assert refused.code == 1, str(refused)
        assert f"a swarm service named {foreign_name} exists that stack did not create" in refused.err
        assert _services(swarm, cli.project) == {}  # refused before anything changed
        cli.write(f"services:\n  api: {{image: {IMAGE}, command: [sleep, '100000'], init: true}}\n")
        assert _deploy(cli, "--wait").code == 0
        assert set(_services(swarm, cli.project)) == {f"{cli.project}_api"}
        removed = cli.run("swarm", "rm", timeout=180)
        assert removed.code == 0, str(removed)
        assert _services(swarm, cli.project) == {}
        assert swarm.inspect_service(foreign)["Spec"]["Name"] == foreign_name  # left alone
    finally:
        swarm.remove_service(foreign)


def test_secrets_and_configs_reach_the_tasks(cli: StackCLI, swarm: docker.APIClient) -> None:
    cli.write(
        f"""
services:
  app:
    image: {IMAGE}
    init: true
    command: [sleep, "100000"]
    secrets: [token]
    configs: [{{source: conf, target: /etc/app.conf}}]
secrets:
  token: {{environment: TOKEN}}
configs:
  conf: {{content: "workers = 4"}}
"""
    )
    cli.env["TOKEN"] = "first-token"
    assert _deploy(cli, "--wait").code == 0
    (task,) = _tasks(swarm, f"{cli.project}_app")
    assert exec_output(swarm, _container(task), "cat", "/run/secrets/token") == (0, "first-token")
    assert exec_output(swarm, _container(task), "cat", "/etc/app.conf") == (0, "workers = 4")
    # a changed value is a new secret (named by its digest): the service rolls onto it
    cli.env["TOKEN"] = "second-token"
    redeployed = _deploy(cli, "--wait")
    assert redeployed.code == 0, str(redeployed)
    (task,) = [t for t in _tasks(swarm, f"{cli.project}_app") if t["Status"]["State"] == "running"]
    assert exec_output(swarm, _container(task), "cat", "/run/secrets/token") == (0, "second-token")


def test_unsupported_keys_are_listed_with_file_and_line(cli: StackCLI, swarm: docker.APIClient) -> None:
    path = cli.write(
        f"""services:
  web:
    image: {IMAGE}
    command: [sleep, "100000"]
    init: true
    privileged: true
    restart: always
"""
    )
    strict = _deploy(cli, "--strict")
    assert strict.code == 2, str(strict)
    assert f"{path}:6:5: services.web.privileged" in strict.err
    assert f"{path}:7:5: services.web.restart" in strict.err
    assert _services(swarm, cli.project) == {}  # refused before anything changed
    warned = _deploy(cli)
    assert warned.code == 0, str(warned)
    assert f"WARN: {path}:6:5: services.web.privileged" in warned.err
    assert warned.err.index("privileged") < warned.err.index("created")  # listed before any change


ROLLING = """
services:
  web:
    image: {image}
    init: true
    environment: {{VERSION: "{version}"}}
    command: ["sh", "-c", "mkdir -p /www && echo $$VERSION > /www/index.html && exec httpd -f -p 8000 -h /www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/"]
      interval: 1s
      timeout: 1s
      retries: 30
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config: {{parallelism: 1, order: start-first, monitor: 1s, failure_action: rollback}}
  proxy:
    image: {proxy}
    depends_on: {{web: {{condition: service_healthy}}}}
    configs: [{{source: proxy, target: /etc/nginx/conf.d/proxy.conf}}]
    ports: [{{target: 8080, published: {port}, mode: host}}]
    deploy: {{endpoint_mode: dnsrr}}
configs:
  proxy:
    content: |
      server {{
        listen 8080;
        resolver 127.0.0.11 valid=1s ipv6=off;
        location / {{
          set $$upstream http://tasks.web:8000;
          proxy_pass $$upstream;
          proxy_next_upstream error timeout http_502 http_503;
          proxy_connect_timeout 1s;
        }}
      }}
"""


def test_env_change_rolls_start_first_without_a_failed_request(cli: StackCLI, swarm: docker.APIClient) -> None:
    try:
        swarm.inspect_image(PROXY_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"{PROXY_IMAGE} is not built (scripts/run-example.sh builds it): it is the test's proxy")
    port = free_port()
    cli.write(ROLLING.format(image=IMAGE, proxy=PROXY_IMAGE, port=port, version="one"))
    first = _deploy(cli, "--wait")
    assert first.code == 0, str(first)
    old = {t["ID"] for t in _tasks(swarm, f"{cli.project}_web")}
    assert len(old) == 3
    proxy_version = swarm.inspect_service(f"{cli.project}_proxy")["Version"]["Index"]
    cli.write(ROLLING.format(image=IMAGE, proxy=PROXY_IMAGE, port=port, version="two"))
    with LoadLoop(f"http://127.0.0.1:{port}/", threads=2, timeout_s=5.0) as load:
        load.wait_first_ok(60)
        rolled = _deploy(cli, "--wait")
    assert rolled.code == 0, str(rolled)
    assert f"service {cli.project}_proxy: unchanged" in rolled.err  # only the changed service is updated
    assert swarm.inspect_service(f"{cli.project}_proxy")["Version"]["Index"] == proxy_version
    result = load.result
    print(f"rolling update under load: {result.summary()}")  # shown with -s / -rP
    assert result.failed == 0, result.summary()
    assert result.ok > 10, result.summary()
    new = [t for t in _tasks(swarm, f"{cli.project}_web") if t["Status"]["State"] == "running"]
    assert len(new) == 3 and not {t["ID"] for t in new} & old
    spec = swarm.inspect_service(f"{cli.project}_web")["Spec"]
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert "VERSION=two" in spec["TaskTemplate"]["ContainerSpec"]["Env"]
    for task in new:
        assert exec_output(swarm, _container(task), "cat", "/www/index.html") == (0, "two\n")


FAILING = """
services:
  web:
    image: {image}
    init: true
    environment: {{VERSION: "{version}"}}
    command: ["sh", "-c", "touch /tmp/ok; exec sleep 100000"]
    healthcheck: {{test: ["CMD", "test", "-f", "{probe}"], interval: 1s, timeout: 1s, retries: 2}}
    deploy:
      endpoint_mode: dnsrr
      update_config: {{order: stop-first, monitor: 2s, failure_action: rollback}}
"""


def test_failing_healthcheck_update_is_rolled_back_and_wait_exits_1(cli: StackCLI, swarm: docker.APIClient) -> None:
    cli.write(FAILING.format(image=IMAGE, version="one", probe="/tmp/ok"))
    assert _deploy(cli, "--wait").code == 0
    cli.write(FAILING.format(image=IMAGE, version="two", probe="/tmp/never"))
    failed = _deploy(cli, "--wait")
    assert failed.code == 1, str(failed)
    assert "service web: the update was rolled back" in failed.err
    assert f"task {cli.project}_web." in failed.err
    assert "Traceback" not in failed.err
    spec = swarm.inspect_service(f"{cli.project}_web")["Spec"]
    assert "VERSION=one" in spec["TaskTemplate"]["ContainerSpec"]["Env"]


def test_build_service_is_built_and_run_by_id_with_a_warning(cli: StackCLI, swarm: docker.APIClient) -> None:
    (cli.directory / "app").mkdir()
    (cli.directory / "app" / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo built-one > /built\n")
    cli.write("services:\n  app:\n    build: ./app\n    init: true\n    command: [sleep, '100000']\n")
    deployed = _deploy(cli, "--wait")
    assert deployed.code == 0, str(deployed)
    assert f"image {cli.project}-app (service app) is used from this node's images, by id" in deployed.err
    image_id = swarm.inspect_image(f"{cli.project}-app")["Id"]
    spec = swarm.inspect_service(f"{cli.project}_app")["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"] == image_id
    (task,) = _tasks(swarm, f"{cli.project}_app")
    assert exec_output(swarm, _container(task), "cat", "/built") == (0, "built-one\n")
    # a rebuilt image of the same tag rolls the service onto it
    (cli.directory / "app" / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo built-two > /built\n")
    assert _deploy(cli, "--wait").code == 0
    (task,) = [t for t in _tasks(swarm, f"{cli.project}_app") if t["Status"]["State"] == "running"]
    assert exec_output(swarm, _container(task), "cat", "/built") == (0, "built-two\n")
    swarm.remove_image(f"{cli.project}-app", force=True)


def test_rm_keeps_volumes_unless_asked(cli: StackCLI, swarm: docker.APIClient) -> None:
    cli.write(
        f"services:\n  db:\n    image: {IMAGE}\n    init: true\n    command: [sleep, '100000']\n"
        "    volumes: [data:/data]\nvolumes:\n  data: {}\n"
    )
    assert _deploy(cli, "--wait").code == 0
    volume = f"{cli.project}_data"
    assert swarm.inspect_volume(volume)["Labels"][SWARM_PROJECT] == cli.project  # created by the daemon, ours
    assert cli.run("swarm", "rm", timeout=180).code == 0
    assert swarm.inspect_volume(volume)["Name"] == volume  # kept, as `docker stack rm` keeps it
    assert _deploy(cli, "--wait").code == 0
    removed = cli.run("swarm", "rm", "--volumes", timeout=180)
    assert removed.code == 0, str(removed)
    assert f"volume {volume}: removed" in removed.err
    assert not [v for v in swarm.volumes(filters={"name": [volume]}).get("Volumes") or [] if v["Name"] == volume]


PRUNABLE = """
services:
  db:
    image: {image}
    init: true
    command: [sleep, "100000"]
    secrets: [token]
{extra}secrets:
  token: {{file: ./token.txt}}
"""
WORKER = f"""  worker:
    image: {IMAGE}
    init: true
    command: [sleep, "100000"]
"""


def _secret_names(client: docker.APIClient, project: str) -> set[str]:
    return {str(s["Spec"]["Name"]) for s in client.secrets(filters={"label": [f"{SWARM_PROJECT}={project}"]})}


def test_prune_removes_what_left_the_file_and_secret_versions_nothing_needs(
    cli: StackCLI, swarm: docker.APIClient
) -> None:
    (cli.directory / "token.txt").write_text("one")
    cli.write(PRUNABLE.format(image=IMAGE, extra=WORKER))
    assert _deploy(cli, "--wait").code == 0
    foreign = swarm.create_service(
        docker.types.TaskTemplate(docker.types.ContainerSpec(IMAGE, ["sleep", "100000"])),
        name=f"{cli.project}_other",
        labels={"purpose": "someone else's, named like ours"},
    )["ID"]
    try:
        first = _secret_names(swarm, cli.project)
        assert len(first) == 1
        # worker leaves the file, and db moves to a new version of its secret
        (cli.directory / "token.txt").write_text("two")
        cli.write(PRUNABLE.format(image=IMAGE, extra=""))
        pruned = _deploy(cli, "--wait", "--prune")
        assert pruned.code == 0, str(pruned)
        assert set(_services(swarm, cli.project)) == {f"{cli.project}_db"}
        assert swarm.inspect_service(foreign)["Spec"]["Name"] == f"{cli.project}_other"  # not ours: kept
        second = _secret_names(swarm, cli.project)
        assert first < second  # the old version stays: the previous spec (a rollback) needs it
        (cli.directory / "token.txt").write_text("three")
        assert _deploy(cli, "--wait", "--prune").code == 0
        third = _secret_names(swarm, cli.project)
        assert not first & third and len(third) == 2  # the current one and the previous spec's
    finally:
        swarm.remove_service(foreign)


def test_a_built_image_naming_a_registry_is_pushed_and_run_by_digest(
    cli: StackCLI, swarm: docker.APIClient, tmp_path: Path
) -> None:
    with registries(tmp_path, swarm) as start:
        registry = start()
        image = f"{registry.host}/{cli.project}/app:1"
        (cli.directory / "app").mkdir()
        (cli.directory / "app" / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo pushed > /built\n")
        cli.write(
            f"services:\n  app:\n    build: ./app\n    image: {image}\n    init: true\n    command: [sleep, '100000']\n"
        )
        deployed = _deploy(cli, "--wait")
        assert deployed.code == 0, str(deployed)
        assert "pushing app" in deployed.err
        assert "used from this node's images" not in deployed.err  # every node can pull it
        digest = registry.manifest_digest(f"{cli.project}/app", "1")
        spec = swarm.inspect_service(f"{cli.project}_app")["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert spec["Image"] == f"{image}@{digest}"
        (task,) = _tasks(swarm, f"{cli.project}_app")
        assert exec_output(swarm, _container(task), "cat", "/built") == (0, "pushed\n")
        # a registry that does not answer: exit 1 with the daemon's message, nothing changed
        registry.stop()
        (cli.directory / "app" / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo second > /built\n")
        refused = _deploy(cli, "--wait")
        assert refused.code == 1, str(refused)
        assert registry.host in refused.err and "Traceback" not in refused.err
        assert swarm.inspect_service(f"{cli.project}_app")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == (
            f"{image}@{digest}"
        )


def test_waits_are_woken_by_the_event_stream(swarm: docker.APIClient) -> None:
    """A service of the project, and its task's container, show on the stream (Docker 20.10 has
    no task events: these are what the waits wake on)."""
    project = f"ev{uuid.uuid4().hex[:8]}"

    api = DockerAPI.from_env()

    async def scenario() -> int:
        async with follow(api, project) as wakeups:
            changed = wakeups.changed()
            created = swarm.create_service(
                docker.types.TaskTemplate(docker.types.ContainerSpec(IMAGE, ["sleep", "100000"])),
                name=f"{project}_probe",
            )["ID"]
            try:
                with anyio.fail_after(30):  # the service's create, then its task's container events
                    await changed.wait()
                    while wakeups.seen < 2:
                        await wakeups.changed().wait()
            finally:
                swarm.remove_service(created)
            return wakeups.seen

    try:
        assert anyio.run(scenario) >= 2
    finally:
        api.close()


def test_a_changed_network_is_refused_before_any_change(cli: StackCLI, swarm: docker.APIClient) -> None:
    text = """services:
  app: {{image: {image}, init: true, command: [sleep, "100000"], environment: {{V: "{v}"}}, networks: [back]}}
networks:
  back: {{driver_opts: {{com.docker.network.driver.mtu: "{mtu}"}}}}
"""
    cli.write(text.format(image=IMAGE, v="one", mtu="1400"))
    assert _deploy(cli, "--wait").code == 0
    version = swarm.inspect_service(f"{cli.project}_app")["Version"]["Index"]
    cli.write(text.format(image=IMAGE, v="two", mtu="1300"))
    refused = _deploy(cli, "--wait")
    assert refused.code == 1, str(refused)
    assert f"network back: its definition changed since {cli.project}_back was created" in refused.err
    assert "Traceback" not in refused.err
    assert swarm.inspect_service(f"{cli.project}_app")["Version"]["Index"] == version  # nothing changed
    cli.write(text.format(image=IMAGE, v="two", mtu="1400"))  # the network as it is: the service rolls
    assert _deploy(cli, "--wait").code == 0
