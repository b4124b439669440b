"""Run one command as a child process and measure it: wall time and the child's peak memory.

Wall time is taken around spawn and reap (what a user waits for). Peak memory is the max RSS that
the kernel reports through wait4(2). Linux carries a process's peak RSS across exec, so a child forked
from this (docker-SDK-sized) process would report at least our own RSS: the command therefore runs
under busybox's `time`, a small static process whose own child starts from a small address space
and which reports that child's wait4 figure. Without busybox we reap the child ourselves; its peak
then has our RSS as a floor (and says so).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError


@dataclass(frozen=True)
class Measurement:
    """One finished command: how long it took, how much memory it peaked at, what it said."""

    argv: tuple[str, ...]
    wall_s: float
    max_rss_kib: int
    exit_code: int
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe_failure(self) -> str:
        """The command, how it ended and its last line on the first line; more output below."""
        what = "timed out" if self.timed_out else f"exited {self.exit_code}"
        lines = (self.stderr or self.stdout).strip().splitlines()
        last = lines[-1].strip() if lines else "(no output)"
        tail = "\n".join(lines[-15:])
        return f"`{' '.join(self.argv)}` {what}: {last}\n{tail}"


BUSYBOX = shutil.which("busybox")
# busybox's `time -f %M` converts ru_maxrss as if it counted pages (it is KiB already): undo that.
_BUSYBOX_RSS_SCALE = os.sysconf("SC_PAGE_SIZE") // 1024


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float,
) -> Measurement:
    """Run `argv` to completion (killed after `timeout_s`), capturing its output in files.

    Output goes to temporary files rather than pipes: a pipe nobody reads while we block in
    wait4 would stall a chatty child (200 lines of `ps`) and distort its time.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(prefix="bench-rss-") as rss_file,
    ):
        spawned = [BUSYBOX, "time", "-o", rss_file.name, "-f", "%M", *argv] if BUSYBOX else list(argv)
        start = time.perf_counter()
        try:
            # Its own session, so that a timeout kills the command and not only busybox.
            proc = subprocess.Popen(
                spawned,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            raise BenchError(f"cannot start {argv[0]}: {exc}") from exc
        # A watchdog thread kills the child at the deadline; wait4 below then returns.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            os.killpg(proc.pid, signal.SIGKILL)

        watchdog = threading.Timer(timeout_s, expire)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: tell Popen so it won't try again
        out.seek(0)
        err.seek(0)
        max_rss = int(usage.ru_maxrss)  # KiB on Linux
        if BUSYBOX:
            reported = [line for line in rss_file.read().decode().split() if line.isdigit()]
            max_rss = int(reported[-1]) // _BUSYBOX_RSS_SCALE if reported else 0
        return Measurement(
            argv=tuple(argv),
            wall_s=wall,
            max_rss_kib=max_rss,
            exit_code=proc.returncode,
            timed_out=expired.is_set(),
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def run_checked(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float,
) -> Measurement:
    """`run`, raising BenchError with the command's last lines of output when it fails."""
    result = run(argv, cwd=cwd, env=env, timeout_s=timeout_s)
    if not result.ok:
        raise BenchError(result.describe_failure())
    return result
