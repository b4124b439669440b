"""Real registries for the tests: Debian's docker-registry (distribution 2.8) on a free loopback
port, with its storage in the test's temp dir and a config of the tests' own (the package's
default config turns on htpasswd auth); `auth=True` puts one behind htpasswd (`htpasswd -B`).
The daemon allows plain HTTP to loopback registries: no daemon change is needed."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.daemon import free_port

USER, PASSWORD = "stacker", "registry-s3cret"
START_TIMEOUT = 20.0  # seconds a registry has to answer /v2/ after its start


def program(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (Debian package {package}: bash scripts/install-system-deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


@dataclass
class Registry:
    """One docker-registry process of this test."""

    host: str  # 127.0.0.1:PORT, as image names carry it
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def manifest_digest(self, repository: str, tag: str) -> str:
        """The digest the registry serves for repository:tag (its Docker-Content-Digest)."""
        request = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        if (self.log.parent / "htpasswd").exists():
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.headers["Docker-Content-Digest"])


def _wait_until_answering(registry: Registry) -> None:
    """Poll GET /v2/ until the registry answers (200, or 401 behind htpasswd), with a deadline."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if registry.process.poll() is not None:
            raise AssertionError(f"docker-registry exited ({registry.process.returncode}):\n{registry.log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://{registry.host}/v2/", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise AssertionError(f"docker-registry at {registry.host} did not answer /v2/ within {START_TIMEOUT:g} s")
        time.sleep(0.05)  # poll interval


@contextlib.contextmanager
def registries(tmp_path: Path, docker_client: docker.APIClient) -> Iterator[Callable[..., Registry]]:
    """Start docker-registry instances (`auth=True`: behind htpasswd); all stopped, and every
    image tagged for them removed from the daemon, at teardown."""
    binary = program("docker-registry", "docker-registry")
    started: list[Registry] = []

    def start(*, auth: bool = False) -> Registry:
        root = tmp_path / f"registry-{len(started)}"
        root.mkdir()
        host = f"127.0.0.1:{free_port()}"
        config = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog: {disabled: true}",
            "storage:",
            f"  filesystem: {{rootdirectory: {root / 'data'}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: {host}",
            "  secret: stack-tests",
        ]
        if auth:
            htpasswd = program("htpasswd", "apache2-utils")
            subprocess.run([htpasswd, "-Bbc", str(root / "htpasswd"), USER, PASSWORD], check=True, capture_output=True)
            config += ["auth:", "  htpasswd:", "    realm: stack-tests", f"    path: {root / 'htpasswd'}"]
        (root / "config.yml").write_text("\n".join(config) + "\n")
        log = root / "registry.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "serve", str(root / "config.yml")], stdout=out, stderr=subprocess.STDOUT, cwd=root
            )
        registry = Registry(host, process, log)
        started.append(registry)
        _wait_until_answering(registry)
        return registry

    try:
        yield start
    finally:
        for registry in started:
            registry.stop()
            for image in docker_client.images(all=True):
                for tag in image.get("RepoTags") or []:
                    if str(tag).startswith(registry.host + "/"):
                        with contextlib.suppress(docker.errors.APIError):
                            docker_client.remove_image(tag, force=True)
