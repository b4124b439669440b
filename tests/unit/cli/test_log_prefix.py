"""Log prefixes as Compose prints them: `api-1  | line`, one width for the whole stream."""

from __future__ import annotations

from stack.cli.logs_cmd import PrefixPrinter, label_from_name, log_label
from stack.engine.logs import LogLine


def test_label_is_service_and_replica_or_the_containers_own_name() -> None:
    assert log_label("shop", "shop-api-1", "api", 1) == "api-1"
    assert log_label("shop", "shop-api-12", "api", 12) == "api-12"
    assert log_label("shop", "my-proxy", "proxy", 1) == "my-proxy"  # container_name: kept whole
    assert log_label("shop", "shop-api-run-0123456789ab", "api", 1) == "shop-api-run-0123456789ab"


def test_label_from_a_name_alone_drops_the_project() -> None:
    assert label_from_name("shop", "shop-api-3") == "api-3"
    assert label_from_name("shop", "my-proxy") == "my-proxy"
    assert label_from_name("shop", "shop-") == "shop-"


def test_reserved_width_never_moves_mid_stream() -> None:
    printer = PrefixPrinter("shop", prefix=True, colour=False)
    printer.reserve(["api-1", "api-2", "worker-10"])
    first = printer.format(LogLine("shop-api-1", "api", 1, "stdout", "hello"))
    later = printer.format(LogLine("shop-worker-10", "worker", 10, "stdout", "hi"))
    assert first == "api-1      | hello"
    assert later == "worker-10  | hi"
    assert first.index("|") == later.index("|")


def test_an_unforeseen_longer_label_widens_the_column() -> None:
    printer = PrefixPrinter("shop", prefix=True, colour=False)
    printer.reserve(["a-1"])
    assert printer.format(LogLine("shop-a-1", "a", 1, "stdout", "x")) == "a-1  | x"
    assert printer.format(LogLine("shop-bb-1", "bb", 1, "stdout", "y")) == "bb-1  | y"
