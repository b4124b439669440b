"""Commands answered before click is imported: a no-op `up -d|--wait`, and `config`.

A no-op `up` is the command users repeat most, and `config` the one editors and CI run on
every change; Compose answers both in ~40 ms, and importing click and the command tree is a
fifth of our budget.  Only the plain forms are recognised here: the global options
-f/-p/--project-directory/--env-file/--profile, then `up` with -d/--detach/--wait and nothing
else, or `config` with --format, -q and service names.  Anything else, any doubt, and any
error goes to the click CLI, which parses everything and reports errors properly.  The
answers are the click path's own: `fastpath.converged`, `serialize.config_text`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

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


def _global_options(argv: list[str], command: str) -> tuple[GlobalOptions, list[str]] | None:
    """(global options, what follows `command`) when `argv` is plain global options, then
    `command`; else None."""
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(argv) and argv[i] != command:
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
    if i >= len(argv):
        return None
    single = {k: v[-1] for k, v in values.items() if k not in _REPEATABLE}  # click: the last one wins
    options = GlobalOptions.from_flags(
        files=values.get("files", []),
        project_name=single.get("project_name"),
        project_directory=single.get("project_directory"),
        env_files=values.get("env_files", []),
        profiles=values.get("profiles", []),
    )
    return options, argv[i + 1 :]


def parse_noop_up(argv: list[str]) -> tuple[GlobalOptions, bool] | None:
    """(global options, --wait given) for the plain `up -d` forms, else None."""
    parsed = _global_options(argv, "up")
    if parsed is None:
        return None
    options, flags = parsed
    if not flags or not set(flags) <= _UP_FLAGS:
        return None
    return options, "--wait" in flags


@dataclass
class ConfigRequest:
    """The plain `config` forms: `[--format yaml|json] [-q] [SERVICE...]`."""

    output_format: str = "yaml"
    quiet: bool = False
    services: list[str] = field(default_factory=list)


def parse_config(argv: list[str]) -> tuple[GlobalOptions, ConfigRequest] | None:
    """(global options, request) for the plain `config` forms, else None."""
    parsed = _global_options(argv, "config")
    if parsed is None:
        return None
    options, rest = parsed
    request = ConfigRequest()
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-q", "--quiet"):
            request.quiet = True
        elif arg == "--format" and i + 1 < len(rest):
            i += 1
            request.output_format = rest[i]
        elif arg.startswith("--format="):
            request.output_format = arg.partition("=")[2]
        elif arg.startswith("-") or not arg:
            return None  # another flag (or `--`): click's to parse
        else:
            request.services.append(arg)
        i += 1
    if request.output_format not in ("yaml", "json"):
        return None  # click names the accepted values
    return options, request


def answer_config(argv: list[str]) -> bool:
    """True when `argv` is a plain `config` and it was answered (exit 0); False when click
    must take it (another form, or an error, which click reports)."""
    parsed = parse_config(argv)
    if parsed is None:
        return False
    options, request = parsed
    held: list[str] = []
    options.echo = held.append  # warnings are shown only if this path answers
    from stack.spec.serialize import config_text, selected_raw

    load_options = options.load_options(request.services)
    try:
        if request.quiet:
            selected_raw(load_options)
            text = ""
        else:
            text = config_text(load_options, request.output_format)
    except StackError:
        return False  # the click path loads again and reports it
    for line in held:
        to_stderr(line)
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


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


def version_text(fmt: str = "pretty", short: bool = False) -> str:
    """What `stack version` prints (`--short` wins over `--format`, as in Compose)."""
    import json

    from stack import __version__

    if short:
        return __version__ + "\n"
    if fmt == "json":
        return json.dumps({"version": __version__}, separators=(",", ":")) + "\n"
    return f"stack version {__version__}\n"


def answer_version(argv: list[str]) -> bool:
    """True when `argv` is a plain `version [--short] [--format|-f pretty|json]` and it was
    answered; False when click must take it."""
    if argv[:1] != ["version"]:
        return False
    rest, fmt, short = argv[1:], "pretty", False
    while rest:
        arg = rest.pop(0)
        if arg == "--short":
            short = True
        elif arg in ("-f", "--format") and rest and rest[0] in ("pretty", "json"):
            fmt = rest.pop(0)
        elif arg in ("--format=pretty", "--format=json"):
            fmt = arg.partition("=")[2]
        else:
            return False
    sys.stdout.write(version_text(fmt, short))
    sys.stdout.flush()
    return True
