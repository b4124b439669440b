"""Pure parts of the engine: error translation, list parsing, BuildKit detection."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from stack.engine.build import buildkit_feature
from stack.engine.errors import refusal, translate
from stack.engine.observe import container_from_list
from stack.errors import DockerAPIError, PortInUseError


def _api_error(status: int, text: str) -> DockerAPIError:
    """A daemon refusal as the facade raises it (its one mapping of the SDK's errors)."""
    response = requests.Response()
    response.status_code = status
    return refusal(docker.errors.APIError("500 Server Error", response=response, explanation=text), "container.start")


@pytest.mark.parametrize(
    "text",
    [
        "driver failed programming external connectivity on endpoint demo-web-1 (abc): "
        "Bind for 0.0.0.0:8080 failed: port is already allocated",
        "driver failed programming external connectivity on endpoint demo-web-1 (abc): "
        "Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use",
    ],
)
def test_port_taken_becomes_port_in_use_naming_service_and_port(text):
    error = translate(_api_error(500, text), action="start container demo-web-1", service="web")
    assert isinstance(error, PortInUseError)
    assert error.message.startswith("service web: host port 8080 is already in use")
    assert error.hint and "8080" in error.hint


def test_missing_image_gets_a_hint_without_registry():
    error = translate(
        _api_error(404, "No such image: nope:latest"), action="create container demo-web-1", service="web"
    )
    assert error.message == "service web: cannot create container demo-web-1: No such image: nope:latest"
    assert error.hint and "docker load" in error.hint


def test_container_list_entry_is_parsed_without_inspect():
    entry = {
        "Id": "c1",
        "Names": ["/demo-web-2"],
        "ImageID": "sha256:img",
        "State": "running",
        "Status": "Up 3 seconds (health: starting)",
        "Created": 1700000000,
        "Labels": {
            "dev.stack.service": "web",
            "dev.stack.number": "2",
            "dev.stack.config-hash": "h",
            "dev.stack.oneoff": "False",
        },
        "NetworkSettings": {"Networks": {"demo_default": {}}},
    }
    c = container_from_list(entry)
    assert (c.name, c.service, c.number, c.config_hash, c.health, c.networks) == (
        "demo-web-2",
        "web",
        2,
        "h",
        "starting",
        ("demo_default",),
    )
    exited = container_from_list({**entry, "State": "exited", "Status": "Exited (3) 2 seconds ago"})
    assert exited.exit_code == 3 and exited.health is None


@pytest.mark.parametrize(
    ("dockerfile", "feature"),
    [
        ("FROM a\nRUN true\n", None),
        ("# syntax=docker/dockerfile:1.7\nFROM a\n", "a `# syntax=` directive"),
        ("FROM a\nRUN --network=none --mount=type=cache,target=/c true\n", "`RUN --mount`"),
        ("FROM a\nCOPY <<EOF /x\nhi\nEOF\n", "a heredoc (`<<EOF`)"),
        ("FROM a\nRUN echo '<<not a heredoc' > /x\n", None),
    ],
)
def test_buildkit_detection(dockerfile, feature):
    assert buildkit_feature(dockerfile) == feature


def test_the_api_version_is_the_daemons_own_capped_at_ours() -> None:
    from stack.engine.docker_api import DEFAULT_API_VERSION, MAX_API_VERSION, negotiate_api_version

    assert negotiate_api_version("1.41") == "1.41"  # Docker 20.10
    assert negotiate_api_version("1.43") == "1.43"
    assert negotiate_api_version("1.47") == MAX_API_VERSION  # newer daemons answer 1.44 requests as 1.44
    assert negotiate_api_version("1.40") == "1.40"  # older: its own, rather than "client version too new"
    assert negotiate_api_version(None) == DEFAULT_API_VERSION  # unreachable: the first call reports it
    assert negotiate_api_version("garbage") == DEFAULT_API_VERSION
