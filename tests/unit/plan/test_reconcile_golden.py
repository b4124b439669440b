"""Golden plans: the reconciler's output for one situation per file in golden/.

Each file holds `Plan.render()` verbatim, then the warnings, then the node args the executor
relies on.  Rewrite them with `UPDATE_GOLDEN=1 pytest tests/unit/plan`, then READ the diff:
a golden file is only worth something if a person checked it is right.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stack.plan import labels as L
from stack.plan.observed import ObservedState
from stack.plan.options import DownOptions, UpOptions
from stack.plan.plan import Plan
from stack.plan.reconcile import plan_down, plan_up
from stack.spec.models import Project

from .plan_builders import container, converged, fake_id, images, network, project, volume

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
# Args left out of golden files: long and derived (checked by dedicated tests).
_HIDDEN_ARGS = {"labels", "config_hash"}


def _value(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a container id: the short form is enough to tell them apart
    if isinstance(value, list):
        return "[" + ",".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def render(plan: Plan) -> str:
    parts = [plan.render(), "", "# warnings", *plan.warnings, "", "# args"]
    for node in plan.nodes:
        args = " ".join(f"{k}={_value(v)}" for k, v in sorted(node.args.items()) if k not in _HIDDEN_ARGS)
        parts.append(f"#{node.id} {args}")
    return "\n".join(parts) + "\n"


def base(**overrides: dict[str, Any] | None) -> Project:
    """db (healthcheck, named volume) <- web (build, 2 replicas, 2 networks, restart: true) ; worker."""
    services: dict[str, dict[str, Any]] = {
        "db": {
            "image": "postgres:16",
            "environment": {"POSTGRES_PASSWORD": "secret"},
            "healthcheck": {"test": ["CMD", "pg_isready"], "interval": "1s", "timeout": "1s", "retries": 5},
            "volumes": [
                {"type": "volume", "source": "data", "target": "/var/lib/postgresql/data"},
            ],
        },
        "web": {
            "build": {"context": "/src/demo/web"},
            "scale": 2,
            "command": ["serve", "--port", "80"],
            "ports": [{"target": 80, "published": "8080-8081"}],
            "volumes": [{"type": "volume", "target": "/cache"}],
            "networks": {"default": None, "front": None},
            "depends_on": {"db": {"condition": "service_healthy", "restart": True}},
        },
        "worker": {
            "image": "busybox:latest",
            "command": ["sh", "-c", "work"],
            "depends_on": {"db": {"condition": "service_started"}},
        },
    }
    for name, changes in overrides.items():
        if changes is None:
            del services[name]
        else:
            services[name] = {**services.get(name, {}), **changes}
    return project(
        services,
        networks={"default": {"name": "demo_default"}, "front": {"name": "demo_front", "driver": "bridge"}},
        volumes={"data": {}},
        disabled={"debug": {"image": "busybox:latest", "profiles": ["debug"]}},
    )


def case_fresh_up() -> Plan:
    p = base()
    return plan_up(p, ObservedState(project="demo", images=images(p, missing=("demo-web",))), UpOptions())


def case_noop_up() -> Plan:
    return plan_up(base(), converged(base()), UpOptions())


def case_env_changed_recreates_db_and_restarts_web() -> Plan:
    before = base()
    after = base(db={"environment": {"POSTGRES_PASSWORD": "changed"}})
    return plan_up(after, converged(before), UpOptions())


def case_env_changed_on_worker_only() -> Plan:
    before = base()
    after = base(worker={"environment": {"LEVEL": "debug"}})
    return plan_up(after, converged(before), UpOptions())


def _rolling(order: str, failure_action: str, **more: Any) -> Plan:
    """web (2 replicas -> 3, two networks) with an update_config and a changed command."""
    update = {"order": order, "failure_action": failure_action, "monitor": "2s", **more}
    before = base(web={"deploy": {"update_config": update}, "scale": 3})
    after = base(web={"deploy": {"update_config": update}, "scale": 3, "command": ["serve", "--port", "81"]})
    return plan_up(after, converged(before), UpOptions())


def case_rolling_start_first_with_rollback() -> Plan:
    return _rolling("start-first", "rollback", parallelism=2, delay="1s")


def case_rolling_stop_first_pauses() -> Plan:
    return _rolling("stop-first", "pause")


def case_rolling_continue_all_at_once() -> Plan:
    return _rolling("start-first", "continue", parallelism=0)


def case_scale_up() -> Plan:
    p = base()
    return plan_up(p, converged(p), UpOptions(scale={"web": 4}))


def _web_three_one_stale(p: Project) -> ObservedState:
    state = converged(p)
    stale = container(p, "web", 2, config_hash="stale")
    return replace(
        state,
        containers=(
            *[c for c in state.containers if c.service != "web"],
            container(p, "web", 1),
            stale,
            container(p, "web", 3),
        ),
    )


def case_scale_down_to_one_stale_first() -> Plan:
    p = base()
    return plan_up(p, _web_three_one_stale(p), UpOptions(scale={"web": 1}))


def case_scale_down_to_two_keeps_current() -> Plan:
    p = base()
    return plan_up(p, _web_three_one_stale(p), UpOptions(scale={"web": 2}))


def _with_extra(p: Project, *extra: Any) -> ObservedState:
    state = converged(p)
    return replace(state, containers=(*state.containers, *extra))


def case_orphans_warned() -> Plan:
    p = base()
    # `old` is gone from the file; `debug` is only disabled by its profile: not an orphan.
    return plan_up(p, _with_extra(p, container(p, "old", 1), container(p, "debug", 1)), UpOptions())


def case_orphans_removed() -> Plan:
    p = base()
    state = _with_extra(p, container(p, "old", 1), container(p, "old", 2, state="exited"), container(p, "debug", 1))
    return plan_up(p, state, UpOptions(remove_orphans=True))


def case_removed_service() -> Plan:
    before = base()
    return plan_up(base(worker=None), converged(before), UpOptions())


def case_removed_service_remove_orphans() -> Plan:
    before = base()
    return plan_up(base(worker=None), converged(before), UpOptions(remove_orphans=True))


def case_network_config_changed() -> Plan:
    before = base()
    state = converged(before)
    front = network(before, "front", config_hash="previous")
    state = replace(state, networks=tuple(front if n.key == "front" else n for n in state.networks))
    return plan_up(before, state, UpOptions())


def case_network_changed_with_bystanders() -> Plan:
    """`up web` while front changes: web is also recreated (command), worker (out of scope)
    and an orphan are attached too: they are reconnected and started again."""
    before = base(worker={"networks": {"default": None, "front": None}})
    after = base(worker={"networks": {"default": None, "front": None}}, web={"command": ["serve"]})
    state = converged(before)
    orphan = replace(container(before, "old", 1), networks=("demo_default", "demo_front"))
    front = network(before, "front", config_hash="previous")
    state = replace(
        state,
        containers=(*state.containers, orphan),
        networks=tuple(front if n.key == "front" else n for n in state.networks),
    )
    return plan_up(after, state, UpOptions(services=["web"]))


def case_interrupted_recreate_is_finished() -> Plan:
    """A crash between create and rename left the old web-1 and its replacement (created,
    temporary name): the old one goes, the replacement gets its name and starts."""
    p = base()
    state = converged(p)
    old = container(p, "web", 1, config_hash="stale")
    new = replace(
        container(p, "web", 1, state="created"),
        name=f"{old.id[:12]}_demo-web-1",
        created=2.0,
        networks=("demo_default",),  # created on its first network; the rest come after the rename
        network_ids=(fake_id("net:demo_default"),),
    )
    others = tuple(c for c in state.containers if not (c.service == "web" and c.number == 1))
    return plan_up(p, replace(state, containers=(*others, old, new)), UpOptions())


def case_duplicate_networks_merged() -> Plan:
    """Two of our demo_front networks (an older race): web-1 is on the copy web-2 is not;
    the copy most containers use stays, web-1 moves onto it, the empty copy is removed by id;
    a third replica joins the kept copy by id."""
    p = base(web={"scale": 3})
    state = converged(base())
    front = next(n for n in state.networks if n.key == "front")
    copy = replace(front, id=fake_id("net:copy"), created="2026-01-02T00:00:00Z")
    web1 = next(c for c in state.containers if c.service == "web" and c.number == 1)
    moved = replace(web1, network_ids=tuple(sorted({fake_id("net:demo_default"), copy.id})))
    containers = tuple(moved if c is web1 else c for c in state.containers)
    return plan_up(p, replace(state, networks=(*state.networks, copy), containers=containers), UpOptions())


def case_network_and_volume_not_ours_reused() -> Plan:
    p = base()
    state = converged(p)
    state = replace(
        state,
        networks=tuple(network(p, n.key, owned=n.key != "front") for n in state.networks),
        volumes=(volume(p, "data", owned=False),),
    )
    return plan_up(p, state, UpOptions())


def case_build_needed() -> Plan:
    p = base()
    return plan_up(p, converged(p, images=images(p, missing=("demo-web",))), UpOptions())


def case_build_always() -> Plan:
    p = base()
    return plan_up(p, converged(p), UpOptions(build="always"))


def case_image_missing_no_build() -> Plan:
    p = base()
    state = converged(p, images=images(p, missing=("busybox:latest",)))
    state = replace(state, containers=tuple(c for c in state.containers if c.service != "worker"))
    return plan_up(p, state, UpOptions())


def case_image_id_changed() -> Plan:
    p = base()
    state = converged(p)
    return plan_up(p, replace(state, images={**state.images, "postgres:16": "sha256:new"}), UpOptions())


def case_stopped_container_started() -> Plan:
    p = base()
    state = converged(p)
    state = replace(
        state,
        containers=tuple(
            container(p, c.service, c.number, state="exited") if c.service in ("db", "worker") else c
            for c in state.containers
        ),
    )
    return plan_up(p, state, UpOptions())


def case_select_web_with_deps() -> Plan:
    p = base()
    return plan_up(p, ObservedState(project="demo", images=images(p)), UpOptions(services=["web"]))


def case_no_deps() -> Plan:
    before = base()
    after = base(db={"environment": {"POSTGRES_PASSWORD": "changed"}}, web={"command": ["serve"]})
    return plan_up(after, converged(before), UpOptions(services=["web"], no_deps=True))


def case_force_recreate() -> Plan:
    p = base()
    return plan_up(p, converged(p), UpOptions(services=["worker"], force_recreate=True))


def case_no_recreate() -> Plan:
    before = base()
    after = base(db={"environment": {"POSTGRES_PASSWORD": "changed"}})
    state = converged(before)
    state = replace(
        state,
        containers=tuple(
            container(before, c.service, c.number, state="exited") if c.service == "worker" else c
            for c in state.containers
        ),
    )
    return plan_up(after, state, UpOptions(no_recreate=True))


def case_renew_anon_volumes() -> Plan:
    before = base()
    after = base(web={"command": ["serve", "--port", "81"]})
    return plan_up(after, converged(before), UpOptions(renew_anon_volumes=True))


def case_no_start() -> Plan:
    p = base()
    return plan_up(p, ObservedState(project="demo", images=images(p)), UpOptions(no_start=True))


def case_down() -> Plan:
    p = base()
    return plan_down(_with_extra(p, container(p, "debug", 1, state="exited")), DownOptions(), p)


def case_down_volumes_and_local_images() -> Plan:
    p = base()
    return plan_down(converged(p), DownOptions(remove_volumes=True, rmi="local", timeout=3), p)


def case_down_orphans_kept() -> Plan:
    p = base()
    return plan_down(_with_extra(p, container(p, "old", 1)), DownOptions(), p)


def case_down_remove_orphans_in_label_order() -> Plan:
    """The orphan `old` depended on db (its depends-on label): it stops before db."""
    p = base()
    old = container(p, "old", 1)
    old = replace(old, labels={**old.labels, L.DEPENDS_ON: "db"})
    return plan_down(_with_extra(p, old), DownOptions(remove_orphans=True), p)


def case_down_without_stack_file() -> Plan:
    p = base()
    state = _with_extra(p, container(p, "old", 1))
    return plan_down(state, DownOptions(remove_volumes=True, rmi="all"), None)


CASES: dict[str, Callable[[], Plan]] = {
    name.removeprefix("case_"): fn for name, fn in sorted(globals().items()) if name.startswith("case_")
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_plan(name: str) -> None:
    text = render(CASES[name]())
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and read it"
    assert text == path.read_text()


def test_noop_up_is_an_empty_plan() -> None:
    plan = case_noop_up()
    assert plan.is_empty()
    assert plan.warnings == []


def test_no_golden_file_without_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == sorted(CASES)
