"""The imperative shell: the only package that talks to Docker.

`DockerAPI` (one counted, concurrency-limited async facade), `observe` (one snapshot of a
project by label), `execute` (walk a Plan), event-driven waits, builds.

Names are imported lazily, so that `from stack.engine.progress import ...` (the CLI's
renderer) does not pay for importing the Docker SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stack.engine.docker_api import DockerAPI
    from stack.engine.executor import ExecContext, ExecOptions, ExecResult, PlanError, execute
    from stack.engine.observe import observe, observe_project
    from stack.engine.progress import ProgressEvent, ProgressSink, RecordingSink, Status, null_sink

_EXPORTS = {
    "DockerAPI": "stack.engine.docker_api",
    "ExecContext": "stack.engine.executor",
    "ExecOptions": "stack.engine.executor",
    "ExecResult": "stack.engine.executor",
    "PlanError": "stack.engine.executor",
    "execute": "stack.engine.executor",
    "observe": "stack.engine.observe",
    "observe_project": "stack.engine.observe",
    "ProgressEvent": "stack.engine.progress",
    "ProgressSink": "stack.engine.progress",
    "RecordingSink": "stack.engine.progress",
    "Status": "stack.engine.progress",
    "null_sink": "stack.engine.progress",
}

__all__ = [
    "DockerAPI",
    "ExecContext",
    "ExecOptions",
    "ExecResult",
    "PlanError",
    "ProgressEvent",
    "ProgressSink",
    "RecordingSink",
    "Status",
    "execute",
    "null_sink",
    "observe",
    "observe_project",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stack.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
