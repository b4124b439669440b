"""Rolling replacement of a service's outdated replicas (`deploy.update_config`), as plan nodes.

The reconciler hands a service's outdated replicas here when the service has an update_config;
without one they are all replaced at once, as Compose does (`_UpPlanner._replace`).

One batch (`parallelism` replicas) at a time; for each replica of the batch:

    start-first:  create new (temporary name, the service's aliases) -> connect -> start new
                  -> MonitorReplicas (healthy, then stable for `monitor`)
                  -> stop old -> remove old (or keep it, stopped, for a rollback) -> rename new
    stop-first:   create new -> connect -> stop old -> start new -> MonitorReplicas -> ...same

and `delay` before the next batch.  The old replica leaves the service's DNS name when it stops:
Docker has no way to take a running container's name out of its DNS but to disconnect it, which
would cut the requests it is serving; a SIGTERM lets a well-behaved server stop accepting and
finish them (its stop_grace_period), and clients retry on the replicas that remain.

A failing MonitorReplicas (or the start of a new replica) arms its compensating nodes
(`Node.if_failed`): with `failure_action: rollback` or `pause` the batch's new replicas are
removed and, stop-first, the old ones started again; with `rollback` the replicas of the earlier
batches are then put back too, batch by batch, as `deploy.rollback_config` says.  That is why,
with `rollback`, an old replica is kept (stopped, renamed) until the whole update has passed.
With `continue` (or while failures stay within `max_failure_ratio`), the update goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stack.plan.expectations import healthcheck_state
from stack.plan.naming import previous_container_name, service_container_name, temporary_container_name
from stack.plan.observed import ObservedContainer
from stack.plan.plan import Op
from stack.spec.models import Service
from stack.spec.update_policy import UpdatePolicy, rollback_policy

if TYPE_CHECKING:
    from stack.plan.reconcile import _ServiceState, _UpPlanner

# Bound of a gate whose service has no healthcheck: the new replica only has to run.
_START_BOUND = 60.0
# How the causes of the nodes begin (the CLI's progress shows the steps by them).
UPDATE_CAUSE = "rolling update"  # a step forward
FINISHED_CAUSE = "rolling update done"  # removal of the old replicas kept for a rollback
UNDO_CAUSES = ("update failed", "rollback")  # compensation
TAKES_NAME = "the new replica takes the name"  # the step that completes a replica's update


@dataclass
class _Swap:
    """One replica being replaced: its old container, and the new one's names and nodes."""

    number: int
    old: ObservedContainer
    final: str  # the replica's name, which the new container takes at the end
    temp: str  # the new container's name until then
    previous: str  # the old container's name while it is kept for a rollback
    create: int
    start: int
    old_was_running: bool

    @property
    def resource(self) -> str:
        return f"service:{self.old.service}:{self.number}"


