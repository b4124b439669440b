"""The swarm deploy's decisions (stack.engine.swarm) against an in-memory fake of the facade's
swarm methods: order, no-op re-deploys, conflicts, prune, rm by label, failed updates.

The real daemon's behaviour is the business of tests/swarm; these pin down what we send."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, cast

import anyio
import pytest

from stack.convert.swarm import SWARM_PROJECT, TEMPLATE_HASH, SwarmStack, translate
from stack.engine import swarm as engine
from stack.engine.docker_api import DockerAPI
from stack.engine.swarm import DeployOptions, NotASwarmManagerError
from stack.errors import DockerNotFoundError, ResourceConflictError, UpdateFailedError
from stack.plan import labels as L
from stack.spec.loader import LoadOptions, load_project

_ids = itertools.count(1)


def _matches(obj_labels: dict[str, str], name: str, filters: dict[str, list[str]]) -> bool:
    for wanted in filters.get("label", []):
        key, _, value = wanted.partition("=")
        if key not in obj_labels or (value and obj_labels[key] != value):
            return False
    return all(name.startswith(prefix) for prefix in filters.get("name", []))


class FakeSwarm:
    """The facade's swarm methods over dicts; every task starts running at once."""

    host = "fake"

    def __init__(self, *, manager: bool = True) -> None:
        self.manager = manager
        self.services: dict[str, dict[str, Any]] = {}
        self.tasks: list[dict[str, Any]] = []
        self.networks: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"secrets": {}, "configs": {}}
        self.log: list[str] = []

    def _clock(self) -> str:
        return f"2026-01-01T00:00:{next(_ids) % 60:02d}.000000000Z"

    def _start_tasks(self, service: dict[str, Any]) -> None:
        for task in self.tasks:
            if task["ServiceID"] == service["ID"]:
                task["DesiredState"] = "shutdown"
                task["Status"]["State"] = "shutdown"
        mode = service["Spec"]["Mode"]
        count = mode.get("Replicated", {}).get("Replicas", 1)
        for slot in range(1, count + 1):
            self.tasks.append(
                {
                    "ID": f"task{next(_ids)}",
                    "ServiceID": service["ID"],
                    "ServiceName": service["Spec"]["Name"],
                    "Slot": slot,
                    "DesiredState": "running",
                    "Spec": service["Spec"]["TaskTemplate"],
                    "Status": {"State": "running", "Timestamp": self._clock()},
                }
            )

    async def swarm_info(self) -> dict[str, Any]:
        return {"LocalNodeState": "active" if self.manager else "inactive", "ControlAvailable": self.manager}

    async def list_services(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [
            s for s in self.services.values() if _matches(s["Spec"].get("Labels") or {}, s["Spec"]["Name"], filters)
        ]

    async def create_service(self, spec: dict[str, Any]) -> str:
        ident = f"svc{next(_ids)}"
        self.services[ident] = {"ID": ident, "Version": {"Index": 1}, "Spec": spec, "UpdatedAt": self._clock()}
        self._start_tasks(self.services[ident])
        self.log.append(f"create {spec['Name']}")
        return ident

    async def update_service(
        self, service: str, version: int, spec: dict[str, Any], *, rollback: bool = False
    ) -> list[str]:
        current = self.services[service]
        assert current["Version"]["Index"] == version
        current["PreviousSpec"], current["Spec"] = current["Spec"], spec
        current["Version"]["Index"] += 1
        self._start_tasks(current)
        self.log.append(f"update {spec['Name']}")
        return []

    async def remove_service(self, service: str) -> None:
        self.log.append(f"remove {self.services.pop(service)['Spec']['Name']}")

    async def list_tasks(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [t for t in self.tasks if t["ServiceName"] in filters["service"]]

    async def inspect_container(self, container: str) -> dict[str, Any]:
        raise DockerNotFoundError("no such container")

    async def list_networks(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [n for n in self.networks.values() if _matches(n.get("Labels") or {}, n["Name"], filters)]

    async def create_network(self, name: str, **kwargs: Any) -> str:
        self.networks[name] = {"Id": f"net{next(_ids)}", "Name": name, "Labels": kwargs["labels"], "Scope": "swarm"}
        self.log.append(f"network {name}")
        return str(self.networks[name]["Id"])

    async def remove_network(self, network: str) -> None:
        name = next(n for n, v in self.networks.items() if v["Id"] == network)
        del self.networks[name]
        self.log.append(f"remove network {name}")

    async def list_swarm_objects(self, kind: str, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects[kind].values()
            if _matches(o["Spec"].get("Labels") or {}, o["Spec"]["Name"], filters)
        ]

    async def create_swarm_object(self, kind: str, body: dict[str, Any]) -> str:
        ident = f"{kind[:3]}{next(_ids)}"
        self.objects[kind][ident] = {"ID": ident, "Spec": body}
        self.log.append(f"{kind[:-1]} {body['Name']}")
        return ident

    async def remove_swarm_object(self, kind: str, ident: str) -> None:
        self.log.append(f"remove {kind[:-1]} {self.objects[kind].pop(ident)['Spec']['Name']}")


STACK = """
name: shop
services:
  db:
    image: busybox
    healthcheck: {test: ["CMD", "true"]}
    secrets: [token]
  api:
    image: busybox
    environment: {MODE: "${MODE:-one}"}
    depends_on: {db: {condition: service_healthy}}
  web:
    image: busybox
    depends_on: [api]
secrets:
  token: {file: ./token.txt}
"""


def _stack(
    tmp_path: Path, text: str = STACK, mode: str = "one", monkeypatch: pytest.MonkeyPatch | None = None
) -> SwarmStack:
    if monkeypatch is not None:
        monkeypatch.setenv("MODE", mode)
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    (tmp_path / "token.txt").write_text("s3cret")
    return translate(load_project(LoadOptions(files=[str(path)])))


def _deploy(fake: FakeSwarm, stack: SwarmStack, **options: Any) -> engine.DeployResult:
    lines: list[str] = []

    async def go() -> engine.DeployResult:
        return await engine.deploy(cast(DockerAPI, fake), stack, DeployOptions(timeout=5, **options), echo=lines.append)

    return anyio.run(go)


def test_deploy_creates_everything_in_dependency_order(tmp_path: Path) -> None:
    fake = FakeSwarm()
    result = _deploy(fake, _stack(tmp_path), wait=True)
    assert result.created == ["db", "api", "web"]
    secret = next(iter(fake.objects["secrets"].values()))
    assert fake.log == [
        "network shop_default",
        f"secret {secret['Spec']['Name']}",
        "create shop_db",
        "create shop_api",
        "create shop_web",
    ]
    db = next(s for s in fake.services.values() if s["Spec"]["Name"] == "shop_db")
    (ref,) = db["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert ref["SecretID"] == secret["ID"]  # the daemon's id of the secret, filled in at deploy
    assert all(s["Spec"]["Labels"][SWARM_PROJECT] == "shop" for s in fake.services.values())


def test_unchanged_redeploy_changes_nothing(tmp_path: Path) -> None:
    fake = FakeSwarm()
    stack = _stack(tmp_path)
    _deploy(fake, stack)
    fake.log.clear()
    again = _deploy(fake, _stack(tmp_path), wait=True)
    assert again.unchanged == ["db", "api", "web"] and not again.changed
    assert fake.log == []


def test_changed_env_updates_only_that_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSwarm()
    _deploy(fake, _stack(tmp_path, mode="one", monkeypatch=monkeypatch))
    fake.log.clear()
    result = _deploy(fake, _stack(tmp_path, mode="two", monkeypatch=monkeypatch), wait=True)
    assert result.updated == ["api"] and result.unchanged == ["db", "web"]
    assert fake.log == ["update shop_api"]


def test_foreign_service_of_our_name_is_a_conflict_before_any_change(tmp_path: Path) -> None:
    fake = FakeSwarm()
    anyio.run(fake.create_service, {"Name": "shop_web", "Mode": {"Replicated": {"Replicas": 1}}, "TaskTemplate": {}})
    fake.log.clear()
    with pytest.raises(ResourceConflictError, match="shop_web exists that stack did not create"):
        _deploy(fake, _stack(tmp_path))
    assert fake.log == []


def test_prune_and_rm_touch_only_our_objects(tmp_path: Path) -> None:
    fake = FakeSwarm()
    _deploy(fake, _stack(tmp_path))
    foreign = anyio.run(
        fake.create_service, {"Name": "shop_other", "Mode": {"Replicated": {"Replicas": 1}}, "TaskTemplate": {}}
    )
    anyio.run(lambda: fake.create_network("shop_foreign", labels={}))
    smaller = STACK.replace("  web:\n    image: busybox\n    depends_on: [api]\n", "")
    fake.log.clear()
    result = _deploy(fake, _stack(tmp_path, smaller), prune=True)
    assert result.removed == ["web"] and fake.log == ["remove shop_web"]
    fake.log.clear()
    removed = anyio.run(engine.remove_stack, cast(DockerAPI, fake), "shop")
    assert set(removed) >= {"service shop_db", "service shop_api", "network shop_default"}
    assert set(fake.services) == {foreign}  # someone else's, though its name looks like ours
    assert set(fake.networks) == {"shop_foreign"}
    assert fake.objects["secrets"] == {}


def test_rolled_back_update_fails_the_wait_naming_service_and_task(tmp_path: Path) -> None:
    fake = FakeSwarm()
    stack = _stack(tmp_path)
    _deploy(fake, stack)
    api = next(s for s in fake.services.values() if s["Spec"]["Name"] == "shop_api")
    # the update was rolled back: the spec is the previous one, the failed task says why
    api["Spec"] = {**api["Spec"], "Labels": {**api["Spec"]["Labels"], L.CONFIG_HASH: "previous"}}
    api["UpdateStatus"] = {"State": "rollback_completed", "Message": "rollback completed"}
    for task in fake.tasks:
        if task["ServiceID"] == api["ID"]:
            task["Spec"] = {"ContainerSpec": {"Labels": {TEMPLATE_HASH: "previous"}}}
    fake.tasks.append(
        {
            "ID": "taskfailed",
            "ServiceID": api["ID"],
            "ServiceName": "shop_api",
            "Slot": 1,
            "DesiredState": "shutdown",
            "Spec": {},
            "Status": {"State": "failed", "Err": "task: non-zero exit (1)"},
        }
    )

    async def wait() -> None:
        await engine.wait_converged(cast(DockerAPI, fake), stack, timeout=5)

    with pytest.raises(UpdateFailedError) as caught:
        anyio.run(wait)
    message = caught.value.render()
    assert "service api: the update was rolled back" in message
    assert "task shop_api.1 (taskfailed) is failed: task: non-zero exit (1)" in message


def test_not_a_manager_is_one_readable_error(tmp_path: Path) -> None:
    with pytest.raises(NotASwarmManagerError, match="not a swarm manager"):
        _deploy(FakeSwarm(manager=False), _stack(tmp_path))


def test_prune_removes_secret_versions_nothing_refers_to(tmp_path: Path) -> None:
    fake = FakeSwarm()
    _deploy(fake, _stack(tmp_path))
    first = {o["Spec"]["Name"] for o in fake.objects["secrets"].values()}
    (tmp_path / "token.txt").write_text("changed")  # the service's spec moves to a new secret
    stack = translate(load_project(LoadOptions(files=[str(tmp_path / "stack.yaml")])))
    _deploy(fake, stack, prune=True)
    # the old version is still the previous spec's (a rollback needs it): kept
    assert first < {o["Spec"]["Name"] for o in fake.objects["secrets"].values()}
    (tmp_path / "token.txt").write_text("changed again")
    stack = translate(load_project(LoadOptions(files=[str(tmp_path / "stack.yaml")])))
    result = _deploy(fake, stack, prune=True)
    assert result.removed_objects == [f"secret {next(iter(first))}"]
    assert len(fake.objects["secrets"]) == 2  # the current one and the previous spec's
