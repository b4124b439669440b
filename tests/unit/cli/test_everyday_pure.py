"""The pure parts of the everyday commands: time flags, line splitting, stats arithmetic, order."""

from __future__ import annotations

import pytest

from stack.api import event_json, parse_publish
from stack.cli.exec_cmd import parse_env
from stack.cli.inspect_cmd import table
from stack.cli.logs_cmd import PrefixPrinter
from stack.engine.logs import LineSplitter, LogLine, parse_time
from stack.engine.stats import cpu_percent, human_bytes, usage_from_stats
from stack.errors import UsageError
from stack.plan import labels as L
from stack.plan.graph import in_dependency_order
from stack.plan.observed import ObservedContainer


def test_parse_time_reads_durations_unix_and_rfc3339() -> None:
    assert parse_time("10m", now=1000.0) == f"{400.0:.9f}"
    assert parse_time("1h30m", now=10_000.0) == f"{10_000.0 - 5400:.9f}"
    assert parse_time("1700000000") == "1700000000"
    assert parse_time("2024-05-01T10:00:00Z") == f"{1714557600.0:.9f}"
    assert parse_time("2024-05-01T10:00:00.123456789Z").startswith("1714557600.123456")
    with pytest.raises(UsageError, match="invalid --until value 'yesterday'"):
        parse_time("yesterday", flag="--until")


def test_line_splitter_joins_partial_writes_per_stream() -> None:
    split = LineSplitter()
    assert split.feed("stdout", b"hel") == []
    assert split.feed("stderr", b"oops\n") == ["oops"]
    assert split.feed("stdout", b"lo\r\nwor") == ["hello"]
    assert split.feed("stdout", b"ld\n\n") == ["world", ""]
    assert split.feed("stdout", b"tail") == []
    assert split.flush() == [("stdout", "tail")]
    assert split.feed("stdout", "é\n".encode()[:1]) == []
    assert split.feed("stdout", "é\n".encode()[1:]) == ["é"]


def test_prefix_printer_pads_and_colours_per_service() -> None:
    plain = PrefixPrinter("demo", prefix=True, colour=False, width=6)
    assert plain.format(LogLine("demo-db-1", "db", 1, "stdout", "hi")) == "db-1    | hi"
    assert PrefixPrinter("x", prefix=False, colour=True).format(LogLine("x-1", "x", 1, "stdout", "raw")) == "raw"
    coloured = PrefixPrinter("", prefix=True, colour=True)
    first = coloured.format(LogLine("a-1", "a", 1, "stdout", "1"))
    second = coloured.format(LogLine("b-1", "b", 1, "stdout", "2"))
    again = coloured.format(LogLine("a-2", "a", 2, "stdout", "3"))
    assert first.startswith("\x1b[36m") and second.startswith("\x1b[33m") and again.startswith("\x1b[36m")


STATS = {
    "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000}, "system_cpu_usage": 120_000_000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 100_000_000},
    "memory_stats": {"usage": 10 * 1024 * 1024, "limit": 100 * 1024 * 1024, "stats": {"inactive_file": 2 * 1024**2}},
    "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 10}, "eth1": {"rx_bytes": 500, "tx_bytes": 5}},
    "blkio_stats": {
        "io_service_bytes_recursive": [
            {"op": "read", "value": 4096},
            {"op": "Write", "value": 8192},
            {"op": "Read", "value": 4096},
        ]
    },
    "pids_stats": {"current": 3},
}


def test_usage_is_computed_as_the_docker_cli_does() -> None:
    # (2e6 / 20e6) * 2 CPUs * 100 = 20 %
    assert cpu_percent(STATS) == pytest.approx(20.0)
    usage = usage_from_stats(STATS, container="demo-web-1", service="web", container_id="abc")
    assert usage.memory_usage == 8 * 1024 * 1024  # page cache left out
    assert usage.memory_percent == pytest.approx(8.0)
    assert (usage.net_rx, usage.net_tx) == (1500, 15)
    assert (usage.block_read, usage.block_write) == (8192, 8192)
    assert usage.pids == 3
    assert usage.as_json()["MemUsage"] == "8.00MiB / 100.0MiB"
    assert cpu_percent({"cpu_stats": {}, "precpu_stats": {}}) == 0.0  # first sample: no delta


def test_human_bytes_units() -> None:
    assert human_bytes(512) == "512B"
    assert human_bytes(1536) == "1.50KiB"
    assert human_bytes(1500, si=True) == "1.50kB"
    assert human_bytes(25 * 1024**3) == "25.0GiB"


def _container(service: str, needs: str = "", number: int = 1) -> ObservedContainer:
    labels = {L.DEPENDS_ON: needs} if needs else {}
    return ObservedContainer(
        f"id-{service}-{number}", f"p-{service}-{number}", service, number, "running", "", "", labels=labels
    )


def test_dependency_order_puts_dependencies_first_from_labels() -> None:
    containers = [_container("web", "api"), _container("api", "db,cache"), _container("db"), _container("cache")]
    containers.append(_container("api", "db,cache", number=2))
    levels = [[c.name for c in level] for level in in_dependency_order(containers)]
    assert levels == [["p-cache-1", "p-db-1"], ["p-api-1", "p-api-2"], ["p-web-1"]]
    # A dependency that has no container here does not hold anything back.
    assert [[c.name for c in lv] for lv in in_dependency_order([_container("web", "api")])] == [["p-web-1"]]


def test_parse_publish() -> None:
    port = parse_publish("127.0.0.1:8080:80/udp")
    assert (port.host_ip, port.published, port.target, port.protocol) == ("127.0.0.1", "8080", 80, "udp")
    assert parse_publish("80").published is None
    assert parse_publish("9000:90").published == "9000"
    with pytest.raises(UsageError, match="invalid --publish"):
        parse_publish("web:80")


def test_parse_env_and_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("UNSET_ONE", raising=False)
    assert parse_env(("A=1", "B=", "FROM_HOST", "UNSET_ONE", "C=x=y")) == {
        "A": "1",
        "B": "",
        "FROM_HOST": "yes",
        "C": "x=y",
    }
    with pytest.raises(UsageError):
        parse_env(("=1",))
    assert table([("A", "BB"), ("ccc", "d")]) == "A     BB\nccc   d"


def test_event_json_has_the_compose_shape() -> None:
    event = {
        "Type": "container",
        "Action": "start",
        "Actor": {"ID": "abc", "Attributes": {L.SERVICE: "web", "name": "p-web-1"}},
        "time": 1714557600,
        "timeNano": 1714557600_000000042,
    }
    assert event_json(event) == {
        "time": "2024-05-01T10:00:00.000000042Z",
        "type": "container",
        "action": "start",
        "id": "abc",
        "service": "web",
        "attributes": {L.SERVICE: "web", "name": "p-web-1"},
    }
