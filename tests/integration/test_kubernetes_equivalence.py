"""`stack convert kubernetes` against the real daemon: the generated probes and init-container
waits mean what the stack file meant.

- Probes: each service is started by `stack up`; once the daemon's healthcheck has a verdict
  (healthy or unhealthy), every probe generated for that service (readiness, liveness, startup)
  is run with `docker exec` in that very container, and must give the same verdict (exit 0 ==
  healthy), for CMD and CMD-SHELL tests, passing and failing.  The probe timings must equal
  the healthcheck the daemon was given.
- Waits: the init containers' scripts (service_started: the name resolves; service_healthy: a
  TCP connection succeeds) run unchanged in a BusyBox container on a plain Docker network,
  WAIT_HOST naming the dependency's container there (in a cluster: its Service's FQDN).  They
  keep waiting while the dependency is missing (or not listening), and end 0 once it is there.
- The Job wait script reads the apiserver's answer through `curl`; with no apiserver here,
  a `curl` on PATH that prints a saved Job status stands in for it, to check the script waits
  on a running Job, ends 0 on Complete and 1 on Failed (the HTTP call itself is not tested).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from stack.convert.kubernetes import KubernetesOptions, KubernetesStack, translate
from stack.plan import labels as L
from stack.spec.loader import LoadOptions, load_project
from tests.integration.cli_helpers import StackCLI, exec_output, poll

IMAGE = "stack-test/busybox:latest"
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")

HEALTHCHECKS = f"""
x-base: &base
  image: {IMAGE}
  init: true
  command: sh -c "echo ok > /tmp/state; exec sleep 3600"
services:
  cmd-pass:
    <<: *base
    healthcheck: {{test: ["CMD", "test", "-s", "/tmp/state"], interval: 1s, timeout: 2s, retries: 2}}
  cmd-fail:
    <<: *base
    healthcheck: {{test: ["CMD", "test", "-e", "/tmp/missing"], interval: 1s, timeout: 2s, retries: 2}}
  shell-pass:
    <<: *base
    healthcheck:
      test: ["CMD-SHELL", "[ \\"$$(cat /tmp/state)\\" = ok ] && echo fine"]
      interval: 1s
      timeout: 2s
      retries: 2
      start_period: 2s
      start_interval: 1s
  shell-fail:
    <<: *base
    healthcheck: {{test: "grep -q missing /tmp/state || exit 3", interval: 1s, timeout: 2s, retries: 2}}
"""


def _convert(path: Path, project: str) -> KubernetesStack:
    return translate(load_project(LoadOptions(files=[str(path)], project_name=project)), KubernetesOptions())


def _health(client: docker.APIClient, container: str) -> str:
    return str(client.inspect_container(container)["State"]["Health"]["Status"])


def test_probes_give_the_daemons_healthcheck_verdict(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    path = cli.write(HEALTHCHECKS)
    cli.ok("up", "-d")
    converted = _convert(path, project_name)
    verdicts: dict[str, str] = {}
    for service in ("cmd-pass", "cmd-fail", "shell-pass", "shell-fail"):
        container = f"{project_name}-{service}-1"
        poll(
            f"the daemon's healthcheck verdict on {container}",
            lambda c=container: _health(docker_client, c) in ("healthy", "unhealthy"),  # type: ignore[misc]
            timeout=30,
        )
        verdicts[service] = _health(docker_client, container)
        check = docker_client.inspect_container(container)["Config"]["Healthcheck"]
        spec = converted.find("Deployment", service)["spec"]["template"]["spec"]["containers"][0]
        probes = {name: spec[name] for name in PROBES if name in spec}
        assert {"readinessProbe", "livenessProbe"} <= set(probes), f"{service}: {sorted(probes)}"
        for name, probe in probes.items():
            code, output = exec_output(docker_client, container, *probe["exec"]["command"])
            assert (code == 0) == (verdicts[service] == "healthy"), (
                f"{service}: {name} {probe['exec']['command']} exited {code} ({output.strip()!r}),"
                f" the daemon says {verdicts[service]}"
            )
        for name in ("readinessProbe", "livenessProbe"):
            assert probes[name]["periodSeconds"] * 1_000_000_000 == check["Interval"]
            assert probes[name]["timeoutSeconds"] * 1_000_000_000 == check["Timeout"]
            assert probes[name]["failureThreshold"] == check["Retries"]
    assert verdicts == {
        "cmd-pass": "healthy",
        "cmd-fail": "unhealthy",
        "shell-pass": "healthy",
        "shell-fail": "unhealthy",
    }
    startup = converted.find("Deployment", "shell-pass")["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    assert startup["exec"]["command"][:2] == ["sh", "-c"]  # CMD-SHELL: the daemon's /bin/sh -c
    cli.ok("down")


# -- init-container waits ------------------------------------------------------------------------

WAITS = """
services:
  db:
    image: postgres:16
    expose: ["5432"]
    healthcheck: {test: ["CMD", "pg_isready"]}
  search:
    image: opensearch
  app:
    image: app
    depends_on:
      db: {condition: service_healthy}
      search: {condition: service_started}
