"""Which daemon: DOCKER_HOST, else DOCKER_CONTEXT, else config.json's currentContext, else the
local socket; contexts read as the Docker CLI stores them (files only: no daemon needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stack.engine.endpoint import DEFAULT_HOST, Endpoint, resolve
from stack.errors import DockerUnavailableError


def context(config: Path, name: str, host: str | None, *, tls: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoints = {"docker": {"Host": host}} if host else {}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": endpoints}))
    if tls:
        (config / "contexts" / "tls" / digest / "docker").mkdir(parents=True)


def test_precedence(tmp_path: Path) -> None:
    context(tmp_path, "desk", "unix:///run/desk.sock")
    context(tmp_path, "other", "unix:///run/other.sock")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "desk"}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert resolve(env) == Endpoint("unix:///run/desk.sock", "desk", False)
    assert resolve({**env, "DOCKER_CONTEXT": "other"}).host == "unix:///run/other.sock"
    assert resolve({**env, "DOCKER_CONTEXT": "default"}) == Endpoint(DEFAULT_HOST, "default", False)
    assert resolve({**env, "DOCKER_CONTEXT": "other", "DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1"}) == (
        Endpoint("tcp://h:2376", "default", True)
    )
    assert resolve({"DOCKER_CONFIG": str(tmp_path / "absent")}) == Endpoint(DEFAULT_HOST, "default", False)


def test_only_a_plain_local_socket_is_for_the_light_client(tmp_path: Path) -> None:
    context(tmp_path, "remote", "tcp://10.0.0.2:2376", tls=True)
    remote = resolve({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "remote"})
    assert remote.tls and remote.unix_socket() is None
    assert remote.describe() == "tcp://10.0.0.2:2376 (docker context remote)"
    assert Endpoint("unix:///run/x.sock", "x", False).unix_socket() == "/run/x.sock"
    assert Endpoint("ssh://me@host", "x", False).unix_socket() is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda cfg: None, "docker context 'ctx' (DOCKER_CONTEXT) does not exist"),
        (lambda cfg: context(cfg, "ctx", None), "has no Docker endpoint"),
        (
            lambda cfg: (
                cfg.joinpath("contexts", "meta", hashlib.sha256(b"ctx").hexdigest()).mkdir(parents=True),
                cfg.joinpath("contexts", "meta", hashlib.sha256(b"ctx").hexdigest(), "meta.json").write_text("{"),
            ),
            "cannot read docker context 'ctx'",
        ),
    ],
    ids=["missing", "no-endpoint", "not-json"],
)
def test_a_broken_context_is_one_clear_error(tmp_path: Path, setup, message: str) -> None:
    setup(tmp_path)
    with pytest.raises(DockerUnavailableError) as caught:
        resolve({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "ctx"})
    assert message in caught.value.message
    assert caught.value.hint
