"""`watch`: keep a project's containers in step with the files they come from (Compose's
`develop.watch`), until cancelled.

A batch of changed files (stack.engine.filewatch) becomes actions per service
(stack.plan.watch_rules.plan_batch), done in this order for each service:

1. rebuild: load the stack file as it is now (Compose bug #11003 used the one watch started
   with), then `up` that service with `--build`: the reconciler recreates its containers when
   the image changed, exactly as `stack up --build SERVICE` would;
2. sync: copy the changed files into every container of the service and delete the removed
   ones (stack.engine.sync); a stopped or removed container is first brought back by the same
   `up` path (Compose bug #13057 failed the sync instead), a new one gets the rules' whole tree;
3. restart the service's containers (`restart`, `sync+restart`);
4. exec hooks (`sync+exec`) in each container, once per batch.

A change to a stack file or an env file (`.env`, `--env-file`, a service's `env_file`: Compose
#13225 missed those) loads the project again and converges it with `up`: the reconciler
recreates only the services whose definition changed.  Every change to the project goes
through the `stack.api` verbs, which take the project's lock; a failed action is reported and
watching goes on.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import anyio
import anyio.abc

from stack.api.converge import build_async, up_async
from stack.api.lifecycle import restart_async
from stack.api.session import blocking, placed_in, session
from stack.engine import filewatch
from stack.engine.containers import find_containers
from stack.engine.docker_api import DockerAPI
from stack.engine.lock import LockPolicy
from stack.engine.logs import LineSink, LogOptions, follow_logs, target_from_list
from stack.engine.progress import ProgressSink, null_sink
from stack.engine.sync import Owners, rule_tree, run_hook, sync_into
from stack.errors import DockerAPIError, NothingToWatchError, StackError, StackFileError
from stack.plan import labels as L
from stack.plan.naming import service_image
from stack.plan.observed import ObservedContainer
from stack.plan.options import UpOptions
from stack.plan.watch_rules import (
    CompiledRule,
    ServiceActions,
    WatchRoots,
    compile_rules,
    is_within,
    plan_batch,
    split_sync,
    watch_roots,
)
from stack.spec.loader import LoadOptions, load_project
from stack.spec.models import Project, WatchExec

Notice = Callable[[str], None]


def _quiet(text: str) -> None:
    """Discard a notice (library use)."""


@dataclass(frozen=True)
class WatchOptions:
    services: list[str] = field(default_factory=list)  # empty: every service (those with rules are watched)
    up: bool = True  # build and start the services first (`--no-up`: False)
    prune: bool = True  # remove a service's previous image once a rebuild replaced it
    follow_logs: bool = True  # show the services' logs (`up --watch` shows them itself)


@dataclass(frozen=True)
class WatchOutput:
    """Where `watch` reports: its own messages, warnings, the services' log lines (and the exec
    hooks' output), the progress of the builds and converges it runs."""

    notice: Notice = _quiet
    warn: Notice = _quiet
    on_line: LineSink | None = None
    progress: ProgressSink = null_sink


async def watch_async(
    load_options: LoadOptions,
    options: WatchOptions | None = None,
    *,
    output: WatchOutput | None = None,
    api: DockerAPI | None = None,
    lock: LockPolicy | None = None,
) -> None:
    """Watch the files of the project `load_options` names and act on each change, until
    cancelled.  Raises before watching starts: a stack-file error, NothingToWatchError when no
    selected service has `develop.watch` rules."""
    async with session(api) as docker:
        watcher = _Watcher(docker, load_options, options or WatchOptions(), output or WatchOutput(), lock)
        await watcher.run()


watch = blocking(watch_async)


def check_watchable(project: Project, services: Sequence[str] = ()) -> list[str]:
    """The services of `services` (all when empty) that have `develop.watch` rules; raises
    NothingToWatchError when there is none (before anything is started, as Compose)."""
    scope = [s for s in (services or sorted(project.services)) if s in project.services]
    watched = [s for s in scope if (d := project.services[s].develop) is not None and d.watch]
    if not watched:
        named = f" ({', '.join(services)})" if services else ""
        raise NothingToWatchError(
            f"none of the selected services is configured for watch{named}",
            hint="add a `develop.watch` section to a service: rules with a `path` and an `action`",
        )
    return watched


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


