"""`pull`, `push`, `pull_policy` and credentials against real registries: Debian's docker-registry
(distribution 2.8), started by these tests on a free loopback port with a config of their own
(the daemon allows plain HTTP to loopback registries), and a second instance behind htpasswd
(`htpasswd -B`) for the credentials tests.

Every registry is stopped at teardown, and every image tagged for one is removed, even when a
test fails; the projects go with `project_name`'s cleanup.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.daemon import Result
from tests.integration.cli_helpers import StackCLI, project_containers, project_networks
from tests.registry import PASSWORD, USER, Registry, registries

BASE = "stack-test/busybox:latest"


@pytest.fixture
def start_registry(tmp_path: Path, docker_client: docker.APIClient) -> Iterator[Callable[..., Registry]]:
    """Start docker-registry instances (`auth=True`: behind htpasswd); all stopped, and every
    image tagged for them removed from the daemon, at teardown."""
    with registries(tmp_path, docker_client) as start:
        yield start


@pytest.fixture
def registry(start_registry: Callable[..., Registry]) -> Registry:
    return start_registry()


@pytest.fixture
def scratch_images(docker_client: docker.APIClient) -> Iterator[list[str]]:
    """Ids of images a test built directly with the SDK: removed at teardown."""
    ids: list[str] = []
    yield ids
    for image_id in ids:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.remove_image(image_id, force=True)


def _cli(tmp_path: Path, project: str, **env: str | None) -> StackCLI:
    directory = tmp_path / "project"
    directory.mkdir(exist_ok=True)
    # A Docker config of the test's own: the user's credentials never take part.
    env.setdefault("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    return StackCLI(directory, project, env=env)


def _app(cli: StackCLI, image: str, greeting: str, **extra: str) -> None:
    """A service that builds `image` (a file /greeting saying `greeting`) and prints it."""
    context = cli.directory / "app"
    context.mkdir(exist_ok=True)
    (context / "greeting").write_text(greeting + "\n")
    (context / "Dockerfile").write_text(f"FROM {BASE}\nCOPY greeting /greeting\n")
    lines = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    cli.write(
        "services:\n"
        "  app:\n"
        "    build: app\n"
        f"    image: {image}\n"
        "    command: [sh, -c, 'cat /greeting; exec sleep 3600']\n"
        "    init: true\n" + lines
    )


def _build_direct(client: docker.APIClient, tag: str, content: str, scratch: list[str]) -> str:
    """An image of `content` at /v tagged `tag`, built with the SDK (the test's own setup); its id."""
    import io

    dockerfile = f"FROM {BASE}\nRUN echo {content} > /v\n".encode()
    image_id = ""
    for chunk in client.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, decode=True):
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = str(chunk["aux"]["ID"])
        assert "error" not in chunk, chunk
    scratch.append(image_id)
    return image_id


def _push_direct(client: docker.APIClient, image: str) -> None:
    repo, _, tag = image.rpartition(":")
    for message in client.push(repo, tag=tag, stream=True, decode=True, auth_config={}):
        assert "error" not in message, message


def _image_id(client: docker.APIClient, ref: str) -> str | None:
    try:
        return str(client.inspect_image(ref)["Id"])
    except docker.errors.NotFound:
        return None


def _clean(result: Result) -> None:
    assert "Traceback" not in result.err, str(result)


def _digest_lines(result: Result) -> dict[str, str]:
    return dict(line.split("@", 1) for line in result.out.splitlines() if "@sha256:" in line)


def test_push_a_built_image_remove_it_pull_it_and_up_runs_it(
    tmp_path: Path, project_name: str, registry: Registry, docker_client: docker.APIClient
) -> None:
    image = f"{registry.host}/stack-tests/app:1"
    cli = _cli(tmp_path, project_name)
    _app(cli, image, "hello from the registry")
    cli.ok("build")
    built = _image_id(docker_client, image)
    assert built is not None

    pushed = cli.ok("push")
    digests = _digest_lines(pushed)
    assert digests == {image: registry.manifest_digest("stack-tests/app", "1")}, str(pushed)
    assert f"Image {image}  Pushed" in pushed.err, str(pushed)

    docker_client.remove_image(image)
    assert _image_id(docker_client, image) is None

    pulled = cli.ok("pull")
    assert f"Image {image}  Pulled" in pulled.err and "Layer " in pulled.err, str(pulled)
    assert pulled.err.rstrip().endswith("[+] Pulling 1/1"), str(pulled)
    assert _image_id(docker_client, image) == built  # the same image, back from the registry

    cli.ok("up", "-d", "--wait", "--no-build")
    [container] = project_containers(docker_client, project_name).values()
    assert container["ImageID"] == built
    assert docker_client.logs(container["Id"]).decode().strip() == "hello from the registry"

    # Quiet: no progress, the digest still printed; `--policy missing` skips a present image.
    quiet = cli.ok("push", "-q")
    assert quiet.err == "" and _digest_lines(quiet) == digests
    skipped = cli.ok("pull", "--policy", "missing")
    assert "Service app  Skipped - Image is already present locally" in skipped.err, str(skipped)


