from __future__ import annotations

from typing import Any

import pytest

from stack.plan.hash import network_config_hash, service_config_hash
from stack.spec.models import Network, Service

BASE: dict[str, Any] = {
    "image": "busybox:latest",
    "command": ["sh", "-c", "sleep 1"],
    "environment": {"A": "1", "B": "2"},
    "ports": [{"target": 80, "published": "8080"}],
    "volumes": [{"type": "volume", "source": "data", "target": "/data"}],
    "networks": {"default": None},
    "labels": {"team": "x"},
}


def h(**changes: Any) -> str:
    return service_config_hash(Service.model_validate({**BASE, **changes}))


def test_hash_is_sha256_hex_and_stable() -> None:
    value = h()
    assert len(value) == 64 and int(value, 16) >= 0
    assert h() == value


def test_hash_is_pinned() -> None:
    # A change here recreates every container of every user after an upgrade: only on purpose.
    assert h() == "8adfcb7e687ed7cb5eea7ba95020d9a7fcfd9d6ce185e6627b2d519596fd93aa"


def test_dict_order_does_not_matter() -> None:
    assert h(environment={"B": "2", "A": "1"}) == h()
    assert h(labels={"team": "x"}) == h()


def test_explicit_empty_and_default_values_do_not_matter() -> None:
    assert h(tmpfs=[], cap_add=[], healthcheck=None, restart=None) == h()
    assert h(ports=[{"target": 80, "published": "8080", "protocol": "tcp", "mode": "ingress"}]) == h()


@pytest.mark.parametrize(
    "changes",
    [
        {"scale": 3},
        {"deploy": {"replicas": 5}},
        # how `up` replaces the containers is not part of any one of them
        {"deploy": {"update_config": {"order": "start-first"}, "rollback_config": {"parallelism": 2}}},
        {"depends_on": {"db": {"condition": "service_healthy"}}},
        {"profiles": ["debug"]},
        {"build": {"context": "/src"}},
        {"pull_policy": "always"},
        {"develop": {"watch": [{"path": "./src", "action": "sync", "target": "/app"}]}},
        {"x-notes": "hello"},
        {"name": "renamed"},
    ],
)
def test_fields_that_never_need_a_new_container(changes: dict[str, Any]) -> None:
    assert h(**changes) == h()


@pytest.mark.parametrize(
    "changes",
    [
        {"environment": {"A": "1", "B": "3"}},
        {"environment": {"A": "1"}},
        {"command": ["sh", "-c", "sleep 2"]},
        {"ports": [{"target": 80, "published": "8081"}]},
        {"volumes": [{"type": "volume", "source": "data", "target": "/other"}]},
        {"image": "busybox:1.36"},
        {"labels": {"team": "y"}},
        {"container_name": "fixed"},
        {"networks": {"front": None}},
        {"healthcheck": {"test": ["CMD", "true"]}},
        {"deploy": {"resources": {"limits": {"memory": "64m"}}}},
        {"cgroup": "host"},  # a key the model keeps as an extra
    ],
)
def test_fields_that_need_a_new_container(changes: dict[str, Any]) -> None:
    assert h(**changes) != h()


def test_deploy_replicas_alone_is_like_no_deploy() -> None:
    assert h(deploy={"replicas": 2, "resources": {"limits": {"cpus": "0.5"}}}) == h(
        deploy={"resources": {"limits": {"cpus": "0.5"}}}
    )


def n(**fields: Any) -> str:
    return network_config_hash(Network.model_validate({"driver": "bridge", **fields}))


def test_network_hash_ignores_name_and_external_and_empty_ipam() -> None:
    assert n(name="other") == n()
    assert n(ipam={}) == n()


@pytest.mark.parametrize(
    "changes",
    [
        {"driver": "macvlan"},
        {"driver_opts": {"com.docker.network.bridge.enable_icc": "false"}},
        {"internal": True},
        {"attachable": True},
        {"enable_ipv6": True},
        {"labels": {"a": "b"}},
        {"ipam": {"config": [{"subnet": "172.28.0.0/16"}]}},
    ],
)
def test_network_hash_covers_what_cannot_change_in_place(changes: dict[str, Any]) -> None:
    assert n(**changes) != n()
