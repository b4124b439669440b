"""A three-node swarm of Docker-in-Docker nodes, and a real `stack swarm deploy --wait` on it:
scripts/multinode-swarm.py's steps (build of stack-test/dind:bookworm, private network, a
docker-registry on its gateway, three nodes, swarm, deploy of a built and pushed image with one task per
node, overlay reachability through `tasks.<service>`, `stack swarm ps`, `stack swarm rm`,
teardown).

Opt-in: it takes about 25 s (and about a minute more the first time, to build the node image with
mmdebstrap), so it is skipped unless STACK_MULTINODE=1.  It never makes this daemon a swarm
member: the swarm is the nodes' own dockerds.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [
    pytest.mark.docker,
    pytest.mark.timeout(1800),  # the first run builds the node image (mmdebstrap of docker.io)
    pytest.mark.skipif(
        os.environ.get("STACK_MULTINODE") != "1",
        reason="the three-node Docker-in-Docker swarm takes ~25 s (and a minute once, to build its image): "
        "set STACK_MULTINODE=1 to run it",
    ),
]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "multinode-swarm.py"


def _script() -> ModuleType:
    """scripts/multinode-swarm.py as a module (its file name is not an identifier)."""
    name = "multinode_swarm_script"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _left_behind(label: str) -> list[str]:
    found: list[str] = []
    for kind in ("container", "volume", "network"):
        every = ["--all"] if kind == "container" else []
        listed = subprocess.run(
            ["docker", kind, "ls", *every, "--quiet", "--filter", f"label={label}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        found += [f"{kind} {name}" for name in listed.stdout.split()]
    return found


def test_a_stack_deploys_across_three_dind_nodes() -> None:
    script = _script()
    cluster = script.new_cluster()
    try:
        script.multinode_swarm(cluster, nodes=3)
    except script.Failure as exc:
        pytest.fail(f"{exc}\n{script.report(cluster)}", pytrace=False)
    finally:
        left = _left_behind(f"{script.RUN_LABEL}={cluster.prefix}")
        assert not left, f"teardown left {left}"
    print(script.report(cluster))
    assert {"nodes up", "swarm formed", "deploy --wait", "swarm rm", "teardown"} <= set(cluster.timings)