def test_pull_policy_always_pulls_again_and_daily_only_once_a_day(
    tmp_path: Path,
    project_name: str,
    registry: Registry,
    docker_client: docker.APIClient,
    scratch_images: list[str],
) -> None:
    image = f"{registry.host}/stack-tests/moving:1"
    old = _build_direct(docker_client, image, "old", scratch_images)
    new = _build_direct(docker_client, image, "new", scratch_images)
    _push_direct(docker_client, image)  # the registry has `new` ...
    repo, _, tag = image.rpartition(":")
    docker_client.tag(old, repo, tag, force=True)  # ... the daemon `old` under the same name
    assert _image_id(docker_client, image) == old

    cli = _cli(tmp_path, project_name)
    service = (
        f"services:\n  web:\n    image: {image}\n    init: true\n    command: [sh, -c, 'cat /v; exec sleep 3600']\n"
    )
    cli.write(service + "    pull_policy: always\n")
    up = cli.ok("up", "-d", "--wait")
    assert f"Image {image}  Pulled" in up.err, str(up)
    [container] = project_containers(docker_client, project_name).values()
    assert container["ImageID"] == new and _image_id(docker_client, image) == new
    assert docker_client.logs(container["Id"]).decode().strip() == "new"

    # Always: the next `up` asks the registry again (nothing changed there: nothing recreated),
    # also when the containers are as they should be (the no-op fast path must not answer it).
    again = cli.ok("up", "-d")
    assert f"Image {image}  Pulled" in again.err and "Recreate" not in again.err, str(again)
    assert [c["Id"] for c in project_containers(docker_client, project_name).values()] == [container["Id"]]

    # Daily: an image the daemon never stamped with a tag time (Docker 20.10 stamps none on a
    # pull: here one pulled with the SDK into a daemon that no longer had it) is stale, as in
    # Compose; stack's own pull stamps it, and then nothing is pulled within the day.
    cli.ok("down")
    docker_client.remove_image(image, force=True)
    for message in docker_client.pull(repo, tag=tag, stream=True, decode=True, auth_config={}):
        assert "error" not in message, message
    assert docker_client.inspect_image(image)["Metadata"]["LastTagTime"].startswith("0001-01-01")
    cli.write(service + "    pull_policy: daily\n")
    plan = cli.ok("up", "--dry-run")
    assert f"image:{image}, PullImage, pull_policy: daily, pull time unknown" in plan.out, str(plan)
    cli.ok("pull", "-q")
    assert "PullImage" not in cli.ok("up", "--dry-run").out


def test_pull_policy_never_with_a_missing_image_fails_before_anything_is_created(
    tmp_path: Path, project_name: str, registry: Registry, docker_client: docker.APIClient
) -> None:
    image = f"{registry.host}/stack-tests/absent:1"
    cli = _cli(tmp_path, project_name)
    cli.write(
        "services:\n"
        "  dep:\n"
        f"    image: {BASE}\n"
        "    command: [sleep, '3600']\n"
        "  web:\n"
        f"    image: {image}\n"
        "    pull_policy: never\n"
        "    depends_on: [dep]\n"
    )
    for command in (["up", "-d"], ["create"], ["run", "--rm", "web", "true"]):
        result = cli.run(*command)
        assert result.code == 1, str(result)
        _clean(result)
        assert f"error: service web: image {image} is not on the daemon and pull_policy is never" in result.err
        assert project_containers(docker_client, project_name) == {}, command
        assert project_networks(docker_client, project_name) == set(), command


