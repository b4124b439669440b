"""The pure parts of `stack stats --record/--plot`: CPU between two stream answers, the record
files (written, read back, refused when they are not records), and per-service sums."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stack.api.stats_record import COLUMNS, RecordWriter, Sample, read_record, record_format_for
from stack.cli.stats_plot import by_service
from stack.engine.stats import Usage, usage_between
from stack.errors import UsageError


def _answer(total: int, system: int, *, memory: int = 50 * 2**20) -> dict[str, Any]:
    return {
        "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system},
        "memory_stats": {"usage": memory, "limit": 2**30, "stats": {"inactive_file": 0}},
        "pids_stats": {"current": 3},
    }


def test_cpu_is_measured_over_the_time_between_two_answers_of_the_stream() -> None:
    first, second = _answer(1_000, 10_000), _answer(1_500, 11_000)
    usage = usage_between(first, second, container="web-1", service="web", container_id="abc")
    # 500 of 1000 system ticks on 2 CPUs: one core's worth, 100 %
    assert usage.cpu_percent == pytest.approx(100.0)
    # without an earlier answer: over the answer's own pre/cur pair (here equal: 0 %)
    assert usage_between(None, second, container="web-1", service="web", container_id="abc").cpu_percent == 0.0


def _sample(service: str, container: str, elapsed: float, cpu: float, mem_mib: int) -> Sample:
    usage = Usage(container, service, "0123456789abcdef", cpu, mem_mib * 2**20, 2**30, 1.0, 10, 20, 30, 40, 5)
    return Sample.of(usage, at="2026-12-03T07:00:00Z", elapsed=elapsed)


@pytest.mark.parametrize("name", ["rec.csv", "rec.jsonl", "rec.ndjson", "rec.json"])
def test_a_record_reads_back_as_written(tmp_path: Path, name: str) -> None:
    samples = [_sample("web", "web-1", 0.0, 12.5, 40), _sample("db", "db-1", 1.0, 3.25, 60)]
    writer = RecordWriter(tmp_path / name, record_format_for(name))
    writer.write(samples)
    writer.close()
    assert read_record(tmp_path / name) == samples
    assert samples[0].id == "0123456789ab"  # short ids, as docker ps shows them


def test_the_format_comes_from_the_extension_or_is_asked_for() -> None:
    assert record_format_for("out.CSV") == "csv"
    assert record_format_for("out.txt", "jsonl") == "jsonl"
    with pytest.raises(UsageError, match="cannot tell the record format"):
        record_format_for("out.txt")
    with pytest.raises(UsageError, match="unknown record format 'xml'"):
        record_format_for("out.csv", "xml")


def test_a_file_that_is_not_a_record_is_refused_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="not a stats record \\(missing time"):
        read_record(tmp_path / "other.csv")
    good = ",".join(f'"{c}":1' for c in COLUMNS)
    (tmp_path / "broken.jsonl").write_text("{" + good + "}\n{not json\n")
    with pytest.raises(UsageError, match=r"broken\.jsonl:2: not a JSON line"):
        read_record(tmp_path / "broken.jsonl")


def test_a_service_line_is_the_sum_over_its_replicas_per_tick() -> None:
    samples = [
        _sample("api", "api-1", 0.0, 30.0, 90),
        _sample("api", "api-2", 0.0, 20.0, 95),
        _sample("api", "api-1", 1.0, 40.0, 90),  # api-2 gone: one replica at this tick
        _sample("db", "db-1", 0.0, 5.0, 50),
    ]
    series = by_service(samples)
    assert list(series) == ["api", "db"]
    assert series["api"].elapsed == [0.0, 1.0]
    assert series["api"].cpu == [50.0, 40.0]
    assert series["api"].mem_mib == [185.0, 90.0]
    assert series["api"].containers == {"api-1", "api-2"}
    assert series["api"].cpu_mean == pytest.approx(45.0)
