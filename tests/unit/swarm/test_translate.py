"""The stack model as Swarm objects (stack.convert.swarm): no daemon.

The golden file holds `SwarmStack.render()` of stacks/full.yaml (the stacks directory shown as
`<dir>`, stack's version as `<version>`).  Rewrite it with `UPDATE_GOLDEN=1 pytest
tests/unit/swarm`, then READ the diff: a golden file is only worth something if a person
checked it is right.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from stack import __version__
from stack.api.swarm import swarm_convert
from stack.convert.swarm import (
    SWARM_IMAGE,
    SWARM_PROJECT,
    TEMPLATE_HASH,
    UnsupportedKeysError,
    spec_hash,
    template_hash,
    translate,
)
from stack.errors import StackFileError
from stack.plan import labels as L
from stack.spec.loader import LoadOptions, load_project
from stack.spec.models import Project

STACKS = Path(__file__).parent / "stacks"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _load(path: Path, env: dict[str, str] | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> Project:
    if monkeypatch is not None:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
    return load_project(LoadOptions(files=[str(path)]))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return path


def test_full_stack_matches_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    project = _load(STACKS / "full.yaml", {"DB_PASSWORD": "s3cret"}, monkeypatch)
    text = translate(project).render().replace(str(STACKS), "<dir>").replace(f'"{__version__}"', '"<version>"')
    golden = GOLDEN / "full.txt"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()


def test_services_in_dependency_order_with_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    converted = translate(_load(STACKS / "full.yaml", {"DB_PASSWORD": "x"}, monkeypatch))
    keys = [s.key for s in converted.services]
    assert keys.index("db") < keys.index("api")
    assert converted.service("api").depends_on == {"db": "service_healthy"}
    assert converted.service("api").replicas == 3
    assert converted.service("agent").replicas is None  # global
    assert converted.service("db").healthcheck


def test_unsupported_keys_name_file_and_line(monkeypatch: pytest.MonkeyPatch) -> None:
    converted = translate(_load(STACKS / "full.yaml", {"DB_PASSWORD": "x"}, monkeypatch))
    found = {p.path: p for p in converted.unsupported}
    assert set(found) == {"services.agent.restart", "services.agent.privileged", "services.agent.container_name"}
    privileged = found["services.agent.privileged"]
    assert privileged.location is not None
    assert privileged.location.file == str(STACKS / "full.yaml")
    lines = (STACKS / "full.yaml").read_text().splitlines()
    assert lines[privileged.location.line - 1].strip() == "privileged: true"  # type: ignore[operator]
    assert privileged.render().startswith(f"{STACKS / 'full.yaml'}:{privileged.location.line}:")


def test_strict_refuses_unsupported_keys_with_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    project = _load(STACKS / "full.yaml", {"DB_PASSWORD": "x"}, monkeypatch)
    with pytest.raises(UnsupportedKeysError) as caught:
        swarm_convert(project, strict=True)
    assert caught.value.exit_code == 2
    assert "services.agent.privileged" in caught.value.render()
    assert swarm_convert(project).unsupported  # without strict: listed, not refused


def test_secret_and_config_named_by_content_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = """
name: p
services:
  app: {image: busybox, secrets: [token], configs: [conf]}
secrets:
  token: {environment: TOKEN}
configs:
  conf: {file: ./conf.txt}
