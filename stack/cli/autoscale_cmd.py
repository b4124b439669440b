"""`stack autoscale [SERVICE...]`: keep services between their `x-autoscale` min and max replicas,
in the foreground, until Ctrl-C (exit 130; the replicas are left as they are).

Every decision is reported with the metric values behind it: on a terminal the latest one per
service is a live line at the bottom and each scaling (and what it did) a line above it; in a
pipe or a log, one plain line per decision.  `--log FILE` also writes every decision as a JSON
line (time, service, action, counts, reason, metrics).
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, TYPE_CHECKING, Any

import click

from stack.cli.common import check_services, global_options, load, run_until_signalled, warn

if TYPE_CHECKING:
    from rich.live import Live

    from stack.api.autoscale import AutoscaleOutput
    from stack.plan.autoscale import Decision

INTERRUPTED = 130


class DecisionPrinter:
    """Shows the autoscaler's decisions: a live line per service on a terminal, plain lines off one."""

    def __init__(self, *, live: bool | None = None, log: IO[str] | None = None) -> None:
        self.live_mode = sys.stderr.isatty() if live is None else live
        self.log = log
        self.latest: dict[str, str] = {}
        self._live: Live | None = None

    def __enter__(self) -> DecisionPrinter:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=sys.stderr), refresh_per_second=4, get_renderable=self.render)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def render(self) -> Any:
        from rich.text import Text

        return Text("\n".join(self.latest[s] for s in sorted(self.latest)), style="bold")

    def line(self, text: str) -> None:
        """A line that stays (above the live line on a terminal)."""
        if self._live is not None:
            self._live.console.print(text, highlight=False, markup=False)
        else:
            click.echo(text, err=True)

    def decision(self, decision: Decision) -> None:
        stamp = time.strftime("%H:%M:%S")
        text = f"{stamp} {decision.describe()}"
        if self.log is not None:
            self.log.write(json.dumps({"time": time.time(), **decision.as_json()}) + "\n")
            self.log.flush()
        if self._live is None:
            click.echo(text, err=True)
            return
        self.latest[decision.service] = text
        if decision.action != "hold":
            self.line(text)
        self._live.refresh()

    def output(self) -> AutoscaleOutput:
        from stack.api.autoscale import AutoscaleOutput

        return AutoscaleOutput(decision=self.decision, notice=self.line, warn=self.warning)

    def warning(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(f"warning: {text}", highlight=False, markup=False, style="yellow")
        else:
            warn(text)


@click.command()
@click.option(
    "--log", "log_file", type=click.Path(dir_okay=False, writable=True), help="Append every decision as JSON lines."
)
@click.argument("services", nargs=-1)
@click.pass_context
def autoscale(ctx: click.Context, log_file: str | None, services: tuple[str, ...]) -> None:
    """Scale services between their x-autoscale min and max replicas on CPU (or request rate).

    Runs in the foreground and reports every decision with the metrics behind it.  Scale-up
    waits for the new replicas to be healthy; scale-down drains the newest replicas first.
    Ctrl-C stops it and leaves the replicas as they are.
    """
    from stack.api.autoscale import AutoscaleOptions, autoscale_async, check_autoscalable
    from stack.engine.docker_api import DockerAPI

    project = load(ctx, list(services))
    check_services(project, list(services))
    check_autoscalable(project, list(services))
    opts = global_options(ctx)
    log = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115 (closed below)

    async def scaling() -> None:
        docker = DockerAPI.from_env()
        try:
            with DecisionPrinter(log=log) as printer:
                await autoscale_async(
                    project,
                    AutoscaleOptions(services=list(services)),
                    output=printer.output(),
                    api=docker,
                    lock=opts.lock_policy(),
                )
        finally:
            docker.close()

    try:
        interrupted = run_until_signalled(scaling)
    finally:
        if log is not None:
            log.close()
    if interrupted:
        click.echo("Autoscaling stopped; the replicas are left as they are", err=True)
        sys.exit(INTERRUPTED)
