"""The imperative shell: the only package that talks to Docker.

`DockerAPI` (one counted, concurrency-limited async facade), `observe` (one snapshot of a
project by label), `execute` (walk a Plan), event-driven waits, builds.
"""

from stack.engine.docker_api import DockerAPI
from stack.engine.executor import ExecContext, ExecOptions, ExecResult, PlanError, execute
from stack.engine.observe import observe, observe_project
from stack.engine.progress import ProgressEvent, ProgressSink, RecordingSink, Status, null_sink

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
