"""Reconciler rules that golden files do not show: errors, node args, DAG invariants."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from stack.errors import ResourceNotFoundError, StackFileError, UsageError
from stack.plan import labels as L
from stack.plan.hash import service_config_hash
from stack.plan.observed import ObservedNetwork, ObservedState, ObservedVolume
from stack.plan.options import UpOptions
from stack.plan.plan import NODE_ARGS, Op, Plan
from stack.plan.reconcile import image_references, plan_images, plan_up

from .plan_builders import container, converged, image_id, images, network, project
from .test_reconcile_golden import CASES, base


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_plan_is_a_dag_in_node_order_with_the_args_the_executor_needs(name: str) -> None:
    plan = CASES[name]()
    for node in plan.nodes:
        assert all(0 < d < node.id for d in node.deps), node.render()
        assert set(NODE_ARGS[node.op]) <= set(node.args), node.render()


def _ancestors(plan: Plan, node_id: int) -> set[int]:
    seen: set[int] = set()
    todo = list(plan.node(node_id).deps)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(plan.node(current).deps)
    return seen


def test_fresh_up_starts_dependents_only_after_their_dependency_started() -> None:
    plan = CASES["fresh_up"]()
    starts = {n.args["container"]: n.id for n in plan.nodes if n.op is Op.START_CONTAINER}
    for dependent in ("demo-web-1", "demo-web-2", "demo-worker-1"):
        assert starts["demo-db-1"] in _ancestors(plan, starts[dependent])
    # ... while every create waits only for networks, volumes, images and, as in Compose, the
    # creates of its service's dependencies (never for a start or a health wait).
    creates = {n.args["service"]: n.id for n in plan.nodes if n.op is Op.CREATE_CONTAINER and n.args["number"] == 1}
    for node in plan.nodes:
        if node.op is Op.CREATE_CONTAINER:
            assert {plan.node(d).op for d in node.deps} <= {
                Op.CREATE_NETWORK,
                Op.CREATE_VOLUME,
                Op.BUILD_IMAGE,
                Op.CREATE_CONTAINER,
            }
            if node.args["service"] in ("web", "worker"):
                assert creates["db"] in node.deps


def test_create_args_carry_labels_with_the_config_hash() -> None:
    p = base()
    plan = plan_up(p, ObservedState(project="demo", images=images(p)), UpOptions())
    create = next(n for n in plan.nodes if n.op is Op.CREATE_CONTAINER and n.args["service"] == "db")
    assert create.args["labels"][L.CONFIG_HASH] == service_config_hash(p.services["db"])
    assert create.args["labels"][L.NUMBER] == "1"
    assert create.args["volumes"] == {"data": "demo_data"}
    assert create.args["inherit_volumes_from"] is None


def test_recreate_inherits_anonymous_volumes_unless_renewed() -> None:
    before = base()
    after = base(web={"command": ["other"]})
    old = {c.number: c.id for c in converged(before).containers if c.service == "web"}
    for renew, expected in ((False, old), (True, {1: None, 2: None})):
        plan = plan_up(after, converged(before), UpOptions(renew_anon_volumes=renew))
        creates = [n for n in plan.nodes if n.op is Op.CREATE_CONTAINER]
        assert {n.args["number"]: n.args["inherit_volumes_from"] for n in creates} == expected
        assert all(n.args["name"].endswith("_" + n.args["final_name"]) for n in creates)


def test_external_network_must_exist() -> None:
    p = project({"web": {"image": "busybox"}}, networks={"default": {"name": "corp", "external": True}})
    with pytest.raises(ResourceNotFoundError, match="network corp is declared as external") as err:
        plan_up(p, ObservedState(project="demo", images=images(p)), UpOptions())
    assert "docker network create corp" in err.value.render()
    corp = ObservedNetwork(id="n1", name="corp", key="", config_hash="")
    plan = plan_up(p, ObservedState(project="demo", images=images(p), networks=(corp,)))
    assert [n.op for n in plan.nodes] == [Op.CREATE_CONTAINER, Op.START_CONTAINER]
    # An existing network is named by its id: a name may be shared by several networks.
    assert plan.nodes[0].args["networks"] == [{"key": "default", "name": "n1"}]


def test_external_volume_must_exist() -> None:
    p = project(
        {"db": {"image": "busybox", "volumes": [{"type": "volume", "source": "pg", "target": "/d"}]}},
        volumes={"pg": {"external": True, "name": "shared-pg"}},
    )
    with pytest.raises(ResourceNotFoundError, match="volume shared-pg is declared as external"):
        plan_up(p, converged(p), UpOptions())
    ok = replace(converged(p), volumes=(ObservedVolume(name="shared-pg", key=""),))
    assert plan_up(p, ok, UpOptions()).is_empty()


def test_pull_policy_never_with_missing_image_is_an_error() -> None:
    p = project({"web": {"image": "local/only", "pull_policy": "never"}})
    with pytest.raises(ResourceNotFoundError, match="image local/only is not on the daemon"):
        plan_up(p, ObservedState(project="demo", images={"local/only": None}), UpOptions())


def test_container_name_with_replicas_is_an_error() -> None:
    p = project({"web": {"image": "busybox", "container_name": "solo"}})
    with pytest.raises(StackFileError, match="container_name"):
        plan_up(p, converged(p), UpOptions(scale={"web": 2}))


def test_fixed_host_port_with_replicas_is_an_error_but_a_range_is_not() -> None:
    fixed = project({"web": {"image": "busybox", "ports": [{"target": 80, "published": "8080"}]}})
    with pytest.raises(StackFileError, match="host port 8080 but asks for 2 replicas") as info:
        plan_up(fixed, converged(fixed), UpOptions(scale={"web": 2}))
    assert info.value.path == "services.web.ports[0]"
    ranged = project({"web": {"image": "busybox", "ports": [{"target": 80, "published": "8080-8084"}]}})
    plan = plan_up(ranged, converged(ranged), UpOptions(scale={"web": 3}))
    assert [n.resource for n in plan.nodes if n.op.value == "CreateContainer"] == [
        "service:web:2",
        "service:web:3",
    ]


def test_a_build_alone_does_not_refuse_what_only_up_could_not_run() -> None:
    # `stack build` and a Swarm deploy's build: three replicas of one host port are fine on
    # three Swarm nodes; `up` refuses them before it builds anything.
    spec = {
        "build": {"context": "."},
        "image": "app:local",
        "deploy": {"replicas": 3},
        "ports": [{"target": 80, "published": "8080"}],
    }
    p = project({"web": spec})
    missing = ObservedState(project="demo", images={"app:local": None})
    built = plan_images(p, missing, UpOptions(build="always"), for_up=False)
    assert [n.op.value for n in built.nodes] == ["BuildImage"]
    with pytest.raises(StackFileError, match="host port 8080 but asks for 3 replicas"):
        plan_images(p, missing, UpOptions(build="always"))


def test_bad_options_are_usage_errors() -> None:
    p = base()
    with pytest.raises(UsageError, match="cannot be combined"):
        plan_up(p, converged(p), UpOptions(force_recreate=True, no_recreate=True))
    with pytest.raises(UsageError, match="--scale nope=2: no such service"):
        plan_up(p, converged(p), UpOptions(scale={"nope": 2}))
    with pytest.raises(UsageError, match="no such service: nope"):
        plan_up(p, converged(p), UpOptions(services=["nope"]))


def test_changed_network_with_a_foreign_container_attached_is_an_error() -> None:
    p = base()
    state = converged(p)
    front = replace(network(p, "front", config_hash="previous"), attached_containers={"f" * 64: "someone-else"})
    state = replace(state, networks=tuple(front if n.key == "front" else n for n in state.networks))
    with pytest.raises(ResourceNotFoundError, match="someone-else"):
        plan_up(p, state, UpOptions())


def test_one_off_containers_are_neither_orphans_nor_replicas() -> None:
    p = base()
    state = converged(p)
    run = replace(container(p, "web", 7, one_off=True), name="demo-web-run-0123456789ab")
    plan = plan_up(p, replace(state, containers=(*state.containers, run)), UpOptions())
    assert plan.is_empty() and plan.warnings == []


def test_dead_container_is_recreated() -> None:
    p = base()
    state = converged(p)
    state = replace(
        state,
        containers=tuple(
            container(p, "worker", 1, state="dead") if c.service == "worker" else c for c in state.containers
        ),
    )
    plan = plan_up(p, state, UpOptions())
    assert (plan.nodes[0].op, plan.nodes[0].cause) == (Op.CREATE_CONTAINER, "recreate: container is dead")
    assert Op.STOP_CONTAINER not in {n.op for n in plan.nodes}


def test_containers_sharing_namespaces_or_volumes_follow_their_provider() -> None:
    sidecars: dict[str, dict[str, Any]] = {
        "app": {"image": "busybox", "network_mode": "service:vpn", "ipc": "service:vpn"},
        "backup": {"image": "busybox", "volumes_from": ["vpn:ro"]},
    }
    p = project({"vpn": {"image": "busybox", "scale": 2}, **sidecars})
    plan = plan_up(p, ObservedState(project="demo", images=images(p)), UpOptions())
    creates = {(n.args["service"], n.args["number"]): n for n in plan.nodes if n.op is Op.CREATE_CONTAINER}
    app, backup = creates[("app", 1)], creates[("backup", 1)]
    assert app.args["network_mode"] == app.args["ipc"] == "container:demo-vpn-1"
    assert app.args["networks"] == []
    assert backup.args["volumes_from"] == ["demo-vpn-1:ro"]
    vpn_creates = {creates[("vpn", 1)].id, creates[("vpn", 2)].id}
    assert vpn_creates <= set(app.deps) and vpn_creates <= set(backup.deps)
    app_start = next(n for n in plan.nodes if n.op is Op.START_CONTAINER and n.args["service"] == "app")
    vpn_starts = {n.id for n in plan.nodes if n.op is Op.START_CONTAINER and n.args["service"] == "vpn"}
    assert vpn_starts <= set(app_start.deps)
    # Recreating the provider recreates what points at its old container.
    changed = project({"vpn": {"image": "busybox", "scale": 2, "environment": {"X": "1"}}, **sidecars})
    plan = plan_up(changed, converged(p), UpOptions())
    causes = {n.args["service"]: n.cause for n in plan.nodes if n.op is Op.CREATE_CONTAINER}
    assert causes == {
        "vpn": "recreate: config changed",
        "app": "recreate: service vpn recreated",
        "backup": "recreate: service vpn recreated",
    }


def test_two_phase_up_recreates_only_when_the_built_image_changed() -> None:
    p = base()
    first = plan_images(p, converged(p), UpOptions(build="always"))
    assert [(n.op, n.resource) for n in first.nodes] == [(Op.BUILD_IMAGE, "image:demo-web")]
    same = plan_up(p, converged(p), UpOptions(build="always", images_ready=True))
    assert same.is_empty()
    rebuilt = converged(p, images={**images(p), "demo-web": image_id("demo-web v2")})
    plan = plan_up(p, rebuilt, UpOptions(build="always", images_ready=True))
    assert {n.cause for n in plan.nodes if n.op is Op.CREATE_CONTAINER} == {"recreate: image changed"}


def test_shared_image_is_pulled_once() -> None:
    p = project({"a": {"image": "busybox"}, "b": {"image": "busybox"}})
    plan = plan_up(p, ObservedState(project="demo", images={"busybox": None}), UpOptions())
    assert [n.resource for n in plan.nodes if n.op is Op.PULL_IMAGE] == ["image:busybox"]
    assert image_references(p) == ["busybox"]


def test_scale_zero_removes_every_replica_and_skips_waits() -> None:
    p = base()
    plan = plan_up(p, converged(p), UpOptions(scale={"db": 0}, services=["worker"], force_recreate=True))
    assert [(n.op, n.resource) for n in plan.nodes if n.resource.startswith("service:db")] == [
        (Op.STOP_CONTAINER, "service:db:1"),
        (Op.REMOVE_CONTAINER, "service:db:1"),
    ]
    assert Op.WAIT_CONDITION not in {n.op for n in plan.nodes}


def test_down_never_removes_external_or_foreign_resources() -> None:
    from stack.plan.observed import ObservedVolume
    from stack.plan.options import DownOptions
    from stack.plan.reconcile import plan_down

    p = project(
        {"web": {"image": "busybox", "volumes": [{"type": "volume", "source": "pg", "target": "/d"}]}},
        networks={"default": {"name": "corp", "external": True}},
        volumes={"pg": {"external": True, "name": "shared-pg"}},
    )
    state = replace(
        converged(p),
        networks=(network(p, "default"), network(p, "other", owned=False)),
        volumes=(
            ObservedVolume(name="shared-pg", key="pg", labels={L.PROJECT: "demo"}),
            ObservedVolume(name="theirs", key="", labels={}),
        ),
    )
    plan = plan_down(state, DownOptions(remove_volumes=True), p)
    assert {n.op for n in plan.nodes} == {Op.STOP_CONTAINER, Op.REMOVE_CONTAINER}
    everything = plan_down(state, DownOptions(remove_volumes=True), None)
    # Without the file, ownership (our label) is all we know: the foreign ones still stay.
    assert sorted(n.args["name"] for n in everything.nodes if n.op in (Op.REMOVE_NETWORK, Op.REMOVE_VOLUME)) == [
        "corp",
        "shared-pg",
    ]
    assert all(n.args["remove_volumes"] for n in everything.nodes if n.op is Op.REMOVE_CONTAINER)


def test_stop_timeout_is_minus_t_else_stop_grace_period() -> None:
    from stack.plan.options import DownOptions
    from stack.plan.reconcile import plan_down

    p = project({"db": {"image": "busybox", "stop_grace_period": "1m30s"}, "web": {"image": "busybox"}})
    stops = {
        n.args["service"]: n.args["timeout"]
        for n in plan_down(converged(p), DownOptions(), p).nodes
        if n.op is Op.STOP_CONTAINER
    }
    assert stops == {"db": 90.0, "web": None}
    forced = plan_down(converged(p), DownOptions(timeout=3), p)
    assert {n.args["timeout"] for n in forced.nodes if n.op is Op.STOP_CONTAINER} == {3}


def test_several_networks_of_our_name_none_ours_is_an_error_naming_them() -> None:
    from stack.errors import ResourceConflictError

    p = project({"web": {"image": "busybox"}})
    theirs = [ObservedNetwork(id=f"n{i}", name="demo_default", key="", config_hash="") for i in (1, 2)]
    state = ObservedState(project="demo", images=images(p), networks=tuple(theirs))
    with pytest.raises(ResourceConflictError, match="2 networks are named demo_default") as error:
        plan_up(p, state, UpOptions())
    assert "docker network rm" in error.value.render()


def test_down_removes_every_copy_of_our_networks_by_id() -> None:
    from stack.plan.options import DownOptions
    from stack.plan.reconcile import plan_down

    p = project({"web": {"image": "busybox"}})
    state = converged(p)
    copy = replace(state.networks[0], id="copy-id")
    removed = plan_down(replace(state, networks=(*state.networks, copy)), DownOptions(), p)
    ids = sorted(n.args["id"] for n in removed.nodes if n.op is Op.REMOVE_NETWORK)
    assert ids == sorted([state.networks[0].id, "copy-id"])


def test_down_v_removes_anonymous_volumes_taken_over_by_recreates() -> None:
    from stack.plan.options import DownOptions
    from stack.plan.reconcile import plan_down

    p = project({"web": {"image": "busybox"}})
    state = converged(p)
    web = state.containers[0]
    took_over = replace(web, labels={**web.labels, L.INHERITED_VOLUMES: "a" * 64})
    plan = plan_down(replace(state, containers=(took_over,)), DownOptions(remove_volumes=True), p)
    volume = next(n for n in plan.nodes if n.op is Op.REMOVE_VOLUME)
    assert volume.args["name"] == "a" * 64 and volume.args["if_unused"]
    removal = next(n for n in plan.nodes if n.op is Op.REMOVE_CONTAINER)
    assert removal.id in volume.deps
    assert not any(n.op is Op.REMOVE_VOLUME for n in plan_down(replace(state, containers=(took_over,)), None, p).nodes)
