"""The pytest plugin, registered by the `pytest11` entry point `stack`: options, the `stack`
fixture, and the stacks' logs in the reports of failed tests.

It is loaded by every pytest run in an environment where stack is installed, and does nothing
(no daemon call, no import of the engine) until a test uses a stack fixture.
`-p no:stack` turns it off.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from stack.testing.handle import RunningStack
from stack.testing.manager import existing_manager, provide
from stack.testing.options import add_options, default_scope, default_spec


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.fixture(scope=default_scope)
def stack(request: pytest.FixtureRequest) -> Iterator[RunningStack]:
    """The stack of `--stack-file` / the `stack_files` ini option (else the stack file found in
    the rootdir), up and healthy for the tests of its scope (`stack_scope`, default session),
    then down with its volumes (unless --stack-reuse)."""
    yield from provide(request, default_spec(request.config))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    manager = existing_manager(item.config)
    if manager is not None and manager.live and report.failed:
        # The stacks the test used (through any fixture) are still up: their last lines.
        fixturenames: list[str] = getattr(item, "fixturenames", [])
        report.sections.extend(manager.failure_sections(fixturenames))
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    manager = existing_manager(config)
    if manager is not None:
        manager.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    manager = existing_manager(terminalreporter.config)
    if manager is not None and manager.kept:
        names = ", ".join(sorted(set(manager.kept)))
        terminalreporter.write_line(
            f"stack: left running for the next --stack-reuse run: {names} (remove: stack -p NAME down -v)"
        )
