"""Project names: unique per run, per xdist worker and per fixture; stable in reuse mode.

    pytest-3f9a1c2e-gw0-stack          prefix, run id, worker, fixture
    pytest-reuse-5b0e7d41-main-stack   prefix, `reuse`, digest of the stack's definition, worker, fixture

Under xdist every worker of a run shares xdist's run id and has its own worker id (gw0, gw1,
...), so siblings never collide; a run without xdist is worker `main` with a fresh run id.
Both come from this process's own config, never from the environment, which a pytest started
by a test (pytester) inherits from its parent.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import pytest

from stack.testing.options import StackSpec

_RUN_ID = secrets.token_hex(4)  # this process's run id when it is not an xdist worker
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")


def _part(text: str) -> str:
    return _NOT_NAME.sub("-", text.lower()).strip("-_") or "x"


def worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return _part(str(workerinput["workerid"])) if workerinput else "main"


def run_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return _part(str(workerinput["testrunuid"]))[:8] if workerinput else _RUN_ID


def project_name(config: pytest.Config, prefix: str, fixture: str) -> str:
    return f"{prefix}-{run_id(config)}-{worker_id(config)}-{_part(fixture)}"


def reuse_project_name(config: pytest.Config, prefix: str, fixture: str, spec: StackSpec) -> str:
    """The same every run for the same stack (files, services, profiles, env files) in the same
    checkout, so that the next run finds it; another checkout or definition gets another name."""
    digest = hashlib.sha256(repr(spec).encode()).hexdigest()[:8]
    return f"{prefix}-reuse-{digest}-{worker_id(config)}-{_part(fixture)}"
