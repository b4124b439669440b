"""Load-test the running example with api=1 and then api=3, and draw one report.

For each number of API replicas (--replicas, default 1,3):
1. `stack stats --record` of the project's containers starts, every --interval seconds;
2. `stack scale --wait api=N`, then GET /api/whoami until N different replicas have answered;
3. Locust (loadtest/locustfile.py), headless: --users users for --seconds seconds, at most
   --max-requests requests, against the frontend on loopback;
4. the recording is stopped (Ctrl-C, as a user would), Locust's summary and replica counts read.

Then OUT/report.json, OUT/report.md and OUT/report.png: throughput, p50/p95/p99 latency and
failures per phase, beside each service's CPU and memory over time and the share of requests
each API replica served (from the X-Served-By header of every response).

Needs the example running (`stack --env-file local.env up --wait`) and the extra
`pip install 'stack[load]'` (Locust, matplotlib).  From the example's directory:

    python loadtest/run.py --env-file local.env --users 20 --seconds 30 --out loadtest/out

The stack stays at the last phase's replica count (`stack scale api=1` to go back).
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent
LOCUSTFILE = HERE / "locustfile.py"


class RecipeError(Exception):
    """A step of the recipe failed: one readable line, exit 1."""


@dataclass
class Phase:
    replicas: int
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    seconds: float = 0.0
    served_by: dict[str, int] = field(default_factory=dict)
    cpu_mean: dict[str, float] = field(default_factory=dict)  # service -> mean CPU % under load
    mem_mean_mib: dict[str, float] = field(default_factory=dict)
    record_file: str = ""
    load_start: str = ""
    load_end: str = ""
    # The whole machine while the load ran (100 = one core): every process, Locust's own
    # process, and so what neither the stack nor Locust used (other work on the machine).
    machine_cpu: float = 0.0
    locust_cpu: float = 0.0

    @property
    def api_shares(self) -> dict[str, float]:
        api = {h: n for h, n in self.served_by.items() if not h.startswith("(")}
        total = sum(api.values())
        return {h: n / total for h, n in sorted(api.items())} if total else {}


def loopback_only(url: str) -> None:
    """The load goes to this machine only."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise RecipeError(f"cannot resolve {host!r}: {exc}") from exc
    far = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if far:
        raise RecipeError(f"--host {url}: {host} is not a loopback address ({', '.join(far)}); load stays local")


