"""deploy.update_config / rollback_config read into an UpdatePolicy: defaults, batches, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.spec.models import Service
from stack.spec.update_policy import UpdatePolicy, read_policy, rollback_policy, update_policy

from .test_validation import load_error, where


def service(deploy: dict[str, object] | None) -> Service:
    return Service.model_validate({"name": "api", "image": "x", "deploy": deploy})


def test_no_update_config_means_compose_replaces_all_at_once() -> None:
    assert update_policy(service(None)) is None
    assert update_policy(service({"replicas": 3})) is None


def test_keys_left_out_take_swarm_defaults() -> None:
    policy = update_policy(service({"update_config": {"order": "start-first"}}))
    assert policy == UpdatePolicy(
        parallelism=1, delay=0.0, order="start-first", failure_action="pause", monitor=5.0, max_failure_ratio=0.0
    )


def test_values_are_read_with_their_units() -> None:
    raw = {"parallelism": "2", "delay": "1m30s", "monitor": "500ms", "max_failure_ratio": "0.5"}
    policy = read_policy({**raw, "failure_action": "rollback"})
    assert (policy.parallelism, policy.delay, policy.monitor, policy.max_failure_ratio) == (2, 90.0, 0.5, 0.5)


def test_rollback_takes_the_update_order_and_pace_unless_it_says_otherwise() -> None:
    update = {"order": "start-first", "parallelism": 2, "monitor": "1s", "failure_action": "rollback"}
    rollback = rollback_policy(service({"update_config": update}))
    assert (rollback.order, rollback.parallelism, rollback.monitor, rollback.failure_action) == (
        "start-first",
        2,
        1.0,
        "pause",
    )
    own = rollback_policy(service({"update_config": update, "rollback_config": {"order": "stop-first"}}))
    assert (own.order, own.parallelism) == ("stop-first", 2)


@pytest.mark.parametrize(
    ("parallelism", "count", "expected"),
    [(1, 3, [[0], [1], [2]]), (2, 3, [[0, 1], [2]]), (0, 3, [[0, 1, 2]]), (5, 2, [[0, 1]]), (1, 0, [])],
)
def test_batches(parallelism: int, count: int, expected: list[list[int]]) -> None:
    assert [list(b) for b in UpdatePolicy(parallelism=parallelism).batches(count)] == expected


def test_tolerated_failures_follow_max_failure_ratio() -> None:
    assert UpdatePolicy(max_failure_ratio=0).tolerated(10) == 0
    assert UpdatePolicy(max_failure_ratio=0.34).tolerated(3) == 1
    assert UpdatePolicy(max_failure_ratio=0.3).tolerated(10) == 3
    assert UpdatePolicy(max_failure_ratio=1).tolerated(4) == 4


@pytest.mark.parametrize(
    ("block", "line", "key", "words"),
    [
        ("update_config", "failure_action: explode", "failure_action", "unknown failure_action 'explode'"),
        ("rollback_config", "failure_action: rollback", "failure_action", "unknown failure_action 'rollback'"),
        ("update_config", "max_failure_ratio: 2", "max_failure_ratio", "between 0 and 1"),
        ("update_config", "parallelism: -1", "parallelism", "cannot be negative"),
    ],
)
def test_bad_values_are_stack_file_errors_at_their_line(
    tmp_path: Path, block: str, line: str, key: str, words: str
) -> None:
    text = f"services:\n  api:\n    image: x\n    deploy:\n      {block}:\n        {line}\n"
    err = load_error(text, tmp_path)
    assert err.path == f"services.api.deploy.{block}.{key}"
    assert words in err.message
    assert where(err)[0] == 6
    assert err.hint
