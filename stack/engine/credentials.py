"""Registry credentials from the Docker config, resolved as the Docker CLI resolves them.

The config file is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.  For an image:

1. its registry: the part before the first `/` when it looks like a host (has a `.` or a `:`,
   is `localhost`, or has upper-case letters), else Docker Hub; `index.docker.io` is Docker Hub
   too.  The key to look up is the host (`127.0.0.1:5000`, `ghcr.io`), or
   `https://index.docker.io/v1/` for Docker Hub;
2. the store for that key: `credHelpers[key]`, else `credsStore`, else the file itself;
3. a store is a helper program, `docker-credential-<name> get`, given the key on stdin and
   answering `{"ServerURL", "Username", "Secret"}` as JSON (a `<token>` user means the secret
   is an identity token); "credentials not found" is no credentials, not an error;
4. the file's `auths[key]` (or an entry whose URL has that host, as old configs wrote
   `https://host/v1/`): `auth` is base64 `user:password`; `identitytoken`, `registrytoken`.

What comes out is the `X-Registry-Auth` the daemon wants (the SDK's `auth_config`).  Nothing
found is anonymous access (an empty auth).  A helper that is configured but not installed is
skipped with a warning (Docker Desktop's `desktop` helper in a copied config is the usual case)
rather than failing every pull of a public image.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stack.errors import RegistryError

DOCKER_HUB = "docker.io"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
HELPER_PREFIX = "docker-credential-"
HELPER_TIMEOUT = 30.0  # seconds a credential helper may take (a keychain may ask the user)
_TOKEN_USER = "<token>"
_NOT_FOUND = "credentials not found in native keychain"


@dataclass(frozen=True)
class Credentials:
    """What to send a registry: `header()` is the SDK's `auth_config` (X-Registry-Auth)."""

    registry: str  # the registry as named: docker.io, 127.0.0.1:5000
    key: str  # the key the config was searched for
    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""
    email: str = ""
    source: str = ""  # where they came from ("" when none): `auths in /root/.docker/config.json`
    warnings: tuple[str, ...] = field(default=())

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def header(self) -> dict[str, str]:
        """The X-Registry-Auth object; `{}` for anonymous access."""
        if self.anonymous:
            return {}
        fields = {
            "username": self.username,
            "password": self.password,
            "identitytoken": self.identity_token,
            "registrytoken": self.registry_token,
            "email": self.email,
        }
        out = {k: v for k, v in fields.items() if v}
        out["serveraddress"] = self.key
        return out


def registry_of(image: str) -> str:
    """The registry an image reference lives in (Docker's `splitDockerDomain`): `docker.io` for
    `nginx`, `library/nginx`, `user/app`; the host for `ghcr.io/x/y`, `localhost/app`,
    `127.0.0.1:5000/app`."""
    first, slash, _ = image.partition("/")
    if not slash:
        return DOCKER_HUB
    if not any(c in first for c in ".:") and first != "localhost" and first.lower() == first:
        return DOCKER_HUB
    return DOCKER_HUB if first == "index.docker.io" else first


def auth_key(registry: str) -> str:
    """The key of a registry in the config (Docker's `GetAuthConfigKey`)."""
    return DOCKER_HUB_KEY if registry == DOCKER_HUB else registry


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
    environ = os.environ if env is None else env
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker" / "config.json"


