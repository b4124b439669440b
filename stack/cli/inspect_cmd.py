"""`stack top/port/images/ls/events/stats`: look at what runs, change nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from stack.cli.common import check_services, load_or_name, run, run_until_signalled


def _dumps(value: Any) -> str:
    """One compact JSON line (events --json, stats --format json)."""
    return json.dumps(value, separators=(",", ":"))


def table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, three spaces apart (as the docker CLI)."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def _project(ctx: click.Context, services: Sequence[str]) -> str:
    project, name = load_or_name(ctx)
    if project is not None and services:
        check_services(project, list(services))
    return name


@click.command()
@click.argument("services", nargs=-1)
@click.pass_context
def top(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Show the processes running in each container."""
    from stack import api

    name = _project(ctx, services)
    results = run(lambda: api.top_async(name, list(services)))
    blocks = [f"{r.container}\n{table([r.titles, *r.processes])}" for r in results]
    if blocks:
        click.echo("\n\n".join(blocks))


@click.command()
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--index", type=int, default=1, show_default=True, help="Replica of the service.")
@click.argument("service")
@click.argument("private_port", type=click.IntRange(1, 65535))
@click.pass_context
def port(ctx: click.Context, protocol: str, index: int, service: str, private_port: int) -> None:
    """Print the host address a container port is published on (HOST_IP:PORT)."""
    from stack import api

    name = _project(ctx, [service])
    click.echo(run(lambda: api.port_async(name, service, private_port, protocol=protocol, index=index)))


def _size(value: int) -> str:
    from stack.engine.stats import human_bytes

    return human_bytes(value, si=True)


@click.command()
@click.option("-q", "--quiet", is_flag=True, help="Only display image ids.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.argument("services", nargs=-1)
@click.pass_context
def images(ctx: click.Context, quiet: bool, fmt: str, services: tuple[str, ...]) -> None:
    """List the images the project's containers use."""
    from stack import api

    name = _project(ctx, services)
    rows = run(lambda: api.images_async(name, list(services)))
    if quiet:
        for image_id in dict.fromkeys(r.image_id for r in rows):
            click.echo(image_id)
        return
    if fmt == "json":
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    lines = [("CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE")]
    for r in rows:
        short = r.image_id.split(":", 1)[-1][:12]
        lines.append((r.container, r.repository, r.tag, short, _size(r.size)))
    click.echo(table(lines))


@click.command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Show stopped projects too.")
@click.option("-q", "--quiet", is_flag=True, help="Only display project names.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
def ls(show_all: bool, quiet: bool, fmt: str) -> None:
    """List every stack on this Docker daemon, with its container states."""
    from stack import api

    rows = run(lambda: api.ls_async(all=show_all))
    if quiet:
        for r in rows:
            click.echo(r.name)
        return
    if fmt == "json":
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    click.echo(table([("NAME", "STATUS", "CONFIG FILES"), *((r.name, r.status, r.config_files) for r in rows)]))


def _event_line(event: dict[str, Any]) -> str:
    attrs = event["attributes"]
    shown = ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs) if k in ("name", "image", "exitCode", "signal"))
    return f"{event['time']} {event['type']} {event['action']} {event['id']} ({shown})"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.argument("services", nargs=-1)
@click.pass_context
def events(ctx: click.Context, as_json: bool, services: tuple[str, ...]) -> None:
    """Stream the project's container events (until Ctrl-C)."""
    from stack import api

    name = _project(ctx, services)

    def show(event: dict[str, Any]) -> None:
        sys.stdout.write((_dumps(event) if as_json else _event_line(event)) + "\n")
        sys.stdout.flush()

    run(lambda: api.events_async(name, show, list(services)))


def _stats_rows(usages: Sequence[Any]) -> str:
    from stack.engine.stats import human_bytes

    lines = [("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS")]
    for u in usages:
        lines.append(
            (
                u.id[:12],
                u.container,
                f"{u.cpu_percent:.2f}%",
                f"{human_bytes(u.memory_usage)} / {human_bytes(u.memory_limit)}",
                f"{u.memory_percent:.2f}%",
                f"{human_bytes(u.net_rx, si=True)} / {human_bytes(u.net_tx, si=True)}",
                f"{human_bytes(u.block_read, si=True)} / {human_bytes(u.block_write, si=True)}",
                str(u.pids),
            )
        )
    return table(lines)


