"""--stack-reuse: the stack outlives the session, and the next session finds it as it was."""

from __future__ import annotations

import json

from tests.plugin.conftest import Suite

RECORD = """
import json
from pathlib import Path

def test_record(stack):
    seen = {c.service: [c.id, c.created] for c in stack.containers()}
    Path("seen.json").write_text(json.dumps({"name": stack.name, "containers": seen, "reused": stack.reused}))
"""


def test_reuse_mode_keeps_the_stack_and_recreates_nothing_on_the_next_run(suite: Suite) -> None:
    suite.pytester.makepyfile(test_record=RECORD)
    first = suite.run("--stack-reuse")
    first.assert_outcomes(passed=1)
    before = json.loads((suite.path / "seen.json").read_text())
    name = before["name"]
    assert before["reused"] and name.startswith(f"{suite.prefix}-reuse-") and name.endswith("-main-stack")
    first.stdout.fnmatch_lines([f"stack: left running for the next --stack-reuse run: {name} *"])
    assert {c["State"] for c in suite.containers(name)} == {"running"}
    assert suite.leases() == []  # never swept: it is meant to outlive the session

    (suite.path / "seen.json").unlink()
    suite.run("--stack-reuse").assert_outcomes(passed=1)
    after = json.loads((suite.path / "seen.json").read_text())
    assert after == before  # same project, same containers (ids and creation times)
    assert {c["State"] for c in suite.containers(name)} == {"running"}
