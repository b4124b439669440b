"""The example's load-test recipe (examples/flask-api-db/loadtest/run.py), end to end, small.

As a user runs it against the running example: Locust through the frontend on loopback, a few
users for ~10 s per phase, api=1 then api=3, with `stack stats --record` beside each phase.
The report must exist (JSON, Markdown, one PNG), every phase must have served requests without
a failure, the recordings must hold each service's CPU and memory, and with three replicas each
replica must have served a share of the requests (counted from the X-Served-By header).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLE, ExampleStack

pytestmark = pytest.mark.timeout(300)

RUN = EXAMPLE / "loadtest" / "run.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
USERS = 4
SECONDS = 10


def test_load_recipe_reports_throughput_latency_usage_and_replica_shares(
    example: ExampleStack, tmp_path: Path, request: pytest.FixtureRequest, artifacts: Path
) -> None:
    out = tmp_path / "report"
    command = [sys.executable, str(RUN), "-p", example.project, "--host", example.base_url]
    command += ["--users", str(USERS), "--spawn-rate", str(USERS), "--seconds", str(SECONDS)]
    command += ["--max-requests", "5000", "--replicas", "1,3", "--out", str(out)]
    if example.env_file is not None:
        command += ["--env-file", str(example.env_file)]
    try:
        done = subprocess.run(command, cwd=EXAMPLE, capture_output=True, text=True, timeout=240)
    finally:
        # The session's other tests expect the file's single replica.
        example.ok("scale", "--wait", "api=1", timeout=300)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr

    report = json.loads((out / "report.json").read_text())
    phases = {p["replicas"]: p for p in report["phases"]}
    assert sorted(phases) == [1, 3]
    for replicas, phase in phases.items():
        assert phase["requests"] > 0, phase
        assert phase["failures"] == 0, phase
        assert phase["rps"] > 0 and 0 < phase["p50_ms"] <= phase["p95_ms"] <= phase["p99_ms"], phase
        # Every response named its replica: the shares cover all of them.
        assert sum(phase["served_by"].values()) == phase["requests"], phase
        assert len(phase["api_shares"]) == replicas, phase
        # The recording beside the load: each running service's CPU and memory.
        assert {"api", "db", "frontend"} <= set(phase["cpu_mean"]), phase
        assert phase["cpu_mean"]["api"] > 0 and phase["mem_mean_mib"]["api"] > 0, phase
        assert (out / phase["record_file"]).stat().st_size > 0
    # Load balancing really happens: with three replicas, each served a share of the requests.
    shares = phases[3]["api_shares"]
    assert all(share >= 0.1 for share in shares.values()), shares
    print(f"\nload recipe: {(out / 'report.md').read_text()}")
    request.node.user_properties += [(f"api{n}_rps", p["rps"]) for n, p in phases.items()]

    picture = (out / "report.png").read_bytes()
    assert picture.startswith(PNG_MAGIC) and len(picture) > 30_000, len(picture)
    (artifacts / "load-recipe-report.png").write_bytes(picture)  # to look at after the run
    assert "| 3 |" in (out / "report.md").read_text()
