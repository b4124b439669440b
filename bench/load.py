"""A small HTTP load loop on loopback, to count the requests an update loses.

A few threads GET one URL back to back (a new connection each time, a per-request timeout) until
stopped; every answer other than 200, and every error (refused, reset, timed out), is a failed
request, recorded with its reason. Used by the bench's rolling-update scenario and by the e2e test
of the example's rolling update (tests import it from here rather than keep a copy).

    with LoadLoop("http://127.0.0.1:8080/api/whoami") as load:
        load.wait_first_ok(deadline_s=30)
        ...  # the update
    print(load.result.summary())
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

from bench.errors import BenchError

MAX_EXAMPLES = 20  # failures kept in full (time and reason); all are counted by reason


@dataclass
class LoadResult:
    """What the loop saw: successes, failures by reason, and which replicas answered."""

    ok: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # "+1.234s: reason", the first MAX_EXAMPLES
    served_by: Counter[str] = field(default_factory=Counter)  # X-Served-By of the 200s
    duration_s: float = 0.0

    @property
    def total(self) -> int:
        return self.ok + self.failed

    def summary(self) -> str:
        text = f"{self.total} requests in {self.duration_s:.1f} s: {self.ok} ok, {self.failed} failed"
        if self.reasons:
            text += " (" + "; ".join(f"{n}x {reason}" for reason, n in self.reasons.most_common()) + ")"
        return text


class LoadLoop:
    """`threads` clients GETting `url` until `stop()`; each request waits at most `timeout_s`, and
    each client pauses `pause_s` between two requests (a steady load that leaves the machine's
    cores to the tools being measured, rather than the most requests the machine can serve)."""

    def __init__(self, url: str, *, threads: int = 2, timeout_s: float = 10.0, pause_s: float = 0.01) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise BenchError(f"LoadLoop needs an http:// URL, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.url = url
        self.timeout_s = timeout_s
        self.pause_s = pause_s
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._first_ok = threading.Event()
        self._threads = [threading.Thread(target=self._client, name=f"load-{n}", daemon=True) for n in range(threads)]
        self._started = 0.0

    def start(self) -> LoadLoop:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def wait_first_ok(self, deadline_s: float) -> None:
        """Block until one request has succeeded (the loop is really running), at most `deadline_s`."""
        if not self._first_ok.wait(deadline_s):
            self.stop()
            raise BenchError(f"no GET {self.url} answered 200 within {deadline_s:g} s: {self.result.summary()}")

    def stop(self) -> LoadResult:
        """Stop the clients and wait for them (each finishes its request, at most `timeout_s`)."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(self.timeout_s + 5)
        with self._lock:
            self.result.duration_s = time.monotonic() - self._started
        return self.result

    def __enter__(self) -> LoadLoop:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _client(self) -> None:
        while not self._stop.is_set():
            status, reason, served_by = self._one_request()
            with self._lock:
                if status == 200:
                    self.result.ok += 1
                    self.result.served_by[served_by] += 1
                    self._first_ok.set()
                else:
                    self.result.failed += 1
                    self.result.reasons[reason] += 1
                    if len(self.result.examples) < MAX_EXAMPLES:
                        at = time.monotonic() - self._started
                        self.result.examples.append(f"+{at:.3f}s: {reason}")
            self._stop.wait(self.pause_s)  # the pace of the load; returns at once when stopped

    def _one_request(self) -> tuple[int, str, str]:
        """(status, reason, X-Served-By); status 0 when no HTTP answer came."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            reason = f"HTTP {response.status} {response.reason}"
            return response.status, reason, response.getheader("X-Served-By") or "?"
        except (OSError, http.client.HTTPException) as exc:
            return 0, f"{type(exc).__name__}: {exc}", ""
        finally:
            conn.close()