def busy_and_total() -> tuple[float, float]:
    """The machine's busy and total CPU time since boot (Linux /proc/stat, in clock ticks)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


class Recipe:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out.resolve()
        self.stack_args = [sys.executable, "-m", "stack"]
        if args.project_name:
            self.stack_args += ["-p", args.project_name]
        if args.env_file:
            self.stack_args += ["--env-file", str(Path(args.env_file).resolve())]

    def log(self, message: str) -> None:
        print(f"[load] {message}", file=sys.stderr, flush=True)

    def stack(self, *args: str, timeout: float) -> str:
        done = subprocess.run(
            [*self.stack_args, *args], cwd=EXAMPLE, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RecipeError(f"stack {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr.strip()}")
        return done.stdout

    def whoami(self) -> str | None:
        try:
            with urllib.request.urlopen(self.args.host + "/api/whoami", timeout=3) as response:
                return str(json.loads(response.read())["hostname"])
        except (OSError, ValueError, KeyError):
            return None

    def wait_replicas(self, replicas: int, deadline_s: float = 60) -> set[str]:
        """Until `replicas` different API replicas have answered through the frontend."""
        seen: set[str] = set()
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            name = self.whoami()
            if name:
                seen.add(name)
                if len(seen) >= replicas:
                    return seen
            time.sleep(0.05)  # polling interval; the deadline bounds the wait
        raise RecipeError(f"only {len(seen)} of {replicas} API replicas answered within {deadline_s:g} s: {seen}")

    def wait_recorded(self, path: Path, replicas: int, recorder: subprocess.Popen[str], deadline_s: float = 30) -> None:
        """Until the recording's latest tick has every API replica, so that it covers the whole load."""
        deadline = time.monotonic() + deadline_s
        latest: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            if recorder.poll() is not None:
                raise RecipeError(f"stack stats --record ended early (exit {recorder.returncode})")
            if path.exists():
                with path.open(encoding="utf-8", newline="") as handle:
                    rows = list(csv.DictReader(handle))
                latest = [r for r in rows if rows and r["elapsed_s"] == rows[-1]["elapsed_s"]]
                if sum(1 for r in latest if r["service"] == "api") >= replicas:
                    return
            time.sleep(0.1)  # polling interval; the deadline bounds the wait
        seen = sorted(r["container"] for r in latest)
        raise RecipeError(f"the recording had not sampled {replicas} API replicas within {deadline_s:g} s: {seen}")

    def phase(self, replicas: int) -> Phase:
        args = self.args
        prefix = self.out / f"api{replicas}"
        record = prefix.with_name(f"api{replicas}-stats.csv")
        served = prefix.with_name(f"api{replicas}-summary.json")
        for stale in (record, served):
            stale.unlink(missing_ok=True)
        bound = args.seconds + 300  # the recording stops itself even if this script dies
        every = ["--interval", str(args.interval), "--duration", str(bound)]
        recorder = subprocess.Popen(
            [*self.stack_args, "stats", "--record", str(record), *every],
            cwd=EXAMPLE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The recording starts first and follows the replicas as they come (and is ready by
            # the time they are): the load's CPU and memory are averaged over the load alone.
            self.log(f"api={replicas}: scaling")
            self.stack("scale", "--wait", "--wait-timeout", "180", f"api={replicas}", timeout=300)
            seen = self.wait_replicas(replicas)
            self.log(f"api={replicas}: replicas answering: {', '.join(sorted(seen))}")
            self.wait_recorded(record, replicas, recorder)
            self.log(f"api={replicas}: {args.users} users for {args.seconds} s (at most {args.max_requests} requests)")
            load_start = datetime.now().astimezone()
            machine_before, children_before = busy_and_total(), resource.getrusage(resource.RUSAGE_CHILDREN)
            bounds = ["-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s"]
            bounds += ["--max-requests", str(args.max_requests), "--stop-timeout", "5"]
            outputs = ["--csv", str(prefix), "--summary-file", str(served), "--only-summary", "--loglevel", "WARNING"]
            outputs += ["--exit-code-on-error", "0"]  # failures are counted in the report
            locust_cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
            locust = subprocess.run(
                [*locust_cmd, "--headless", "--host", args.host, *bounds, *outputs],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=args.seconds + 120,
                check=False,
            )
            load_end = datetime.now().astimezone()
            machine_after, children_after = busy_and_total(), resource.getrusage(resource.RUSAGE_CHILDREN)
            if locust.returncode != 0:
                raise RecipeError(f"locust failed (exit {locust.returncode}):\n{locust.stderr.strip()[-2000:]}")
            time.sleep(args.interval)  # one more sample after the load: the recording's tail, not a wait
        finally:
            if recorder.poll() is None:
                recorder.send_signal(signal.SIGINT)  # Ctrl-C: the recording ends cleanly
            try:
                _, err = recorder.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                _, err = recorder.communicate(timeout=10)
        if recorder.returncode != 0:
            raise RecipeError(f"stack stats --record failed (exit {recorder.returncode}):\n{err.strip()}")
        result = Phase(replicas, record_file=record.name)
        result.load_start, result.load_end = load_start.isoformat(), load_end.isoformat()
        read_summary(served, result)
        usage_means(record, load_start, load_end, result)
        wall = (load_end - load_start).total_seconds()
        busy, total = machine_after[0] - machine_before[0], machine_after[1] - machine_before[1]
        cores = os.cpu_count() or 1
        result.machine_cpu = round(busy / total * cores * 100, 1) if total > 0 else 0.0
        locust_seconds = (children_after.ru_utime + children_after.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        result.locust_cpu = round(locust_seconds / wall * 100, 1) if wall > 0 else 0.0
        self.log(
            f"api={replicas}: {result.requests} requests, {result.failures} failed, {result.rps:.1f} req/s,"
            f" p50 {result.p50_ms:g} ms, p95 {result.p95_ms:g} ms, p99 {result.p99_ms:g} ms;"
            f" shares {', '.join(f'{h} {s:.0%}' for h, s in result.api_shares.items())};"
            f" CPU: machine {result.machine_cpu:.0f} %, Locust {result.locust_cpu:.0f} %,"
            f" stack {sum(result.cpu_mean.values()):.0f} %"
        )
        return result

    def run(self) -> list[Phase]:
        self.out.mkdir(parents=True, exist_ok=True)
        loopback_only(self.args.host)
        return [self.phase(n) for n in self.args.replicas]


def read_summary(path: Path, phase: Phase) -> None:
    """Requests, failures, throughput, percentiles and replica counts (the locustfile's summary)."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecipeError(f"no summary from Locust in {path}: {exc}") from exc
    phase.requests, phase.failures = int(summary["requests"]), int(summary["failures"])
    phase.rps, phase.seconds = round(float(summary["rps"]), 2), round(float(summary["seconds"]), 2)
    phase.p50_ms, phase.p95_ms, phase.p99_ms = (float(summary[k] or 0) for k in ("p50_ms", "p95_ms", "p99_ms"))
    phase.served_by = {str(k): int(v) for k, v in summary["served_by"].items()}


def usage_means(record: Path, start: datetime, end: datetime, phase: Phase) -> None:
    """Mean CPU % and memory per service (summed over its containers) while the load ran."""
    from stack.api.stats_record import read_record
    from stack.cli.stats_plot import by_service

    samples = [s for s in read_record(record) if start <= datetime.fromisoformat(s.time) <= end]
    for service, series in by_service(samples).items():
        phase.cpu_mean[service] = round(series.cpu_mean, 1)
        phase.mem_mean_mib[service] = round(series.mem_mean, 1)


def write_report(out: Path, phases: list[Phase], args: argparse.Namespace) -> Path:
    """report.json, report.md and the one picture, report.png."""
    meta = {
        "users": args.users,
        "seconds_per_phase": args.seconds,
        "max_requests": args.max_requests,
        "host": args.host,
        "cpus": os.cpu_count(),
    }
    report = {"settings": meta, "phases": [{**asdict(p), "api_shares": p.api_shares} for p in phases]}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Load test: {args.users} users, {args.seconds} s per phase, on {os.cpu_count()} CPUs",
        "",
        "| api replicas | requests | failures | req/s | p50 ms | p95 ms | p99 ms | shares per replica |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in phases:
        shares = ", ".join(f"{h} {s:.0%}" for h, s in p.api_shares.items())
        lines.append(
            f"| {p.replicas} | {p.requests} | {p.failures} | {p.rps:.1f} | {p.p50_ms:g} | {p.p95_ms:g}"
            f" | {p.p99_ms:g} | {shares} |"
        )
    lines += ["", "| api replicas | service | mean CPU % | mean memory MiB |", "| --- | --- | --- | --- |"]
    for p in phases:
        for service in sorted(p.cpu_mean):
            lines.append(f"| {p.replicas} | {service} | {p.cpu_mean[service]:.1f} | {p.mem_mean_mib[service]:.1f} |")
        lines.append(f"| {p.replicas} | (Locust) | {p.locust_cpu:.1f} | |")
        lines.append(f"| {p.replicas} | (whole machine) | {p.machine_cpu:.1f} | |")
    lines += ["", "CPU %: 100 = one core; the whole machine counts every process (Locust, other work too)."]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    picture = out / "report.png"
    draw(picture, phases, out, args)
    return picture


def draw(path: Path, phases: list[Phase], out: Path, args: argparse.Namespace) -> None:
    from matplotlib.figure import Figure

    from stack.api.stats_record import read_record
    from stack.cli.stats_plot import by_service

    labels = [f"api={p.replicas}" for p in phases]
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    figure = Figure(figsize=(15, 9), layout="constrained")
    grid = figure.subplots(2, 3)
    figure.suptitle(
        f"flask-api-db under load: {args.users} users, {args.seconds} s per phase, {os.cpu_count()} CPUs"
        " (load generator on the same machine)"
    )

    throughput = grid[0][0]
    bars = throughput.bar(labels, [p.rps for p in phases], color=colors[: len(phases)])
    for bar, p in zip(bars, phases, strict=True):
        throughput.annotate(
            f"{p.rps:.0f} req/s\n{p.requests} requests\n{p.failures} failed",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize="small",
        )
    throughput.set_title("throughput")
    throughput.set_ylabel("requests / s")
    throughput.set_ylim(0, max([p.rps for p in phases] + [1]) * 1.35)

    latency = grid[0][1]
    width = 0.8 / max(len(phases), 1)
    for i, p in enumerate(phases):
        xs = [k + (i - (len(phases) - 1) / 2) * width for k in range(3)]
        values = [p.p50_ms, p.p95_ms, p.p99_ms]
        latency.bar(xs, values, width, label=labels[i], color=colors[i % len(colors)])
        for x, v in zip(xs, values, strict=True):
            latency.annotate(f"{v:g}", (x, v), ha="center", va="bottom", fontsize="x-small")
    latency.set_xticks(range(3), ["p50", "p95", "p99"])
    latency.set_title("latency (all requests)")
    latency.set_ylabel("ms")
    latency.legend(fontsize="small")

    shares = grid[0][2]
    for i, p in enumerate(phases):
        bottom = 0.0
        for j, (host, share) in enumerate(p.api_shares.items()):
            shares.bar(i, share * 100, bottom=bottom, color=colors[j % len(colors)], edgecolor="white")
            shares.annotate(
                f"{host}\n{share:.0%}", (i, bottom + share * 50), ha="center", va="center", fontsize="x-small"
            )
            bottom += share * 100
    shares.set_xticks(range(len(phases)), labels)
    shares.set_ylim(0, 100)
    shares.set_title("requests served per API replica (X-Served-By)")
    shares.set_ylabel("% of requests")

    cpu, mem, means = grid[1][0], grid[1][1], grid[1][2]
    styles = ["-", "--", ":", "-."]
    services: list[str] = sorted({s for p in phases for s in p.cpu_mean})
    service_color = {s: colors[k % len(colors)] for k, s in enumerate(services)}
    for i, p in enumerate(phases):
        start = datetime.fromisoformat(p.load_start)
        samples = read_record(out / p.record_file)
        for service, series in by_service(samples).items():
            t0 = (datetime.fromisoformat(samples[0].time) - start).total_seconds() - samples[0].elapsed_s
            # From the tick just before the load (the recording began with the scaling).
            kept = [(e + t0, c, m) for e, c, m in zip(series.elapsed, series.cpu, series.mem_mib, strict=True)]
            kept = [k for k in kept if k[0] >= -0.5]
            style = {"color": service_color.get(service, "grey"), "linestyle": styles[i % len(styles)]}
            xs = [k[0] for k in kept]
            cpu.plot(xs, [k[1] for k in kept], label=f"{service} ({labels[i]})", **style)
            mem.plot(xs, [k[2] for k in kept], label=f"{service} ({labels[i]})", **style)
    cpu.set_title("CPU per service (sum over its containers)")
    cpu.set_ylabel("CPU % (100 = one core)")
    mem.set_title("memory per service")
    mem.set_ylabel("MiB")
    for axes in (cpu, mem):
        axes.set_xlabel("seconds since the load started")
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="x-small", ncol=2)

    width = 0.8 / max(len(phases), 1)
    groups = [*services, "Locust", "machine"]
    for i, p in enumerate(phases):
        xs = [k + (i - (len(phases) - 1) / 2) * width for k in range(len(groups))]
        values = [p.cpu_mean.get(s, 0.0) for s in services] + [p.locust_cpu, p.machine_cpu]
        means.bar(xs, values, width, label=labels[i], color=colors[i % len(colors)])
        for x, v in zip(xs, values, strict=True):
            means.annotate(f"{v:.0f}", (x, v), ha="center", va="bottom", fontsize="x-small")
    means.set_xticks(range(len(groups)), groups)
    means.set_title("mean CPU under load (machine: every process)")
    means.set_ylabel("CPU %")
    means.legend(fontsize="small")
    figure.savefig(str(path), dpi=100)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    port = os.environ.get("FRONTEND_PORT", "8080")
    parser.add_argument("--host", default=f"http://127.0.0.1:{port}", help="The frontend (loopback only).")
    parser.add_argument("-p", "--project-name", default="", help="stack's -p, when the stack runs under another name.")
    parser.add_argument("--env-file", default="", help="stack's --env-file (local.env for the local images).")
    parser.add_argument("--replicas", default="1,3", help="API replica counts, one phase each (default 1,3).")
    parser.add_argument("-u", "--users", type=int, default=20, help="Concurrent simulated users (default 20).")
    parser.add_argument("-r", "--spawn-rate", type=float, default=10, help="Users started per second (default 10).")
    parser.add_argument("-t", "--seconds", type=int, default=30, help="Seconds of load per phase (default 30).")
    parser.add_argument("--max-requests", type=int, default=100_000, help="Requests per phase at most.")
    parser.add_argument("--interval", type=float, default=1.0, help="Seconds between stats samples (default 1).")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="Report directory (default loadtest/out).")
    args = parser.parse_args(argv)
    try:
        args.replicas = [int(n) for n in str(args.replicas).split(",") if n.strip()]
    except ValueError:
        parser.error(f"--replicas {args.replicas}: comma-separated numbers, e.g. 1,3")
    for name in ("users", "seconds", "max_requests"):
        if getattr(args, name) < 1 or (name == "replicas" and min(args.replicas) < 1):
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.replicas or min(args.replicas) < 1:
        parser.error("--replicas: at least one phase, each with at least one replica")
    args.host = args.host.rstrip("/")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        import locust  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as exc:
        print(f"error: {exc.name} is missing: pip install 'stack[load]'", file=sys.stderr)
        return 1
    try:
        phases = Recipe(args).run()
        picture = write_report(args.out.resolve(), phases, args)
    except (RecipeError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {picture} (and report.json, report.md beside it)")
    print((args.out / "report.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