"""
    (tmp_path / "conf.txt").write_text("a = 1\n")
    path = _write(tmp_path, text)
    first = translate(_load(path, {"TOKEN": "one"}, monkeypatch))
    same = translate(_load(path, {"TOKEN": "one"}, monkeypatch))
    changed = translate(_load(path, {"TOKEN": "two"}, monkeypatch))
    assert first.secrets[0].name == same.secrets[0].name
    assert first.secrets[0].name.startswith("p_token_")
    assert first.secrets[0].name != changed.secrets[0].name
    assert base64.b64decode(first.secrets[0].body["Data"]) == b"one"
    assert first.secrets[0].body["Labels"][SWARM_PROJECT] == "p"
    assert base64.b64decode(first.configs[0].body["Data"]) == b"a = 1\n"
    # a changed secret changes the task template: the service rolls instead of failing
    assert first.services[0].config_hash == same.services[0].config_hash
    assert first.services[0].config_hash != changed.services[0].config_hash
    refs = changed.services[0].spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert refs[0]["SecretName"] == changed.secrets[0].name
    assert refs[0]["File"] == {"Name": "token", "UID": "0", "GID": "0", "Mode": 0o444}


def test_unset_secret_variable_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    path = _write(
        tmp_path, "services:\n  app: {image: busybox, secrets: [t]}\nsecrets:\n  t: {environment: NOPE_TOKEN}\n"
    )
    with pytest.raises(StackFileError) as caught:
        translate(_load(path))
    assert "NOPE_TOKEN" in caught.value.render()
    assert f"{path}:4" in caught.value.render()


def test_replicas_change_keeps_the_task_template(tmp_path: Path) -> None:
    one = translate(_load(_write(tmp_path, "name: p\nservices:\n  a: {image: busybox, deploy: {replicas: 1}}\n")))
    three = translate(_load(_write(tmp_path, "name: p\nservices:\n  a: {image: busybox, deploy: {replicas: 3}}\n")))
    env = translate(
        _load(
            _write(tmp_path, "name: p\nservices:\n  a: {image: busybox, deploy: {replicas: 3}, environment: {X: 1}}\n")
        )
    )
    labels = [c.services[0].spec["TaskTemplate"]["ContainerSpec"]["Labels"][TEMPLATE_HASH] for c in (one, three, env)]
    assert labels[0] == labels[1] != labels[2]  # scaling restarts no task; an env change does
    assert one.services[0].config_hash != three.services[0].config_hash


def test_hashes_are_of_the_spec_without_themselves(tmp_path: Path) -> None:
    svc = translate(_load(_write(tmp_path, "name: p\nservices:\n  a: {image: busybox}\n"))).services[0]
    assert spec_hash(svc.spec) == svc.spec["Labels"][L.CONFIG_HASH] == svc.config_hash
    assert template_hash(svc.spec["TaskTemplate"]) == svc.spec["TaskTemplate"]["ContainerSpec"]["Labels"][TEMPLATE_HASH]


def test_image_id_rolls_a_rebuilt_image(tmp_path: Path) -> None:
    project = _load(_write(tmp_path, "name: p\nservices:\n  a: {image: app:local}\n"))
    before = translate(project, image_ids={"a": "sha256:1"}).services[0]
    after = translate(project, image_ids={"a": "sha256:2"}).services[0]
    container = before.spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == "sha256:1"  # no node could pull it: run by id (no pull, exact rollbacks)
    assert container["Labels"][SWARM_IMAGE] == "app:local"
    assert before.config_hash != after.config_hash
    remote = _load(_write(tmp_path, "name: p\nservices:\n  a: {image: registry.example:5000/app:1}\n"))
    pulled = translate(remote, image_ids={"a": "sha256:1"}).services[0].spec["TaskTemplate"]["ContainerSpec"]
    assert pulled["Image"] == "registry.example:5000/app:1"


def test_ports_and_endpoint_mode(tmp_path: Path) -> None:
    text = """
name: p
services:
  web:
    image: busybox
    ports: ["8080:80", {target: 53, published: 5353, protocol: udp, mode: host}]
    deploy: {endpoint_mode: dnsrr}
"""
    converted = translate(_load(_write(tmp_path, text)))
    endpoint = converted.services[0].spec["EndpointSpec"]
    assert endpoint["Mode"] == "dnsrr"
    assert endpoint["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress", "PublishedPort": 8080},
        {"Protocol": "udp", "TargetPort": 53, "PublishMode": "host", "PublishedPort": 5353},
    ]
    assert [p.path for p in converted.unsupported] == ["services.web.ports"]  # ingress under dnsrr


def test_bad_update_config_is_located(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "services:\n  a:\n    image: busybox\n    deploy:\n      update_config: {order: sideways}\n"
    )
    with pytest.raises(StackFileError) as caught:
        translate(_load(path))
    assert f"{path}:5:" in caught.value.render() and "sideways" in caught.value.render()


def test_networks_overlay_attachable_with_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    converted = translate(_load(STACKS / "full.yaml", {"DB_PASSWORD": "x"}, monkeypatch))
    nets = {n.key: n for n in converted.networks}
    assert nets["default"].body["Driver"] == "overlay" and nets["default"].body["Attachable"] is False
    assert nets["front"].body["Attachable"] is True
    attachments = converted.service("api").spec["TaskTemplate"]["Networks"]
    assert {"Target": "shop_back", "Aliases": ["api", "backend"]} in attachments


def test_pushed_image_runs_by_digest(tmp_path: Path) -> None:
    project = _load(_write(tmp_path, "name: p\nservices:\n  a: {image: registry.example/app:1, build: .}\n"))
    container = translate(project, pushed={"a": "sha256:abc"}).services[0].spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == "registry.example/app:1@sha256:abc"
    assert container["Labels"][SWARM_IMAGE] == "registry.example/app:1"
