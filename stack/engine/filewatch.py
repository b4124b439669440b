"""File-system events for `stack watch`, batched: watchfiles (Rust `notify`: inotify, FSEvents,
ReadDirectoryChangesW) in a worker thread, one set of changed paths per batch.

The quiet period: a batch is handed over once QUIET_PERIOD_MS pass without a new event (the Rust
side reports every STEP_MS, so within one step of that), or after MAX_BATCH_MS when events never
stop.  Compose waits 500 ms after the last event.  We wait 100 ms: one editor save (write,
rename, chmod) lands within a few milliseconds, and a `git checkout` or a formatter over many
files keeps producing events far more often than every 100 ms, so both still arrive as one
batch; every further millisecond is added to each edit-to-container round trip, the number
`stack watch` exists to make small.  A burst that does split (a formatter rewriting the file a
second after the save) costs one more idempotent sync; changes arriving while an action runs (a
rebuild takes seconds) are merged into the next batch by the caller.

`STACK_WATCH_QUIET_MS` sets another quiet period, to measure its effect: `python -m
bench.watch_latency [--stack-quiet-ms N]` times save-to-container against Compose.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import AsyncIterator, Callable

import anyio

QUIET_PERIOD_MS = 100
MAX_BATCH_MS = 2000
STEP_MS = 10  # how often the Rust side looks at what it collected
QUIET_VARIABLE = "STACK_WATCH_QUIET_MS"


def quiet_period_ms() -> int:
    """The quiet period in force: STACK_WATCH_QUIET_MS when it is a positive number, else ours."""
    raw = os.environ.get(QUIET_VARIABLE, "")
    try:
        value = int(raw)
    except ValueError:
        return QUIET_PERIOD_MS
    return value if value > 0 else QUIET_PERIOD_MS


async def batches(
    paths: list[str], *, recursive: bool, stop: anyio.Event, on_ready: Callable[[], None] | None = None
) -> AsyncIterator[set[str]]:
    """Sets of changed paths under `paths` (their trees when `recursive`, else their direct
    entries), until `stop` is set or the caller stops iterating.  `on_ready` is called once the
    watches are in place: a change after it is seen.  Every path is reported, filtering is the
    caller's.  Raises FileNotFoundError when a path does not exist."""
    # watchfiles' own RustNotify (what its `awatch` wraps): it says when the watches are in place.
    from watchfiles._rust_notify import RustNotify  # here: `import stack.api` must stay quick

    quiet = quiet_period_ms() / 1000
    polling = os.environ.get("WATCHFILES_FORCE_POLLING", "").lower() in ("1", "true", "yes")
    pending: set[str] = set()
    first = last = 0.0  # when the pending batch's first and latest events were seen
    try:
        with RustNotify(paths, False, polling, 300, recursive, False) as notify:
            if on_ready is not None:
                on_ready()
            while not stop.is_set():
                timeout_ms = 0  # nothing pending: wait for the first event, however long
                if pending:
                    left = min(last + quiet, first + MAX_BATCH_MS / 1000) - time.monotonic()
                    if left <= 0:
                        yield pending
                        pending = set()
                        continue
                    timeout_ms = max(1, math.ceil(left * 1000))
                # Abandoned on cancel: the Rust side sees `stop` at its next step and returns.
                raw = await anyio.to_thread.run_sync(
                    notify.watch, MAX_BATCH_MS, STEP_MS, timeout_ms, stop, abandon_on_cancel=True
                )
                if isinstance(raw, set) and raw:
                    # It returns once a step passed without a new event: the last one is a step old.
                    last = time.monotonic() - STEP_MS / 1000
                    first = first if pending else last
                    pending.update(path for _, path in raw)
    finally:
        stop.set()
