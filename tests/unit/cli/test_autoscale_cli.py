"""How `stack autoscale` shows its decisions off a terminal: one plain line each, and --log JSON lines."""

from __future__ import annotations

import io
import json

import pytest

from stack.cli.autoscale_cmd import DecisionPrinter
from stack.plan.autoscale import Decision


def test_off_a_terminal_every_decision_is_a_plain_line_and_a_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    log = io.StringIO()
    printer = DecisionPrinter(live=False, log=log)
    metrics = {"replicas": 1.0, "cpu%": 95.0, "cpu_target%": 30.0, "recommended": 4.0}
    with printer:
        printer.decision(
            Decision(at=1.0, service="web", current=1, desired=3, action="up", reason="cpu 95% vs 30%", metrics=metrics)
        )
        printer.output().notice("web: 3 replicas ready after 2.1s")
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("web: up 1 -> 3: cpu 95% vs 30% [replicas=1, cpu%=95, cpu_target%=30, recommended=4]")
    assert err[1] == "web: 3 replicas ready after 2.1s"
    entry = json.loads(log.getvalue())
    assert {k: entry[k] for k in ("service", "action", "current", "desired")} == {
        "service": "web",
        "action": "up",
        "current": 1,
        "desired": 3,
    }
    assert entry["metrics"] == metrics and entry["reason"] == "cpu 95% vs 30%"


def test_only_services_with_x_autoscale_are_autoscaled() -> None:
    from stack.api.autoscale import check_autoscalable
    from stack.errors import UsageError
    from stack.spec.models import Project

    project = Project.model_validate(
        {
            "name": "demo",
            "services": {
                "web": {"name": "web", "image": "x", "x-autoscale": {"max": 3, "cpu": "40%"}},
                "db": {"name": "db", "image": "y"},
            },
        }
    )
    assert list(check_autoscalable(project)) == ["web"]
    assert check_autoscalable(project, ["web"])["web"].cpu == 40.0
    with pytest.raises(UsageError, match="service db has no x-autoscale section") as named:
        check_autoscalable(project, ["db"])
    assert named.value.exit_code == 2
    with pytest.raises(UsageError, match="no service of the stack has an x-autoscale section"):
        check_autoscalable(Project.model_validate({"name": "demo", "services": {"db": {"name": "db", "image": "y"}}}))