class Rollout:
    """Plans the rolling update of one service into the planner's plan."""

    def __init__(
        self,
        planner: _UpPlanner,
        name: str,
        svc: Service,
        policy: UpdatePolicy,
        config_hash: str,
        ref: str,
        state: _ServiceState,
    ) -> None:
        self.planner = planner
        self.plan = planner.plan
        self.name = name
        self.svc = svc
        self.policy = policy
        self.config_hash = config_hash
        self.ref = ref
        self.state = state
        self.keep_old = policy.failure_action == "rollback"

    def run(
        self,
        outdated: list[tuple[ObservedContainer, str]],
        create_deps: list[int],
        renamed_after: dict[int, list[int]],
    ) -> None:
        """Plan the batches.  `renamed_after`: per replica number, the removals of duplicates that
        must come first (one may hold the temporary name)."""
        outdated = sorted(outdated, key=lambda item: item[0].number)
        policy = self.policy
        batches = policy.batches(len(outdated))
        tolerate = policy.tolerated(len(outdated))
        replaced: list[_Swap] = []
        after: list[int] = []  # the nodes that end the previous batch
        ends: list[int] = []
        for index, members in enumerate(batches, 1):
            label = f"{UPDATE_CAUSE} {index}/{len(batches)}, {policy.order}"
            swaps = []
            for i in members:
                old, why = outdated[i]
                deps = [*create_deps, *after, *renamed_after.get(old.number, [])]
                swaps.append(self._begin(old, f"{label}: {why}", deps))
            gate = self._gate(
                swaps, policy, label, [s.start for s in swaps], purpose="update", tolerate=tolerate, replaced=True
            )
            ends = [self._finish(swap, gate, label) for swap in swaps]
            if policy.failure_action != "continue":
                triggers = [gate, *(s.start for s in swaps)]
                undone = self._undo_batch(swaps, triggers)
                if self.keep_old and replaced:
                    self._roll_back(replaced, triggers, undone)
            replaced += swaps
            after = ends
            if policy.delay > 0 and index < len(batches):
                delay = self.plan.add(
                    Op.DELAY,
                    f"service:{self.name}",
                    f"update_config.delay {policy.delay:g}s before the next batch",
                    ends,
                    service=self.name,
                    seconds=policy.delay,
                )
                after = [delay.id]
        finished = ends
        if self.keep_old:
            # The update passed: the old replicas kept for a rollback go.
            for swap in replaced:
                self.plan.add(
                    Op.REMOVE_CONTAINER,
                    swap.resource,
                    f"{FINISHED_CAUSE}: remove the previous replica",
                    finished,
                    service=self.name,
                    number=swap.number,
                    container=swap.previous,
                    container_id=swap.old.id,
                    remove_volumes=False,
                )
        for swap in replaced:
            self.state.replicas[swap.number] = swap.final
        self.state.recreated = True
        self.state.running = True

    # ---- forward ----------------------------------------------------------------------------

    def _begin(self, old: ObservedContainer, cause: str, deps: list[int]) -> _Swap:
        """Create the new replica beside the old one and start it (stop-first: the old one is
        stopped just before)."""
        p = self.planner
        number = old.number
        final = service_container_name(p.project.name, self.name, self.svc, number)
        temp = temporary_container_name(old.id, final)
        resource = f"service:{self.name}:{number}"
        args = p._create_args(self.name, self.svc, number, temp, final, self.config_hash, self.ref)
        if not p.options.renew_anon_volumes:
            args["inherit_volumes_from"] = old.id
        create = self.plan.add(Op.CREATE_CONTAINER, resource, cause, deps, **args)
        # Its other networks, with the replica's aliases (the final name, not the temporary one).
        connects = p._connects(self.name, number, temp, self.svc, [create.id], final_name=final)
        before = [create.id, *connects]
        was_running = old.running and old.id not in p.stopped
        if self.policy.order == "stop-first":
            stop = p._stop(old, f"{cause}: stop the old replica first", before)
            before += [stop] if stop else []
        start = p._start(self.name, self.svc, number, temp, before, cause)
        return _Swap(number, old, final, temp, previous_container_name(old.id, final), create.id, start, was_running)

    def _gate(
        self,
        swaps: list[_Swap],
        policy: UpdatePolicy,
        label: str,
        deps: list[int],
        *,
        purpose: str,
        tolerate: int,
        replaced: bool,
        if_failed: list[int] | None = None,
    ) -> int:
        """The MonitorReplicas node of a batch: `replaced` watches the new containers, else the
        old ones put back by a rollback."""
        checks = healthcheck_state(self.svc)
        bound = self.planner.options.wait_timeout
        if bound is None:
            from stack.plan.reconcile import _health_bound

            bound = (_health_bound(self.svc) or _START_BOUND) + policy.monitor
        watched = (
            [{"number": s.number, "name": s.temp, "id": None} for s in swaps]
            if replaced
            else [{"number": s.number, "name": s.previous, "id": s.old.id} for s in swaps]
        )
        ready = "healthy" if checks else "running" if checks is False else "healthy (running without a healthcheck)"
        node = self.plan.add(
            Op.MONITOR_REPLICAS,
            swaps[0].resource,
            f"{label}: replica{'s' if len(swaps) > 1 else ''} {', '.join(str(s.number) for s in swaps)}"
            f" {ready}, then stable for {policy.monitor:g}s",
            deps,
            if_failed=if_failed or (),
            service=self.name,
            replicas=watched,
            healthcheck=checks,
            monitor=policy.monitor,
            timeout=bound,
            failure_action=policy.failure_action,
            tolerate=tolerate,
            purpose=purpose,
        )
        return node.id

    def _finish(self, swap: _Swap, gate: int, label: str) -> int:
        """After the gate: the old replica stops (start-first), goes (or is kept, stopped, for a
        rollback) and the new one takes the replica's name.  The rename node."""
        p = self.planner
        old = swap.old
        p._stop(old, f"{label}: stop the old replica (SIGTERM: it leaves DNS and finishes its requests)", [gate])
        vacate_deps = [gate, *p.released.get(old.id, [])]
        if self.keep_old:
            vacate = self.plan.add(
                Op.RENAME_CONTAINER,
                swap.resource,
                f"{label}: keep the old replica until the update passes",
                vacate_deps,
                service=self.name,
                number=swap.number,
                container=old.name,
                container_id=old.id,
                new_name=swap.previous,
            )
        else:
            vacate = self.plan.add(
                Op.REMOVE_CONTAINER,
                swap.resource,
                f"{label}: remove the old replica",
                vacate_deps,
                service=self.name,
                number=swap.number,
                container=old.name,
                container_id=old.id,
                remove_volumes=False,
            )
        rename = self.plan.add(
            Op.RENAME_CONTAINER,
            swap.resource,
            f"{label}: {TAKES_NAME}",
            [gate, vacate.id],
            service=self.name,
            number=swap.number,
            container=swap.temp,
            new_name=swap.final,
        )
        self.state.ready_nodes.append(rename.id)
        self.state.start_nodes.append(rename.id)
        return rename.id

    # ---- compensation -----------------------------------------------------------------------

    def _add_undo(self, op: Op, swap: _Swap, cause: str, deps: list[int], triggers: list[int], **args: Any) -> int:
        return self.plan.add(
            op, swap.resource, cause, deps, if_failed=triggers, service=self.name, number=swap.number, **args
        ).id

    def _undo_batch(self, swaps: list[_Swap], triggers: list[int]) -> list[int]:
        """The batch that failed: its new replicas go; stop-first, the old ones start again."""
        nodes: list[int] = []
        for swap in swaps:
            nodes.append(
                self._add_undo(
                    Op.REMOVE_CONTAINER,
                    swap,
                    f"{UNDO_CAUSES[0]}: remove the new replica",
                    [swap.create],
                    triggers,
                    container=swap.temp,
                    container_id=None,
                    remove_volumes=False,
                    force=True,
                )
            )
            if self.policy.order == "stop-first" and swap.old_was_running:
                nodes.append(
                    self._add_undo(
                        Op.START_CONTAINER,
                        swap,
                        f"{UNDO_CAUSES[0]}: start the old replica again",
                        [swap.create],
                        triggers,
                        container=swap.old.id,
                    )
                )
        return nodes

    def _roll_back(self, replaced: list[_Swap], triggers: list[int], after: list[int]) -> None:
        """Put back the replicas of the batches that passed, as deploy.rollback_config says."""
        policy = rollback_policy(self.svc)
        batches = policy.batches(len(replaced))
        previous = after
        for index, members in enumerate(batches, 1):
            label = f"{UNDO_CAUSES[1]} {index}/{len(batches)}, {policy.order}"
            group = [replaced[i] for i in members]
            starts: list[int] = []
            stops: dict[int, int] = {}
            for swap in group:
                if policy.order == "stop-first" or not swap.old_was_running:
                    stops[swap.number] = self._stop_new(swap, label, previous, triggers)
                if swap.old_was_running:
                    deps = [stops[swap.number]] if swap.number in stops else previous
                    starts.append(
                        self._add_undo(
                            Op.START_CONTAINER,
                            swap,
                            f"{label}: start the previous replica",
                            deps,
                            triggers,
                            container=swap.old.id,
                        )
                    )
            running = [s for s in group if s.old_was_running]
            gate: list[int] = []
            if running:
                gate = [
                    self._gate(
                        running,
                        policy,
                        label,
                        starts,
                        purpose="rollback",
                        tolerate=policy.tolerated(len(replaced)),
                        replaced=False,
                        if_failed=triggers,
                    )
                ]
            ends = []
            for swap in group:
                stop = stops.get(swap.number) or self._stop_new(swap, label, gate, triggers)
                remove = self._add_undo(
                    Op.REMOVE_CONTAINER,
                    swap,
                    f"{label}: remove the new replica",
                    [stop, *gate],
                    triggers,
                    container=swap.final,
                    container_id=None,
                    remove_volumes=False,
                )
                ends.append(
                    self._add_undo(
                        Op.RENAME_CONTAINER,
                        swap,
                        f"{label}: the previous replica takes its name back",
                        [remove],
                        triggers,
                        container=swap.old.id,
                        new_name=swap.final,
                    )
                )
            previous = ends
            if policy.delay > 0 and index < len(batches):
                previous = [
                    self.plan.add(
                        Op.DELAY,
                        f"service:{self.name}",
                        f"rollback_config.delay {policy.delay:g}s before the next batch",
                        ends,
                        if_failed=triggers,
                        service=self.name,
                        seconds=policy.delay,
                    ).id
                ]

    def _stop_new(self, swap: _Swap, label: str, deps: list[int], triggers: list[int]) -> int:
        return self._add_undo(
            Op.STOP_CONTAINER,
            swap,
            f"{label}: stop the new replica",
            deps,
            triggers,
            container=swap.final,
            container_id=None,
            timeout=None,
        )
