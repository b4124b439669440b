"""`stack watch` and `stack up --watch` against the real daemon: every action of `develop.watch`,
a container stopped behind watch's back, an edited stack file, logs across a restart.

Each test runs `stack watch` as a subprocess writing to files, edits files in its project
directory and polls the container (exec) until the change shows, each wait bounded and named.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import docker
import docker.errors

from stack.plan import labels as L
from tests.integration.cli_helpers import Background, StackCLI, exec_output, in_background, poll

IMAGE = "stack-test/busybox:latest"
# A service that prints one line per start and stops at once on SIGTERM.
LOOP = ["sh", "-c", 'echo "boot $$RANDOM"; trap "exit 0" TERM; while true; do sleep 0.1; done']


def watching(cli: StackCLI, *args: str, ready: str = "Watch enabled") -> contextlib.AbstractContextManager[Background]:
    """`stack -p PROJECT ARGS` in the background until `ready` is on its stderr; Ctrl-C at the end."""
    return in_background(cli, *args, ready=ready, timeout=60)


def container(project: str, service: str) -> str:
    return f"{project}-{service}-1"


def read(client: docker.APIClient, name: str, path: str) -> str | None:
    """The file's content in the container, None when it is not there (or the container is not running)."""
    try:
        code, out = exec_output(client, name, "/bin/cat", path)
    except docker.errors.APIError:
        return None
    return out if code == 0 else None


def container_id(client: docker.APIClient, name: str) -> str | None:
    """The id of the running container of that name (None: there is none, or it is not running yet)."""
    try:
        info = client.inspect_container(name)
    except docker.errors.NotFound:
        return None
    return str(info["Id"]) if info["State"]["Running"] else None


def test_sync_copies_new_and_changed_files_and_deletes_removed_ones(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "src").mkdir()
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "old.txt").write_text("old\n")
    cli.write(
        f"""
services:
  app:
    image: {IMAGE}
    command: {LOOP}
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
          ignore: ["*.tmp"]
  bare:  # finds no `rm` (as a distroless image would not have one)
    image: {IMAGE}
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do /bin/sleep 0.1; done"]
    environment:
      PATH: /nowhere
    develop:
      watch:
        - action: sync
          path: ./bare
          target: /bare
          initial_sync: true
"""
    )
    name, bare = container(project_name, "app"), container(project_name, "bare")
    with watching(cli, "watch") as w:
        (tmp_path / "src" / "new.txt").write_text("first\n")
        poll("new.txt synced", lambda: read(docker_client, name, "/app/new.txt") == "first\n", 15)
        (tmp_path / "src" / "new.txt").write_text("second\n")
        poll("new.txt changed", lambda: read(docker_client, name, "/app/new.txt") == "second\n", 15)
        (tmp_path / "src" / "deep" / "er").mkdir(parents=True)
        (tmp_path / "src" / "deep" / "er" / "x.txt").write_text("deep\n")
        (tmp_path / "src" / "scratch.tmp").write_text("ignored\n")
        poll("a file in new directories synced", lambda: read(docker_client, name, "/app/deep/er/x.txt") == "deep\n")
        (tmp_path / "src" / "new.txt").unlink()
        poll("new.txt deleted", lambda: read(docker_client, name, "/app/new.txt") is None, 15)
        assert read(docker_client, name, "/app/scratch.tmp") is None  # ignored
        assert 'Syncing service "app"' in w.err()

        assert read(docker_client, bare, "/bare/old.txt") == "old\n"  # initial_sync
        (tmp_path / "bare" / "old.txt").unlink()
        poll("the warning about the missing `rm`", lambda: "has no `rm`" in w.err(), 15)
        assert read(docker_client, bare, "/bare/old.txt") == "old\n"  # left there, and watch goes on
    # Ctrl-C ends watching (130, as Compose) and leaves the containers running.
    assert w.proc.returncode == 130, str(w)
    assert "Watch disabled" in w.err()
    assert docker_client.inspect_container(name)["State"]["Running"]


def test_restart_keeps_the_logs_attached_and_sync_exec_runs_its_hook(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "conf").mkdir()
    (tmp_path / "hooked").mkdir()
    cli.write(
        f"""
services:
  app:
    image: {IMAGE}
    command: {LOOP}
    develop:
      watch:
        - action: restart
          path: ./conf
        - action: sync+exec
          path: ./hooked
          target: /hooked
          exec:
            command: sh -c 'echo "hook saw $$(cat /hooked/in.txt)"; cp /hooked/in.txt /tmp/out.txt'
            environment: [WHO=watch]
"""
    )
    name = container(project_name, "app")
    with watching(cli, "watch", "--no-color") as w:
        poll("the first boot line in watch's output", lambda: w.out().count("boot ") == 1)
        (tmp_path / "conf" / "app.ini").write_text("x=1\n")
        poll("the restarted container's boot line in watch's output", lambda: w.out().count("boot ") == 2, 20)
        assert 'Service "app" restarted' in w.err()
        (tmp_path / "hooked" / "in.txt").write_text("payload\n")
        poll("the hook's copy", lambda: read(docker_client, name, "/tmp/out.txt") == "payload\n", 15)
        poll("the hook's output in watch's output", lambda: "app-1  | hook saw payload" in w.out())