@click.command()
@click.option("--no-stream", is_flag=True, help="One reading, then exit.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option(
    "--record",
    "record_path",
    metavar="FILE",
    help="Record samples to FILE (CSV, or JSON lines: by its extension or --record-format).",
)
@click.option(
    "--record-format", type=click.Choice(["csv", "jsonl"]), help="Format of the --record file (default: by extension)."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1.0),
    help="Seconds between samples of a recording (default 1; at least 1).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1.0),
    help="Seconds to record, then stop (default: until Ctrl-C).",
)
@click.option(
    "--plot",
    "plot_paths",
    metavar="FILE",
    multiple=True,
    help="Draw CPU and memory per service over time to FILE (.png, .svg, or .html); repeatable.",
)
@click.option("--html", "html_path", metavar="FILE", help="Write a self-contained HTML report (as --plot FILE.html).")
@click.option(
    "--from",
    "from_path",
    metavar="FILE",
    help="Draw --plot/--html from an existing --record FILE instead of recording (no daemon needed).",
)
@click.argument("services", nargs=-1)
@click.pass_context
def stats(
    ctx: click.Context,
    no_stream: bool,
    fmt: str,
    record_path: str | None,
    record_format: str | None,
    interval: float | None,
    duration: float | None,
    plot_paths: tuple[str, ...],
    html_path: str | None,
    from_path: str | None,
    services: tuple[str, ...],
) -> None:
    """CPU, memory, network and block I/O of each running container (live until Ctrl-C).

    With --record, --plot or --html it records instead: one sample per container every
    --interval seconds, for --duration seconds or until Ctrl-C, then draws the pictures.
    With --from it draws them from an earlier recording.
    """
    from stack import api

    if from_path is not None or record_path is not None or plot_paths or html_path:
        _stats_recorded(
            ctx,
            record_path,
            record_format,
            interval,
            duration,
            plot_paths,
            html_path,
            from_path,
            services,
            no_stream,
        )
        return
    for flag, value in (("--record-format", record_format), ("--interval", interval), ("--duration", duration)):
        if value is not None:
            raise click.UsageError(f"{flag} goes with --record, --plot or --html")

    name = _project(ctx, services)

    def render(usages: Sequence[Any]) -> str:
        if fmt == "json":
            return "\n".join(_dumps(u.as_json()) for u in usages)
        return _stats_rows(usages)

    if no_stream:
        text = render(run(lambda: api.stats_async(name, list(services))))
        if text:
            click.echo(text)
        return

    live = sys.stdout.isatty() and fmt == "table"

    async def loop() -> None:
        import anyio

        from stack.engine.docker_api import DockerAPI

        docker_api = DockerAPI.from_env()
        try:
            while True:
                # Each reading takes the daemon about a second (two samples): that is the refresh.
                usages = await api.stats_async(name, list(services), api=docker_api)
                if not usages:
                    await anyio.sleep(1)  # nothing runs: refresh period of the (empty) view
                text = render(usages)
                if live:
                    sys.stdout.write("\x1b[H\x1b[2J")  # clear, home: redraw in place
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
        finally:
            docker_api.close()

    run(loop)


def _stats_recorded(
    ctx: click.Context,
    record_path: str | None,
    record_format: str | None,
    interval: float | None,
    duration: float | None,
    plot_paths: tuple[str, ...],
    html_path: str | None,
    from_path: str | None,
    services: tuple[str, ...],
    no_stream: bool,
) -> None:
    """`stats --record/--plot/--html/--from`: record samples, draw them, or both."""
    from stack.api.stats_record import RecordWriter, Sample, read_record, record_format_for
    from stack.cli import stats_plot

    if no_stream:
        raise click.UsageError("--no-stream takes one reading; it does not go with --record, --plot, --html, --from")
    pictures = [*plot_paths, *([html_path] if html_path else [])]
    for path in plot_paths:
        stats_plot.picture_kind(path, "--plot")
        stats_plot.check_writable(path, "--plot")
    if html_path:
        if stats_plot.picture_kind(html_path, "--html") != "html":
            raise click.UsageError(f"--html {html_path}: name the report .html (or say --plot {html_path})")
        stats_plot.check_writable(html_path, "--html")
    if pictures:
        stats_plot.require_matplotlib("--plot" if plot_paths else "--html")

    if from_path is not None:
        for flag, value in (
            ("--record", record_path),
            ("--record-format", record_format),
            ("--interval", interval),
            ("--duration", duration),
        ):
            if value is not None:
                raise click.UsageError(f"{flag} records; it does not go with --from (which draws a recording)")
        if not pictures:
            raise click.UsageError("--from FILE draws a recording: say where, with --plot FILE or --html FILE")
        samples = read_record(from_path)
        if services:
            samples = [s for s in samples if s.service in services]
        for path in pictures:
            stats_plot.render(samples, path, title=f"stack stats: {from_path}")
            click.echo(f"wrote {path} ({len(samples)} samples)", err=True)
        return

    name = _project(ctx, services)
    every = interval or 1.0
    writer = RecordWriter(record_path, record_format_for(record_path, record_format)) if record_path else None
    kept: list[Sample] = []

    def on_samples(samples: list[Sample]) -> None:
        if writer is not None:
            writer.write(samples)
        if pictures:
            kept.extend(samples)

    def on_change(started: list[str], stopped: list[str]) -> None:
        for container in started:
            click.echo(f"recording {container}", err=True)
        for container in stopped:
            click.echo(f"stopped recording {container} (it is gone)", err=True)

    until = f"for {duration:g} s" if duration else "until Ctrl-C"
    target = f" to {record_path}" if record_path else ""
    click.echo(f"recording project {name} every {every:g} s {until}{target}", err=True)

    async def record() -> None:
        from stack.api.stats_record import record_stats_async

        await record_stats_async(
            name,
            list(services),
            on_samples=on_samples,
            on_change=on_change,
            interval=every,
            duration=duration,
        )

    try:
        run_until_signalled(record, on_signal=lambda: click.echo("stopping the recording", err=True))
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        click.echo(f"wrote {writer.rows} samples to {record_path}", err=True)
    for path in pictures:
        stats_plot.render(kept, path, title=f"stack stats: project {name}")
        click.echo(f"wrote {path} ({len(kept)} samples)", err=True)
