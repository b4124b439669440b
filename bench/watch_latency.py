"""`python -m bench.watch_latency`: how long from saving a file to its content being readable in
the container, `stack watch` against `docker compose watch`, on the same busybox project.

Each tool brings the project up (untimed), starts `watch --no-up`, and once it says "Watch
enabled" the bench saves `src/probe.txt` with new content N times (one uncounted warm-up save
first), waiting for each to arrive before the next.  Arrival is seen from inside: the container
reads the file every 10 ms and prints what it finds, and the bench follows the container's log,
so both tools are observed the same way (no `docker exec` round trip in the measurement; the
10 ms poll is the resolution).  The time is from just before the write to the log line's arrival.

Both tools' quiet periods are part of what is measured: Compose waits 500 ms after the last
event; stack 100 ms (`STACK_WATCH_QUIET_MS`, `--stack-quiet-ms` here, sets another, to tell the
quiet period from the rest).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.runner import log
from bench.scenarios import Bound, Context, clean, ensure_test_image, write
from bench.tools import BENCH_DIR, Tool, find_compose, find_stack

KEY = "w"
SERVICE = "probe"
IMAGE = "stack-test/busybox:latest"
# The container prints "seen <content>" whenever /src/probe.txt reads differently (every 10 ms).
STACK_FILE = f"""\
services:
  {SERVICE}:
    image: {IMAGE}
    init: true
    command:
      - sh
      - -c
      - >-
        last=; while true; do c=$$(cat /src/probe.txt 2>/dev/null);
        if [ "$$c" != "$$last" ]; then echo "seen $$c"; last=$$c; fi; usleep 10000; done
    develop:
      watch:
        - action: sync
          path: ./src
          target: /src
"""
READY = "Watch enabled"
ARRIVAL_TIMEOUT_S = 15.0
GAP_S = 0.25  # after an arrival, before the next save: the previous batch is long closed


@dataclass
class Session:
    tool: str
    latencies_s: list[float]


def _follow(client: Any, container: str, lines: queue.Queue[tuple[float, str]], stop: threading.Event) -> None:
    """The container's log lines, each with the moment it arrived (a daemon thread)."""
    stream = client.logs(container, stream=True, follow=True, stdout=True, stderr=True, since=int(time.time()) - 1)
    pending = b""
    try:
        for chunk in stream:
            now = time.perf_counter()
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                lines.put((now, line.decode(errors="replace").strip()))
            if stop.is_set():
                return
    finally:
        with contextlib.suppress(Exception):
            stream.close()


def _wait_ready(proc: subprocess.Popen[bytes], out: Path, err: Path, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if READY in out.read_text(errors="replace") + err.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)  # poll interval of the tool's output file
    tail = (err.read_text(errors="replace") or out.read_text(errors="replace")).strip().splitlines()[-5:]
    raise BenchError(f"`watch` did not say {READY!r} (exit {proc.poll()}): {' | '.join(tail)}")


def measure(ctx: Context, tool: Tool, file: Path, edits: int, env: dict[str, str]) -> Session:
    """One tool's session: up, watch, `edits` counted saves (after one warm-up); always cleaned up."""
    b = Bound(tool, f"bench{KEY}-{tool.name}-{ctx.run_id}", file, env)
    probe = file.parent / "src" / "probe.txt"
    probe.unlink(missing_ok=True)
    client = ctx.need_daemon().client
    clean(ctx, b)
    b.run("up", "-d", "--wait")
    container = f"{b.project}-{SERVICE}-1"
    out, err = file.parent / f"{tool.name}-watch.out", file.parent / f"{tool.name}-watch.err"
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    stop = threading.Event()
    with out.open("wb") as out_fh, err.open("wb") as err_fh:
        watch = b.command("watch", "--no-up")
        proc = subprocess.Popen(watch, cwd=file.parent, env=env, stdout=out_fh, stderr=err_fh, start_new_session=True)
    follower = threading.Thread(target=_follow, args=(client, container, lines, stop), daemon=True)
    try:
        _wait_ready(proc, out, err)
        follower.start()
        latencies: list[float] = []
        for number in range(edits + 1):  # save 0 is the warm-up
            content = f"edit-{number}-{secrets.token_hex(4)}"
            began = time.perf_counter()
            probe.write_text(content)
            arrived = _arrival(lines, f"seen {content}", tool.name)
            if number:
                latencies.append(arrived - began)
            time.sleep(GAP_S)
        return Session(tool.name, latencies)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        clean(ctx, b)


def _arrival(lines: queue.Queue[tuple[float, str]], wanted: str, tool: str) -> float:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"{tool}: {wanted!r} never showed in the container within {ARRIVAL_TIMEOUT_S:g} s")
        try:
            at, text = lines.get(timeout=left)
        except queue.Empty:
            continue
        if text == wanted:
            return at


def report(sessions: list[Session], edits: int, stack_quiet_ms: int) -> str:
    rows = [
        f"watch latency: save -> readable in the container, {edits} edits each "
        f"(quiet period: stack {stack_quiet_ms} ms, compose 500 ms)",
        "",
        "| tool | median | min | max |",
        "|---|---|---|---|",
    ]
    medians: dict[str, float] = {}
    for s in sessions:
        medians[s.tool] = statistics.median(s.latencies_s)
        ms = [v * 1000 for v in s.latencies_s]
        rows.append(f"| {s.tool} | {statistics.median(ms):.0f} ms | {min(ms):.0f} ms | {max(ms):.0f} ms |")
    if "stack" in medians and "compose" in medians:
        rows += ["", f"median ratio stack/compose: {medians['stack'] / medians['compose']:.2f}"]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    from stack.engine.filewatch import QUIET_PERIOD_MS, QUIET_VARIABLE

    parser = argparse.ArgumentParser(
        prog="python -m bench.watch_latency",
        description="Save-to-container latency of `stack watch` against `docker compose watch`.",
    )
    parser.add_argument("--edits", type=int, default=20, help="counted saves per tool (default 20)")
    parser.add_argument(
        "--stack-quiet-ms", type=int, default=None, help=f"stack's quiet period (default {QUIET_PERIOD_MS})"
    )
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / ".work", help="where the stack file goes")
    args = parser.parse_args(argv)
    if args.edits < 1:
        parser.error("--edits must be at least 1")
    ctx = Context(workdir=args.workdir.resolve())
    quiet = args.stack_quiet_ms or QUIET_PERIOD_MS
    try:
        ensure_test_image(ctx)
        file = write(ctx, KEY, STACK_FILE)
        (file.parent / "src").mkdir(exist_ok=True)
        sessions = []
        for tool in (find_stack(), find_compose()):
            env = dict(ctx.env)
            if tool.name == "stack":
                env[QUIET_VARIABLE] = str(quiet)
            log(f"[watch] {tool.name}: {args.edits} edits")
            sessions.append(measure(ctx, tool, file, args.edits, env))
    except BenchError as exc:
        print(f"bench.watch_latency: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if ctx.daemon is not None:
            ctx.daemon.close()
    sys.stdout.write(report(sessions, args.edits, quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
