"""`autoscale`: keep services between their `x-autoscale` min and max replicas, until cancelled.

One loop per service, every `interval`: read the ready replicas' metrics (stack.engine.autoscale),
decide (stack.plan.autoscale, pure), act, and report the decision with the values behind it.

* Scale-up creates the new replicas with `up` (the reconciler numbers and configures them), then
  starts each out of the service's DNS and lets it in once healthy (or running, without a
  healthcheck) (stack.engine.drain): no request reaches a replica before it is ready, and only
  ready replicas are counted by the next decision.
* Scale-down drains the newest replicas first (stack.engine.drain): out of the service's DNS,
  their in-flight requests finished, then stopped and removed, under the project's lock.

Cancelling (Ctrl-C) leaves the replicas as they are: a drain not yet finished puts its replica
back in the DNS, a replica not yet ready (never in the DNS, it served nothing) is removed, an alias
swap or a drained replica's removal under way is finished first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio

from stack.api.converge import up_async
from stack.api.session import blocking, session
from stack.engine.autoscale import CpuMeter, LogRate, is_ready, newest_first, service_replicas
from stack.engine.docker_api import DockerAPI
from stack.engine.drain import DrainReport, drain_and_remove, start_when_ready
from stack.engine.lock import LockPolicy
from stack.engine.progress import ProgressSink, null_sink
from stack.engine.taskgroups import unwrapped
from stack.errors import StackError, UsageError
from stack.plan.autoscale import Autoscaler, Decision, Sample
from stack.plan.options import UpOptions
from stack.spec.autoscale import AutoscalePolicy, autoscale_policy
from stack.spec.models import Project
from stack.spec.units import duration_seconds

# How long a scale-up waits for its new replicas to be ready before it reports a failure.
READY_TIMEOUT = 120.0


def _quiet(text: str) -> None:
    """Discard a notice (library use)."""


def _ignore(decision: Decision) -> None:
    """Discard a decision (library use)."""


@dataclass(frozen=True)
class AutoscaleOutput:
    """Where `autoscale` reports: every decision (with its metrics), what it does, warnings."""

    decision: Callable[[Decision], None] = _ignore
    notice: Callable[[str], None] = _quiet
    warn: Callable[[str], None] = _quiet
    progress: ProgressSink = null_sink


@dataclass
class AutoscaleOptions:
    services: list[str] = field(default_factory=list)  # empty: every service with x-autoscale
    ready_timeout: float = READY_TIMEOUT


def check_autoscalable(project: Project, services: Sequence[str] = ()) -> dict[str, AutoscalePolicy]:
    """The policies of the selected services (all when empty) that have `x-autoscale`; a
    UsageError when none has, or a named service has none."""
    policies: dict[str, AutoscalePolicy] = {}
    for name in services or sorted(project.services):
        service = project.services.get(name)
        policy = autoscale_policy(service) if service is not None else None
        if policy is not None:
            policies[name] = policy
        elif services:
            raise UsageError(
                f"service {name} has no x-autoscale section",
                hint="add `x-autoscale: {min: 1, max: 4, cpu: 50%}` to the service",
            )
    if not policies:
        raise UsageError(
            "no service of the stack has an x-autoscale section",
            hint="add `x-autoscale: {min: 1, max: 4, cpu: 50%}` to a service (see README, Autoscaling)",
        )
    return policies


async def autoscale_async(
    project: Project,
    options: AutoscaleOptions | None = None,
    *,
    output: AutoscaleOutput | None = None,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> None:
    """Autoscale the services until cancelled.  Raises UsageError at once when none can be."""
    options = options or AutoscaleOptions()
    policies = check_autoscalable(project, options.services)
    out = output or AutoscaleOutput()
    # One network change at a time across the services (stack.engine.drain): a start or a swap
    # takes the lowest free address, and must not take the one a swapping replica gets back.
    swaps = anyio.Lock()
    async with session(api) as docker:
        with unwrapped():
            async with anyio.create_task_group() as tg:
                for name, policy in policies.items():
                    tg.start_soon(_ServiceLoop(docker, project, name, policy, out, lock, options, swaps).run)


autoscale = blocking(autoscale_async)


class _ServiceLoop:
    def __init__(
        self,
        api: DockerAPI,
        project: Project,
        service: str,
        policy: AutoscalePolicy,
        out: AutoscaleOutput,
        lock: LockPolicy | None,
        options: AutoscaleOptions,
        swaps: anyio.Lock,
    ) -> None:
        self.swaps = swaps
        self.api = api
        self.project = project
        self.service = service
        self.policy = policy
        self.out = out
        self.lock = lock
        self.options = options
        self.scaler = Autoscaler(service, policy)
        self.cpu = CpuMeter()
        self.rate = LogRate(policy.requests.pattern()) if policy.requests is not None else None

    async def run(self) -> None:
        p = self.policy
        metrics = ", ".join(
            m
            for m in (
                f"cpu {p.cpu:g}%" if p.cpu is not None else "",
                f"{p.requests.target:g} req/s per replica" if p.requests is not None else "",
            )
            if m
        )
        self.out.notice(f"Autoscaling {self.service}: {p.min}..{p.max} replicas on {metrics}, every {p.interval:g}s")
        while True:
            tick = time.monotonic()
            try:
                await self.step()
            except StackError as error:  # reported; the next interval tries again
                self.out.warn(f"service {self.service}: {error.render()}")
            # The sampling schedule (not a synchronisation): the next decision one interval on.
            await anyio.sleep(max(0.0, tick + p.interval - time.monotonic()))

    async def sample(self) -> tuple[Sample, int]:
        """The metrics of the ready replicas now; and how many replicas there are in all."""
        replicas = await service_replicas(self.api, self.project.name, self.service)
        ready = [c for c in replicas if is_ready(c)]
        cpu = await self.cpu.read(self.api, ready) if self.policy.cpu is not None else ()
        requests = await self.rate.read(self.api, ready) if self.rate is not None else None
        return Sample(at=time.monotonic(), replicas=len(ready), cpu=cpu, requests=requests), len(replicas)

    async def step(self) -> None:
        sample, total = await self.sample()
        decision = self.scaler.decide(sample)
        self.out.decision(decision)
        if decision.action == "hold":
            return
        try:
            if decision.action == "up":
                await self.scale_up(decision.desired)
            else:
                # Replicas not ready yet were not counted: they go first, being the newest.
                await self.scale_down(total - decision.desired)
        finally:
            self.scaler.scaled(time.monotonic())  # a failed attempt is not retried before the cooldown

    async def scale_up(self, desired: int) -> None:
        """Create the new replicas with `up` (not started), then start each out of the DNS and
        let it in once ready (stack.engine.drain.start_when_ready)."""
        began = time.monotonic()
        options = UpOptions(
            services=[self.service],
            scale={self.service: desired},
            no_deps=True,
            no_recreate=True,  # the replicas that run stay as they are
            no_start=True,
            build="never",
        )
        await up_async(self.project, options, progress=self.out.progress, api=self.api, lock=self.lock)
        async with session(self.api, writes=self.project.name, command="autoscale", lock=self.lock):
            replicas = await service_replicas(self.api, self.project.name, self.service)
            created = [c for c in replicas if c.state == "created"]

            async def bring_in(container_id: str, name: str) -> None:
                seconds = await start_when_ready(
                    self.api, container_id, name, timeout=self.options.ready_timeout, swaps=self.swaps
                )
                self.out.notice(f"{self.service}: {name} ready after {seconds:.1f}s, now in the DNS")

            with unwrapped():
                async with anyio.create_task_group() as tg:
                    for container in created:
                        tg.start_soon(bring_in, container.id, container.name)
        self.out.notice(f"{self.service}: {desired} replicas ready after {time.monotonic() - began:.1f}s")

    async def scale_down(self, count: int) -> None:
        if count <= 0:
            return
        began = time.monotonic()
        svc = self.project.services[self.service]
        grace = int(duration_seconds(svc.stop_grace_period)) if svc.stop_grace_period else None
        async with session(self.api, writes=self.project.name, command="autoscale", lock=self.lock):
            replicas = await service_replicas(self.api, self.project.name, self.service)
            going = newest_first(replicas, min(count, max(0, len(replicas) - self.policy.min)))
            reports: list[DrainReport] = []

            async def drain(container_id: str, name: str) -> None:
                self.out.notice(f"{self.service}: draining {name}")
                reports.append(
                    await drain_and_remove(
                        self.api,
                        container_id,
                        name,
                        timeout=self.policy.drain_timeout,
                        quiet=self.policy.drain_quiet,
                        stop_timeout=grace,
                        swaps=self.swaps,
                    )
                )

            with unwrapped():
                async with anyio.create_task_group() as tg:
                    for container in going:
                        tg.start_soon(drain, container.id, container.name)
        for report in reports:
            self.out.notice(f"{self.service}: removed {report.describe()}")
        left = len(replicas) - len(going)
        self.out.notice(f"{self.service}: {left} replicas after {time.monotonic() - began:.1f}s")
