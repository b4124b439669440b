"""Pictures of a stats recording (`stack stats --plot FILE.png`, `--html FILE.html`): CPU and
memory per service over time.

A service's value at a tick is the sum over its containers (three replicas at 40 % each: 120 %,
100 % being one core), so a scaled service reads as the load it puts on the machine.  Rendering
needs matplotlib, from the optional extra `stack[load]`; it is imported only here, and only
when a picture is asked for, so the rest of the CLI runs without it.
"""

from __future__ import annotations

import html
import importlib.util
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stack.api.stats_record import Sample
from stack.errors import StackError, UsageError

PICTURE_KINDS = {".png": "png", ".svg": "svg", ".html": "html", ".htm": "html"}
EXTRA_HINT = "install the optional extra: pip install 'stack[load]' (or pip install matplotlib)"
MIB = 1024.0 * 1024.0


class MissingExtraError(StackError):
    """A feature needs a package of an optional extra that is not installed."""


def picture_kind(path: str | Path, flag: str) -> str:
    """png, svg or html, by the file's extension."""
    kind = PICTURE_KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise UsageError(
            f"{flag} {path}: cannot tell the picture's format from its extension",
            hint="name it .png, .svg or .html",
        )
    return kind


def require_matplotlib(flag: str) -> None:
    """A readable error, naming the extra, when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingExtraError(f"{flag} needs matplotlib, which is not installed", hint=EXTRA_HINT)


def check_writable(path: str | Path, flag: str) -> None:
    """Fail before a recording starts, not after it, when the picture cannot be written."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: the directory {str(parent)!r} does not exist")
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a directory")


@dataclass
class ServiceSeries:
    """One service over time: the summed CPU % and memory (MiB) of its containers per tick."""

    service: str
    elapsed: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    mem_mib: list[float] = field(default_factory=list)
    containers: set[str] = field(default_factory=set)

    @property
    def cpu_mean(self) -> float:
        return sum(self.cpu) / len(self.cpu) if self.cpu else 0.0

    @property
    def mem_mean(self) -> float:
        return sum(self.mem_mib) / len(self.mem_mib) if self.mem_mib else 0.0


def by_service(samples: Sequence[Sample]) -> dict[str, ServiceSeries]:
    """Per service, per tick (samples of one tick share their `elapsed_s`): sums over containers."""
    ticks: dict[tuple[str, float], list[Sample]] = {}
    for s in samples:
        ticks.setdefault((s.service, s.elapsed_s), []).append(s)
    series: dict[str, ServiceSeries] = {}
    for (service, elapsed), group in sorted(ticks.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        one = series.setdefault(service, ServiceSeries(service))
        one.elapsed.append(elapsed)
        one.cpu.append(sum(s.cpu_percent for s in group))
        one.mem_mib.append(sum(s.mem_bytes for s in group) / MIB)
        one.containers.update(s.container for s in group)
    return dict(sorted(series.items()))


def draw_usage(cpu_axes: Any, mem_axes: Any, series: dict[str, ServiceSeries], *, suffix: str = "") -> None:
    """CPU and memory lines of each service on two matplotlib axes (shared by the load report)."""
    for one in series.values():
        label = f"{one.service}{suffix} ({len(one.containers)})"
        cpu_axes.plot(one.elapsed, one.cpu, label=label, linewidth=1.4)
        mem_axes.plot(one.elapsed, one.mem_mib, label=label, linewidth=1.4)
    cpu_axes.set_ylabel("CPU % (100 = one core)")
    mem_axes.set_ylabel("memory (MiB)")
    for axes in (cpu_axes, mem_axes):
        axes.set_xlabel("seconds")
        axes.grid(True, alpha=0.3)
        axes.set_ylim(bottom=0)
        if series:
            axes.legend(fontsize="small", title="service (containers)", title_fontsize="small")


def _figure(samples: Sequence[Sample], title: str) -> Any:
    from matplotlib.figure import Figure

    series = by_service(samples)
    figure = Figure(figsize=(10, 7), layout="constrained")
    cpu_axes, mem_axes = figure.subplots(2, 1, sharex=True)
    draw_usage(cpu_axes, mem_axes, series)
    cpu_axes.set_title("CPU per service")
    mem_axes.set_title("memory per service")
    figure.suptitle(title)
    if not samples:
        cpu_axes.text(0.5, 0.5, "no samples", ha="center", va="center", transform=cpu_axes.transAxes)
    return figure


def _title(samples: Sequence[Sample], title: str | None) -> str:
    if title:
        return title
    if not samples:
        return "stack stats"
    return f"stack stats, from {samples[0].time}"


def _html(samples: Sequence[Sample], svg: str, title: str) -> str:
    series = by_service(samples)
    rows = "\n".join(
        f"<tr><td>{html.escape(s.service)}</td><td>{len(s.containers)}</td>"
        f"<td>{s.cpu_mean:.1f}</td><td>{max(s.cpu, default=0):.1f}</td>"
        f"<td>{s.mem_mean:.1f}</td><td>{max(s.mem_mib, default=0):.1f}</td></tr>"
        for s in series.values()
    )
    span = f"{samples[0].time} to {samples[-1].time}" if samples else "no samples"
    made = datetime.now(UTC).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.chart svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(span)}: {len(samples)} samples of {len({s.container for s in samples})} containers.
A service's value is the sum over its containers; 100 % CPU is one core.</p>
<table>
<tr><th>service</th><th>containers</th><th>CPU % mean</th><th>CPU % max</th>
<th>memory MiB mean</th><th>memory MiB max</th></tr>
{rows}
</table>
<div class="chart">
{svg}
</div>
<p><small>made by stack stats, {made}</small></p>
</body>
</html>
"""


def render(samples: Sequence[Sample], path: str | Path, *, title: str | None = None) -> None:
    """Write the picture of `samples` to `path`: PNG, SVG, or a self-contained HTML report
    (the chart inlined as SVG, and a table of each service's mean and peak)."""
    kind = picture_kind(path, "--plot")
    require_matplotlib("--plot" if kind != "html" else "--html")
    heading = _title(samples, title)
    figure = _figure(samples, heading)
    try:
        if kind == "html":
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg")
            svg = buffer.getvalue()
            svg = svg[svg.find("<svg") :]  # drop the XML prolog and doctype: inlined in HTML
            Path(path).write_text(_html(samples, svg, heading), encoding="utf-8")
        else:
            figure.savefig(str(path), format=kind, dpi=110)
    except OSError as exc:
        raise StackError(f"cannot write {path}: {exc.strerror or exc}") from exc
