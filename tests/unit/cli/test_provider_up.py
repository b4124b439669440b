"""A `provider:` service: `config` prints it as Compose does; `up` refuses it, naming it and
where it is written, until stack runs providers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import StackFileError
from stack.plan.observed import ObservedState
from stack.plan.options import UpOptions
from stack.plan.reconcile import plan_up
from stack.spec.loader import LoadOptions, load_project

STACK = """services:
  database:
    provider:
      type: awesomecloud
      options:
        type: mysql
  app:
    image: myapp
    depends_on: [database]
  other:
    image: busybox
"""


def test_up_names_the_provider_service_and_its_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(STACK)
    project = load_project(LoadOptions(cwd=str(tmp_path), environ={}))
    assert project.services["database"].provider == {"type": "awesomecloud", "options": {"type": ["mysql"]}}
    with pytest.raises(StackFileError) as info:
        plan_up(project, ObservedState(project=project.name), UpOptions())
    error = project.source_map.place(info.value)
    assert error.exit_code == 2
    assert "service database is run by the provider 'awesomecloud'" in error.message
    assert error.render().startswith(f"{tmp_path / 'compose.yaml'}:3:5: services.database.provider: ")
    # ... also when it starts only as a dependency; not when nothing started needs it.
    with pytest.raises(StackFileError):
        plan_up(project, ObservedState(project=project.name), UpOptions(services=["app"]))
    plan_up(project, ObservedState(project=project.name), UpOptions(services=["other"]))
