"""`stack stats --record/--plot/--html/--from` against the real daemon.

- a recording has samples of every running container, and a container that starts burning CPU
  mid-recording (on a signal the test gives through `stack exec`) climbs from idle to most of a
  core while its idle neighbours stay idle;
- the PNG and the HTML report come out, non-empty and of their kind, and `--from` draws the
  same recording again without a daemon;
- bad input (unknown format, unwritable file, a file that is no recording, matplotlib missing)
  is one readable message and exit 1 or 2, never a traceback.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.cli_helpers import StackCLI

pytestmark = pytest.mark.timeout(120)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# burn waits for /tmp/go (polling 5 times a second, nearly idle), then spins one core.
STACK = """
services:
  burn:
    image: stack-test/busybox:latest
    command: ["sh", "-c", "while [ ! -f /tmp/go ]; do sleep 0.2; done; while :; do :; done"]
    stop_signal: SIGKILL
  idle:
    image: stack-test/busybox:latest
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
"""
RECORD_SECONDS = 12


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def wait_for_samples(path: Path, containers: set[str], recorder: subprocess.Popen[str], deadline_s: float) -> None:
    """Until the record file has two samples of each of `containers`."""
    deadline = time.monotonic() + deadline_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        assert recorder.poll() is None, f"the recorder ended early: {recorder.communicate(timeout=10)}"
        if path.exists():
            counts = {}
            for row in rows_of(path):
                counts[row["container"]] = counts.get(row["container"], 0) + 1
            if all(counts.get(c, 0) >= 2 for c in containers):
                return
        time.sleep(0.2)  # polling interval; the deadline bounds the wait
    raise AssertionError(f"no two samples of each of {sorted(containers)} within {deadline_s} s: {counts}")


@pytest.fixture
def cli(tmp_path: Path, project_name: str) -> StackCLI:
    cli = StackCLI(tmp_path, project_name)
    cli.write(STACK)
    yield cli
    cli.run("down", "-t", "1", timeout=60)  # before the fixture's cleanup: no burst of forced removals


def test_recording_samples_every_container_and_shows_cpu_climbing_then_plots_it(cli: StackCLI, tmp_path: Path) -> None:
    cli.ok("up", "-d", "--wait", timeout=90)
    project = cli.project
    containers = {f"{project}-burn-1", f"{project}-idle-1", f"{project}-idle-2"}
    record, png, html = tmp_path / "rec.csv", tmp_path / "usage.png", tmp_path / "usage.html"
    jsonl = tmp_path / "rec.log"
    recorder = cli.popen(
        "stats", "--record", str(record), "--interval", "1", "--duration", str(RECORD_SECONDS), "--plot", str(png)
    )
    # A second recording at once, in JSON lines named by --record-format, bounded by --duration.
    second = cli.popen(
        "stats", "--record", str(jsonl), "--record-format", "jsonl", "--duration", "3", "--html", str(html)
    )
    try:
        wait_for_samples(record, containers, recorder, deadline_s=15)
        started = datetime.now().astimezone()
        cli.ok("exec", "-T", "burn", "touch", "/tmp/go")
        _, err = recorder.communicate(timeout=RECORD_SECONDS + 30)
        _, second_err = second.communicate(timeout=30)
    finally:
        for proc in (recorder, second):
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    assert recorder.returncode == 0, err
    assert second.returncode == 0, second_err
    assert "Traceback" not in err + second_err

    rows = rows_of(record)
    assert {r["container"] for r in rows} == containers
    assert {r["service"] for r in rows} == {"burn", "idle"}
    for r in rows:  # every column a number where it should be one
        assert float(r["cpu_percent"]) >= 0 and int(r["mem_bytes"]) > 0 and int(r["pids"]) >= 1, r
    burn = [(datetime.fromisoformat(r["time"]), float(r["cpu_percent"])) for r in rows if r["service"] == "burn"]
    before = [cpu for at, cpu in burn if at <= started]
    after = [cpu for at, cpu in burn if (at - started).total_seconds() >= 2]
    assert before and after, f"samples before and 2 s after the burn started: {burn}"
    assert max(before) < 15, f"burn was not idle before /tmp/go: {burn}"
    # A spinning shell takes a whole core on an idle machine; shared with other work, still a
    # good part of one (the thresholds leave room for a busy machine, not for an idle burn).
    assert sum(after) / len(after) > 30, f"burn's CPU did not climb after /tmp/go (started {started}): {burn}"
    idle = [float(r["cpu_percent"]) for r in rows if r["service"] == "idle"]
    assert max(idle) < 20, f"an idle container was busy: {idle}"
    # One tick, one instant: the samples of a tick share their time.
    ticks = {r["elapsed_s"] for r in rows}
    assert len(ticks) >= RECORD_SECONDS - 1, sorted(ticks)
    assert f"wrote {len(rows)} samples to {record}" in err

    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert lines and {line["container"] for line in lines} == containers

    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000, len(data)
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<svg" in page and "burn" in page and "idle" in page and "<script" not in page
    assert len(page) > 10_000

    # The same recording drawn again later, from the file alone (no daemon, no stack file needed).
    again = tmp_path / "again.html"
    drawn = cli.ok("stats", "--from", str(record), "--plot", str(again), "burn")
    assert f"wrote {again}" in drawn.err
    page = again.read_text()
    assert "<svg" in page and "burn" in page and ">idle<" not in page


def test_bad_input_is_one_readable_message(cli: StackCLI, tmp_path: Path) -> None:
    def refused(*args: str, code: int, says: str) -> None:
        result = cli.run(*args)
        assert result.code == code, str(result)
        assert says in result.err, str(result)
        assert "Traceback" not in result.err, str(result)

    refused("stats", "--record", str(tmp_path / "rec.txt"), code=2, says="name the file .csv or .jsonl")
    refused("stats", "--record", str(tmp_path / "no" / "rec.csv"), code=2, says="cannot write the record file")
    refused("stats", "--plot", str(tmp_path / "usage.gif"), code=2, says="name it .png, .svg or .html")
    refused("stats", "--record-format", "xml", "--record", "r.csv", code=2, says="'xml' is not one of")
    refused("stats", "--from", str(tmp_path / "missing.csv"), "--plot", "x.png", code=2, says="cannot read the record")
    refused("stats", "--from", str(cli.directory / "stack.yaml"), "--plot", "x.png", code=2, says="not a stats record")
    refused("stats", "--duration", "5", code=2, says="--duration goes with --record")

    # Without matplotlib (the `load` extra), a picture is refused before any recording starts.
    hide = "import sys; sys.modules['matplotlib'] = None; from stack.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", hide, "-p", cli.project, "stats", "--plot", str(tmp_path / "x.png")],
        cwd=cli.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done
    assert "needs matplotlib" in done.stderr and "stack[load]" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.png").exists()
