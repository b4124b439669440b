"""The public Python API: every verb of the CLI, as a short function, one module per family.

    converge    load, up, create, scale, build, down (plan_for_up: what `up --dry-run` prints)
    lifecycle   start, stop, restart, kill, pause, unpause, remove (`rm`), wait
    oneoff      run
    inspect     ps, top, port, images, ls, stats
    streams     logs, events, exec
    scoped      running(): a stack for the length of a `with` block
    session     what they share: the daemon session and the project's lock

Each verb has an async form (`up_async`) taking an optional `DockerAPI` (to share one
connection) and a `lock` policy, and a synchronous one (`up`).  Errors are `StackError`s.

    import stack
    with stack.running(["stack.yaml"]) as project:
        print(stack.ps(project.name))
"""

from stack.api.converge import (
    DownResult,
    UpResult,
    build,
    build_async,
    create,
    create_async,
    down,
    down_async,
    load,
    plan_for_up,
    scale,
    scale_async,
    up,
    up_async,
)
from stack.api.inspect import (
    ImageRow,
    ProjectRow,
    TopResult,
    images,
    images_async,
    ls,
    ls_async,
    port,
    port_async,
    ps,
    ps_async,
    stats,
    stats_async,
    top,
    top_async,
)
from stack.api.lifecycle import (
    kill,
    kill_async,
    pause,
    pause_async,
    removable_async,
    remove,
    remove_async,
    restart,
    restart_async,
    start,
    start_async,
    stop,
    stop_async,
    unpause,
    unpause_async,
    wait,
    wait_async,
)
from stack.api.oneoff import RunResult, parse_publish, run, run_async
from stack.api.scoped import running, running_async
from stack.api.session import session
from stack.api.streams import event_json, events_async, exec, exec_async, logs, logs_async
from stack.engine.exec import ExecRequest, Terminal
from stack.engine.listing import ContainerInfo
from stack.engine.lock import LockPolicy
from stack.engine.logs import LogLine, LogOptions
from stack.engine.stats import Usage
from stack.plan.options import DownOptions, RunOptions, UpOptions

__all__ = [
    "ContainerInfo",
    "DownOptions",
    "DownResult",
    "ExecRequest",
    "ImageRow",
    "LockPolicy",
    "LogLine",
    "LogOptions",
    "ProjectRow",
    "RunOptions",
    "RunResult",
    "Terminal",
    "TopResult",
    "UpOptions",
    "UpResult",
    "Usage",
    "build",
    "build_async",
    "create",
    "create_async",
    "down",
    "down_async",
    "event_json",
    "events_async",
    "exec",
    "exec_async",
    "images",
    "images_async",
    "kill",
    "kill_async",
    "load",
    "logs",
    "logs_async",
    "ls",
    "ls_async",
    "parse_publish",
    "pause",
    "pause_async",
    "plan_for_up",
    "port",
    "port_async",
    "ps",
    "ps_async",
    "removable_async",
    "remove",
    "remove_async",
    "restart",
    "restart_async",
    "run",
    "run_async",
    "running",
    "running_async",
    "scale",
    "scale_async",
    "session",
    "start",
    "start_async",
    "stats",
    "stats_async",
    "stop",
    "stop_async",
    "top",
    "top_async",
    "unpause",
    "unpause_async",
    "up",
    "up_async",
    "wait",
    "wait_async",
]