def test_rebuild_builds_the_image_and_recreates_the_container(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY message.txt /message.txt\n")
    (context / "message.txt").write_text("v1\n")
    cli.write(
        f"""
services:
  app:
    build: ./ctx
    command: {LOOP}
    develop:
      watch:
        - action: rebuild
          path: ./ctx/message.txt
"""
    )
    name = container(project_name, "app")
    with watching(cli, "watch", "--quiet") as w:
        first = container_id(docker_client, name)
        assert read(docker_client, name, "/message.txt") == "v1\n"
        (context / "message.txt").write_text("v2\n")
        poll(
            "the container recreated from the rebuilt image, running",
            lambda: container_id(docker_client, name) not in (None, first),
            60,
        )
        poll("the new content", lambda: read(docker_client, name, "/message.txt") == "v2\n", 15)
        poll("the new container's boot line in watch's output", lambda: w.out().count("boot ") == 2)
        assert 'Rebuilding service "app"' in w.err()
        assert "Step 1/2" not in w.err()  # --quiet hides the build output
    built = docker_client.images(filters={"label": [f"{L.BUILT_FOR_PROJECT}={project_name}"]})
    assert len(built) == 1, built  # --prune (the default) removed the image the rebuild replaced


def test_a_container_stopped_behind_watchs_back_is_brought_back(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "src").mkdir()
    cli.write(
        f"""
services:
  app:
    image: {IMAGE}
    command: {LOOP}
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
"""
    )
    name = container(project_name, "app")
    with watching(cli, "watch") as w:
        (tmp_path / "src" / "before.txt").write_text("before\n")
        poll("before.txt synced", lambda: read(docker_client, name, "/app/before.txt") == "before\n", 15)
        docker_client.stop(name, timeout=5)
        (tmp_path / "src" / "after.txt").write_text("after\n")
        poll("the container running again with after.txt", lambda: read(docker_client, name, "/app/after.txt"), 30)
        assert read(docker_client, name, "/app/before.txt") == "before\n"  # the same container, started again
        assert "bringing it back" in w.err(), str(w)

        # Removed altogether: a new container, which gets the rule's whole tree.
        docker_client.remove_container(name, force=True)
        (tmp_path / "src" / "later.txt").write_text("later\n")
        poll("a new container with later.txt", lambda: read(docker_client, name, "/app/later.txt") == "later\n", 30)
        assert read(docker_client, name, "/app/before.txt") == "before\n"


def test_an_edited_stack_file_recreates_only_the_changed_service(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "src").mkdir()
    text = f"""
services:
  app:
    image: {IMAGE}
    command: {LOOP}
    environment:
      GREETING: hello
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
  other:
    image: {IMAGE}
    command: {LOOP}
    env_file: [other.env]
"""
    (tmp_path / "other.env").write_text("COLOUR=red\n")
    cli.write(text)
    app, other = container(project_name, "app"), container(project_name, "other")
    with watching(cli, "watch") as w:
        app_id, other_id = container_id(docker_client, app), container_id(docker_client, other)
        cli.write(text.replace("GREETING: hello", "GREETING: bonjour"))
        poll("app recreated and running", lambda: container_id(docker_client, app) not in (None, app_id), 30)
        _, greeting = exec_output(docker_client, app, "sh", "-c", "echo $GREETING")
        assert greeting == "bonjour\n"
        assert container_id(docker_client, other) == other_id, str(w)

        # An env_file counts too (Compose #13225).
        (tmp_path / "other.env").write_text("COLOUR=blue\n")
        poll("other recreated and running", lambda: container_id(docker_client, other) not in (None, other_id), 30)
        _, colour = exec_output(docker_client, other, "sh", "-c", "echo $COLOUR")
        assert colour == "blue\n"

        # The recreated container still gets synced files.
        (tmp_path / "src" / "f.txt").write_text("synced\n")
        poll("f.txt synced into the new container", lambda: read(docker_client, app, "/app/f.txt") == "synced\n", 15)


def test_up_watch_syncs_while_attached_and_ctrl_c_stops_the_services(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "src").mkdir()
    cli.write(
        f"""
services:
  app:
    image: {IMAGE}
    command: {LOOP}
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
"""
    )
    name = container(project_name, "app")
    with watching(cli, "up", "--watch", "--no-color") as w:
        (tmp_path / "src" / "a.txt").write_text("attached\n")
        poll("a.txt synced", lambda: read(docker_client, name, "/app/a.txt") == "attached\n", 15)
        assert "app-1  | boot " in w.out()
    assert w.proc.returncode == 130, str(w)
    assert docker_client.inspect_container(name)["State"]["Status"] == "exited"


def test_watch_without_develop_rules_is_an_error(tmp_path: Path, project_name: str) -> None:
    cli = StackCLI(tmp_path, project_name)
    cli.write(f"services:\n  app:\n    image: {IMAGE}\n")
    result = cli.run("watch")
    assert result.code == 1, str(result)
    assert "none of the selected services is configured for watch" in result.err
    result = cli.run("up", "--watch")
    assert result.code == 1, str(result)
    assert "none of the selected services is configured for watch" in result.err
