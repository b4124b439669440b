"""Runs that share a daemon: xdist workers side by side, a session killed with SIGKILL (swept by
the next one), a session interrupted with Ctrl-C or SIGTERM (tears down itself)."""

from __future__ import annotations

import json
import signal

import pytest

from tests.plugin.conftest import Suite, poll

# A test that holds its stack until the session is killed: it says when the stack is up.
HOLD = """
import json
import time
from pathlib import Path

def test_hold(stack):
    Path("up.json").write_text(json.dumps({"name": stack.name}))
    deadline = time.monotonic() + 120
    while not Path("never").exists():  # the test that runs this session kills it first
        assert time.monotonic() < deadline, "nobody interrupted this session"
        time.sleep(0.05)
"""


def test_two_xdist_workers_run_their_own_projects_in_parallel(suite: Suite) -> None:
    suite.pytester.makepyfile(
        test_workers="""
        import json
        import os
        import time
        import urllib.request
        from pathlib import Path

        def fetch(stack):
            with urllib.request.urlopen(stack.url("web", 80, "/cgi-bin/api"), timeout=10) as response:
                return response.read().decode().strip()

        def run(stack, me, other):
            assert fetch(stack) == "hello-from-api"
            seen = {"name": stack.name, "worker": os.environ["PYTEST_XDIST_WORKER"],
                    "ids": sorted(c.id for c in stack.containers())}
            Path(f"{me}.json").write_text(json.dumps(seen))
            # both stacks are up at the same time: each worker waits for the other's
            deadline = time.monotonic() + 90
            while not Path(f"{other}.json").exists():
                assert time.monotonic() < deadline, f"{other} never came up beside {me}: not in parallel"
                time.sleep(0.05)
            assert fetch(stack) == "hello-from-api"

        def test_one(stack):
            run(stack, "one", "two")

        def test_two(stack):
            run(stack, "two", "one")
        """
    )
    result = suite.run("-n", "2")
    result.assert_outcomes(passed=2)
    one, two = (json.loads((suite.path / f"{t}.json").read_text()) for t in ("one", "two"))
    assert {one["worker"], two["worker"]} == {"gw0", "gw1"}
    assert one["name"] != two["name"]
    for seen in (one, two):
        assert seen["name"].startswith(f"{suite.prefix}-") and seen["name"].endswith(f"-{seen['worker']}-stack")
    assert not set(one["ids"]) & set(two["ids"])
    # same run id: the two are siblings of one run
    assert one["name"].split("-")[1] == two["name"].split("-")[1]
    assert suite.projects() == set()


def test_the_next_session_sweeps_the_projects_of_a_session_killed_with_sigkill(suite: Suite) -> None:
    suite.pytester.makepyfile(test_hold=HOLD)
    suite.pytester.makepyfile(
        test_next="""
        import json
        from pathlib import Path

        from stack.api import ps

        def test_next(stack):
            dead = json.loads(Path("up.json").read_text())["name"]
            assert dead != stack.name
            assert ps(dead, all=True) == []  # swept before this session's own stack came up
        """
    )
    killed = suite.spawn("-k", "hold")
    dead = json.loads(suite.wait_for_file("up.json", killed))["name"]
    killed.kill()
    killed.wait(timeout=30)
    # SIGKILL: no teardown ran, so everything is still there
    assert len(suite.containers(dead)) == 2
    assert [p.stem for p in suite.leases()] == [dead]

    result = suite.run("-k", "next")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*removed project {dead}, left by a run that died (pid {killed.pid} *"])
    assert suite.projects() == set()  # the dead one's network and volume too
    assert suite.leases() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_during_the_session_still_takes_the_stack_down(suite: Suite, signum: int) -> None:
    suite.pytester.makepyfile(test_hold=HOLD)
    interrupted = suite.spawn()
    name = json.loads(suite.wait_for_file("up.json", interrupted))["name"]
    assert len(suite.containers(name)) == 2
    interrupted.send_signal(signum)
    poll("the interrupted session to end", lambda: interrupted.poll() is not None)
    assert interrupted.returncode == 2, suite.log()  # pytest's "interrupted"
    assert "KeyboardInterrupt" in suite.log()
    assert suite.projects() == set()
    assert suite.leases() == []
