"""Image builds: the classic builder through the SDK, BuildKit-only Dockerfiles refused clearly."""

from __future__ import annotations

import pytest

from stack.engine.build import buildx_available
from stack.errors import BuildError
from stack.plan import labels as L
from stack.plan.plan import Op
from tests.integration.engine_helpers import up

pytestmark = pytest.mark.docker


def _project_with_dockerfile(make_project, tmp_path, dockerfile: str, **service):
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    (context / "greeting.txt").write_text("built-by-stack\n")
    svc = {"build": {"context": str(context)}, "command": ["cat", "/greeting.txt"], **service}
    project = make_project({"app": svc})
    project.services["app"].image = None
    return project


def test_build_tags_and_labels_the_image_and_the_service_runs_it(api, make_project, tmp_path, docker_client):
    project = _project_with_dockerfile(
        make_project, tmp_path, "FROM stack-test/busybox:latest\nCOPY greeting.txt /greeting.txt\n"
    )
    plan, result = up(api, project)
    assert any(n.op is Op.BUILD_IMAGE for n in plan.nodes)
    tag = f"{project.name}-app"
    image = docker_client.inspect_image(tag)
    image_labels = image["Config"]["Labels"]
    assert image_labels[L.BUILT_FOR_PROJECT] == project.name
    # An image must not hand its containers the labels that decide ownership.
    assert L.CONTAINER_OF not in image_labels and L.PROJECT not in image_labels
    assert result.image_ids[tag] == image["Id"]
    name = f"{project.name}-app-1"
    assert docker_client.wait(name, timeout=30)["StatusCode"] == 0
    assert docker_client.logs(name).decode().strip() == "built-by-stack"


def test_failing_build_names_the_service_and_the_step(api, make_project, tmp_path):
    project = _project_with_dockerfile(
        make_project, tmp_path, "FROM stack-test/busybox:latest\nRUN echo boom && exit 3\n"
    )
    with pytest.raises(BuildError) as caught:
        up(api, project)
    message = caught.value.message
    assert message.startswith("service app: image build failed")
    assert "at `Step 2/" in message and ": RUN echo boom && exit 3`" in message
    assert "returned a non-zero code: 3" in message


@pytest.mark.skipif(buildx_available(), reason="buildx is installed here: the refusal cannot happen")
@pytest.mark.parametrize(
    ("dockerfile", "feature"),
    [
        ("# syntax=docker/dockerfile:1\nFROM stack-test/busybox:latest\n", "# syntax="),
        ("FROM stack-test/busybox:latest\nRUN --mount=type=cache,target=/c true\n", "RUN --mount"),
        ("FROM stack-test/busybox:latest\nRUN <<EOF\necho hi\nEOF\n", "heredoc"),
    ],
)
def test_buildkit_dockerfile_without_buildx_is_refused_naming_the_service(
    api, make_project, tmp_path, dockerfile, feature
):
    project = _project_with_dockerfile(make_project, tmp_path, dockerfile)
    with pytest.raises(BuildError) as caught:
        up(api, project)
    message = caught.value.message
    assert message.startswith("service app: the Dockerfile uses")
    assert feature in message
    assert "buildx` is not installed" in message