class _Watcher:
    def __init__(
        self,
        api: DockerAPI,
        load_options: LoadOptions,
        options: WatchOptions,
        output: WatchOutput,
        lock: LockPolicy | None,
    ) -> None:
        self.api = api
        self.load_options = load_options
        self.options = options
        self.out = output
        self.lock = lock
        self.project = Project(name="")
        self.rules: list[CompiledRule] = []
        self.config_files: set[str] = set()  # a change to one of these reloads the project
        self._sources: set[str] = set()
        self._enabled = False  # "Watch enabled" was said
        self._owners = Owners()  # whom synced files belong to, per container

    # -- set-up ---------------------------------------------------------------------------

    def _load(self) -> Project:
        """The project as the files say now; the files it was read from reload it."""
        sources: list[str] = []
        project = load_project(replace(self.load_options, services=list(self.options.services)), sources=sources)
        self._sources = {os.path.normpath(f) for f in sources if os.path.isabs(f)}
        return project

    def _configure(self, project: Project) -> None:
        """Take `project` (just loaded) as the current one: its rules and the files that reload it."""
        scope = self.options.services or sorted(project.services)
        scope = [s for s in scope if s in project.services]
        with placed_in(project):
            for name in scope:
                _check_rebuild_rules(project, name)
            try:
                rules = compile_rules(project, scope, _read_text)
            except ValueError as exc:
                raise StackFileError(str(exc), hint="fix the pattern (Docker's .dockerignore syntax)") from None
        self.rules = [r for r in rules if not self._bind_mounted(project, r)]
        self.project = project
        self.config_files = self._sources

    def _bind_mounted(self, project: Project, rule: CompiledRule) -> bool:
        """A sync rule whose path a bind mount already shares with the container: not watched,
        as Compose (each change would be written twice)."""
        if not rule.rule.syncs:
            return False
        for mount in project.services[rule.service].volumes:
            if mount.type == "bind" and mount.source and is_within(mount.source, rule.rule.path):
                self.out.warn(
                    f"service {rule.service}: {rule.rule.path} is also bind-mounted ({mount.source}); not watched"
                )
                return True
        return False

    async def run(self) -> None:
        began = time.time()
        project = self._load()
        check_watchable(project, self.options.services)
        self._configure(project)
        if self.options.up:
            await self._initial_up()
        await self._initial_sync()
        async with anyio.create_task_group() as tg:
            if self.options.follow_logs and self.out.on_line is not None:
                await self._start_logs(tg, began, self.out.on_line)
            await self._watch_files()

    async def _initial_up(self) -> None:
        """`up` of the selected services, building the images of those with rules first (as
        Compose: the watch starts from containers that match the files)."""
        built = sorted({r.service for r in self.rules if self.project.services[r.service].build is not None})
        if built:
            await build_async(self.project, built, progress=self.out.progress, api=self.api)
        # Fresh containers from fresh images: the files are in them (or `initial_sync` copies them).
        await self._converge(UpOptions(services=list(self.options.services)), sync_new=False)

    async def _initial_sync(self) -> None:
        for rule in self.rules:
            if rule.rule.syncs and rule.rule.initial_sync:
                containers = await self._containers(rule.service)
                await sync_into(self.api, containers, rule_tree(rule), [], self.out.warn, self._owners)

    async def _start_logs(self, tg: anyio.abc.TaskGroup, since: float, on_line: LineSink) -> None:
        services = list(self.options.services) or None
        listed = await self.api.list_containers(L.container_filter(self.project.name, oneoff=False))
        wanted = [e for e in listed if services is None or (e.get("Labels") or {}).get(L.SERVICE) in services]
        targets = [target_from_list(e) for e in wanted]
        options = LogOptions(follow=True, since=f"{since:.3f}")
        tg.start_soon(
            lambda: follow_logs(
                self.api, self.project.name, targets, options, on_line, services=services, keep_following=lambda: True
            )
        )

    # -- the loop -------------------------------------------------------------------------

    def _roots(self) -> WatchRoots:
        return watch_roots(self.rules, self.config_files, os.path.isdir, os.path.lexists)

    async def _watch_files(self) -> None:
        """Watch the roots the rules and files ask for; start over when those change."""
        while True:
            if not await self._watch_roots(self._roots()):
                await anyio.sleep(0.5)  # a root that keeps failing must not spin

    async def _watch_roots(self, roots: WatchRoots) -> bool:
        """Handle batches under `roots` until the roots change (True) or watching fails (False)."""
        send, receive = anyio.create_memory_object_stream[set[str]](max_buffer_size=100)
        stop = anyio.Event()
        failed = anyio.Event()
        watchers = [paths for paths in (roots.recursive, roots.flat) if paths]
        ready: list[tuple[str, ...]] = []

        def on_ready(paths: tuple[str, ...]) -> None:
            ready.append(paths)
            if len(ready) == len(watchers) and not self._enabled:
                self._enabled = True
                self.out.notice("Watch enabled")  # from here on, no change is missed

        async def produce(paths: tuple[str, ...], recursive: bool) -> None:
            try:
                batches = filewatch.batches(
                    list(paths), recursive=recursive, stop=stop, on_ready=lambda: on_ready(paths)
                )
                async for batch in batches:
                    await send.send(batch)
            except (OSError, RuntimeError) as exc:  # a root removed meanwhile, the watcher's own error
                self.out.warn(f"watching files failed ({exc}); starting over")
                failed.set()
                await send.send(set())

        try:
            async with anyio.create_task_group() as tg, send, receive:
                if roots.recursive:
                    tg.start_soon(produce, roots.recursive, True)
                if roots.flat:
                    tg.start_soon(produce, roots.flat, False)
                async for batch in receive:
                    while True:  # changes that arrived while the last batch was handled join this one
                        try:
                            batch |= receive.receive_nowait()
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                    await self._handle(batch)
                    if failed.is_set() or self._roots() != roots:
                        break
                tg.cancel_scope.cancel()
        finally:
            stop.set()  # the watcher threads end at their next step
        return not failed.is_set()

    async def _handle(self, paths: set[str]) -> None:
        plan = plan_batch(paths, self.rules, self.config_files)
        if plan.reload:
            await self._reload()
            plan = plan_batch(paths, self.rules, set())
        for actions in plan.services.values():
            try:
                await self._apply(actions)
            except StackError as error:  # reported; the next change is handled as usual
                self.out.warn(error.render())

    async def _reload(self) -> None:
        """A stack or env file changed: load it again and converge what changed."""
        try:
            project = self._load()
            self._configure(project)
        except StackError as error:
            self.out.warn(f"the stack file could not be loaded, keeping the previous one: {error.render()}")
            return
        self.out.notice("Stack file changed: converging the services whose definition changed")
        try:
            await self._converge(UpOptions(services=list(self.options.services)))
        except StackError as error:
            self.out.warn(error.render())
        if not self.rules:
            self.out.warn("no selected service has `develop.watch` rules any more; watching the stack file only")

    # -- actions --------------------------------------------------------------------------

    async def _apply(self, actions: ServiceActions) -> None:
        service = actions.service
        if service not in self.project.services:
            return
        if actions.rebuild:
            await self._rebuild(service)
        containers = await self._containers(service, bring_back=True)
        if not containers:
            self.out.warn(f"service {service}: no running container to update")
            return
        copies, deletes = split_sync(actions.sync, os.path.lexists)
        if copies or deletes:
            count = len(copies) + len(deletes)
            self.out.notice(f'Syncing service "{service}" after {count} change{"s" if count != 1 else ""} detected')
            await sync_into(self.api, containers, copies, deletes, self.out.warn, self._owners)
        if actions.restart:
            await restart_async(self.project.name, [service], api=self.api, lock=self.lock)
            self.out.notice(f'Service "{service}" restarted')
        for hook in actions.execs:
            await self._exec(containers, hook)

    async def _exec(self, containers: Sequence[ObservedContainer], hook: WatchExec) -> None:
        sink = self.out.on_line or (lambda line: None)
        for container in containers:
            try:
                code = await run_hook(self.api, container, hook, sink)
            except DockerAPIError as exc:
                self.out.warn(f"service {container.service}: exec hook in {container.name} failed: {exc.detail}")
                continue
            if code != 0:
                command = " ".join(hook.command or [])
                self.out.warn(f"service {container.service}: exec hook `{command}` in {container.name} exited {code}")

    async def _rebuild(self, service: str) -> None:
        """Build the service's image from the stack file as it is now and recreate its containers."""
        try:
            self._configure(self._load())
        except StackError as error:
            self.out.warn(f"the stack file could not be loaded, keeping the previous one: {error.render()}")
        if service not in self.project.services:
            return
        self.out.notice(f'Rebuilding service "{service}" after changes were detected...')
        before = await self._image_id(service)
        found = await find_containers(self.api, self.project.name, [service])
        count = max(self.project.services[service].replicas, len(found))
        options = UpOptions(services=[service], no_deps=True, build="always", scale={service: count})
        await self._converge(options, sync_new=False)  # the new image was just built from the files
        self.out.notice(f'Service "{service}" rebuilt')
        after = await self._image_id(service)
        if self.options.prune and before and after and before != after:
            with contextlib.suppress(DockerAPIError):  # refused while a container uses it: fine
                await self.api.remove_image(before)

    async def _image_id(self, service: str) -> str | None:
        ref = service_image(self.project.name, service, self.project.services[service])
        try:
            return str((await self.api.inspect_image(ref)).get("Id") or "") or None
        except DockerAPIError:
            return None

    async def _converge(self, options: UpOptions, *, sync_new: bool = True) -> None:
        """`up` with `options`; with `sync_new`, the containers it created for services with sync
        rules get those rules' whole trees (they replace containers that had the changes synced
        since their image was built)."""
        scope = options.services or sorted(self.project.services)
        before = {c.id for c in await find_containers(self.api, self.project.name, scope)}
        await up_async(self.project, options, progress=self.out.progress, api=self.api, lock=self.lock)
        if not sync_new:
            return
        fresh = [c for c in await find_containers(self.api, self.project.name, scope) if c.id not in before]
        for rule in self.rules:
            new = [c for c in fresh if c.service == rule.service and c.state == "running"]
            if rule.rule.syncs and new:
                await sync_into(self.api, new, rule_tree(rule), [], self.out.warn, self._owners)

    async def _containers(self, service: str, *, bring_back: bool = False) -> list[ObservedContainer]:
        """The service's running containers; with `bring_back`, a stopped or removed one is first
        brought back by `up` (the same path `stack up SERVICE` takes)."""
        found = await find_containers(self.api, self.project.name, [service])
        desired = self.project.services[service].replicas
        missing = max(desired - len(found), 0)
        stopped = [c for c in found if not c.running]
        if bring_back and (missing or stopped):
            what = [f"{c.name} is {c.state}" for c in stopped] + ([f"{missing} missing"] if missing else [])
            self.out.notice(f'Service "{service}": {", ".join(what)}: bringing it back')
            count = max(desired, len(found))
            await self._converge(UpOptions(services=[service], no_deps=True, scale={service: count}))
            found = await find_containers(self.api, self.project.name, [service])
        return [c for c in found if c.state == "running"]


def _check_rebuild_rules(project: Project, name: str) -> None:
    """A `rebuild` rule needs a build section: known only now, as in Compose (`up` and `config`
    of such a file work)."""
    service = project.services[name]
    for index, rule in enumerate((service.develop.watch if service.develop else None) or []):
        if rule.action == "rebuild" and service.build is None:
            raise StackFileError(
                f"service {name}: a `rebuild` watch rule needs a `build:` section",
                path=f"services.{name}.develop.watch[{index}].action",
                hint="add `build:` to the service, or use `restart` to pick up changes without an image build",
            )


__all__ = ["WatchOptions", "WatchOutput", "check_watchable", "watch", "watch_async"]