"""


class Network:
    """A plain Docker network of the test's project, and containers on it, removed one by one."""

    def __init__(self, client: docker.APIClient, project: str) -> None:
        self.client = client
        self.project = project
        self.name = f"{project}_waits"
        self.containers: list[str] = []
        client.create_network(self.name, labels={L.PROJECT: project})

    def run(self, command: list[str], *, alias: str | None = None, env: dict[str, str] | None = None) -> str:
        endpoint = self.client.create_endpoint_config(aliases=[alias] if alias else None)
        created = self.client.create_container(
            IMAGE,
            command,
            environment=env or {},
            labels={L.PROJECT: self.project},
            host_config=self.client.create_host_config(network_mode=self.name, init=True),
            networking_config=self.client.create_networking_config({self.name: endpoint}),
        )
        ident = str(created["Id"])
        self.containers.append(ident)
        self.client.start(ident)
        return ident

    def logs(self, ident: str) -> str:
        return self.client.logs(ident).decode(errors="replace")

    def state(self, ident: str) -> dict[str, Any]:
        state: dict[str, Any] = self.client.inspect_container(ident)["State"]
        return state

    def close(self) -> None:
        for ident in reversed(self.containers):  # sequentially: bursts of removals upset this daemon
            with contextlib.suppress(docker.errors.NotFound):
                self.client.remove_container(ident, force=True)
        with contextlib.suppress(docker.errors.NotFound):
            self.client.remove_network(self.name)


@pytest.fixture
def network(docker_client: docker.APIClient, project_name: str) -> Iterator[Network]:
    net = Network(docker_client, project_name)
    try:
        yield net
    finally:
        net.close()


def _init_containers(tmp_path: Path) -> dict[str, dict[str, Any]]:
    path = tmp_path / "stack.yaml"
    path.write_text(WAITS)
    converted = translate(load_project(LoadOptions(files=[str(path)])), KubernetesOptions())
    spec = converted.find("Deployment", "app")["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["initContainers"]}


def _waiting_twice(net: Network, ident: str, line: str) -> Callable[[], bool]:
    """True once the script printed its waiting line at least twice (it loops, still running)."""

    def check() -> bool:
        return net.logs(ident).count(line) >= 2

    return check


def _exited(net: Network, ident: str) -> Callable[[], bool]:
    return lambda: not net.state(ident)["Running"]


def _start_wait(net: Network, init: dict[str, Any], host: str) -> str:
    # The script and its environment as the manifest has them; WAIT_HOST names the container
    # here, where a cluster gives the Service's FQDN (POD_NAMESPACE comes from the Downward API).
    env = {e["name"]: e["value"] for e in init["env"] if "value" in e}
    env["WAIT_HOST"] = host
    return net.run(init["command"], env=env)


def test_service_started_wait_resolves_the_name_once_the_dependency_is_there(tmp_path: Path, network: Network) -> None:
    init = _init_containers(tmp_path)["wait-for-search"]
    assert "nslookup" in init["command"][2]
    waiter = _start_wait(network, init, "search")
    poll("the wait for search to report it is still waiting", _waiting_twice(network, waiter, "does not resolve yet"))
    assert network.state(waiter)["Running"], "the wait ended although search does not exist"
    network.run(["sleep", "300"], alias="search")
    poll("the wait for search to end once search exists", _exited(network, waiter), timeout=20)
    assert network.state(waiter)["ExitCode"] == 0, network.logs(waiter)
    assert "service search: search resolves" in network.logs(waiter)


def test_service_healthy_wait_connects_once_the_dependency_listens(tmp_path: Path, network: Network) -> None:
    init = _init_containers(tmp_path)["wait-for-db"]
    assert "5432" in init["command"][2]
    waiter = _start_wait(network, init, "db")
    poll("the wait for db to report it is still waiting", _waiting_twice(network, waiter, "no ready endpoint"))
    # db exists (the name resolves) but does not listen yet: still waiting
    db = network.run(
        ["sh", "-c", "until [ -e /tmp/listen ]; do sleep 0.1; done; while true; do nc -l -p 5432 </dev/null; done"],
        alias="db",
    )
    before = network.logs(waiter).count("no ready endpoint")
    poll(
        "the wait for db to try again while db does not listen",
        lambda: network.logs(waiter).count("no ready endpoint") >= before + 2,
    )
    assert network.state(waiter)["Running"], "the wait ended although nothing listens on db:5432"
    code, _ = exec_output(network.client, db, "touch", "/tmp/listen")
    assert code == 0
    poll("the wait for db to end once db listens on 5432", _exited(network, waiter), timeout=20)
    assert network.state(waiter)["ExitCode"] == 0, network.logs(waiter)
    assert "service db: db:5432 accepts connections" in network.logs(waiter)


def test_job_wait_script_ends_on_the_jobs_outcome(network: Network) -> None:
    from stack.convert.kubernetes.waits import job_complete_script

    # A stand-in `curl` printing the Job's status from /tmp/job.json, as the apiserver would.
    fake_curl = "mkdir -p /fake && printf '#!/bin/sh\\ncat /tmp/job.json\\n' > /fake/curl && chmod +x /fake/curl"
    script = f"{fake_curl}; export PATH=/fake:$PATH; {job_complete_script()}"
    running = '{"status": {"active": 1, "startTime": "2024-01-01T00:00:00Z"}}'
    complete = '{"status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}}'
    failed = '{"status": {"conditions": [{"type": "Failed", "status": "True"}], "failed": 1}}'
    for outcome, body, code in (("complete", complete, 0), ("failed", failed, 1)):
        waiter = network.run(["sh", "-c", f"echo '{running}' > /tmp/job.json; {script}"], env={"WAIT_JOB": "migrate"})
        poll(f"the job wait to report the running job ({outcome})", _waiting_twice(network, waiter, "to complete"))
        assert network.state(waiter)["Running"]
        exec_code, _ = exec_output(network.client, waiter, "sh", "-c", f"echo '{body}' > /tmp/job.json")
        assert exec_code == 0
        poll(f"the job wait to end on a {outcome} job", _exited(network, waiter), timeout=20)
        assert network.state(waiter)["ExitCode"] == code, network.logs(waiter)
