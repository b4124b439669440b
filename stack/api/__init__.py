"""The public Python API: every verb of the CLI, as a short function, one module per family.

    converge    load, up, create, scale, build, down (plan_for_up: what `up --dry-run` prints)
    lifecycle   start, stop, restart, kill, pause, unpause, remove (`rm`), wait
    oneoff      run
    inspect     ps, top, port, images, ls, stats, volumes
    console     attach: the caller's terminal on a service container's console
    transfer    copy_to, copy_from (`cp`), commit, export
    streams     logs, events, exec
    scoped      running(): a stack for the length of a `with` block
    registry    pull, push (the Docker config's credentials)
    watch       watch: keep containers in step with their files (`develop.watch`)
    session     what they share: the daemon session and the project's lock
    swarm       swarm_deploy, swarm_ps, swarm_services, swarm_rm, swarm_rollback (Docker Swarm)

Each verb has an async form (`up_async`) taking an optional `DockerAPI` (to share one
connection) and a `lock` policy, and a synchronous one (`up`).  Errors are `StackError`s.

    import stack
    with stack.running(["stack.yaml"]) as project:
        print(stack.ps(project.name))
"""

from stack.api.console import AttachRequest, AttachResult, attach, attach_async
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
    VolumeRow,
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
    volumes,
    volumes_async,
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
from stack.api.registry import PullOptions, PullResult, PushOptions, PushResult, pull, pull_async, push, push_async
from stack.api.scoped import running, running_async
from stack.api.session import session
from stack.api.streams import event_json, events_async, exec, exec_async, logs, logs_async
from stack.api.swarm import (
    SwarmDeployResult,
    swarm_convert,
    swarm_deploy,
    swarm_deploy_async,
    swarm_ps,
    swarm_ps_async,
    swarm_rm,
    swarm_rm_async,
    swarm_rollback,
    swarm_rollback_async,
    swarm_services,
    swarm_services_async,
)
from stack.api.transfer import (
    CommitResult,
    commit,
    commit_async,
    copy_from,
    copy_from_async,
    copy_to,
    copy_to_async,
    export,
    export_async,
)
from stack.api.watch import WatchOptions, WatchOutput, watch, watch_async
from stack.engine.exec import ExecRequest, Terminal
from stack.engine.listing import ContainerInfo
from stack.engine.lock import LockPolicy
from stack.engine.logs import LogLine, LogOptions
from stack.engine.stats import Usage
from stack.plan.options import DownOptions, RunOptions, UpOptions

__all__ = [
    "AttachRequest",
    "AttachResult",
    "CommitResult",
    "ContainerInfo",
    "DownOptions",
    "DownResult",
    "ExecRequest",
    "ImageRow",
    "LockPolicy",
    "LogLine",
    "LogOptions",
    "ProjectRow",
    "PullOptions",
    "PullResult",
    "PushOptions",
    "PushResult",
    "RunOptions",
    "RunResult",
    "SwarmDeployResult",
    "Terminal",
    "TopResult",
    "UpOptions",
    "UpResult",
    "Usage",
    "VolumeRow",
    "WatchOptions",
    "WatchOutput",
    "attach",
    "attach_async",
    "build",
    "build_async",
    "commit",
    "commit_async",
    "copy_from",
    "copy_from_async",
    "copy_to",
    "copy_to_async",
    "create",
    "create_async",
    "down",
    "down_async",
    "event_json",
    "events_async",
    "exec",
    "exec_async",
    "export",
    "export_async",
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
    "pull",
    "pull_async",
    "push",
    "push_async",
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
    "swarm_convert",
    "swarm_deploy",
    "swarm_deploy_async",
    "swarm_ps",
    "swarm_ps_async",
    "swarm_rm",
    "swarm_rm_async",
    "swarm_rollback",
    "swarm_rollback_async",
    "swarm_services",
    "swarm_services_async",
    "top",
    "top_async",
    "unpause",
    "unpause_async",
    "up",
    "up_async",
    "volumes",
    "volumes_async",
    "wait",
    "wait_async",
    "watch",
    "watch_async",
]
