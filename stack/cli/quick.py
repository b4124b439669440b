"""`stack [global options] up -d|--wait` answered before click is imported, when nothing is to do.

A no-op `up` is the command users repeat most, and Compose answers it in ~40 ms; importing
click and the command tree is a fifth of our budget for it.  Only the plain forms are
recognised here (the global options -f/-p/--project-directory/--env-file/--profile, then `up`
with -d/--detach/--wait and nothing else); anything else, any doubt, and any error goes to the
click CLI, which parses everything and reports errors properly.  The check itself is
`fastpath.converged`, the same one the click path runs.
"""

from __future__ import annotations

from stack.cli.global_options import GlobalOptions, to_stderr
from stack.errors import StackError

_VALUE_OPTIONS = {
    "-f": "files",
    "--file": "files",
    "-p": "project_name",
    "--project-name": "project_name",
    "--project-directory": "project_directory",
    "--env-file": "env_files",
    "--profile": "profiles",
}
_REPEATABLE = {"files", "env_files", "profiles"}
_UP_FLAGS = {"-d", "--detach", "--wait"}


def parse_noop_up(argv: list[str]) -> tuple[GlobalOptions, bool] | None:
    """(global options, --wait given) for the plain `up -d` forms, else None."""
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(argv) and argv[i] != "up":
        arg = argv[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        key = _VALUE_OPTIONS.get(name)
        if key is None:
            return None
        if not eq:
            i += 1
            if i >= len(argv):
                return None
            value = argv[i]
        values.setdefault(key, []).append(value)
        i += 1
    flags = argv[i + 1 :]
    if i >= len(argv) or not flags or not set(flags) <= _UP_FLAGS:
        return None
    single = {k: v[-1] for k, v in values.items() if k not in _REPEATABLE}  # click: the last one wins
    options = GlobalOptions.from_flags(
        files=values.get("files", []),
        project_name=single.get("project_name"),
        project_directory=single.get("project_directory"),
        env_files=values.get("env_files", []),
        profiles=values.get("profiles", []),
    )
    return options, "--wait" in flags


def answer_noop_up(argv: list[str]) -> bool | None:
    """True when `argv` is a plain `up -d` and the project is already converged (exit 0);
    False when it asked and the answer was no; None when it could not ask."""
    parsed = parse_noop_up(argv)
    if parsed is None:
        return None
    options, wait = parsed
    held: list[str] = []
    options.echo = held.append  # warnings are shown only if this path answers
    from stack.cli.fastpath import converged, report_running

    try:
        running = converged(options.load_options(), need_healthy=wait)
    except StackError:
        return None  # the click path loads again and reports it
    if running is None:
        return False
    for line in held:
        to_stderr(line)
    report_running(running, to_stderr)
    return True
