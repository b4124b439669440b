"""The progress display: Compose's rows, words and `[+] Running N/M` counter, from engine events."""

from __future__ import annotations

import io

from rich.console import Console

from stack.cli.progress import ProgressPrinter
from stack.engine.progress import ProgressEvent, Status
from stack.spec.models import Project

PROJECT = Project.model_validate(
    {
        "name": "demo",
        "services": {
            "db": {"name": "db", "image": "postgres:16"},
            "api": {"name": "api", "image": "demo/api", "scale": 2},
            "web": {"name": "web", "image": "nginx"},
            "job": {"name": "job", "image": "demo/api"},
        },
        "networks": {"default": {}},
    }
)


def node(node_id: int, resource: str, op: str, cause: str) -> list[ProgressEvent]:
    """What the executor reports for a node that runs to its end: started, then done."""
    return [
        ProgressEvent(node_id, resource, op, Status.STARTED, cause, at=float(node_id)),
        ProgressEvent(node_id, resource, op, Status.DONE, cause, at=node_id + 0.5),
    ]


def plain(events: list[ProgressEvent], *, running: list[tuple[str, str]] | None = None) -> list[str]:
    """The lines a pipe or CI log gets."""
    out = io.StringIO()
    with ProgressPrinter(PROJECT, "demo", stream=out, live=False) as printer:
        for event in events:
            printer(event)
        printer.show_running(running or [])
    return out.getvalue().splitlines()


def test_two_dependents_waiting_on_one_dependency_show_it_once() -> None:
    events = [
        *node(1, "network:default", "CreateNetwork", "missing"),
        *node(2, "service:db:1", "CreateContainer", "no existing container"),
        *node(3, "service:db:1", "StartContainer", "no existing container"),
        # One WaitCondition node per dependent (api, web) on the same dependency.
        *node(4, "service:db", "WaitCondition", "api depends on db (service_healthy)"),
        *node(5, "service:db", "WaitCondition", "web depends on db (service_healthy)"),
        *node(6, "service:web:1", "CreateContainer", "no existing container"),
        *node(7, "service:web:1", "StartContainer", "no existing container"),
    ]
    assert plain(events) == [
        " Network demo_default  Creating",
        " Network demo_default  Created",
        " Container demo-db-1  Creating",
        " Container demo-db-1  Created",
        " Container demo-db-1  Starting",
        " Container demo-db-1  Started",
        " Container demo-db-1  Waiting",
        " Container demo-db-1  Healthy",
        " Container demo-web-1  Creating",
        " Container demo-web-1  Created",
        " Container demo-web-1  Starting",
        " Container demo-web-1  Started",
        "[+] Running 3/3",
    ]


def test_a_recreate_is_one_row_recreate_then_recreated() -> None:
    cause = "recreate: config changed"
    events = [
        *node(1, "service:web:1", "CreateContainer", cause),
        *node(2, "service:web:1", "StopContainer", cause),
        *node(3, "service:web:1", "RemoveContainer", cause),
        *node(4, "service:web:1", "RenameContainer", cause),
        *node(5, "service:web:1", "StartContainer", cause),
    ]
    assert plain(events) == [
        " Container demo-web-1  Recreate",
        " Container demo-web-1  Recreated",
        " Container demo-web-1  Starting",
        " Container demo-web-1  Started",
        "[+] Running 1/1",
    ]


def test_containers_left_alone_show_running_and_count_as_done() -> None:
    events = [
        *node(1, "service:api:2", "CreateContainer", "scale up to 2"),
        *node(2, "service:api:2", "StartContainer", "scale up to 2"),
    ]
    lines = plain(events, running=[("api", "demo-api-1"), ("db", "demo-db-1")])
    assert lines[-3:] == [" Container demo-api-1  Running", " Container demo-db-1  Running", "[+] Running 3/3"]


def test_a_wait_on_an_untouched_dependency_shows_its_replicas() -> None:
    # No plan node touches api (scale: 2): the wait shows on both of its containers.
    lines = plain(node(1, "service:api", "WaitCondition", "web depends on api (service_healthy)"))
    assert lines == [
        " Container demo-api-1  Waiting",
        " Container demo-api-2  Waiting",
        " Container demo-api-1  Healthy",
        " Container demo-api-2  Healthy",
        "[+] Running 2/2",
    ]


def test_completed_job_shows_exited_and_service_started_waits_show_nothing() -> None:
    events = [
        *node(1, "service:job:1", "StartContainer", "container is stopped"),
        *node(2, "service:job", "WaitCondition", "api depends on job (service_completed_successfully)"),
        *node(3, "service:db:1", "StartContainer", "container is stopped"),
        *node(4, "service:db", "WaitCondition", "web depends on db (service_started)"),
    ]
    assert plain(events) == [
        " Container demo-job-1  Starting",
        " Container demo-job-1  Started",
        " Container demo-job-1  Waiting",
        " Container demo-job-1  Exited",
        " Container demo-db-1  Starting",
        " Container demo-db-1  Started",
        "[+] Running 2/2",
    ]


def test_a_failure_shows_error_and_its_dependents_skipped() -> None:
    events = [
        *node(1, "service:db:1", "CreateContainer", "no existing container"),
        ProgressEvent(2, "service:db:1", "StartContainer", Status.STARTED, "no existing container", at=2.0),
        ProgressEvent(2, "service:db:1", "StartContainer", Status.FAILED, "port is already allocated", at=2.5),
        *node(3, "service:web:1", "CreateContainer", "no existing container"),
        ProgressEvent(4, "service:db", "WaitCondition", Status.SKIPPED, "#2 service:db:1 failed", at=3.0),
        ProgressEvent(5, "service:web:1", "StartContainer", Status.SKIPPED, "#2 service:db:1 failed", at=3.0),
    ]
    assert plain(events)[-5:] == [
        " Container demo-db-1  Error",
        " Container demo-web-1  Creating",
        " Container demo-web-1  Created",
        " Container demo-web-1  Skipped",
        "[+] Running 0/2",
    ]


def test_network_connects_are_part_of_the_containers_row() -> None:
    events = [
        *node(1, "service:web:1", "CreateContainer", "no existing container"),
        *node(2, "service:web:1", "ConnectNetwork", "joins network front"),
        *node(3, "service:web:1", "StartContainer", "no existing container"),
    ]
    assert " Container demo-web-1  Connected" not in plain(events)
    assert plain(events)[-1] == "[+] Running 1/1"


def test_terminal_table_has_the_counter_and_one_line_per_row() -> None:
    printer = ProgressPrinter(PROJECT, "demo", stream=io.StringIO(), live=False)
    for event in [
        *node(1, "network:default", "CreateNetwork", "missing"),
        *node(2, "service:db:1", "CreateContainer", "no existing container"),
        ProgressEvent(3, "service:db:1", "StartContainer", Status.STARTED, "no existing container", at=3.0),
    ]:
        printer(event)
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(printer.render())
    text = console.export_text()
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "[+] Running 1/2"
    assert lines[1].startswith(" ✔ Network demo_default") and "Created" in lines[1]
    assert lines[2].startswith(" ") and "Container demo-db-1" in lines[2] and "Starting" in lines[2]
    assert len(lines) == 3