def hostname_of(url: str) -> str:
    """`https://host:5000/v1/` -> `host:5000` (Docker's `ConvertToHostname`)."""
    for scheme in ("http://", "https://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
            break
    return url.split("/", 1)[0]


def _load_config(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The config file's content ({} when absent); a warning for one that cannot be read, as
    the Docker CLI warns and goes on without it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except OSError as exc:
        return {}, [f"cannot read the Docker config {path}: {exc}; going on without credentials"]
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        return {}, [f"cannot read the Docker config {path}: {exc}; going on without credentials"]
    if not isinstance(data, dict):
        return {}, [f"the Docker config {path} is not a JSON object; going on without credentials"]
    return data, []


def _file_entry(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`auths[key]`, or the entry whose URL names the same host (Docker's fileStore.Get)."""
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return {}
    entry = auths.get(key)
    if entry is None:
        entry = next((v for k, v in auths.items() if hostname_of(str(k)) == key), None)
    return dict(entry) if isinstance(entry, dict) else {}


def _decode_auth(entry: Mapping[str, Any], key: str, path: Path) -> tuple[str, str]:
    """The user and password of an `auths` entry (`auth`: base64 of `user:password`)."""
    encoded = entry.get("auth")
    if not encoded:
        return str(entry.get("username") or ""), str(entry.get("password") or "")
    try:
        decoded = base64.b64decode(str(encoded), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    user, colon, password = decoded.partition(":")
    if not colon:
        raise RegistryError(
            f"invalid credentials for {key} in {path}: `auth` is not base64 of `user:password`",
            hint=f"log in again (`docker login {key}`) or fix auths.{key}.auth in {path}",
        )
    return user, password.strip("\x00")


def _run_helper(program: str, key: str, env: Mapping[str, str]) -> dict[str, Any] | None:
    """`docker-credential-NAME get` for `key`: its answer, None when it has no credentials."""
    name = os.path.basename(program)
    try:
        done = subprocess.run(
            [program, "get"],
            input=key,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            env=dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RegistryError(
            f"the credential helper {name} did not answer within {HELPER_TIMEOUT:g} s (asked for {key})",
            hint="is it waiting for a keychain to be unlocked?",
        ) from None
    except OSError as exc:
        raise RegistryError(f"cannot run the credential helper {name}: {exc}") from None
    output = (done.stdout or "").strip()
    if done.returncode != 0:
        said = output or (done.stderr or "").strip()
        if _NOT_FOUND in said.lower() or "credentials not found" in said.lower():
            return None
        raise RegistryError(f"the credential helper {name} failed for {key} (exit {done.returncode}): {said}")
    try:
        answer = json.loads(output)
    except json.JSONDecodeError:
        raise RegistryError(
            f"the credential helper {name} answered {key} with something that is not JSON: {output[:200]!r}"
        ) from None
    if not isinstance(answer, dict):
        raise RegistryError(f"the credential helper {name} answered {key} with {output[:200]!r}, not an object")
    return answer


def resolve(image: str, env: Mapping[str, str] | None = None) -> Credentials:
    """The credentials the Docker CLI would send for `image`'s registry (anonymous when none)."""
    environ = dict(os.environ if env is None else env)
    registry = registry_of(image)
    key = auth_key(registry)
    path = config_path(environ)
    config, warnings = _load_config(path)
    entry = _file_entry(config, key)
    user, password = _decode_auth(entry, key, path) if entry else ("", "")
    from_file = Credentials(
        registry,
        key,
        username=user,
        password=password,
        identity_token=str(entry.get("identitytoken") or ""),
        registry_token=str(entry.get("registrytoken") or ""),
        email=str(entry.get("email") or ""),
        source=f"auths in {path}" if entry else "",
        warnings=tuple(warnings),
    )
    helpers = config.get("credHelpers")
    helper = str(helpers[key]) if isinstance(helpers, dict) and helpers.get(key) else ""
    setting = f"credHelpers[{key!r}]" if helper else "credsStore"
    helper = helper or str(config.get("credsStore") or "")
    if not helper:
        return from_file
    program = shutil.which(HELPER_PREFIX + helper, path=environ.get("PATH"))
    if program is None:
        warning = (
            f"the credential helper {HELPER_PREFIX}{helper} ({setting} in {path}) is not on PATH:"
            f" {'using auths' if entry else 'no credentials'} for {registry}"
        )
        return replace(from_file, warnings=(*from_file.warnings, warning))
    answer = _run_helper(program, key, environ)
    if answer is None:
        return from_file
    username, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
    source = f"{HELPER_PREFIX}{helper} ({setting} in {path})"
    if username == _TOKEN_USER:
        return Credentials(registry, key, identity_token=secret, source=source, warnings=from_file.warnings)
    return Credentials(registry, key, username=username, password=secret, source=source, warnings=from_file.warnings)
