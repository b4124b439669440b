"""The stacks one pytest process brings up: start (`up --wait`), stop (`down -v`), sweep the
projects that dead runs left, and read logs for failure reports.

One manager per process (each xdist worker has its own), made at the first use of a stack
fixture: a session that uses none never imports `stack.api` nor talks to the daemon.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

from stack.testing.handle import RunningStack
from stack.testing.leases import Lease, dead_leases
from stack.testing.naming import project_name, reuse_project_name
from stack.testing.options import Settings, StackSpec

if TYPE_CHECKING:
    from stack.spec.models import Project

SWEEP_LOCK_TIMEOUT = 60.0  # a dead run's project may be locked by a live `stack` command: wait this long


class StackWarning(UserWarning):
    """Something about a stack a test run should know: a swept project, a load warning."""


class StackManager:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.settings = Settings.of(config)
        self.live: dict[str, RunningStack] = {}  # by project name
        self.kept: list[str] = []  # reuse mode: projects left running for the next run
        self._leases: dict[str, Lease] = {}
        self._swept = False
        self._sigterm_installed = _interrupt_on_sigterm()

    def close(self) -> None:
        """At the end of the run: give SIGTERM back its previous meaning."""
        if self._sigterm_installed and signal.getsignal(signal.SIGTERM) is _interrupt:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    # -- bringing stacks up and down ---------------------------------------------------------

    def start(self, fixture: str, spec: StackSpec) -> RunningStack:
        import stack
        import stack.api

        self.sweep_once()
        reuse = self.settings.reuse
        base = (
            reuse_project_name(self.config, self.settings.prefix, fixture, spec)
            if reuse
            else project_name(self.config, self.settings.prefix, fixture)
        )
        # Two fixtures of one name (in two conftest files) may be up at once.
        name, n = base, 1
        while name in self.live:
            n += 1
            name = f"{base}-{n}"
        project = self._load(fixture, spec, name)
        lease = None if reuse else self._take_lease(name)
        options = stack.UpOptions(
            services=list(spec.services), wait=True, wait_timeout=self.settings.wait_timeout, remove_orphans=True
        )
        try:
            result = stack.api.up(project, options)
        except BaseException as error:
            self._failed_start(fixture, project, lease, error)
        for warning in result.warnings:
            warnings.warn(StackWarning(f"{name}: {warning}"), stacklevel=2)
        running = RunningStack(project, fixture=fixture, reused=reuse)
        self.live[name] = running
        if lease is not None:
            self._leases[name] = lease
        return running

    def stop(self, running: RunningStack) -> None:
        """`down -v` (not in reuse mode, which leaves the stack for the next run)."""
        self.live.pop(running.name, None)
        lease = self._leases.pop(running.name, None)
        if running.reused:
            self.kept.append(running.name)
            return
        try:
            self._down(running.project)
        except BaseException:
            if lease is not None:
                lease.abandon()  # the next run sweeps what is left
            raise
        if lease is not None:
            lease.release()

    def _load(self, fixture: str, spec: StackSpec, name: str) -> Project:
        import stack

        def warn(message: str) -> None:
            warnings.warn(StackWarning(f"{fixture}: {message}"), stacklevel=2)

        options = stack.LoadOptions(
            files=[str(f) for f in spec.files],
            project_name=name,
            env_files=[str(f) for f in spec.env_files],
            profiles=list(spec.profiles),
            services=list(spec.services),
            cwd=str(spec.cwd),
            on_warning=warn,
        )
        try:
            project: Project = stack.load_project(options)
        except stack.StackError as error:
            text = f"stack fixture {fixture}: {error.render()}"
            if not spec.files:
                text += "\n  name the stack files with the stack_files ini option, --stack-file or stack_fixture(FILES)"
            raise pytest.fail.Exception(text, pytrace=False) from None
        return project

    def _take_lease(self, name: str) -> Lease:
        try:
            return Lease.take(self.settings.state_dir, name)
        except OSError as error:
            message = (
                f"stack: cannot record project {name} in {self.settings.state_dir} ({error});"
                " point the stack_state_dir ini option at a writable directory"
            )
            raise pytest.fail.Exception(message, pytrace=False) from None

    def _down(self, project: Project, *, timeout: float | None = None) -> None:
        import stack
        import stack.api

        stop = self.settings.stop_timeout if timeout is None else timeout
        options = stack.DownOptions(remove_volumes=True, remove_orphans=True, timeout=stop)
        stack.api.down(project.name, options, project=project)

    def _failed_start(self, fixture: str, project: Project, lease: Lease | None, error: BaseException) -> NoReturn:
        """`up` failed or was interrupted: say why with every service's last lines, and take
        down what it made (reuse mode keeps it: the next `up` converges it)."""
        import stack

        logs = ""
        if isinstance(error, stack.StackError):
            with contextlib.suppress(stack.StackError):
                logs = self.log_text(project.name)
        if lease is not None:
            try:
                self._down(project, timeout=0)  # its logs are read: nothing is worth a graceful stop
            except BaseException:
                lease.abandon()
                raise
            lease.release()
        if not isinstance(error, stack.StackError):
            raise error
        # The engine's hint names CLI commands for a project that is gone now: the logs stand in.
        text = f"stack fixture {fixture}: `up --wait` of project {project.name} failed: {error.message}"
        if logs:
            text += f"\n\nlast {self.settings.log_lines} log lines of each container:\n{logs}"
        raise pytest.fail.Exception(text, pytrace=False) from None

    # -- projects left by dead runs ---------------------------------------------------------------

    def sweep_once(self) -> None:
        """`down -v` every project whose lease outlived its process (a killed or crashed run),
        in parallel, once per process, before this process makes its own."""
        if self._swept:
            return
        self._swept = True
        try:
            dead = list(dead_leases(self.settings.state_dir))
        except OSError:
            return  # no state directory yet: nothing was ever left
        if not dead:
            return
        import anyio

        import stack
        import stack.api

        failed: dict[str, str] = {}
        # Nothing of a dead run is worth a graceful stop: its data is removed with it.
        options = stack.DownOptions(remove_volumes=True, remove_orphans=True, timeout=0)
        policy = stack.LockPolicy(timeout=SWEEP_LOCK_TIMEOUT)

        async def sweep(lease: Lease) -> None:
            try:
                await stack.api.down_async(lease.project, options, lock=policy)
            except stack.StackError as error:
                failed[lease.project] = error.render()
                lease.abandon()
            else:
                lease.release()

        async def sweep_all() -> None:
            async with anyio.create_task_group() as group:
                for lease in dead:
                    group.start_soon(sweep, lease)

        anyio.run(sweep_all)
        for lease in dead:
            owner = f"pid {lease.info.get('pid')} on {lease.info.get('host')}, since {lease.info.get('since')}"
            if lease.project in failed:
                message = f"could not remove project {lease.project}, left by a dead run ({owner}): "
                message += failed[lease.project]
            else:
                message = f"removed project {lease.project}, left by a run that died ({owner})"
            warnings.warn(StackWarning(message), stacklevel=2)

    # -- failure reports --------------------------------------------------------------------------

    def log_text(self, name: str) -> str:
        """The last lines of each container of project `name`, prefixed as `stack logs` does."""
        import stack.api

        lines: list[stack.api.LogLine] = []
        stack.api.logs(name, lines.append, None, stack.api.LogOptions(tail=self.settings.log_lines))
        by_container: dict[tuple[str, int], list[str]] = {}
        for line in lines:
            by_container.setdefault((line.service, line.number), []).append(line.text)
        width = max((len(f"{s}-{n}") for s, n in by_container), default=0)
        return "\n".join(
            f"{f'{service}-{number}':<{width}} | {text}"
            for (service, number), texts in sorted(by_container.items())
            for text in texts
        )

    def failure_sections(self, fixturenames: Iterable[str]) -> list[tuple[str, str]]:
        """Report sections for a failed test that used `fixturenames`: each of its stacks' logs."""
        import stack

        wanted = set(fixturenames)
        sections = []
        for running in list(self.live.values()):
            if running.fixture not in wanted:
                continue
            try:
                text = self.log_text(running.name) or "(no output)"
            except stack.StackError as error:
                text = f"(could not read the logs: {error.render()})"
            title = f"stack logs: {running.name} (last {self.settings.log_lines} lines per container)"
            sections.append((title, text))
        return sections


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _interrupt_on_sigterm() -> bool:
    """CI systems cancel a job with SIGTERM, which Python answers by dying on the spot: once
    stacks are in play, make it what Ctrl-C is, which pytest answers with its teardown.  A
    handler someone else installed is left alone."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _interrupt)
    return True


_MANAGER = pytest.StashKey[StackManager]()


def manager_of(config: pytest.Config) -> StackManager:
    """This process's manager, made at the first use of a stack."""
    if _MANAGER not in config.stash:
        config.stash[_MANAGER] = StackManager(config)
    return config.stash[_MANAGER]


def existing_manager(config: pytest.Config) -> StackManager | None:
    return config.stash.get(_MANAGER, None)


def provide(request: pytest.FixtureRequest, spec: StackSpec) -> Iterator[RunningStack]:
    """The body of every stack fixture: up before the first test of its scope, down after."""
    manager = manager_of(request.config)
    running = manager.start(request.fixturename or "stack", spec)
    try:
        yield running
    finally:
        manager.stop(running)
