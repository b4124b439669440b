"""pull_policy as Compose reads it, the refresh rule in the planner, and what `pull`/`push` choose."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stack.errors import ResourceNotFoundError, StackFileError
from stack.plan import converged as converged_check
from stack.plan.options import UpOptions
from stack.plan.plan import Op
from stack.plan.pull_policy import (
    DAY,
    Transfer,
    choose_pulls,
    choose_pushes,
    describe_age,
    parse_duration,
    parse_pull_policy,
    refresh_references,
    tag_of,
)
from stack.plan.reconcile import plan_images, plan_up

from .plan_builders import converged, project

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("written", "kind", "every"),
    [
        (None, "missing", 0.0),
        ("missing", "missing", 0.0),
        ("if_not_present", "missing", 0.0),
        ("always", "always", 0.0),
        ("never", "never", 0.0),
        ("build", "build", 0.0),
        ("refresh", "missing", 0.0),  # compose-go: not a policy of its own, so `missing`
        ("daily", "refresh", DAY),
        ("weekly", "refresh", 7 * DAY),
        ("every_12h", "refresh", 12 * 3600.0),
        ("every_2d", "refresh", 2 * DAY),
        ("every_1w2d", "refresh", 9 * DAY),
        ("every_90m", "refresh", 5400.0),
        ("every_1h30m15s", "refresh", 5415.0),
    ],
)
def test_policies_read_as_compose_go_reads_them(written: str | None, kind: str, every: float) -> None:
    policy = parse_pull_policy(written)
    assert (policy.kind, policy.every) == (kind, every)


@pytest.mark.parametrize("bad", ["", "12", "12x", "h", "0s", "5m_x", "-1h"])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_an_unreadable_every_is_a_stack_file_error_at_its_key() -> None:
    p = project({"web": {"image": "registry.example/web:1", "pull_policy": "every_5m_x"}})
    with pytest.raises(StackFileError, match="invalid pull_policy 'every_5m_x'") as info:
        plan_up(p, converged(p), UpOptions())
    assert info.value.path == "services.web.pull_policy"


@pytest.mark.parametrize(
    ("policy", "pulled_ago", "pulls"),
    [
        ("daily", 3600.0, False),
        ("daily", DAY + 1, True),
        ("weekly", 6 * DAY, False),
        ("weekly", 7 * DAY + 1, True),
        ("every_12h", 11 * 3600.0, False),
        ("every_12h", 13 * 3600.0, True),
        ("every_1s", 2.0, True),
    ],
)
def test_a_refresh_policy_pulls_a_present_image_once_its_window_has_passed(
    policy: str, pulled_ago: float, pulls: bool
) -> None:
    p = project({"web": {"image": "registry.example/web:1", "pull_policy": policy}})
    ref = "registry.example/web:1"
    observed = replace(converged(p), image_tagged={ref: NOW - pulled_ago}, observed_at=NOW)
    plan = plan_images(p, observed, UpOptions())
    assert [n.op for n in plan.nodes] == ([Op.PULL_IMAGE] if pulls else [])
    if pulls:
        assert plan.nodes[0].cause == f"pull_policy: {policy}, pulled {describe_age(pulled_ago)} ago"
        # In one pass, the pulled image recreates the service's container, as `always` does.
        assert any(n.op is Op.CREATE_CONTAINER for n in plan_up(p, observed, UpOptions()).nodes)
    else:
        assert plan_up(p, observed, UpOptions()).is_empty()


def test_an_image_never_tagged_counts_as_stale_as_in_compose() -> None:
    # Docker 20.10 leaves LastTagTime unset on a pull (0001-01-01): Compose then always pulls.
    p = project({"web": {"image": "registry.example/web:1", "pull_policy": "daily"}})
    observed = replace(converged(p), image_tagged={"registry.example/web:1": 0.0}, observed_at=NOW)
    [node] = plan_images(p, observed, UpOptions()).nodes
    assert (node.op, node.cause) == (Op.PULL_IMAGE, "pull_policy: daily, pull time unknown")


def test_a_refresh_policy_pulls_a_missing_image_and_never_fails_for_it() -> None:
    p = project({"web": {"image": "registry.example/web:1", "pull_policy": "weekly"}})
    observed = replace(converged(p), images={"registry.example/web:1": None}, observed_at=NOW)
    [node] = plan_images(p, observed, UpOptions()).nodes
    assert (node.op, node.cause) == (Op.PULL_IMAGE, "image not found")


def test_a_service_that_builds_is_built_not_refreshed() -> None:
    p = project({"web": {"image": "registry.example/web:1", "build": {"context": "."}, "pull_policy": "daily"}})
    observed = replace(converged(p), image_tagged={"registry.example/web:1": 0.0}, observed_at=NOW)
    assert plan_images(p, observed, UpOptions()).is_empty()


def test_never_with_a_missing_image_fails_before_any_node_is_planned() -> None:
    p = project({"web": {"image": "registry.example/web:1", "pull_policy": "never"}, "db": {"image": "db:1"}})
    observed = replace(converged(p), images={"registry.example/web:1": None, "db:1": "sha256:" + "1" * 64})
    with pytest.raises(ResourceNotFoundError, match="is not on the daemon and pull_policy is never"):
        plan_images(p, observed, UpOptions())


def test_only_refreshed_images_are_inspected_for_their_tag_time() -> None:
    p = project(
        {
            "a": {"image": "x/a:1", "pull_policy": "daily"},
            "b": {"image": "x/b:1"},
            "c": {"image": "x/c:1", "pull_policy": "every_2h"},
            "d": {"image": "x/d:1", "pull_policy": "every_bad"},
        },
        disabled={"e": {"image": "x/e:1", "pull_policy": "weekly"}},
    )
    assert refresh_references(p) == ["x/a:1", "x/c:1", "x/e:1"]


@pytest.mark.parametrize(
    ("ref", "tag"),
    [
        ("busybox", "latest"),
        ("busybox:1.36", "1.36"),
        ("127.0.0.1:5000/app", "latest"),
        ("127.0.0.1:5000/app:2", "2"),
        ("app@sha256:" + "a" * 64, None),
    ],
)
def test_tag_of(ref: str, tag: str | None) -> None:
    assert tag_of(ref) == tag


def test_pull_chooses_as_compose_does() -> None:
    p = project(
        {
            "built": {"build": {"context": "."}},  # no image: nothing to pull
            "never": {"image": "x/never:1", "pull_policy": "never"},
            "build": {"image": "x/build:1", "build": {"context": "."}, "pull_policy": "build"},
            "missing": {"image": "x/missing:1", "pull_policy": "missing"},
            "latest": {"image": "x/latest", "pull_policy": "if_not_present"},
            "unset": {"image": "x/unset:1"},
            "daily": {"image": "x/daily:1", "pull_policy": "daily"},
            "twin": {"image": "x/unset:1"},
            "absent": {"image": "x/absent:1", "pull_policy": "missing"},
        }
    )
    present = {"x/missing:1": True, "x/latest": True, "x/unset:1": True, "x/daily:1": True, "x/absent:1": False}
    pulls, skipped = choose_pulls(p, sorted(p.services), present)
    assert pulls == [
        Transfer("absent", "x/absent:1"),
        Transfer("daily", "x/daily:1"),
        Transfer("latest", "x/latest"),  # `latest` is pulled even when present
        Transfer("twin", "x/unset:1"),  # no policy written: pulled
    ]
    assert skipped == {
        "build": "Skipped",
        "built": "Skipped - No image to be pulled",
        "missing": "Skipped - Image is already present locally",
        "never": "Skipped",
        "unset": "Skipped - Image is already being pulled by twin",
    }


def test_pull_policy_flag_replaces_the_services_policies() -> None:
    p = project({"a": {"image": "x/a:1", "pull_policy": "never"}, "b": {"image": "x/b:1"}})
    pulls, skipped = choose_pulls(p, ["a", "b"], {"x/a:1": True, "x/b:1": True}, policy="missing")
    assert pulls == [] and set(skipped) == {"a", "b"}
    pulls, _ = choose_pulls(p, ["a", "b"], {}, policy="always")
    assert pulls == [Transfer("a", "x/a:1"), Transfer("b", "x/b:1")]


def test_ignore_buildable_skips_services_with_build() -> None:
    p = project({"a": {"image": "x/a:1", "build": {"context": "."}}, "b": {"image": "x/b:1"}})
    pulls, skipped = choose_pulls(p, ["a", "b"], {}, ignore_buildable=True)
    assert pulls == [Transfer("b", "x/b:1")] and skipped == {"a": "Skipped - Image can be built"}


def test_push_chooses_what_the_stack_builds_and_names() -> None:
    p = project(
        {
            "app": {"image": "reg:5000/app:1", "build": {"context": ".", "tags": ["reg:5000/app:latest"]}},
            "db": {"image": "postgres:16"},
            "tool": {"build": {"context": "."}},
        }
    )
    pushes, skipped = choose_pushes(p, ["app", "db", "tool"])
    assert pushes == [Transfer("app", "reg:5000/app:1"), Transfer("app", "reg:5000/app:latest")]
    assert set(skipped) == {"db", "tool"}


@pytest.mark.parametrize(
    ("policy", "repulls"),
    [
        (None, False),
        ("missing", False),
        ("if_not_present", False),
        ("never", False),
        ("always", True),
        ("build", True),
        ("daily", True),
        ("weekly", True),
        ("every_12h", True),
    ],
)
def test_the_no_op_fast_path_leaves_repulling_policies_to_the_planner(policy: str | None, repulls: bool) -> None:
    # `up -d` answered before click (stack.plan.converged) must not skip an `always` pull.
    service = {"image": "busybox", "pull_policy": policy} if policy else {"image": "busybox"}
    assert converged_check.repulls(service) is repulls
