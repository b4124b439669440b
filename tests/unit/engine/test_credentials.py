"""Registry credentials from the Docker config, as the Docker CLI resolves them; helper programs
are fake ones written into a tmp dir put on PATH."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from stack.engine import credentials as C
from stack.errors import RegistryError


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("nginx", "docker.io"),
        ("nginx:1.25", "docker.io"),
        ("library/nginx", "docker.io"),
        ("user/app:1", "docker.io"),
        ("docker.io/user/app", "docker.io"),
        ("index.docker.io/user/app", "docker.io"),
        ("ghcr.io/org/app:1", "ghcr.io"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app", "localhost:5000"),
        ("127.0.0.1:5000/team/app:2", "127.0.0.1:5000"),
        ("Registry/app", "Registry"),  # upper case: a host, as in Docker
        ("nginx@sha256:" + "a" * 64, "docker.io"),
    ],
)
def test_registry_of_an_image(image: str, registry: str) -> None:
    assert C.registry_of(image) == registry


def test_docker_hub_is_keyed_by_its_index_url() -> None:
    assert C.auth_key("docker.io") == "https://index.docker.io/v1/"
    assert C.auth_key("127.0.0.1:5000") == "127.0.0.1:5000"


def _config(tmp_path: Path, content: dict[str, object]) -> dict[str, str]:
    directory = tmp_path / "docker-config"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(content))
    return {"DOCKER_CONFIG": str(directory), "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _helper(tmp_path: Path, name: str, script: str) -> str:
    """A `docker-credential-NAME` program in tmp_path/bin; the PATH that finds it first."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    program = bindir / f"docker-credential-{name}"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


def test_config_location(tmp_path: Path) -> None:
    assert C.config_path({"DOCKER_CONFIG": "/etc/dc"}) == Path("/etc/dc/config.json")
    assert C.config_path({"HOME": "/home/u"}) == Path("/home/u/.docker/config.json")


def test_no_config_is_anonymous(tmp_path: Path) -> None:
    creds = C.resolve("127.0.0.1:5000/app", {"DOCKER_CONFIG": str(tmp_path / "none")})
    assert creds.anonymous and creds.header() == {} and creds.warnings == ()


def test_auths_entry_base64(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"127.0.0.1:5000": {"auth": _auth("alice", "s3:cret")}}})
    creds = C.resolve("127.0.0.1:5000/team/app:1", env)
    assert creds.header() == {"username": "alice", "password": "s3:cret", "serveraddress": "127.0.0.1:5000"}
    assert creds.source.startswith("auths in ")


def test_auths_entry_written_as_a_url_is_found_by_its_host(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"https://registry.example:5000/v1/": {"auth": _auth("bob", "pw")}}})
    assert C.resolve("registry.example:5000/app", env).username == "bob"
    assert C.resolve("other.example/app", env).anonymous


def test_docker_hub_entry(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": _auth("hubuser", "tok")}}})
    creds = C.resolve("user/app", env)
    assert creds.header()["serveraddress"] == "https://index.docker.io/v1/" and creds.username == "hubuser"


def test_identity_token_in_auths(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"ghcr.io": {"auth": _auth("u", ""), "identitytoken": "idtok"}}})
    assert C.resolve("ghcr.io/org/app", env).header()["identitytoken"] == "idtok"


def test_bad_base64_is_an_error_naming_the_file_and_registry(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"127.0.0.1:5000": {"auth": "not base64!"}}})
    with pytest.raises(RegistryError, match=r"invalid credentials for 127.0.0.1:5000 in .*config.json"):
        C.resolve("127.0.0.1:5000/app", env)


def test_unreadable_config_is_a_warning_as_in_the_docker_cli(tmp_path: Path) -> None:
    directory = tmp_path / "dc"
    directory.mkdir()
    (directory / "config.json").write_text("{not json")
    creds = C.resolve("127.0.0.1:5000/app", {"DOCKER_CONFIG": str(directory)})
    assert creds.anonymous and "cannot read the Docker config" in creds.warnings[0]


_ECHO_HELPER = """\
read server
[ "$1" = get ] || exit 3
case "$server" in
  127.0.0.1:5000) printf '{"ServerURL":"%s","Username":"helped","Secret":"pw-from-helper"}' "$server" ;;
  tokens.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"identity"}' "$server" ;;
  broken.example) echo "keychain is locked" >&2; exit 1 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


def test_cred_helpers_run_the_helper_program_with_the_registry_on_stdin(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credHelpers": {"127.0.0.1:5000": "test"}})
    env["PATH"] = _helper(tmp_path, "test", _ECHO_HELPER)
    creds = C.resolve("127.0.0.1:5000/app:1", env)
    assert creds.header() == {"username": "helped", "password": "pw-from-helper", "serveraddress": "127.0.0.1:5000"}
    assert creds.source.startswith("docker-credential-test (credHelpers['127.0.0.1:5000']")


def test_cred_helpers_win_over_creds_store_and_auths(tmp_path: Path) -> None:
    env = _config(
        tmp_path,
        {
            "credsStore": "other",
            "credHelpers": {"127.0.0.1:5000": "test"},
            "auths": {"127.0.0.1:5000": {"auth": _auth("file", "file")}},
        },
    )
    env["PATH"] = _helper(tmp_path, "test", _ECHO_HELPER)
    assert C.resolve("127.0.0.1:5000/app", env).username == "helped"


def test_creds_store_serves_every_registry_without_a_helper_of_its_own(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credsStore": "test"})
    env["PATH"] = _helper(tmp_path, "test", _ECHO_HELPER)
    assert C.resolve("127.0.0.1:5000/app", env).password == "pw-from-helper"
    token = C.resolve("tokens.example/app", env)
    assert token.header() == {"identitytoken": "identity", "serveraddress": "tokens.example"}


def test_credentials_not_found_by_the_helper_fall_back_to_auths(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credsStore": "test", "auths": {"elsewhere.example": {"auth": _auth("f", "p")}}})
    env["PATH"] = _helper(tmp_path, "test", _ECHO_HELPER)
    assert C.resolve("nothing.example/app", env).anonymous
    assert C.resolve("elsewhere.example/app", env).username == "f"


def test_a_failing_helper_is_an_error_with_its_words(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credsStore": "test"})
    env["PATH"] = _helper(tmp_path, "test", _ECHO_HELPER)
    with pytest.raises(RegistryError, match=r"docker-credential-test failed for broken\.example .*keychain is locked"):
        C.resolve("broken.example/app", env)


def test_a_helper_answering_garbage_is_an_error(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credsStore": "test"})
    env["PATH"] = _helper(tmp_path, "test", "cat >/dev/null; echo hello\n")
    with pytest.raises(RegistryError, match="not JSON"):
        C.resolve("x.example/app", env)


def test_a_configured_helper_that_is_not_installed_is_a_warning(tmp_path: Path) -> None:
    env = _config(tmp_path, {"credsStore": "desktop", "auths": {"x.example": {"auth": _auth("u", "p")}}})
    env["PATH"] = str(tmp_path / "empty")
    creds = C.resolve("x.example/app", env)
    assert creds.username == "u"
    assert creds.warnings and "docker-credential-desktop (credsStore in" in creds.warnings[0]
    assert "is not on PATH" in creds.warnings[0]