def test_push_to_a_stopped_registry_fails_with_its_message(
    tmp_path: Path, project_name: str, registry: Registry
) -> None:
    image = f"{registry.host}/stack-tests/app:1"
    cli = _cli(tmp_path, project_name)
    _app(cli, image, "unreachable")
    cli.ok("build")
    registry.stop()
    result = cli.run("push")
    assert result.code == 1, str(result)
    _clean(result)
    assert f"error: service app: cannot push image {image}: " in result.err, str(result)
    assert "connection refused" in result.err
    assert f"hint: is the registry at {registry.host} running" in result.err
    assert "@sha256:" not in result.out

    # --ignore-push-failures: a warning, exit 0.
    tolerated = cli.run("push", "--ignore-push-failures")
    assert tolerated.code == 0, str(tolerated)
    assert "WARN: service app: cannot push image" in tolerated.err


def _docker_config(tmp_path: Path, content: dict[str, object]) -> str:
    directory = tmp_path / "docker-config"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(content))
    return str(directory)


def test_a_registry_that_refuses_our_credentials_fails_with_its_message(
    tmp_path: Path, project_name: str, start_registry: Callable[..., Registry]
) -> None:
    guarded = start_registry(auth=True)
    image = f"{guarded.host}/stack-tests/app:1"
    wrong = base64.b64encode(f"{USER}:not-the-password".encode()).decode()
    config = _docker_config(tmp_path, {"auths": {guarded.host: {"auth": wrong}}})
    cli = _cli(tmp_path, project_name, DOCKER_CONFIG=config)
    _app(cli, image, "refused")
    cli.ok("build")

    result = cli.run("push")
    assert result.code == 1, str(result)
    _clean(result)
    assert f"error: service app: cannot push image {image}: unauthorized: authentication required" in result.err
    assert f"refused the credentials from auths in {config}/config.json" in result.err

    anonymous = _cli(tmp_path, project_name)  # no credentials at all: the registry's own words too
    result = anonymous.run("push")
    assert result.code == 1 and "no basic auth credentials" in result.err, str(result)
    assert f"docker login {guarded.host}" in result.err

    # A pull is refused the same way (a service without build: fails; exit 1).
    (cli.directory / "stack.yaml").write_text(f"services:\n  web:\n    image: {image}\n")
    result = cli.run("pull")
    assert result.code == 1, str(result)
    _clean(result)
    assert f"error: service web: cannot pull image {image}: unauthorized: authentication required" in result.err


HELPER = """#!/bin/sh
# A credential helper for the tests: the registry it is asked for is logged, then answered.
read -r server
echo "get $server" >> "{log}"
if [ "$1" = get ] && [ "$server" = "{host}" ]; then
  printf '{{"ServerURL": "%s", "Username": "{user}", "Secret": "{password}"}}' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi
"""


def test_credentials_from_a_helper_program_push_and_pull(
    tmp_path: Path,
    project_name: str,
    start_registry: Callable[..., Registry],
    docker_client: docker.APIClient,
) -> None:
    guarded = start_registry(auth=True)
    image = f"{guarded.host}/stack-tests/helped:1"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "helper-calls.log"
    helper = bindir / "docker-credential-test"
    helper.write_text(HELPER.format(log=calls, host=guarded.host, user=USER, password=PASSWORD))
    helper.chmod(0o755)
    config = _docker_config(tmp_path, {"credHelpers": {guarded.host: "test"}})
    path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    cli = _cli(tmp_path, project_name, DOCKER_CONFIG=config, PATH=path)
    _app(cli, image, "through the helper")
    cli.ok("build")
    built = _image_id(docker_client, image)

    def helper_calls() -> list[str]:
        return calls.read_text().splitlines() if calls.exists() else []

    before = len(helper_calls())
    pushed = cli.ok("push")
    assert _digest_lines(pushed) == {image: guarded.manifest_digest("stack-tests/helped", "1")}
    assert helper_calls()[before:] == [f"get {guarded.host}"]  # asked once, for this registry
    docker_client.remove_image(image)
    pulled = cli.ok("pull")
    assert f"Image {image}  Pulled" in pulled.err, str(pulled)
    assert _image_id(docker_client, image) == built
    assert helper_calls()[before:] == [f"get {guarded.host}"] * 2

    # `up`'s own pulls use the helper too (a service that only runs the image, pull_policy: always).
    cli.write(
        f"services:\n  web:\n    image: {image}\n    pull_policy: always\n    init: true\n"
        "    command: [sh, -c, 'cat /greeting; exec sleep 3600']\n"
    )
    up = cli.ok("up", "-d", "--wait")
    assert f"Image {image}  Pulled" in up.err, str(up)
    [container] = project_containers(docker_client, project_name).values()
    assert docker_client.logs(container["Id"]).decode().strip() == "through the helper"
    assert helper_calls()[before:] == [f"get {guarded.host}"] * 3  # push, pull, up's pull
