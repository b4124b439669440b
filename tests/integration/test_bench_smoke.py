"""The benchmark harness cannot rot: one round of its two daemon-free scenarios, end to end, and
one round of `bench.floor` on the cold chain (against the daemon).

Runs `python -m bench` as a user would (start-up and `config` of 500 services, one round, no warm-up)
into a temporary directory, then reads what it wrote. The numbers are not judged here; that both
tools ran, were timed and were compared is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_bench_runs_one_round_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--scenario",
            "g,f",
            "--rounds",
            "1",
            "--no-warmup",
            "--output-dir",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"

    document = json.loads((out / "latest.json").read_text())
    scenarios = {s["key"]: s for s in document["scenarios"]}
    assert list(scenarios) == ["g", "f"]
    for key, entry in scenarios.items():
        assert entry["error"] is None and entry["skipped"] is None, (key, entry)
        for tool in ("stack", "compose"):
            assert len(entry[tool]["times_s"]) == 1 and entry[tool]["times_s"][0] > 0, (key, tool)
            assert entry[tool]["max_rss_kib"][0] > 1024, (key, tool)  # a real process, not a stub
        assert entry["ratio_median"] == pytest.approx(entry["stack"]["times_s"][0] / entry["compose"]["times_s"][0])
    # The stack command timed is the stack CLI, the Compose one the static binary, not its wrapper.
    assert scenarios["g"]["compose"]["command"][0].endswith("/compose/docker-compose")
    assert scenarios["f"]["stack"]["command"][-1] == "config"
    assert "v2.40.3" in document["machine"]["compose"]

    table = (out / "latest.md").read_text()
    assert table == proc.stdout
    assert "| g | CLI start-up" in table and "| f | `config` of a generated 500-service file" in table


@pytest.mark.timeout(240)
def test_bench_floor_runs_one_round_of_the_cold_chain(tmp_path: Path, docker_client) -> None:
    """`python -m bench.floor`: stack in-process against Compose's CLI, one round of scenario a."""
    command = [sys.executable, "-m", "bench.floor", "--scenario", "a", "--rounds", "1", "--no-warmup"]
    proc = subprocess.run(
        [*command, "--workdir", str(tmp_path / "work")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert "round 1/1: stack in-process" in proc.stderr and "compose CLI" in proc.stderr
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("a: cold `up -d --wait`") and "stack without start-up / compose, median" in line
    ratio = float(line.split("median ")[1].split()[0])
    assert 0 < ratio < 5
    # Both projects were cleaned up (the bench names them bencha-<tool>-<run id>).
    for label in ("dev.stack.project", "com.docker.compose.project"):
        left = [
            c for c in docker_client.containers(all=True, filters={"label": label}) if "bencha-" in str(c["Labels"])
        ]
        assert left == [], left


@pytest.mark.timeout(180)
def test_bench_watch_latency_runs_two_edits_per_tool(tmp_path: Path, docker_client) -> None:
    """`python -m bench.watch_latency`: both tools' watch, timed side by side, cleaned up after."""
    command = [sys.executable, "-m", "bench.watch_latency", "--edits", "2", "--workdir", str(tmp_path / "work")]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("| stack |", "| compose |"))]
    assert len(rows) == 2, proc.stdout
    assert "median ratio stack/compose:" in proc.stdout
    for label in ("dev.stack.project", "com.docker.compose.project"):
        left = [
            c for c in docker_client.containers(all=True, filters={"label": label}) if "benchw-" in str(c["Labels"])
        ]
        assert left == [], left
